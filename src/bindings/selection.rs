//! The stream matcher in JS (`server` feature): `StreamSelection.parse(patterns)`, for the edge
//! service, which checks a token's `streams` claim and every stream it routes with the core's one
//! matcher ([`Selection`]) — never a second implementation of the patterns.

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::convert::{selection, well_formed};
use crate::Selection;

/// A parsed, normalized list of stream patterns (`StreamSelection` in JS).
#[wasm_bindgen(js_name = StreamSelection)]
pub struct JsStreamSelection {
    inner: Selection,
}

#[wasm_bindgen(js_class = StreamSelection)]
impl JsStreamSelection {
    /// Reads an array of stream patterns (`"List-7"`, `"Item-7-*"`, `"*"`): `INVALID_ARGUMENT`
    /// for anything but an array of non-empty, well-formed strings whose only `*` ends them.
    pub fn parse(patterns: &JsValue) -> Result<JsStreamSelection, JsValue> {
        Ok(JsStreamSelection {
            inner: selection(patterns, "stream patterns")?,
        })
    }

    /// Whether the selection matches `streamId` (a `$$` metadata stream follows its stream);
    /// false for anything but a well-formed string.
    pub fn matches(&self, stream_id: &JsValue) -> bool {
        well_formed(stream_id).is_some_and(|s| self.inner.matches(&s))
    }

    /// The patterns, normalized (sorted, without duplicates or patterns another one covers).
    #[wasm_bindgen(getter)]
    pub fn patterns(&self) -> Array {
        self.inner
            .to_strings()
            .into_iter()
            .map(JsValue::from)
            .collect()
    }
}
