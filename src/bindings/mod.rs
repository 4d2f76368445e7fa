//! The JS-facing `EventStore` (wasm32 only). Thin: convert the arguments, call the core, map
//! the result. Every method returns a `Promise` that rejects with an `EventStoreError`.

#[cfg(feature = "server")]
mod bodies;
mod convert;
mod error;
mod lifecycle;
mod open;
mod pages;
#[cfg(feature = "server")]
mod selection;
#[cfg(feature = "server")]
mod server;
mod subscribe;
#[cfg(feature = "sync")]
mod sync;

use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{Error, EventStore, Result};
use pages::page_to_js;

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeAppend, catch)]
    fn encode_append(
        stream_id: &JsValue,
        events: &JsValue,
        options: &JsValue,
        kept: &JsValue,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = appendResult)]
    fn append_result(next_expected_revision: f64, position: f64) -> JsValue;
    fn fold(
        events: &JsValue,
        initial_state: &js_sys::Function,
        evolve: &js_sys::Function,
        schema: &JsValue,
    ) -> Promise;
    #[wasm_bindgen(js_name = deliverBatch, catch)]
    fn deliver_batch(
        events: &JsValue,
        from: u32,
        to: u32,
        handler: &js_sys::Function,
        control: &js_sys::Object,
    ) -> std::result::Result<i32, JsValue>;
}

/// An append's arguments, validated and snapshotted (each read once): stream id, events (with
/// `causedBy`'s ids in their metadata) and expected revision. `what` names the options in
/// messages.
pub(crate) fn append_request(
    stream_id: &JsValue,
    events: &JsValue,
    options: &JsValue,
    what: &str,
) -> Result<(String, Vec<crate::ProposedEvent>, crate::ExpectedRevision)> {
    let options_object = convert::options_object(options, what)?;
    let kept = crate::storage::heap::begin_append();
    let encoded = encode_append(stream_id, events, options, &kept).map_err(|e| {
        Error::invalid(
            js_sys::Error::from(e)
                .message()
                .as_string()
                .unwrap_or_default(),
        )
    })?;
    let Some(text) = encoded.as_string().or_else(|| utf8(&encoded)) else {
        // The options have an unknown key (found in JS, where it is cheap): named here.
        convert::check_keys(
            options_object.as_ref(),
            what,
            &["expectedRevision", "causedBy"],
        )?;
        return Err(Error::invalid(format!("{what} have an unknown key")));
    };
    convert::append_from_text(&text, crate::storage::heap::expect_append)
}

/// A long encoded append, which `encodeAppend` gives as UTF-8 bytes (`TextEncoder`'s output,
/// copied into wasm memory in one piece: for long ASCII text several times faster than the
/// glue's copy of a string, which goes a character at a time); `None` for anything else.
fn utf8(encoded: &JsValue) -> Option<String> {
    let bytes = encoded.dyn_ref::<js_sys::Uint8Array>()?.to_vec();
    // TextEncoder writes UTF-8 (a lone surrogate would become U+FFFD), so this never copies.
    Some(
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

/// An event store (`EventStore` in JS). Create it with `EventStore.open(options)`.
#[wasm_bindgen(js_name = EventStore)]
pub struct JsEventStore {
    inner: Rc<EventStore>,
    /// The JS-heap storage under the store, if that is its storage.
    heap: Option<Rc<crate::HeapStorage>>,
    /// The compiled `schema` option (`Schema` in src/codec.js), `undefined` without one: what
    /// every read hands to the JS record builders.
    schema: JsValue,
}

/// Runs `work` as a JS promise whose rejection is an `EventStoreError`.
///
/// The future is polled once right away: work that completes without waiting (everything on
/// the memory storage) resolves through `Promise.resolve`, with no executor task and no extra
/// microtask hop. Work that waits goes to the executor, whose first poll replaces the no-op
/// waker (a future wakes the waker of its most recent poll).
fn promise<F>(work: F) -> Promise
where
    F: Future<Output = Result<JsValue>> + 'static,
{
    settle(Box::pin(work))
}

/// [`promise`] past the boxing: one copy in the wasm for every method (and one instantiation
/// of `future_to_promise`), not one per future type.
fn settle(mut work: std::pin::Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    let mut cx = Context::from_waker(Waker::noop());
    match work.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(value)) => Promise::resolve(&value),
        Poll::Ready(Err(e)) => Promise::reject(&e.into()),
        Poll::Pending => future_to_promise(async move { work.await.map_err(JsValue::from) }),
    }
}

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// Not for use: stores are created with `EventStore.open(options)`.
    #[wasm_bindgen(constructor)]
    pub fn new() -> std::result::Result<JsEventStore, JsValue> {
        Err(Error::invalid("use `await EventStore.open(options)` to create a store").into())
    }

    /// Opens a store: `{ storage, maxEventBytes, ...the storage's own options }`.
    pub async fn open(options: JsValue) -> std::result::Result<JsValue, JsValue> {
        Ok(open::open(options).await?)
    }

    /// Appends `events` to `streamId`: `{ expectedRevision, causedBy }` → `{ nextExpectedRevision,
    /// position }`.
    pub fn append(&self, stream_id: JsValue, events: JsValue, options: JsValue) -> Promise {
        // Validate and snapshot the caller's objects now, before the first await.
        let request = append_request(&stream_id, &events, &options, "append options");
        let store = self.inner.clone();
        promise(async move {
            let (stream_id, events, expected) = request?;
            let r = store.append(&stream_id, events, expected).await;
            crate::storage::heap::end_append();
            let r = r?;
            Ok(append_result(
                r.next_expected_revision as f64,
                r.position as f64,
            ))
        })
    }

    /// Reads a stream: `{ fromRevision, direction, maxCount }` → recorded events.
    #[wasm_bindgen(js_name = readStream)]
    pub fn read_stream(&self, stream_id: JsValue, options: JsValue) -> Promise {
        let request = convert::string(&stream_id, "streamId")
            .and_then(|s| Ok((s, convert::read_options(&options, "fromRevision")?)));
        let (store, schema) = (self.inner.clone(), self.schema.clone());
        promise(async move {
            let (stream_id, options) = request?;
            page_to_js(store.read_stream_page(&stream_id, options).await?, &schema)
        })
    }

    /// Reads the global log: `{ fromPosition, direction, maxCount, streams }` → recorded
    /// events (`streams`: only the events of the streams these patterns match, with their
    /// positions).
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self, options: JsValue) -> Promise {
        let options = convert::read_all_options(&options);
        let (store, schema) = (self.inner.clone(), self.schema.clone());
        promise(async move {
            let page = match options? {
                (options, Some(streams)) => store.read_all_selected_page(&streams, options).await?,
                (options, None) => store.read_all_page(options).await?,
            };
            page_to_js(page, &schema)
        })
    }

    /// The stream's current revision, or `null` when it has no events.
    #[wasm_bindgen(js_name = streamRevision)]
    pub fn stream_revision(&self, stream_id: JsValue) -> Promise {
        let stream_id = convert::string(&stream_id, "streamId");
        let store = self.inner.clone();
        promise(async move {
            let revision = store.stream_revision(&stream_id?).await?;
            Ok(revision.map_or(JsValue::NULL, |r| (r as f64).into()))
        })
    }

    /// Subscribes `handler` to the log: the stored events after the start (`after`, a
    /// checkpoint, or the beginning), then new ones as they are committed. Options: `after`,
    /// `streamId`, `category`, `eventTypes`, `onCaughtUp`, `onError`, `checkpoint`.
    pub fn subscribe(
        &self,
        handler: JsValue,
        options: JsValue,
    ) -> std::result::Result<subscribe::JsSubscription, JsValue> {
        let handler = handler
            .dyn_into()
            .map_err(|_| Error::invalid("the handler must be a function"))?;
        let hold = self.heap.as_ref().map(|h| h.hold());
        Ok(subscribe::subscribe(
            &self.inner,
            hold,
            handler,
            &options,
            &self.schema,
        )?)
    }

    /// Folds a stream: `{ initialState, evolve }` → `{ state, revision }` (`revision` is `null`
    /// for a stream with no events).
    #[wasm_bindgen(js_name = aggregateStream)]
    pub fn aggregate_stream(&self, stream_id: JsValue, options: JsValue) -> Promise {
        let request = convert::string(&stream_id, "streamId")
            .and_then(|s| Ok((s, subscribe::aggregate_options(&options)?)));
        let (store, schema) = (self.inner.clone(), self.schema.clone());
        // Resolving with the fold's promise adopts it: its result, what `evolve` threw, or
        // `SCHEMA_TOO_NEW` for an event of a newer app (never folded).
        promise(async move {
            let (stream_id, (initial, evolve)) = request?;
            let page = store
                .read_stream_page(&stream_id, crate::ReadOptions::forwards())
                .await?;
            let objects = page_to_js(page, &schema)?;
            Ok(fold(&objects, &initial, &evolve, &schema).into())
        })
    }

    /// Closes the store; later calls reject with `CLOSED`.
    pub fn close(&self) -> Promise {
        self.inner.close();
        Promise::resolve(&JsValue::UNDEFINED)
    }
}
