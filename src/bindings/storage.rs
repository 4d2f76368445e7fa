//! The storage a JS caller chose at `open`.

use js_sys::Object;

use super::convert;
use crate::{
    AppendResult, Error, MemoryStorage, Position, PreparedAppend, ReadRequest, RecordedEvent,
    Result, Revision, Storage, StreamId,
};

/// `MemoryStorage` or `IndexedDbStorage`, chosen by the `storage` option.
#[derive(Debug)]
pub(crate) enum AnyStorage {
    Memory(MemoryStorage),
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
    fn close(&self) {
        delegate!(self, s => s.close())
    }
}
