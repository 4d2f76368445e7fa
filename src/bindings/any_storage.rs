//! [`AnyStorage`]: any storage the bindings host, with its type erased, so that the store's
//! algorithms (append, reads, subscriptions) are compiled once for every storage of the build.
//! A storage joins by implementing [`JsStorage`]: how its read pages reach JS.

use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::storage::js::Records;
use crate::storage::Heads;
use crate::{
    encode_rows, CommitError, Json, Mode, PageOf, Position, PreparedAppend, ReadPage,
    RecordedEvent, Result, Revision, Storage, StoredLocation, StreamId, Transaction, Uuid,
};

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = decodeRows)]
    fn decode_rows_js(text: &str) -> JsValue;
}

/// Events → the contract's JS objects, through the row codec.
pub(crate) fn events_to_js(events: &[RecordedEvent]) -> JsValue {
    decode_rows_js(&encode_rows(events))
}

/// A page of any storage the bindings host: stored records (every one of them is JS-hosted).
pub(crate) type AnyPage = Records;

/// A read page as the contract's recorded-event objects, in delivery order, built in JS straight
/// from the stored records (their payload text never crosses into wasm).
pub(crate) fn page_to_js(page: ReadPage<AnyPage>) -> Result<JsValue> {
    Ok(match page.page {
        None => js_sys::Array::new().into(),
        Some(records) => records.to_js_events(page.reversed),
    })
}

/// A storage the bindings can host.
pub(crate) trait JsStorage: Storage + 'static {
    /// Its page as an [`AnyPage`]: the identity for every hosted storage (their pages are
    /// stored records), spelled out because a trait's `where` bound on its transactions' page
    /// type is not implied where the trait is used.
    fn any_page(page: PageOf<'_, Self>) -> AnyPage;

    /// Makes the JS store object `store` the owner of what the storage keeps on the JS heap.
    fn attach(&self, store: &JsValue) {
        let _ = store;
    }

    /// Keeps that reachable while something runs without the store object (a subscription).
    fn hold(&self) -> Option<crate::HeapHold> {
        None
    }
}

impl JsStorage for AnyStorage {
    fn any_page(page: AnyPage) -> AnyPage {
        page
    }
    fn attach(&self, store: &JsValue) {
        DynStorage::attach(&*self.0, store)
    }
    fn hold(&self) -> Option<crate::HeapHold> {
        DynStorage::hold(&*self.0)
    }
}

/// A synced store's storage: any storage whose appends also queue an outbox entry.
impl JsStorage for crate::sync::Outboxed<AnyStorage> {
    fn any_page(page: AnyPage) -> AnyPage {
        page
    }
    fn attach(&self, store: &JsValue) {
        JsStorage::attach(self.inner(), store)
    }
    fn hold(&self) -> Option<crate::HeapHold> {
        JsStorage::hold(self.inner())
    }
}

impl JsStorage for crate::HeapStorage {
    fn any_page(page: Records) -> AnyPage {
        page
    }
    fn attach(&self, store: &JsValue) {
        crate::HeapStorage::attach(self, store)
    }
    fn hold(&self) -> Option<crate::HeapHold> {
        Some(crate::HeapStorage::hold(self))
    }
}

#[cfg(feature = "indexeddb")]
impl JsStorage for crate::IndexedDbStorage {
    fn any_page(page: Records) -> AnyPage {
        page
    }
}

#[cfg(feature = "durable-object")]
impl JsStorage for crate::DurableObjectStorage {
    fn any_page(page: Records) -> AnyPage {
        page
    }
}

type Task<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The heads of several streams and of the log.
type HeadsOf = (Vec<Option<Revision>>, Option<Position>);

/// [`Storage`] as a trait object.
trait DynStorage {
    fn begin(&self, mode: Mode) -> Task<'_, Result<Box<dyn DynTx<'_> + '_>>>;
    fn rejects_duplicate_ids(&self) -> bool;
    fn groups_appends(&self) -> bool;
    fn reads_own_writes(&self) -> bool;
    fn truncates(&self) -> bool;
    fn load_checkpoint<'a>(&'a self, name: &'a str) -> Task<'a, Result<Option<Position>>>;
    fn save_checkpoint<'a>(&'a self, name: &'a str, position: Position) -> Task<'a, Result<()>>;
    fn watch(&self, wake: Rc<dyn Fn()>);
    fn committed(&self, last_position: Position);
    fn close(&self);
    fn attach(&self, store: &JsValue);
    fn hold(&self) -> Option<crate::HeapHold>;
}

/// [`Transaction`] as a trait object.
trait DynTx<'t> {
    fn heads<'a>(&'a mut self, stream: &'a StreamId) -> Task<'a, Result<Heads>>;
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Task<'a, Result<Option<Revision>>>;
    fn log_head(&mut self) -> Task<'_, Result<Option<Position>>>;
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Task<'a, Result<HeadsOf>>;
    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Task<'a, Result<Vec<Option<StoredLocation>>>>;
    fn read_stream<'a>(
        &'a mut self,
        stream: &'a StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Task<'a, Result<AnyPage>>;
    fn read_log(&mut self, positions: RangeInclusive<Position>) -> Task<'_, Result<AnyPage>>;
    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Task<'a, Result<()>>;
    fn appended<'a>(
        &'a mut self,
        append: &'a PreparedAppend,
        events: &'a [RecordedEvent],
    ) -> Task<'a, Result<()>>;
    fn truncate_log(&mut self, from: Position) -> Task<'_, Result<()>>;
    fn get_meta<'a>(&'a mut self, key: &'a str) -> Task<'a, Result<Option<Json>>>;
    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Task<'a, Result<Vec<(String, Json)>>>;
    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Task<'a, Result<()>>;
    fn commit(self: Box<Self>) -> Task<'t, std::result::Result<(), CommitError>>;
}

/// The transaction `T` of storage `S`.
struct Erased<T, S>(T, std::marker::PhantomData<fn() -> S>);

impl<'t, S: JsStorage, T: Transaction<Page = PageOf<'t, S>> + 't> DynTx<'t> for Erased<T, S> {
    fn heads<'a>(&'a mut self, stream: &'a StreamId) -> Task<'a, Result<Heads>> {
        Box::pin(self.0.heads(stream))
    }
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Task<'a, Result<Option<Revision>>> {
        Box::pin(self.0.stream_head(stream))
    }
    fn log_head(&mut self) -> Task<'_, Result<Option<Position>>> {
        Box::pin(self.0.log_head())
    }
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Task<'a, Result<HeadsOf>> {
        Box::pin(self.0.heads_of(streams))
    }
    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Task<'a, Result<Vec<Option<StoredLocation>>>> {
        Box::pin(self.0.locate(ids))
    }
    fn read_stream<'a>(
        &'a mut self,
        stream: &'a StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Task<'a, Result<AnyPage>> {
        Box::pin(async move { Ok(S::any_page(self.0.read_stream(stream, revisions).await?)) })
    }
    fn read_log(&mut self, positions: RangeInclusive<Position>) -> Task<'_, Result<AnyPage>> {
        Box::pin(async move { Ok(S::any_page(self.0.read_log(positions).await?)) })
    }
    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Task<'a, Result<()>> {
        Box::pin(self.0.put(events))
    }
    fn appended<'a>(
        &'a mut self,
        append: &'a PreparedAppend,
        events: &'a [RecordedEvent],
    ) -> Task<'a, Result<()>> {
        Box::pin(self.0.appended(append, events))
    }
    fn truncate_log(&mut self, from: Position) -> Task<'_, Result<()>> {
        Box::pin(self.0.truncate_log(from))
    }
    fn get_meta<'a>(&'a mut self, key: &'a str) -> Task<'a, Result<Option<Json>>> {
        Box::pin(self.0.get_meta(key))
    }
    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Task<'a, Result<Vec<(String, Json)>>> {
        Box::pin(self.0.scan_meta(prefix))
    }
    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Task<'a, Result<()>> {
        Box::pin(self.0.put_meta(key, value))
    }
    fn commit(self: Box<Self>) -> Task<'t, std::result::Result<(), CommitError>> {
        Box::pin(self.0.commit())
    }
}

impl<S: JsStorage> DynStorage for S {
    fn begin(&self, mode: Mode) -> Task<'_, Result<Box<dyn DynTx<'_> + '_>>> {
        Box::pin(async move {
            let tx = Storage::begin(self, mode).await?;
            let tx: Box<dyn DynTx<'_> + '_> =
                Box::new(Erased::<_, S>(tx, std::marker::PhantomData));
            Ok(tx)
        })
    }
    fn rejects_duplicate_ids(&self) -> bool {
        Storage::rejects_duplicate_ids(self)
    }
    fn groups_appends(&self) -> bool {
        Storage::groups_appends(self)
    }
    fn reads_own_writes(&self) -> bool {
        Storage::reads_own_writes(self)
    }
    fn truncates(&self) -> bool {
        Storage::truncates(self)
    }
    fn load_checkpoint<'a>(&'a self, name: &'a str) -> Task<'a, Result<Option<Position>>> {
        Box::pin(Storage::load_checkpoint(self, name))
    }
    fn save_checkpoint<'a>(&'a self, name: &'a str, position: Position) -> Task<'a, Result<()>> {
        Box::pin(Storage::save_checkpoint(self, name, position))
    }
    fn watch(&self, wake: Rc<dyn Fn()>) {
        Storage::watch(self, wake)
    }
    fn committed(&self, last_position: Position) {
        Storage::committed(self, last_position)
    }
    fn close(&self) {
        Storage::close(self)
    }
    fn attach(&self, store: &JsValue) {
        JsStorage::attach(self, store)
    }
    fn hold(&self) -> Option<crate::HeapHold> {
        JsStorage::hold(self)
    }
}

/// Any hosted storage.
pub(crate) struct AnyStorage(Box<dyn DynStorage>);

impl AnyStorage {
    /// Erases `storage`'s type.
    pub(crate) fn new<S: JsStorage>(storage: S) -> Self {
        AnyStorage(Box::new(storage))
    }
}

impl std::fmt::Debug for AnyStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnyStorage")
    }
}

/// A transaction of [`AnyStorage`].
pub(crate) struct AnyTx<'a>(Box<dyn DynTx<'a> + 'a>);

impl Transaction for AnyTx<'_> {
    type Page = AnyPage;

    async fn stream_head(&mut self, stream: &StreamId) -> Result<Option<Revision>> {
        self.0.stream_head(stream).await
    }
    async fn log_head(&mut self) -> Result<Option<Position>> {
        self.0.log_head().await
    }
    async fn heads_of(&mut self, streams: &[StreamId]) -> Result<HeadsOf> {
        self.0.heads_of(streams).await
    }
    async fn heads(&mut self, stream: &StreamId) -> Result<Heads> {
        self.0.heads(stream).await
    }
    async fn locate(&mut self, ids: &[Uuid]) -> Result<Vec<Option<StoredLocation>>> {
        self.0.locate(ids).await
    }
    async fn read_stream(
        &mut self,
        stream: &StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Result<AnyPage> {
        self.0.read_stream(stream, revisions).await
    }
    async fn read_log(&mut self, positions: RangeInclusive<Position>) -> Result<AnyPage> {
        self.0.read_log(positions).await
    }
    async fn put(&mut self, events: &[RecordedEvent]) -> Result<()> {
        self.0.put(events).await
    }
    async fn appended(&mut self, append: &PreparedAppend, events: &[RecordedEvent]) -> Result<()> {
        self.0.appended(append, events).await
    }
    async fn truncate_log(&mut self, from: Position) -> Result<()> {
        self.0.truncate_log(from).await
    }
    async fn get_meta(&mut self, key: &str) -> Result<Option<Json>> {
        self.0.get_meta(key).await
    }
    async fn scan_meta(&mut self, prefix: &str) -> Result<Vec<(String, Json)>> {
        self.0.scan_meta(prefix).await
    }
    async fn put_meta(&mut self, key: &str, value: Option<&Json>) -> Result<()> {
        self.0.put_meta(key, value).await
    }
    async fn commit(self) -> std::result::Result<(), CommitError> {
        self.0.commit().await
    }
}

impl Storage for AnyStorage {
    type Tx<'a> = AnyTx<'a>;

    async fn begin(&self, mode: Mode) -> Result<AnyTx<'_>> {
        Ok(AnyTx(self.0.begin(mode).await?))
    }
    fn rejects_duplicate_ids(&self) -> bool {
        self.0.rejects_duplicate_ids()
    }
    fn groups_appends(&self) -> bool {
        self.0.groups_appends()
    }
    fn reads_own_writes(&self) -> bool {
        self.0.reads_own_writes()
    }
    fn truncates(&self) -> bool {
        self.0.truncates()
    }
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        self.0.load_checkpoint(name).await
    }
    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        self.0.save_checkpoint(name, position).await
    }
    fn watch(&self, wake: Rc<dyn Fn()>) {
        self.0.watch(wake)
    }
    fn committed(&self, last_position: Position) {
        self.0.committed(last_position)
    }
    fn close(&self) {
        self.0.close()
    }
}
