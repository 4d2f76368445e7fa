//! What the JS-hosted storages (IndexedDB, Durable Object) share: their read page — stored
//! records as JS objects, turned into events through the row codec — and the mapping of a JS
//! error to the contract's error with the JS error kept as its cause.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use super::Page;
use crate::{decode_rows, Cause, Error, RecordedEvent, Result};

#[wasm_bindgen(module = "/src/storage/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeRecord)]
    #[allow(clippy::too_many_arguments)]
    fn make_record(
        position: f64,
        id: &str,
        stream_id: &str,
        event_type: &str,
        revision: f64,
        data: &str,
        metadata: &str,
        created_at: f64,
    ) -> JsValue;
}

/// `event` as a stored record: the row codec's fields by name, payloads as JSON text.
pub(crate) fn record(event: &RecordedEvent) -> JsValue {
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    make_record(
        event.position as f64,
        event.id.hyphenated().encode_lower(&mut id),
        event.stream_id.as_str(),
        &event.event_type,
        event.revision as f64,
        event.data.as_str(),
        event.metadata.as_str(),
        event.created_at as f64,
    )
}

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = recordsToRows)]
    fn records_to_rows(records: &Array) -> String;
    #[wasm_bindgen(js_name = recordsToEvents)]
    fn records_to_events(records: &Array, reverse: bool) -> JsValue;
}

/// Stored records (objects with the row codec's fields), ascending.
#[derive(Debug, Clone)]
pub struct Records(pub(crate) Array);

impl Records {
    /// The contract's recorded-event objects, built in JS straight from the records (payload
    /// text never crosses into wasm); descending when `reverse`.
    pub fn to_js_events(&self, reverse: bool) -> JsValue {
        records_to_events(&self.0, reverse)
    }
}

impl Page for Records {
    fn len(&self) -> usize {
        self.0.length() as usize
    }

    fn into_events(self) -> Result<Vec<RecordedEvent>> {
        decode_rows(&records_to_rows(&self.0))
    }
}

/// The `name` of a JS error (a `DOMException`'s name), `""` for anything else.
pub(crate) fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// A JS error (or any thrown value) as the contract's error, keeping it as the cause:
/// `QuotaExceededError` is `QUOTA_EXCEEDED`, anything else `STORAGE_ERROR`.
pub(crate) fn js_error(error: JsValue) -> Error {
    let name = error_name(&error);
    let message = Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "a JS value was thrown".to_owned());
    let cause = Some(Cause::new(error));
    if name == "QuotaExceededError" {
        Error::QuotaExceeded { message, cause }
    } else if name.is_empty() {
        Error::Storage { message, cause }
    } else {
        Error::Storage {
            message: format!("{name}: {message}"),
            cause,
        }
    }
}
