//! JS values → core types: options, stream ids and events (the one JSON text from `codec.js`),
//! and recorded events → one JSON text for `codec.js` to parse.

use std::fmt::Write as _;

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::json::{push_quoted, unquote};
use crate::{
    integer_from_f64, parse_event_id, Direction, Error, ExpectedRevision, Json, ProposedEvent,
    ReadFrom, ReadOptions, RecordedEvent, Result,
};

/// A revision, position or count option: a non-negative safe integer.
fn integer(value: &JsValue, what: &str) -> Result<u64> {
    value.as_f64().and_then(integer_from_f64).ok_or_else(|| {
        Error::invalid(format!(
            "{what} must be a non-negative integer, got {}",
            describe(value)
        ))
    })
}

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
    if value.as_f64().is_some() {
        return integer(&value, "expectedRevision").map(ExpectedRevision::Exact);
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
            (Some(_), _) => ReadFrom::At(integer(&f, from_key)?),
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
        if m.as_f64() != Some(f64::INFINITY) {
            read.max_count = Some(integer(&m, "maxCount")?);
        }
    }
    Ok(read)
}

/// A short description of a JS value for error messages.
pub(crate) fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        format!("\"{s}\"")
    } else if value.as_f64().is_some() {
        // JS formats the number: no float formatting code in the wasm.
        js_sys::Number::unchecked_from_js_ref(value)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// Events from the string `codec.js` wrote: per event `type`, `id`, `data`, `metadata`, each
/// followed by U+001E; `type` and `id` as JSON, `data` and `metadata` as JSON text (valid by
/// construction: `JSON.stringify` wrote them); an absent field is empty.
pub(crate) fn events_from_text(text: &str) -> Result<Vec<ProposedEvent>> {
    let fields: Vec<&str> = text.split('\u{1e}').collect();
    let fields = fields.split_last().map_or(&[][..], |(_, f)| f);
    fields
        .chunks_exact(4)
        .enumerate()
        .map(|(i, f)| {
            let event_type = unquote(f[0])
                .ok_or_else(|| {
                    Error::invalid(format!("events[{i}].type must be a non-empty string"))
                })?
                .into_owned();
            let id = match f[1] {
                "" => None,
                quoted => {
                    let text = unquote(quoted).ok_or_else(|| {
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
                data: if f[2].is_empty() {
                    Json::null()
                } else {
                    Json::trusted(f[2])
                },
                metadata: if f[3].is_empty() {
                    Json::empty_object()
                } else {
                    Json::trusted(f[3])
                },
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
        push_quoted(&mut out, e.stream_id.as_str());
        out.push_str(",\"type\":");
        push_quoted(&mut out, &e.event_type);
        let _ = write!(
            out,
            ",\"revision\":{},\"position\":{},\"data\":{},\"metadata\":{},\"createdAt\":{}}}",
            e.revision, e.position, e.data, e.metadata, e.created_at
        );
    }
    out.push(']');
    out
}
