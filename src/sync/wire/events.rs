//! Recorded events on the wire: the HTTP API's recorded-event objects
//! (`{"id","streamId","type","revision","position","data","metadata","createdAt"}`, `createdAt`
//! as ISO-8601), with `data` and `metadata` the stored JSON texts as they are.

use std::rc::Rc;

use super::date::parse_iso;
#[cfg(feature = "server")]
use super::date::push_iso;
use super::fields::{integer, items, string, Fields, Raw};
use crate::event::RecordedEvent;
#[cfg(feature = "server")]
use crate::json::push_quoted;
use crate::json::Json;
use crate::model::StreamId;
#[cfg(feature = "server")]
use crate::row::push_u64;

#[cfg(feature = "server")]
/// Appends `events` as a JSON array of recorded events.
pub(crate) fn push_events(out: &mut String, events: &[RecordedEvent]) {
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_event(out, e);
    }
    out.push(']');
}

#[cfg(feature = "server")]
/// Appends `e` as a recorded-event object.
pub(crate) fn push_event(out: &mut String, e: &RecordedEvent) {
    out.push_str("{\"id\":\"");
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push_str(e.id.hyphenated().encode_lower(&mut id));
    out.push_str("\",\"streamId\":");
    push_quoted(out, e.stream_id.as_str());
    out.push_str(",\"type\":");
    push_quoted(out, &e.event_type);
    out.push_str(",\"revision\":");
    push_u64(out, e.revision);
    out.push_str(",\"position\":");
    push_u64(out, e.position);
    out.push_str(",\"data\":");
    out.push_str(e.data.as_str());
    out.push_str(",\"metadata\":");
    out.push_str(e.metadata.as_str());
    out.push_str(",\"createdAt\":");
    push_iso(out, e.created_at);
    out.push('}');
}

#[cfg(feature = "server")]
/// The bytes `e` takes in a frame, about (the bound the frame limits count with).
pub(crate) fn wire_size(e: &RecordedEvent) -> usize {
    e.data.byte_len()
        + e.metadata.byte_len()
        + e.event_type.len()
        + e.stream_id.as_str().len()
        + 160
}

/// A JSON array of recorded events (`createdAt` ISO-8601 or epoch milliseconds); `None` when
/// it is not one.
pub(crate) fn read_events(raw: Raw<'_>) -> Option<Vec<RecordedEvent>> {
    items(raw)?.into_iter().map(read_event).collect()
}

fn read_event(raw: Raw<'_>) -> Option<RecordedEvent> {
    let f = Fields::of(raw)?;
    let created_at = f.get("createdAt")?;
    let created_at = match string(created_at) {
        Some(text) => parse_iso(&text)?,
        None => integer(created_at)?,
    };
    Some(RecordedEvent {
        id: uuid::Uuid::try_parse(&f.string("id")?).ok()?,
        stream_id: StreamId::trusted(&f.string("streamId")?),
        event_type: Rc::from(f.string("type")?),
        revision: f.integer("revision")?,
        position: f.integer("position")?,
        data: f.get("data").map_or_else(Json::null, raw_json),
        metadata: f.get("metadata").map_or_else(Json::empty_object, raw_json),
        created_at,
    })
}

/// A raw JSON text as a payload (valid: serde_json read it).
pub(crate) fn raw_json(raw: Raw<'_>) -> Json {
    Json::trusted(raw.get())
}
