//! The storage seam: what a storage must do, primitive by primitive.
//!
//! A storage does I/O only, inside transactions. The rules and the algorithms live in the core
//! and run once for every storage: validation in [`EventStore`](crate::EventStore), the decision
//! in [`decide`](crate::decide), the append around it (read what the decision needs, decide,
//! number, write, commit) in `append.rs`, read ranges in `read.rs`.
//!
//! Cross-cutting writes (a sync outbox, an audit record) are decorators: a [`Storage`] that wraps
//! another and whose [`Transaction`] wraps the inner one, adding its own writes (for example with
//! [`Transaction::put_meta`]) to the same atomic commit.

mod memory;

pub use memory::MemoryStorage;

#[cfg(all(target_arch = "wasm32", feature = "indexeddb"))]
pub(crate) mod indexeddb;
#[cfg(all(target_arch = "wasm32", feature = "indexeddb"))]
pub use indexeddb::{Durability, IndexedDbStorage};

#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub(crate) mod durable_object;
#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub use durable_object::DurableObjectStorage;

#[cfg(target_arch = "wasm32")]
mod heap;
#[cfg(target_arch = "wasm32")]
pub use heap::{HeapHold, HeapStorage};

#[cfg(target_arch = "wasm32")]
pub(crate) mod js;

use std::ops::RangeInclusive;
use std::rc::Rc;

use uuid::Uuid;

use crate::decision::StoredLocation;
use crate::error::{Error, Result};
use crate::event::{NewEvent, RecordedEvent};
use crate::json::Json;
use crate::model::{ExpectedRevision, Position, Revision, StreamId};

/// A validated append, ready for the core's append algorithm.
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

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads only (storages may run these concurrently).
    Read,
    /// Reads, then writes committed atomically.
    Write,
}

/// Why a commit wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitError {
    /// The storage refused the write because what the transaction read is no longer true (a
    /// unique index on ids or positions caught a duplicate, or another writer committed first).
    /// Nothing was written; the core decides again in a new transaction, with ids looked up.
    Conflict,
    /// Any other failure; nothing was written.
    Failed(Error),
}

impl From<Error> for CommitError {
    fn from(e: Error) -> Self {
        CommitError::Failed(e)
    }
}

/// The stream's head and the log's head, as one transaction reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Heads {
    /// The stream's current revision, `None` when it has no events.
    pub stream: Option<Revision>,
    /// The position of the log's last event, `None` when the log is empty.
    pub log: Option<Position>,
}

/// Events a read returned, in ascending order, in the storage's own form. The core turns them
/// into [`RecordedEvent`]s; hosts may turn them into their own objects without that detour (the
/// JS bindings build JS objects straight from stored records).
pub trait Page: Sized {
    /// How many events the page holds.
    fn len(&self) -> usize;

    /// Whether the page holds no event.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events, ascending.
    fn into_events(self) -> Result<Vec<RecordedEvent>>;
}

impl Page for Vec<RecordedEvent> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn into_events(self) -> Result<Vec<RecordedEvent>> {
        Ok(self)
    }
}

/// One transaction of a storage: primitives over its events and its small key-value `meta`
/// area. Reads see the state when the transaction began plus nothing else; writes become visible
/// at [`commit`](Transaction::commit), all together, or never (dropping a transaction rolls it
/// back). A storage whose transactions must not wait on anything else (IndexedDB) is safe: the
/// core awaits nothing but these primitives between `begin` and `commit`.
#[allow(async_fn_in_trait)]
pub trait Transaction {
    /// The storage's read result.
    type Page: Page;

    /// The current revision of `stream`, `None` when it has no events.
    async fn stream_head(&mut self, stream: &StreamId) -> Result<Option<Revision>>;

    /// The position of the log's last event, `None` when the log is empty.
    async fn log_head(&mut self) -> Result<Option<Position>>;

    /// Both heads. Storages that can issue the two reads at once override this.
    async fn heads(&mut self, stream: &StreamId) -> Result<Heads> {
        Ok(Heads {
            stream: self.stream_head(stream).await?,
            log: self.log_head().await?,
        })
    }

    /// The heads of several streams and of the log, as one transaction reads them (a group of
    /// appends needs them all). Storages that can issue the reads at once override this.
    async fn heads_of(
        &mut self,
        streams: &[StreamId],
    ) -> Result<(Vec<Option<Revision>>, Option<Position>)> {
        let mut heads = Vec::with_capacity(streams.len());
        for stream in streams {
            heads.push(self.stream_head(stream).await?);
        }
        Ok((heads, self.log_head().await?))
    }

    /// Where each of `ids` is stored, if anywhere (`result[i]` for `ids[i]`).
    async fn locate(&mut self, ids: &[Uuid]) -> Result<Vec<Option<StoredLocation>>>;

    /// The events of `stream` at `revisions`, ascending (those that exist).
    async fn read_stream(
        &mut self,
        stream: &StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Result<Self::Page>;

    /// The events of the log at `positions`, ascending (those that exist).
    async fn read_log(&mut self, positions: RangeInclusive<Position>) -> Result<Self::Page>;

    /// Writes `events` at their positions (numbered by the core: dense positions after the log's
    /// head, contiguous revisions in each stream).
    async fn put(&mut self, events: &[RecordedEvent]) -> Result<()>;

    /// Called by the append algorithm just before it puts `events` for the local append
    /// `append` (the put is the append's last request): the seam for cross-cutting writes in
    /// the same transaction. Storages do nothing here;
    /// decorators (a sync outbox) add their own writes.
    async fn appended(&mut self, append: &PreparedAppend, events: &[RecordedEvent]) -> Result<()> {
        let _ = (append, events);
        Ok(())
    }

    /// Deletes every event at a position at or after `from` (the tail of the log), with its
    /// stream and id entries. Sync rewrites its pending tail with this.
    async fn truncate_log(&mut self, from: Position) -> Result<()>;

    /// The value stored under `key` in the meta area.
    async fn get_meta(&mut self, key: &str) -> Result<Option<Json>>;

    /// Every `(key, value)` of the meta area whose key starts with `prefix`, in key order.
    async fn scan_meta(&mut self, prefix: &str) -> Result<Vec<(String, Json)>>;

    /// Stores `value` under `key` in the meta area (`None` deletes it).
    async fn put_meta(&mut self, key: &str, value: Option<&Json>) -> Result<()>;

    /// Makes every write of this transaction durable and visible, atomically.
    async fn commit(self) -> std::result::Result<(), CommitError>;
}

/// Where events are kept: [`MemoryStorage`] and, on wasm32, `HeapStorage` (memory on the JS
/// heap), `IndexedDbStorage` (feature `indexeddb`) and `DurableObjectStorage` (feature
/// `durable-object`).
///
/// Futures are not `Send`: storages live on one thread (a browser tab, a worker) and may hold
/// JS objects. Every method takes `&self`; no storage holds a `RefCell` borrow across an
/// `.await`, so concurrent calls interleave safely.
#[allow(async_fn_in_trait)]
pub trait Storage {
    /// A transaction of this storage.
    type Tx<'a>: Transaction
    where
        Self: 'a;

    /// Begins a transaction. Concurrent write transactions, also from other tabs sharing the
    /// storage, are serialised, or conflict at commit ([`CommitError::Conflict`]).
    async fn begin(&self, mode: Mode) -> Result<Self::Tx<'_>>;

    /// Whether a write of an event id that is already stored fails the commit with
    /// [`CommitError::Conflict`] (a unique index on ids). The core then looks ids up only when
    /// the decision could depend on them; otherwise it looks them up on every append.
    fn rejects_duplicate_ids(&self) -> bool {
        false
    }

    /// Whether appends issued together (in the same tick) should share one transaction — group
    /// commit, each append still decided on its own — because a transaction costs far more than
    /// a write (IndexedDB). Needs transactions that read their own writes
    /// ([`reads_own_writes`](Storage::reads_own_writes)).
    fn groups_appends(&self) -> bool {
        false
    }

    /// Whether a transaction's reads see its own writes (its events, meta entries and
    /// truncation) before it commits.
    fn reads_own_writes(&self) -> bool {
        true
    }

    /// Whether [`Transaction::truncate_log`] is supported (otherwise it fails with
    /// `STORAGE_ERROR`).
    fn truncates(&self) -> bool {
        true
    }

    /// The position recorded under the checkpoint `name`, if any.
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>>;

    /// Records `position` under the checkpoint `name`, durably as the storage allows.
    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()>;

    /// Calls `wake` whenever another writer sharing this storage (another tab or worker) may
    /// have appended. Wake-ups only: they may be spurious, and a storage that nobody else shares
    /// never calls it.
    fn watch(&self, wake: Rc<dyn Fn()>) {
        let _ = wake;
    }

    /// Called after each committed append (for example to tell other tabs).
    fn committed(&self, last_position: Position) {
        let _ = last_position;
    }

    /// Releases the storage's resources (e.g. closes a database connection). Later calls may
    /// fail; [`EventStore`](crate::EventStore) rejects them with `CLOSED` before they get here.
    fn close(&self);
}

/// A shared storage is a storage: several stores (or one reopened) over the same data.
impl<S: Storage> Storage for Rc<S> {
    type Tx<'a>
        = S::Tx<'a>
    where
        Self: 'a;

    async fn begin(&self, mode: Mode) -> Result<Self::Tx<'_>> {
        (**self).begin(mode).await
    }

    fn rejects_duplicate_ids(&self) -> bool {
        (**self).rejects_duplicate_ids()
    }

    fn groups_appends(&self) -> bool {
        (**self).groups_appends()
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        (**self).load_checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        (**self).save_checkpoint(name, position).await
    }

    fn watch(&self, wake: Rc<dyn Fn()>) {
        (**self).watch(wake)
    }

    fn committed(&self, last_position: Position) {
        (**self).committed(last_position)
    }

    fn close(&self) {
        (**self).close()
    }
}

/// The page type of a storage's transactions.
pub type PageOf<'a, S> = <<S as Storage>::Tx<'a> as Transaction>::Page;

/// A [`CommitError`] as the error a caller sees.
pub(crate) fn commit_failure(error: CommitError) -> Error {
    match error {
        CommitError::Failed(e) => e,
        CommitError::Conflict => {
            Error::storage("the storage kept refusing the write as conflicting with another writer")
        }
    }
}
