//! Read pages as the contract's JS objects. Every storage the bindings host keeps JS records
//! (`Records`), so a page reaches JS without its payloads crossing into wasm. The JS builders
//! (src/codec.js) upcast what they build with the store's compiled schema (`undefined`: none).

use wasm_bindgen::prelude::*;

use crate::storage::js::{js_error, Records};
use crate::{BoxedPage, Cause, Error, ReadPage, Result};

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = decodeRows, catch)]
    fn decode_rows_js(text: &str, schema: &JsValue) -> std::result::Result<JsValue, JsValue>;

    /// What `Schema#upcast` throws when an upcaster fails.
    type UpcastFailure;
    #[wasm_bindgen(method, getter, js_name = eventId)]
    fn event_id(this: &UpcastFailure) -> String;
    #[wasm_bindgen(method, getter, js_name = type)]
    fn event_type(this: &UpcastFailure) -> String;
    #[wasm_bindgen(method, getter)]
    fn version(this: &UpcastFailure) -> u32;
    #[wasm_bindgen(method, getter, js_name = upcastCause)]
    fn upcast_cause(this: &UpcastFailure) -> JsValue;
}

/// What a JS record builder threw: `UPCAST_FAILED` (with the upcaster's thrown value as its
/// cause) for an `UpcastFailure`, else a `STORAGE_ERROR` (a malformed stored record).
pub(crate) fn upcast_failure(thrown: JsValue) -> Error {
    match thrown.dyn_ref::<UpcastFailure>() {
        Some(f) => Error::UpcastFailed {
            event_id: f.event_id(),
            event_type: f.event_type(),
            version: f.version(),
            cause: Some(Cause::new(f.upcast_cause())),
        },
        None => js_error(thrown),
    }
}

/// Events → the contract's JS objects, through the row codec, upcast by `schema`.
#[cfg(feature = "sync")]
pub(crate) fn events_to_js(events: &[crate::RecordedEvent], schema: &JsValue) -> Result<JsValue> {
    decode_rows_js(&crate::encode_rows(events), schema).map_err(upcast_failure)
}

/// A hosted storage's page as the records it is.
pub(crate) fn records(page: BoxedPage) -> Result<Records> {
    page.into_any()
        .downcast::<Records>()
        .map(|records| *records)
        .map_err(|_| {
            Error::storage("a storage the JS bindings host returned a page of another kind")
        })
}

/// A read page as the contract's recorded-event objects, in delivery order, built in JS straight
/// from the stored records and upcast by `schema`.
pub(crate) fn page_to_js(page: ReadPage, schema: &JsValue) -> Result<JsValue> {
    let reversed = page.reversed;
    Ok(match page.page {
        None => js_sys::Array::new().into(),
        Some(page) => records(page)?
            .to_js_events(reversed, schema)
            .map_err(upcast_failure)?,
    })
}
