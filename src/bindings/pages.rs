//! Read pages as the contract's JS objects. Every storage the bindings host keeps JS records
//! (`Records`), so a page reaches JS without its payloads crossing into wasm.

use wasm_bindgen::prelude::*;

use crate::storage::js::Records;
use crate::{encode_rows, BoxedPage, Error, ReadPage, RecordedEvent, Result};

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = decodeRows)]
    fn decode_rows_js(text: &str) -> JsValue;
}

/// Events → the contract's JS objects, through the row codec.
pub(crate) fn events_to_js(events: &[RecordedEvent]) -> JsValue {
    decode_rows_js(&encode_rows(events))
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
/// from the stored records.
pub(crate) fn page_to_js(page: ReadPage) -> Result<JsValue> {
    let reversed = page.reversed;
    Ok(match page.page {
        None => js_sys::Array::new().into(),
        Some(page) => records(page)?.to_js_events(reversed),
    })
}
