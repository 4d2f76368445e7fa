//! The one error type of evstore, with the contract's error codes.

use std::any::Any;
use std::fmt;
use std::rc::Rc;

use crate::model::{ExpectedRevision, Revision};

/// The original error a storage reported (for example a JS `DOMException`), kept opaque so the
/// core stays plain Rust; a host downcasts it with [`Cause::downcast_ref`].
///
/// Two causes are equal when they are the same object.
#[derive(Clone)]
pub struct Cause(Rc<dyn Any>);

impl Cause {
    /// Wraps `cause`.
    pub fn new<T: Any>(cause: T) -> Self {
        Cause(Rc::new(cause))
    }

    /// The cause as a `T`, if it is one.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cause(..)")
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Cause {}

/// Every failure of the store. Each variant maps to one contract `code` (see [`Error::code`]).
///
/// A call that returns an error has changed nothing in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The stream's current revision did not match the expected revision.
    WrongExpectedRevision {
        /// The stream that was appended to.
        stream_id: String,
        /// What the caller expected.
        expected: ExpectedRevision,
        /// The stream's actual current revision (`None`: the stream has no events).
        actual: Option<Revision>,
    },
    /// An event id of the call is already stored elsewhere, or appears twice in the call.
    DuplicateEventId {
        /// The offending id, lowercase hyphenated.
        event_id: String,
    },
    /// A bad stream id, event or option value; `message` says what and where.
    InvalidArgument {
        /// What was wrong, and where.
        message: String,
    },
    /// One event's `data` + `metadata`, as JSON, is over the store's `max_event_bytes`.
    EventTooLarge {
        /// The index of the event in the call.
        event_index: usize,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The storage refused the write for lack of space.
    QuotaExceeded {
        /// What the storage said.
        message: String,
        /// The storage's own error, when it reported one.
        cause: Option<Cause>,
    },
    /// Any other storage failure.
    Storage {
        /// What went wrong.
        message: String,
        /// The storage's own error, when it reported one.
        cause: Option<Cause>,
    },
    /// The stream was hard-deleted (`tombstone_stream`): every later append, read or metadata
    /// change of it fails with this.
    StreamDeleted {
        /// The tombstoned stream.
        stream_id: String,
    },
    /// The store was closed.
    Closed,
    /// A folding read met an event written by a newer app: its stored `$schemaVersion` is above
    /// this store's schema version for its type.
    SchemaTooNew {
        /// The stream being folded.
        stream_id: String,
        /// The event's type.
        event_type: String,
        /// The event's stored version.
        version: u32,
    },
    /// An upcaster failed (threw, or returned something that is not data) on a read.
    UpcastFailed {
        /// The event being upcast.
        event_id: String,
        /// Its type.
        event_type: String,
        /// The version the failing step started from.
        version: u32,
        /// What the upcaster threw or returned.
        cause: Option<Cause>,
    },
}

impl Error {
    /// The contract's error code, e.g. `"WRONG_EXPECTED_REVISION"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongExpectedRevision { .. } => "WRONG_EXPECTED_REVISION",
            Error::DuplicateEventId { .. } => "DUPLICATE_EVENT_ID",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::EventTooLarge { .. } => "EVENT_TOO_LARGE",
            Error::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            Error::Storage { .. } => "STORAGE_ERROR",
            Error::StreamDeleted { .. } => "STREAM_DELETED",
            Error::Closed => "CLOSED",
            Error::SchemaTooNew { .. } => "SCHEMA_TOO_NEW",
            Error::UpcastFailed { .. } => "UPCAST_FAILED",
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            message: message.into(),
        }
    }

    /// A [`Error::Storage`] with no underlying error.
    pub fn storage(message: impl Into<String>) -> Self {
        Error::Storage {
            message: message.into(),
            cause: None,
        }
    }

    /// A [`Error::Storage`] that keeps the storage's own error as its cause.
    pub fn storage_caused_by(message: impl Into<String>, cause: Cause) -> Self {
        Error::Storage {
            message: message.into(),
            cause: Some(cause),
        }
    }

    /// The error behind a `STORAGE_ERROR` or `QUOTA_EXCEEDED` (the storage's own), or an
    /// `UPCAST_FAILED` (what the upcaster threw), if any.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Storage { cause, .. }
            | Error::QuotaExceeded { cause, .. }
            | Error::UpcastFailed { cause, .. } => cause.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongExpectedRevision {
                stream_id,
                expected,
                actual,
            } => {
                let actual = actual.map_or_else(|| "no_stream".to_owned(), |r| r.to_string());
                write!(
                    f,
                    "wrong expected revision for stream '{stream_id}': expected {expected}, actual {actual}"
                )
            }
            Error::DuplicateEventId { event_id } => {
                write!(
                    f,
                    "event id {event_id} is already stored or repeated in the call"
                )
            }
            Error::InvalidArgument { message } => f.write_str(message),
            Error::EventTooLarge {
                event_index,
                size,
                max,
            } => write!(
                f,
                "event {event_index} is {size} bytes of data + metadata, over the limit of {max}"
            ),
            Error::QuotaExceeded { message, .. } => write!(f, "storage quota exceeded: {message}"),
            Error::Storage { message, .. } => write!(f, "storage error: {message}"),
            Error::StreamDeleted { stream_id } => {
                write!(f, "stream '{stream_id}' was deleted (tombstoned)")
            }
            Error::Closed => f.write_str("the store is closed"),
            Error::SchemaTooNew {
                stream_id,
                event_type,
                version,
            } => write!(
                f,
                "stream '{stream_id}' holds a {event_type} event of schema version {version}, \
                 newer than this app's: update the app to fold it"
            ),
            Error::UpcastFailed {
                event_id,
                event_type,
                version,
                ..
            } => write!(
                f,
                "the upcaster of {event_type} from version {version} failed on event {event_id}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with evstore's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
