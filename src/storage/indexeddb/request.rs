//! Awaiting IndexedDB requests, building and unpacking records, and mapping DOM errors.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbCursor, IdbKeyRange, IdbRequest};

use crate::json::unquote;
use crate::{Error, Json, RecordedEvent, Result, StreamId};

#[wasm_bindgen(module = "/src/storage/indexeddb/request.js")]
extern "C" {
    fn settle(request: &IdbRequest) -> Promise;
    #[wasm_bindgen(js_name = errorName)]
    fn error_name(error: &JsValue) -> String;
    #[wasm_bindgen(js_name = makeRecord)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn make_record(
        position: f64,
        id: &str,
        stream_id: &str,
        event_type: &str,
        revision: f64,
        data: &str,
        metadata: &str,
        created_at: f64,
    ) -> JsValue;
    #[wasm_bindgen(js_name = packRecords)]
    fn pack_records(records: &JsValue) -> String;
    /// Event records → the contract's recorded-event objects (in reverse order if asked).
    #[wasm_bindgen(js_name = recordsToEvents)]
    pub(super) fn records_to_events(records: &JsValue, reverse: bool) -> JsValue;
    /// `navigator.storage.persist()`, `false` where unavailable.
    #[wasm_bindgen(js_name = persist)]
    pub(crate) fn persist_storage() -> Promise;
    /// `navigator.storage.estimate()` as `{ usage, quota }`.
    #[wasm_bindgen(js_name = estimate)]
    pub(crate) fn estimate_storage() -> Promise;
}

/// A request in flight, with its completion handlers attached at creation: a request may be
/// awaited after others issued later (each request completes in its own event; an unobserved
/// completion would be lost).
pub(super) struct Pending(JsFuture);

/// Starts observing `request` (the value of a `web_sys` request call).
pub(super) fn pending(request: std::result::Result<IdbRequest, JsValue>) -> Result<Pending> {
    let request = request.map_err(dom_error)?;
    Ok(Pending(JsFuture::from(settle(&request))))
}

impl Pending {
    /// The request's result. Only requests of the current transaction may be awaited inside it
    /// (IndexedDB commits as soon as no request is pending).
    pub(super) async fn result(self) -> Result<JsValue> {
        self.0.await.map_err(dom_error)
    }
}

/// Maps a DOMException (or any thrown value) to the contract's error.
pub(super) fn dom_error(error: JsValue) -> Error {
    let name = error_name(&error);
    let message = Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{error:?}"));
    if name == "QuotaExceededError" {
        Error::QuotaExceeded { message }
    } else if name.is_empty() {
        Error::storage(message)
    } else {
        Error::storage(format!("{name}: {message}"))
    }
}

/// The name of a DOMException, `""` for anything else.
pub(super) fn dom_error_name(error: &JsValue) -> String {
    error_name(error)
}

/// `IDBKeyRange.bound(lower, upper)`.
pub(super) fn bound(lower: &JsValue, upper: &JsValue) -> Result<IdbKeyRange> {
    IdbKeyRange::bound(lower, upper).map_err(dom_error)
}

/// The key `[text, n]` of the compound indexes.
pub(super) fn pair(text: &str, n: f64) -> JsValue {
    Array::of2(&text.into(), &n.into()).into()
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

/// Recorded events from an array of event records (one crossing: see `packRecords`).
pub(super) fn unpack(records: &JsValue) -> Result<Vec<RecordedEvent>> {
    let text = pack_records(records);
    let corrupt = || Error::storage("an event record in the database is malformed");
    let mut fields = text.split('\u{1e}');
    let mut events = Vec::new();
    let mut last_stream: Option<StreamId> = None;
    let mut last_type: Option<std::rc::Rc<str>> = None;
    while let Some(position) = fields.next().filter(|p| !p.is_empty()) {
        let mut next = || fields.next().ok_or_else(corrupt);
        let id = next()?;
        let stream = unquote(next()?).ok_or_else(corrupt)?;
        let event_type = unquote(next()?).ok_or_else(corrupt)?;
        let revision = next()?;
        let data = next()?;
        let metadata = next()?;
        let created_at = next()?;
        let stream_id = match &last_stream {
            Some(s) if s.as_str() == stream => s.clone(),
            _ => StreamId::trusted(&stream),
        };
        last_stream = Some(stream_id.clone());
        let event_type = match &last_type {
            Some(t) if **t == *event_type => t.clone(),
            _ => std::rc::Rc::from(event_type.as_ref()),
        };
        last_type = Some(event_type.clone());
        events.push(RecordedEvent {
            id: uuid::Uuid::try_parse(id).map_err(|_| corrupt())?,
            stream_id,
            event_type,
            revision: revision.parse().map_err(|_| corrupt())?,
            position: position.parse().map_err(|_| corrupt())?,
            data: Json::trusted(data),
            metadata: Json::trusted(metadata),
            created_at: created_at.parse().map_err(|_| corrupt())?,
        });
    }
    Ok(events)
}
