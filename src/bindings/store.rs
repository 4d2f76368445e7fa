//! The store behind the JS `EventStore`, with its storage erased: any [`JsStorage`] — a storage
//! that says how its read pages become JS objects — is hosted the same way.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::subscribe::{self, JsSubscription};
use crate::{
    encode_rows, AppendResult, EventStore, ExpectedRevision, MemoryStorage, PageOf, ProposedEvent,
    ReadOptions, ReadPage, Result, Revision, Storage,
};

#[wasm_bindgen(module = "/src/row.js")]
extern "C" {
    #[wasm_bindgen(js_name = decodeRows)]
    fn decode_rows_js(text: &str) -> JsValue;
}

/// Events → the contract's JS objects, through the row codec.
pub(crate) fn events_to_js(events: &[crate::RecordedEvent]) -> JsValue {
    decode_rows_js(&encode_rows(events))
}

/// A unit of async work of the store.
pub(crate) type Task<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

/// A storage the bindings can host.
pub(crate) trait JsStorage: Storage + 'static {
    /// A read page as the contract's recorded-event objects, in delivery order.
    fn page_to_js(page: ReadPage<PageOf<'_, Self>>) -> Result<JsValue>;
}

impl JsStorage for MemoryStorage {
    fn page_to_js(page: ReadPage<Vec<crate::RecordedEvent>>) -> Result<JsValue> {
        Ok(events_to_js(&page.into_events()?))
    }
}

#[cfg(any(feature = "indexeddb", feature = "durable-object"))]
fn records_to_js(page: ReadPage<crate::storage::js::Records>) -> JsValue {
    match &page.page {
        Some(records) => records.to_js_events(page.reversed),
        None => js_sys::Array::new().into(),
    }
}

#[cfg(feature = "indexeddb")]
impl JsStorage for crate::IndexedDbStorage {
    fn page_to_js(page: ReadPage<crate::storage::js::Records>) -> Result<JsValue> {
        Ok(records_to_js(page))
    }
}

#[cfg(feature = "durable-object")]
impl JsStorage for crate::DurableObjectStorage {
    fn page_to_js(page: ReadPage<crate::storage::js::Records>) -> Result<JsValue> {
        Ok(records_to_js(page))
    }
}

/// What the JS `EventStore` asks of its store, whatever the storage.
pub(crate) trait JsStore {
    fn append(
        self: Rc<Self>,
        stream_id: String,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
    ) -> Task<AppendResult>;
    fn read_stream(self: Rc<Self>, stream_id: String, options: ReadOptions) -> Task<JsValue>;
    fn read_all(self: Rc<Self>, options: ReadOptions) -> Task<JsValue>;
    fn stream_revision(self: Rc<Self>, stream_id: String) -> Task<Option<Revision>>;
    fn subscribe(self: Rc<Self>, handler: Function, options: &JsValue) -> Result<JsSubscription>;
    fn close(&self);
}

impl<S: JsStorage> JsStore for EventStore<S> {
    fn append(
        self: Rc<Self>,
        stream_id: String,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
    ) -> Task<AppendResult> {
        Box::pin(async move { EventStore::append(&self, &stream_id, events, expected).await })
    }

    fn read_stream(self: Rc<Self>, stream_id: String, options: ReadOptions) -> Task<JsValue> {
        Box::pin(async move { S::page_to_js(self.read_stream_page(&stream_id, options).await?) })
    }

    fn read_all(self: Rc<Self>, options: ReadOptions) -> Task<JsValue> {
        Box::pin(async move { S::page_to_js(self.read_all_page(options).await?) })
    }

    fn stream_revision(self: Rc<Self>, stream_id: String) -> Task<Option<Revision>> {
        Box::pin(async move { EventStore::stream_revision(&self, &stream_id).await })
    }

    fn subscribe(self: Rc<Self>, handler: Function, options: &JsValue) -> Result<JsSubscription> {
        subscribe::subscribe(&self, handler, options)
    }

    fn close(&self) {
        EventStore::close(self)
    }
}
