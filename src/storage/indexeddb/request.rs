//! Awaiting IndexedDB requests, building records, keys and key ranges.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbCursor, IdbIndex, IdbKeyRange, IdbRequest};

use crate::storage::js::js_error;
use crate::Result;

#[wasm_bindgen(module = "/src/storage/host.js")]
extern "C" {
    fn settle(request: &IdbRequest) -> Promise;
    #[wasm_bindgen(js_name = settleLive)]
    fn settle_live(request: &IdbRequest) -> Promise;
    #[wasm_bindgen(js_name = idbHusk)]
    fn idb_husk(
        index: &IdbIndex,
        stream_id: &str,
        from: f64,
        to: f64,
        created_before: f64,
        through: f64,
    ) -> Promise;
}

/// A request in flight, with its completion handlers attached at creation: a request may be
/// awaited after others issued later (each request completes in its own event; an unobserved
/// completion would be lost).
pub(super) struct Pending(JsFuture);

/// Starts observing `request` (the value of a `web_sys` request call).
pub(super) fn pending(request: std::result::Result<IdbRequest, JsValue>) -> Result<Pending> {
    let request = request.map_err(js_error)?;
    Ok(Pending(JsFuture::from(settle(&request))))
}

/// Starts observing a `getAll` request of event records: its result holds the live records only
/// (husks are filtered out in JS).
pub(super) fn pending_live(request: std::result::Result<IdbRequest, JsValue>) -> Result<Pending> {
    let request = request.map_err(js_error)?;
    Ok(Pending(JsFuture::from(settle_live(&request))))
}

/// Husks the live events of `stream` in `[from, to]` (created before `created_before`, at a
/// position at or below `through`; +∞ for no bound), through `index` (the `stream` index), in
/// its transaction; see `idbHusk` in `src/storage/host.js`.
pub(super) fn husk(
    index: &IdbIndex,
    stream: &str,
    (from, to): (f64, f64),
    created_before: f64,
    through: f64,
) -> Pending {
    Pending(JsFuture::from(idb_husk(
        index,
        stream,
        from,
        to,
        created_before,
        through,
    )))
}

impl Pending {
    /// The request's result. Only requests of the current transaction may be awaited inside it
    /// (IndexedDB commits as soon as no request is pending).
    pub(super) async fn result(self) -> Result<JsValue> {
        self.0.await.map_err(js_error)
    }
}

/// `IDBKeyRange.bound(lower, upper)`.
pub(super) fn bound(lower: &JsValue, upper: &JsValue) -> Result<IdbKeyRange> {
    IdbKeyRange::bound(lower, upper).map_err(js_error)
}

/// The key `[text, n]` of the compound indexes.
pub(super) fn pair(text: &str, n: f64) -> JsValue {
    Array::of2(&text.into(), &n.into()).into()
}

/// A revision or position as a key number (past 2^53 nothing is stored: +∞ bounds a range).
pub(super) fn key_number(n: u64) -> f64 {
    if n > 9_007_199_254_740_991 {
        f64::INFINITY
    } else {
        n as f64
    }
}

/// The last number of a key cursor's key (`n` of `n` or of `[…, n]`), `None` for no cursor.
pub(super) fn cursor_number(cursor: JsValue) -> Option<u64> {
    let cursor: IdbCursor = cursor.dyn_into().ok()?;
    let key = cursor.key().ok()?;
    let n = match key.dyn_ref::<Array>() {
        Some(a) => a.get(a.length() - 1).as_f64()?,
        None => key.as_f64()?,
    };
    Some(n as u64)
}
