//! Events: what a caller proposes, and what the store records.

use std::rc::Rc;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::json::{push_quoted, Json};
use crate::model::{Position, Revision, StreamId};
use crate::sync::wire::Fields;

/// An event to append. Built with [`ProposedEvent::new`] and the `with_*` methods.
///
/// ```
/// use evstore::{Json, ProposedEvent};
/// let e = ProposedEvent::new("OrderPlaced", Json::from_value(&serde_json::json!({"total": 10}))?)
///     .with_metadata(Json::parse(r#"{"correlationId":"c-1"}"#)?);
/// assert_eq!(e.event_type, "OrderPlaced");
/// # Ok::<(), evstore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedEvent {
    /// The event id; `None` lets the store generate a UUID v7.
    pub id: Option<Uuid>,
    /// The event type, e.g. `"OrderPlaced"`; must not be empty.
    pub event_type: String,
    /// The payload.
    pub data: Json,
    /// Metadata; must be a JSON object.
    pub metadata: Json,
}

impl ProposedEvent {
    /// An event of `event_type` with `data`, empty metadata and a generated id.
    pub fn new(event_type: impl Into<String>, data: Json) -> Self {
        ProposedEvent {
            id: None,
            event_type: event_type.into(),
            data,
            metadata: Json::empty_object(),
        }
    }

    /// Sets the event id (makes retries of the append idempotent).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the metadata (a JSON object, e.g. with `correlationId` and `causationId`).
    pub fn with_metadata(mut self, metadata: Json) -> Self {
        self.metadata = metadata;
        self
    }

    /// Records that `cause` caused this event: sets `metadata.causationId` to its id and
    /// `metadata.correlationId` to its `correlationId` (or, when it has none, its id), unless the
    /// metadata sets them already. Call it after [`ProposedEvent::with_metadata`].
    pub fn caused_by(mut self, cause: &RecordedEvent) -> Self {
        let causation = cause.id.to_string();
        let correlation = Fields::parse(cause.metadata.as_str())
            .and_then(|f| f.string(CORRELATION_ID))
            .unwrap_or_else(|| causation.clone());
        if let Some(metadata) = with_causation(&self.metadata, &causation, &correlation) {
            self.metadata = metadata;
        }
        self
    }
}

/// The metadata key of the id of the event that caused an event.
pub const CAUSATION_ID: &str = "causationId";
/// The metadata key of the id shared by every event of one chain of causes.
pub const CORRELATION_ID: &str = "correlationId";

/// `metadata` (a JSON object) with `causationId` and `correlationId` added where its top-level
/// keys do not have them; `None` when it is not an object or has both.
pub(crate) fn with_causation(
    metadata: &Json,
    causation_id: &str,
    correlation_id: &str,
) -> Option<Json> {
    let text = metadata.as_str();
    let fields = Fields::parse(text)?;
    let has = |key: &str| fields.get(key).is_some();
    let mut added = String::new();
    for (key, value) in [
        (CAUSATION_ID, causation_id),
        (CORRELATION_ID, correlation_id),
    ] {
        if !has(key) {
            added.push('"');
            added.push_str(key);
            added.push_str("\":");
            push_quoted(&mut added, value);
            added.push(',');
        }
    }
    if added.is_empty() {
        return None;
    }
    let open = text.find('{')?;
    let rest = &text[open + 1..];
    Some(Json::trusted(if rest.trim_start().starts_with('}') {
        format!("{{{}}}", &added[..added.len() - 1])
    } else {
        format!("{{{added}{rest}")
    }))
}

/// An event as stored: immutable, with its place in its stream and in the global log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The event id.
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream_id: StreamId,
    /// The event type.
    pub event_type: Rc<str>,
    /// Its 0-based index in its stream.
    pub revision: Revision,
    /// Its 0-based index in the global log.
    pub position: Position,
    /// The payload.
    pub data: Json,
    /// The metadata (a JSON object, `{}` when none was given).
    pub metadata: Json,
    /// When it was appended, in milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// An event after validation, with its final id: what a [`Storage`](crate::Storage) writes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event id (supplied or generated).
    pub id: Uuid,
    /// The event type (validated: not empty).
    pub event_type: Rc<str>,
    /// The payload.
    pub data: Json,
    /// The metadata (validated: a JSON object).
    pub metadata: Json,
}

/// Parses a caller-supplied event id: a UUID in hyphenated form, any letter case.
///
/// ```
/// let id = evstore::parse_event_id("0190A8E4-7B3C-7D2E-8F00-000000000001")?;
/// assert_eq!(id.to_string(), "0190a8e4-7b3c-7d2e-8f00-000000000001");
/// assert!(evstore::parse_event_id("0190a8e47b3c7d2e8f00000000000001").is_err());
/// # Ok::<(), evstore::Error>(())
/// ```
pub fn parse_event_id(text: &str) -> Result<Uuid> {
    let bytes = text.as_bytes();
    let hyphenated = bytes.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-')
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| matches!(i, 8 | 13 | 18 | 23) || b.is_ascii_hexdigit());
    if !hyphenated {
        return Err(Error::invalid(format!(
            "event id '{text}' is not a hyphenated UUID"
        )));
    }
    Uuid::try_parse(text).map_err(|e| Error::invalid(format!("event id '{text}': {e}")))
}
