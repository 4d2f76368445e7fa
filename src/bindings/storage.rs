//! The storage a JS caller chose at `open`.

use js_sys::Object;
use wasm_bindgen::JsValue;

use super::convert;
use crate::{
    AppendResult, Durability, Error, EventStore, IndexedDbStorage, MemoryStorage, Position,
    PreparedAppend, ReadOptions, ReadRequest, RecordedEvent, Result, Revision, Storage, StreamId,
};

/// `MemoryStorage` or `IndexedDbStorage`, chosen by the `storage` option.
#[derive(Debug)]
pub(crate) enum AnyStorage {
    Memory(MemoryStorage),
    IndexedDb(IndexedDbStorage),
}

impl AnyStorage {
    /// Opens the storage that `options.storage` names (default `"memory"`).
    pub(crate) async fn open(options: Option<&Object>) -> Result<Self> {
        let kind = match convert::field(options, "storage") {
            None => "memory".to_owned(),
            Some(v) => convert::string(&v, "storage")?,
        };
        match kind.as_str() {
            "memory" => Ok(AnyStorage::Memory(MemoryStorage::new())),
            "indexeddb" => {
                let name = match convert::field(options, "name") {
                    None => "evstore".to_owned(),
                    Some(v) => convert::string(&v, "name")?,
                };
                if name.is_empty() {
                    return Err(Error::invalid("name must not be empty"));
                }
                let durability = match convert::field(options, "durability") {
                    None => Durability::Default,
                    Some(v) => match v.as_string().as_deref() {
                        Some("default") => Durability::Default,
                        Some("strict") => Durability::Strict,
                        Some("relaxed") => Durability::Relaxed,
                        _ => {
                            return Err(Error::invalid(format!(
                                "durability must be \"strict\", \"relaxed\" or \"default\", got {}",
                                convert::describe(&v)
                            )))
                        }
                    },
                };
                Ok(AnyStorage::IndexedDb(
                    IndexedDbStorage::open(&name, durability).await?,
                ))
            }
            other => Err(Error::invalid(format!(
                "storage must be \"memory\" or \"indexeddb\", got \"{other}\""
            ))),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStorage::Memory($s) => $call,
            AnyStorage::IndexedDb($s) => $call,
        }
    };
}

impl Storage for AnyStorage {
    async fn append(&self, append: &PreparedAppend) -> Result<AppendResult> {
        delegate!(self, s => s.append(append).await)
    }
    async fn read_stream(
        &self,
        stream_id: &StreamId,
        request: ReadRequest,
    ) -> Result<Vec<RecordedEvent>> {
        delegate!(self, s => s.read_stream(stream_id, request).await)
    }
    async fn read_all(&self, request: ReadRequest) -> Result<Vec<RecordedEvent>> {
        delegate!(self, s => s.read_all(request).await)
    }
    async fn stream_revision(&self, stream_id: &StreamId) -> Result<Option<Revision>> {
        delegate!(self, s => s.stream_revision(stream_id).await)
    }
    async fn head_position(&self) -> Result<Option<Position>> {
        delegate!(self, s => s.head_position().await)
    }
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        delegate!(self, s => s.load_checkpoint(name).await)
    }
    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        delegate!(self, s => s.save_checkpoint(name, position).await)
    }
    fn watch(&self, wake: std::rc::Rc<dyn Fn()>) {
        delegate!(self, s => s.watch(wake))
    }
    fn close(&self) {
        delegate!(self, s => s.close())
    }
}

/// Reads for JS callers: recorded-event objects. IndexedDB builds them in JS straight from its
/// records; the memory storage's events cross as one JSON text. Validation is the core's.
pub(crate) async fn read_stream_js(
    store: &EventStore<AnyStorage>,
    stream_id: &str,
    options: ReadOptions,
) -> Result<JsValue> {
    let (id, request) = store.prepare_stream_read(stream_id, options)?;
    match store.storage() {
        AnyStorage::IndexedDb(s) => s.read_js(request, Some(&id)).await,
        AnyStorage::Memory(s) => Ok(to_js_events(&s.read_stream(&id, request).await?)),
    }
}

/// `$all` reads for JS callers (see [`read_stream_js`]).
pub(crate) async fn read_all_js(
    store: &EventStore<AnyStorage>,
    options: ReadOptions,
) -> Result<JsValue> {
    let request = store.prepare_read(options)?;
    match store.storage() {
        AnyStorage::IndexedDb(s) => s.read_js(request, None).await,
        AnyStorage::Memory(s) => Ok(to_js_events(&s.read_all(request).await?)),
    }
}

fn to_js_events(events: &[RecordedEvent]) -> JsValue {
    super::decode_events(&convert::events_to_json(events))
}
