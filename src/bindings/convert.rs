//! JS values → core types: options (with unknown keys refused), stream ids, and events (the one
//! text that `codec.js` encodes per append).

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::event::with_causation;
use crate::json::unquote;
use crate::{
    integer_from_f64, parse_event_id, Direction, Error, ExpectedRevision, Json, ProposedEvent,
    ReadFrom, ReadOptions, Result, Selection, StreamPattern,
};

/// A revision, position or count option: a non-negative safe integer.
pub(crate) fn integer(value: &JsValue, what: &str) -> Result<u64> {
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

/// Refuses keys of `options` that the call does not know (a typo must never switch a check
/// off), naming the key, the accepted ones, and the nearest one.
pub(crate) fn check_keys(options: Option<&Object>, what: &str, accepted: &[&str]) -> Result<()> {
    let Some(options) = options else {
        return Ok(());
    };
    for key in Object::keys(options).iter() {
        let key = key.as_string().unwrap_or_default();
        if !accepted.contains(&key.as_str()) {
            let list: Vec<String> = accepted.iter().map(|k| format!("\"{k}\"")).collect();
            return Err(Error::invalid(format!(
                "unknown option \"{key}\" in {what} (accepted: {}){}",
                list.join(", "),
                suggestion(&key, accepted.iter().copied())
            )));
        }
    }
    Ok(())
}

/// `"; did you mean \"x\"?"` for the candidate nearest to `given` (a few edits away, or one
/// that begins with it), if one is near.
pub(crate) fn suggestion<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let given = given.to_ascii_lowercase();
    candidates
        .map(|c| {
            let lower = c.to_ascii_lowercase();
            let d = if given.len() >= 3 && lower.starts_with(&given) {
                1
            } else {
                distance(&given, &lower)
            };
            (d, c)
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
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

/// `expectedRevision` as `codec.js` encodes it: empty (absent: `"any"`), a JSON string, or a
/// number's digits.
fn expected_revision(field: &str) -> Result<ExpectedRevision> {
    let bad = || {
        Error::invalid(format!(
            "expectedRevision must be \"any\", \"no_stream\", \"stream_exists\" or a revision number, got {}",
            if field == "!" { "a value of another kind" } else { field }
        ))
    };
    match field {
        "" | "\"any\"" => Ok(ExpectedRevision::Any),
        "\"no_stream\"" => Ok(ExpectedRevision::NoStream),
        "\"stream_exists\"" => Ok(ExpectedRevision::StreamExists),
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => digits
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= 9_007_199_254_740_991)
            .map(ExpectedRevision::Exact)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// Read options: `from` (the key `fromRevision` or `fromPosition`), `direction`, `maxCount`.
pub(crate) fn read_options(value: &JsValue, from_key: &str) -> Result<ReadOptions> {
    read_options_and(value, from_key, None)
}

/// `readAll` options: the read options (`fromPosition`) and `streams`, the stream patterns the
/// read is restricted to (`None` when absent: every stream).
pub(crate) fn read_all_options(value: &JsValue) -> Result<(ReadOptions, Option<Selection>)> {
    let read = read_options_and(value, "fromPosition", Some("streams"))?;
    let options = options_object(value, "read options")?;
    let streams = match field(options.as_ref(), "streams") {
        Some(patterns) => Some(selection(&patterns, "streams")?),
        None => None,
    };
    Ok((read, streams))
}

/// A list of stream patterns (`["List-7", "Item-*"]`): an array of non-empty strings, each
/// with at most one `*`, at its end. `INVALID_ARGUMENT` names the first bad element.
/// `value` as a Rust string when it is a well-formed JS string (a lone surrogate would otherwise
/// read as U+FFFD: another stream id).
pub(crate) fn well_formed(value: &JsValue) -> Option<String> {
    let text = value.dyn_ref::<js_sys::JsString>()?;
    text.is_valid_utf16().then(|| String::from(text))
}

pub(crate) fn selection(value: &JsValue, what: &str) -> Result<Selection> {
    if !js_sys::Array::is_array(value) {
        return Err(Error::invalid(format!(
            "{what} must be an array of stream patterns (like [\"List-7\", \"Item-*\"]), got {}",
            describe(value)
        )));
    }
    let array: &js_sys::Array = value.unchecked_ref();
    let patterns = array
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = well_formed(&item).ok_or_else(|| {
                Error::invalid(format!(
                    "{what}[{i}] must be a string, got {}",
                    describe(&item)
                ))
            })?;
            StreamPattern::parse(&text).map_err(|e| Error::invalid(format!("{what}[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Selection::from_patterns(patterns))
}

/// [`read_options`], also accepting the key `more`.
fn read_options_and(value: &JsValue, from_key: &str, more: Option<&str>) -> Result<ReadOptions> {
    let options = options_object(value, "read options")?;
    let options = options.as_ref();
    let mut accepted = vec![from_key, "direction", "maxCount"];
    accepted.extend(more);
    check_keys(options, "read options", &accepted)?;
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

/// An append from the string `codec.js` wrote: stream id, expected revision, and `causedBy`'s
/// causation and correlation ids (empty: no `causedBy`), then per event `type`, `id`, `data`,
/// `metadata`; every field followed by U+001E. Strings are JSON-quoted, `data` and `metadata`
/// JSON text (valid by construction: `JSON.stringify` wrote them); an absent field is empty.
/// With `causedBy`, each event's metadata gains the ids it does not set itself. `parsed` sees
/// the stream id and the events as the text gave them, before that.
pub(crate) fn append_from_text(
    text: &str,
    parsed: impl FnOnce(&str, &[ProposedEvent]),
) -> Result<(String, Vec<ProposedEvent>, ExpectedRevision)> {
    let mut header = text.splitn(5, '\u{1e}');
    let mut next = || header.next().unwrap_or_default();
    let (stream_id, expected, causation, correlation) = (next(), next(), next(), next());
    let events = next();
    let stream_id = unquote(stream_id)
        .ok_or_else(|| Error::invalid("streamId must be a string"))?
        .into_owned();
    let mut events = events_from_text(events)?;
    parsed(&stream_id, &events);
    if let (Some(causation), Some(correlation)) = (unquote(causation), unquote(correlation)) {
        for event in &mut events {
            if let Some(metadata) = with_causation(&event.metadata, &causation, &correlation) {
                event.metadata = metadata;
            }
        }
    }
    Ok((stream_id, events, expected_revision(expected)?))
}

fn events_from_text(text: &str) -> Result<Vec<ProposedEvent>> {
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
