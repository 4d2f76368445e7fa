//! JS values → core types: options, stream ids and events (the one JSON text from `codec.js`),
//! and recorded events → one JSON text for `codec.js` to parse.

use std::fmt::Write as _;

use js_sys::{Object, Reflect};
use serde::Deserialize;
use serde_json::value::RawValue;
use wasm_bindgen::{JsCast, JsValue};

use crate::{
    integer_from_f64, parse_event_id, Direction, Error, ExpectedRevision, Json, ProposedEvent,
    ReadFrom, ReadOptions, RecordedEvent, Result,
};

/// An options argument: `undefined`/`null` or an object.
pub(crate) fn options_object(value: &JsValue, what: &str) -> Result<Option<Object>> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else if value.is_object() && !js_sys::Array::is_array(value) {
        Ok(Some(value.clone().unchecked_into()))
    } else {
        Err(Error::invalid(format!("{what} must be an object")))
    }
}

/// The property `key` of `options`, `None` when absent, `undefined` or `null`.
pub(crate) fn field(options: Option<&Object>, key: &str) -> Option<JsValue> {
    let value = Reflect::get(options?, &key.into()).ok()?;
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

/// A string argument.
pub(crate) fn string(value: &JsValue, what: &str) -> Result<String> {
    value
        .as_string()
        .ok_or_else(|| Error::invalid(format!("{what} must be a string")))
}

/// `expectedRevision`: `"any"` (default), `"no_stream"`, `"stream_exists"` or a revision.
pub(crate) fn expected_revision(options: Option<&Object>) -> Result<ExpectedRevision> {
    let Some(value) = field(options, "expectedRevision") else {
        return Ok(ExpectedRevision::Any);
    };
    if let Some(n) = value.as_f64() {
        return integer_from_f64(n, "expectedRevision").map(ExpectedRevision::Exact);
    }
    match value.as_string().as_deref() {
        Some("any") => Ok(ExpectedRevision::Any),
        Some("no_stream") => Ok(ExpectedRevision::NoStream),
        Some("stream_exists") => Ok(ExpectedRevision::StreamExists),
        _ => Err(Error::invalid(format!(
            "expectedRevision must be \"any\", \"no_stream\", \"stream_exists\" or a revision number, got {}",
            describe(&value)
        ))),
    }
}

/// Read options: `from` (the key `fromRevision` or `fromPosition`), `direction`, `maxCount`.
pub(crate) fn read_options(value: &JsValue, from_key: &str) -> Result<ReadOptions> {
    let options = options_object(value, "read options")?;
    let options = options.as_ref();
    let mut read = ReadOptions::default();
    if let Some(d) = field(options, "direction") {
        read.direction = match d.as_string().as_deref() {
            Some("forwards") => Direction::Forwards,
            Some("backwards") => Direction::Backwards,
            _ => {
                return Err(Error::invalid(format!(
                    "direction must be \"forwards\" or \"backwards\", got {}",
                    describe(&d)
                )))
            }
        };
    }
    if let Some(f) = field(options, from_key) {
        read.from = Some(match (f.as_f64(), f.as_string().as_deref()) {
            (Some(n), _) => ReadFrom::At(integer_from_f64(n, from_key)?),
            (_, Some("start")) => ReadFrom::Start,
            (_, Some("end")) => ReadFrom::End,
            _ => {
                return Err(Error::invalid(format!(
                    "{from_key} must be a number, \"start\" or \"end\", got {}",
                    describe(&f)
                )))
            }
        });
    }
    if let Some(m) = field(options, "maxCount") {
        match m.as_f64() {
            Some(n) if n == f64::INFINITY => {}
            Some(n) => read.max_count = Some(integer_from_f64(n, "maxCount")?),
            None => {
                return Err(Error::invalid(format!(
                    "maxCount must be a non-negative integer, got {}",
                    describe(&m)
                )))
            }
        }
    }
    Ok(read)
}

/// A short description of a JS value for error messages.
pub(crate) fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        format!("\"{s}\"")
    } else if let Some(n) = value.as_f64() {
        n.to_string()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// One event as `codec.js` encodes it: each field's JSON text, absent when `undefined`.
#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
}

/// Events from the JSON array text that `codec.js` wrote with `JSON.stringify`.
pub(crate) fn events_from_json(text: &str) -> Result<Vec<ProposedEvent>> {
    let wire: Vec<WireEvent> = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("events could not be read: {e}")))?;
    wire.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let event_type = w
                .event_type
                .filter(|t| t.get().starts_with('"'))
                .and_then(|t| serde_json::from_str::<String>(t.get()).ok())
                .ok_or_else(|| {
                    Error::invalid(format!("events[{i}].type must be a non-empty string"))
                })?;
            let id = match w.id.map(RawValue::get) {
                None | Some("null") => None,
                Some(raw) => {
                    let text = serde_json::from_str::<String>(raw).map_err(|_| {
                        Error::invalid(format!("events[{i}].id must be a UUID string"))
                    })?;
                    Some(
                        parse_event_id(&text)
                            .map_err(|e| Error::invalid(format!("events[{i}].id: {e}")))?,
                    )
                }
            };
            Ok(ProposedEvent {
                id,
                event_type,
                data: w.data.map_or_else(Json::null, |d| Json::trusted(d.get())),
                metadata: w
                    .metadata
                    .map_or_else(Json::empty_object, |m| Json::trusted(m.get())),
            })
        })
        .collect()
}

/// Recorded events as one JSON array text of the contract's shape (`createdAt` in
/// milliseconds; `codec.js` turns it into a `Date`).
pub(crate) fn events_to_json(events: &[RecordedEvent]) -> String {
    let payload: usize = events
        .iter()
        .map(|e| {
            e.data.byte_len()
                + e.metadata.byte_len()
                + e.stream_id.as_str().len()
                + e.event_type.len()
        })
        .sum();
    let mut out = String::with_capacity(payload + events.len() * 160 + 2);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":\"");
        // Writing to a String cannot fail.
        let _ = write!(out, "{}", e.id.hyphenated());
        out.push_str("\",\"streamId\":");
        push_json_string(&mut out, e.stream_id.as_str());
        out.push_str(",\"type\":");
        push_json_string(&mut out, &e.event_type);
        let _ = write!(
            out,
            ",\"revision\":{},\"position\":{},\"data\":{},\"metadata\":{},\"createdAt\":{}}}",
            e.revision, e.position, e.data, e.metadata, e.created_at
        );
    }
    out.push(']');
    out
}

fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // Serializing a &str to JSON cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}
