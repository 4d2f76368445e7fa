//! The [`Storage`] trait: what a storage must do, method by method.
//!
//! A storage does I/O only. The rules (validation, expected revision, idempotency) live in the
//! core: [`EventStore`](crate::EventStore) validates, and [`decide`](crate::decide) decides, inside
//! the storage's atomic append.

mod memory;

pub use memory::MemoryStorage;

#[cfg(target_arch = "wasm32")]
pub(crate) mod indexeddb;
#[cfg(target_arch = "wasm32")]
pub use indexeddb::{Durability, IndexedDbStorage};

use crate::error::Result;
use crate::event::{NewEvent, RecordedEvent};
use crate::model::{AppendResult, ExpectedRevision, Position, Revision, StreamId};
use crate::read::ReadRequest;

/// A validated append, ready for a storage to decide and write atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAppend {
    /// The stream to append to.
    pub stream_id: StreamId,
    /// The caller's concurrency condition.
    pub expected: ExpectedRevision,
    /// The events, validated, each with its final id; never empty.
    pub events: Vec<NewEvent>,
    /// The `created_at` of every event of the call, in milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// Where events are kept. Implemented by [`MemoryStorage`] and, on wasm32, `IndexedDbStorage`.
///
/// Futures are not `Send`: storages live on one thread (a browser tab, a worker) and may hold
/// JS objects. Every method takes `&self`; a storage must not hold a `RefCell` borrow across an
/// `.await`, so that concurrent calls interleave safely.
#[allow(async_fn_in_trait)]
pub trait Storage {
    /// Appends atomically. In one atomic operation (one transaction): read the stream's current
    /// revision and where each of `append.events`' ids is already stored, call
    /// [`decide`](crate::decide), and on [`Decision::Write`](crate::Decision::Write) write the
    /// events at contiguous revisions from `first_revision` and at the next dense global
    /// positions, in call order.
    ///
    /// Returns the last event's revision and position (for
    /// [`Decision::AlreadyWritten`](crate::Decision::AlreadyWritten), the stored ones). On any
    /// error nothing is written. Concurrent appends, also from other tabs sharing the storage,
    /// are serialised: positions stay dense and unique, revisions contiguous.
    async fn append(&self, append: &PreparedAppend) -> Result<AppendResult>;

    /// The events of `stream_id` selected by `request` over its revisions, in delivery order.
    /// A stream with no events reads as empty.
    async fn read_stream(
        &self,
        stream_id: &StreamId,
        request: ReadRequest,
    ) -> Result<Vec<RecordedEvent>>;

    /// The events of the global log selected by `request` over positions, in delivery order.
    async fn read_all(&self, request: ReadRequest) -> Result<Vec<RecordedEvent>>;

    /// The current revision of `stream_id`, `None` when it has no events.
    async fn stream_revision(&self, stream_id: &StreamId) -> Result<Option<Revision>>;

    /// The position of the last event in the global log, `None` when the log is empty.
    async fn head_position(&self) -> Result<Option<Position>>;

    /// The position recorded under the checkpoint `name`, if any.
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>>;

    /// Records `position` under the checkpoint `name`, durably as the storage allows.
    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()>;

    /// Calls `wake` whenever another writer sharing this storage (another tab or worker) may
    /// have appended. Wake-ups only: they may be spurious, and a storage that nobody else shares
    /// never calls it.
    fn watch(&self, wake: std::rc::Rc<dyn Fn()>) {
        let _ = wake;
    }

    /// Releases the storage's resources (e.g. closes a database connection). Later calls may
    /// fail; [`EventStore`](crate::EventStore) rejects them with `CLOSED` before they get here.
    fn close(&self);
}
