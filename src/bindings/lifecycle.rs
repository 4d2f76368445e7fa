//! The stream lifecycle in JS (CONTRACT.md "Stream lifecycle"): `setStreamMetadata`,
//! `getStreamMetadata`, `deleteStream` and `tombstoneStream` on the store, in both builds. Thin:
//! the arguments are checked and snapshotted before the first await, the rules live in the core.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use super::convert::{self, field};
use super::{promise, JsEventStore};
use crate::{Error, ExpectedRevision, Json, Result, StreamMetadata};

/// `{ key: value, … }` as a fresh JS object.
fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (key, value) in entries {
        // Defining a property on a fresh object cannot fail.
        let _ = Reflect::set(&o, &(*key).into(), value);
    }
    o.into()
}

/// An expected revision given as a JS value: `"any"`, `"no_stream"`, (when `exists` allows it)
/// `"stream_exists"`, or a revision number. Absent: `"any"`.
fn expected(value: Option<JsValue>, what: &str, exists: bool) -> Result<ExpectedRevision> {
    let Some(value) = value else {
        return Ok(ExpectedRevision::Any);
    };
    let bad = || {
        let choices = if exists {
            "\"any\", \"no_stream\", \"stream_exists\" or a revision number"
        } else {
            "\"any\", \"no_stream\" or a revision number"
        };
        Error::invalid(format!(
            "{what} must be {choices}, got {}",
            convert::describe(&value)
        ))
    };
    match value.as_string().as_deref() {
        Some("any") => Ok(ExpectedRevision::Any),
        Some("no_stream") => Ok(ExpectedRevision::NoStream),
        Some("stream_exists") if exists => Ok(ExpectedRevision::StreamExists),
        Some(_) => Err(bad()),
        None if value.as_f64().is_some() => value
            .as_f64()
            .and_then(crate::integer_from_f64)
            .map(ExpectedRevision::Exact)
            .ok_or_else(bad),
        None => Err(bad()),
    }
}

/// The options object of a lifecycle call, with only `key` accepted: its expected revision.
fn options(value: &JsValue, what: &str, key: &str, exists: bool) -> Result<ExpectedRevision> {
    let o = convert::options_object(value, what)?;
    convert::check_keys(o.as_ref(), what, &[key])?;
    expected(field(o.as_ref(), key), key, exists)
}

/// The metadata argument: a plain object, as JSON, checked by the core's rules (unknown keys,
/// `maxCount`/`maxAge` integers >= 1, `truncateBefore` an integer >= 0, `custom` an object).
fn metadata(value: &JsValue) -> Result<StreamMetadata> {
    if !value.is_object() || js_sys::Array::is_array(value) {
        let got = if value.is_null() {
            "null".to_owned()
        } else if js_sys::Array::is_array(value) {
            "an array".to_owned()
        } else {
            convert::describe(value)
        };
        return Err(Error::invalid(format!(
            "metadata must be an object {{ maxCount?, maxAge?, truncateBefore?, custom? }}, got {got}"
        )));
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(|| {
            Error::invalid("metadata must be JSON (no cycles, BigInt values or functions)")
        })?;
    // JSON.stringify wrote it: valid JSON by construction; the core reads it once.
    StreamMetadata::from_json(&Json::trusted(text))
}

/// JSON text (valid by construction: the core wrote it) as a JS value.
fn parse(json: &Json) -> Result<JsValue> {
    js_sys::JSON::parse(json.as_str()).map_err(|_| Error::invalid("metadata is not valid JSON"))
}

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// Replaces the stream's metadata: `{ maxCount, maxAge, truncateBefore, custom }`, options
    /// `{ expectedMetadataRevision }` → `{ metadataRevision, position }`.
    #[wasm_bindgen(js_name = setStreamMetadata)]
    pub fn set_stream_metadata(
        &self,
        stream_id: JsValue,
        metadata_value: JsValue,
        options_value: JsValue,
    ) -> js_sys::Promise {
        // Checked and snapshotted now, before the first await.
        let request = convert::string(&stream_id, "streamId").and_then(|s| {
            Ok((
                s,
                metadata(&metadata_value)?,
                options(
                    &options_value,
                    "setStreamMetadata options",
                    "expectedMetadataRevision",
                    false,
                )?,
            ))
        });
        let store = self.inner.clone();
        promise(async move {
            let (stream_id, metadata, expected) = request?;
            let r = store
                .set_stream_metadata(&stream_id, metadata, expected)
                .await?;
            Ok(object(&[
                ("metadataRevision", (r.next_expected_revision as f64).into()),
                ("position", (r.position as f64).into()),
            ]))
        })
    }

    /// The stream's metadata: `{ metadata, metadataRevision }` (`{}` and `null` when never set).
    #[wasm_bindgen(js_name = getStreamMetadata)]
    pub fn get_stream_metadata(&self, stream_id: JsValue) -> js_sys::Promise {
        let stream_id = convert::string(&stream_id, "streamId");
        let store = self.inner.clone();
        promise(async move {
            let (metadata, revision) = store.get_stream_metadata(&stream_id?).await?;
            Ok(object(&[
                ("metadata", parse(&metadata.to_json())?),
                (
                    "metadataRevision",
                    revision.map_or(JsValue::NULL, |r| (r as f64).into()),
                ),
            ]))
        })
    }

    /// Soft-deletes the stream: options `{ expectedRevision }` → `{ position }`.
    #[wasm_bindgen(js_name = deleteStream)]
    pub fn delete_stream(&self, stream_id: JsValue, options_value: JsValue) -> js_sys::Promise {
        self.delete(stream_id, options_value, false)
    }

    /// Hard-deletes (tombstones) the stream: options `{ expectedRevision }` → `{ position }`.
    #[wasm_bindgen(js_name = tombstoneStream)]
    pub fn tombstone_stream(&self, stream_id: JsValue, options_value: JsValue) -> js_sys::Promise {
        self.delete(stream_id, options_value, true)
    }
}

impl JsEventStore {
    /// `deleteStream` (soft) or `tombstoneStream` (`hard`).
    fn delete(&self, stream_id: JsValue, options_value: JsValue, hard: bool) -> js_sys::Promise {
        let what = if hard {
            "tombstoneStream options"
        } else {
            "deleteStream options"
        };
        let request = convert::string(&stream_id, "streamId")
            .and_then(|s| Ok((s, options(&options_value, what, "expectedRevision", true)?)));
        let store = self.inner.clone();
        promise(async move {
            let (stream_id, expected) = request?;
            let r = if hard {
                store.tombstone_stream(&stream_id, expected).await?
            } else {
                store.delete_stream(&stream_id, expected).await?
            };
            Ok(object(&[("position", (r.position as f64).into())]))
        })
    }
}
