//! Identifiers and positions: stream ids, revisions, positions, expected revisions.

use std::borrow::Borrow;
use std::fmt;
use std::rc::Rc;

use crate::error::{Error, Result};

/// The 0-based index of an event inside its stream.
pub type Revision = u64;

/// The 0-based index of an event in the store's global log (`$all`).
pub type Position = u64;

/// The longest stream id accepted, in characters.
pub const MAX_STREAM_ID_CHARS: usize = 256;

/// The longest event type accepted, in characters (like a stream id: a name, not a payload).
pub const MAX_EVENT_TYPE_CHARS: usize = 256;

/// A validated stream id: not empty, at most 256 characters, not starting with `$`.
///
/// Cheap to clone (reference counted).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Rc<str>);

impl StreamId {
    /// Validates `id` as a stream id.
    ///
    /// ```
    /// let id = evstore::StreamId::new("Order-7f3c")?;
    /// assert_eq!(id.category(), "Order");
    /// assert!(evstore::StreamId::new("$all").is_err());
    /// # Ok::<(), evstore::Error>(())
    /// ```
    pub fn new(id: &str) -> Result<Self> {
        if id.is_empty() {
            return Err(Error::invalid("streamId must not be empty"));
        }
        if id.starts_with('$') {
            return Err(Error::invalid(format!(
                "streamId '{id}' must not start with '$' (reserved for system streams)"
            )));
        }
        if id.chars().count() > MAX_STREAM_ID_CHARS {
            return Err(Error::invalid(format!(
                "streamId is longer than {MAX_STREAM_ID_CHARS} characters"
            )));
        }
        Ok(StreamId(id.into()))
    }

    /// A stream id read back from storage, where it was validated when written.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn trusted(id: &str) -> Self {
        StreamId(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The category: the part before the first `-`, or the whole id when it has none.
    pub fn category(&self) -> &str {
        category_of(&self.0)
    }

    /// The system stream `$$X` that holds the `$metadata` events of this stream `X`.
    ///
    /// ```
    /// let x = evstore::StreamId::new("Order-1")?;
    /// assert_eq!(x.metadata_stream().as_str(), "$$Order-1");
    /// assert_eq!(x.metadata_stream().about(), "Order-1");
    /// # Ok::<(), evstore::Error>(())
    /// ```
    pub fn metadata_stream(&self) -> StreamId {
        StreamId(format!("{METADATA_PREFIX}{}", self.0).into())
    }

    /// The stream this stream's events are about: `X` for the metadata stream `$$X`, the id
    /// itself otherwise. Subscription filters by stream and category apply to it.
    pub fn about(&self) -> &str {
        about_of(&self.0)
    }

    /// Whether this is a system stream (its id starts with `$`; callers cannot name one).
    pub fn is_system(&self) -> bool {
        self.0.starts_with('$')
    }
}

/// The prefix of a metadata stream's id: `$$X` holds the `$metadata` events of `X`.
pub const METADATA_PREFIX: &str = "$$";

/// The stream a stream id is about: `X` for the metadata stream `$$X`, the id itself otherwise.
///
/// ```
/// assert_eq!(evstore::about_of("$$Order-1"), "Order-1");
/// assert_eq!(evstore::about_of("Order-1"), "Order-1");
/// ```
pub fn about_of(stream_id: &str) -> &str {
    stream_id.strip_prefix(METADATA_PREFIX).unwrap_or(stream_id)
}

/// The category of a stream id: the part before its first `-`, or the whole id.
pub fn category_of(stream_id: &str) -> &str {
    stream_id.split_once('-').map_or(stream_id, |(c, _)| c)
}

impl Borrow<str> for StreamId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// The optimistic-concurrency condition of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpectedRevision {
    /// No check.
    #[default]
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's current revision must be exactly this.
    Exact(Revision),
}

impl ExpectedRevision {
    /// Whether a stream whose current revision is `actual` satisfies this condition.
    pub fn holds_for(self, actual: Option<Revision>) -> bool {
        match self {
            ExpectedRevision::Any => true,
            ExpectedRevision::NoStream => actual.is_none(),
            ExpectedRevision::StreamExists => actual.is_some(),
            ExpectedRevision::Exact(n) => actual == Some(n),
        }
    }
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::Any => f.write_str("any"),
            ExpectedRevision::NoStream => f.write_str("no_stream"),
            ExpectedRevision::StreamExists => f.write_str("stream_exists"),
            ExpectedRevision::Exact(n) => write!(f, "{n}"),
        }
    }
}

impl From<Revision> for ExpectedRevision {
    fn from(n: Revision) -> Self {
        ExpectedRevision::Exact(n)
    }
}

/// What a successful append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The revision of the call's last event: the expected revision of the next append.
    pub next_expected_revision: Revision,
    /// The global position of the call's last event.
    pub position: Position,
}
