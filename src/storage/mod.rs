//! The storage seam: what a storage must do, primitive by primitive.
//!
//! A storage does I/O only, inside transactions. The rules and the algorithms live in the core
//! and run once for every storage: validation in [`EventStore`](crate::EventStore), the decision
//! in [`decide`](crate::decide), the append around it (read what the decision needs, decide,
//! number, write, commit) in `append.rs`, read ranges in `read.rs`.
//!
//! The seam is object-safe: a store holds an `Rc<dyn Storage>`, transactions are boxed. What a
//! storage can do is declared in its [`Capabilities`]. Cross-cutting writes (a sync outbox, an
//! audit record) and test instrumentation are [`Hook`]s: [`Layered`] puts one around any storage
//! and forwards every primitive once, here; the hook adds only what it changes. Checkpoints live
//! in the meta area ([`checkpoint`]).

pub mod checkpoint;
mod layered;
mod memory;
mod selected;

pub use layered::{Hook, Layered, Primitive};
pub use memory::MemoryStorage;

#[cfg(all(target_arch = "wasm32", feature = "indexeddb"))]
pub(crate) mod indexeddb;
#[cfg(all(target_arch = "wasm32", feature = "indexeddb"))]
pub use indexeddb::{Durability, IndexedDbStorage};

#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub(crate) mod durable_object;
#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub use durable_object::DurableObjectStorage;

#[cfg(all(target_arch = "wasm32", feature = "postgres"))]
pub(crate) mod postgres;
#[cfg(all(target_arch = "wasm32", feature = "postgres"))]
pub use postgres::PostgresStorage;

#[cfg(target_arch = "wasm32")]
pub(crate) mod heap;
#[cfg(target_arch = "wasm32")]
pub use heap::{HeapHold, HeapStorage};

#[cfg(target_arch = "wasm32")]
pub(crate) mod js;

use std::any::Any;
use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::rc::Rc;

use uuid::Uuid;

use crate::decision::StoredLocation;
use crate::error::{Error, Result};
use crate::event::{NewEvent, RecordedEvent};
use crate::json::Json;
use crate::lifecycle::LifecycleOp;
use crate::model::{ExpectedRevision, Position, Revision, StreamId};
use crate::read::Direction;
use crate::selection::Selection;

/// What an append does: write events, or change a stream's lifecycle (one system event).
#[derive(Debug, Clone, PartialEq)]
pub enum AppendKind {
    /// Append the events of the call.
    Events,
    /// A lifecycle call on the stream: a metadata change, a soft delete or a tombstone,
    /// written as one `$metadata` (in `$$X`) or `$streamDeleted` (in `X`) event with `id`.
    Lifecycle {
        /// The change.
        op: LifecycleOp,
        /// The id of the system event (idempotency of the call).
        id: Uuid,
    },
}

/// A validated append, ready for the core's append algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAppend {
    /// The stream to append to: for a lifecycle call, the stream the call is about (`X`,
    /// never `$$X`).
    pub stream_id: StreamId,
    /// The caller's concurrency condition (for a metadata change: on the metadata revision).
    pub expected: ExpectedRevision,
    /// The events, validated, each with its final id; never empty for
    /// [`AppendKind::Events`], empty for [`AppendKind::Lifecycle`].
    pub events: Vec<NewEvent>,
    /// The `created_at` of every event of the call, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Events or a lifecycle change.
    pub kind: AppendKind,
}

impl PreparedAppend {
    /// The ids the call writes: its events' ids, or the lifecycle event's id.
    pub fn ids(&self) -> Vec<Uuid> {
        match &self.kind {
            AppendKind::Events => self.events.iter().map(|e| e.id).collect(),
            AppendKind::Lifecycle { id, .. } => vec![*id],
        }
    }
}

/// Husks the live events of `stream` in `revisions` (only those created before
/// `created_before` ms, and at a position <= `through`, when given): id, stream id, revision
/// and position stay (so heads, `locate` and idempotency keep working); type, data, metadata
/// and createdAt are erased from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The stream whose events are removed.
    pub stream: StreamId,
    /// The revisions to remove (those that exist and are live).
    pub revisions: Revisions,
    /// Only events created before this time (ms since the Unix epoch): maxAge.
    pub created_before: Option<u64>,
    /// Only events at or below this position (a synced device's confirmed prefix).
    pub through: Option<Position>,
}

impl Removal {
    /// Whether an event of this removal's stream at `revision`, `position`, created at
    /// `created_at`, is to be removed.
    pub fn covers(&self, revision: Revision, position: Position, created_at: u64) -> bool {
        self.revisions.contains(&revision)
            && self.created_before.is_none_or(|t| created_at < t)
            && self.through.is_none_or(|p| position <= p)
    }
}

/// A local append about to be put, as [`Transaction::appended`] and a [`Hook`] see it.
#[derive(Debug, Clone, Copy)]
pub struct Appending<'a> {
    /// The append as the caller asked for it.
    pub append: &'a PreparedAppend,
    /// Its events, numbered (for a lifecycle call, the one system event).
    pub events: &'a [RecordedEvent],
    /// What the append removes in the same transaction (retention, a deletion).
    pub removals: &'a [Removal],
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

/// A future of the storage seam: single-threaded (storages may hold JS objects), boxed so that
/// storages and transactions are trait objects.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The future of one storage primitive.
pub type Io<'a, T> = LocalBoxFuture<'a, Result<T>>;

/// The future of a [`Transaction::commit`].
pub type Committing<'t> = LocalBoxFuture<'t, std::result::Result<(), CommitError>>;

/// An inclusive range of revisions of a stream.
pub type Revisions = RangeInclusive<Revision>;

/// An inclusive range of positions of the log.
pub type Positions = RangeInclusive<Position>;

/// What a storage can do, declared once: the core adapts its algorithms to it, and the contract
/// suite runs each case where it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A write of an event id that is already stored fails the commit with
    /// [`CommitError::Conflict`] (a unique index on ids). The core then looks ids up only when
    /// the decision could depend on them; otherwise it looks them up on every append.
    pub rejects_duplicate_ids: bool,
    /// Appends issued together (in the same tick) should share one transaction — group commit,
    /// each append still decided on its own — because a transaction costs far more than a write
    /// (IndexedDB). Needs `reads_own_writes`.
    pub groups_appends: bool,
    /// A transaction's reads see its own uncommitted writes (the Durable Object's stages its
    /// writes for one synchronous commit, so it does not).
    pub reads_own_writes: bool,
    /// [`Transaction::truncate_log`] is supported (a synced device rewrites its pending tail;
    /// a server's log is never truncated).
    pub truncates: bool,
}

impl Default for Capabilities {
    /// A storage that reads its own writes and truncates, without unique indexes or grouping.
    fn default() -> Self {
        Capabilities {
            rejects_duplicate_ids: false,
            groups_appends: false,
            reads_own_writes: true,
            truncates: true,
        }
    }
}

/// The heads of several streams (in the order asked) and of the log.
pub type HeadsOf = (Vec<Option<Revision>>, Option<Position>);

/// Events a read returned, in ascending order, in the storage's own form. The core turns them
/// into [`RecordedEvent`]s; hosts may turn them into their own objects without that detour (the
/// JS bindings build JS objects straight from stored records, through [`Page::into_any`]).
pub trait Page {
    /// How many events the page holds.
    fn len(&self) -> usize;

    /// Whether the page holds no event.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events, ascending.
    fn into_events(self: Box<Self>) -> Result<Vec<RecordedEvent>>;

    /// The page as its own type, for a host that knows it (downcast with `Box<dyn Any>`).
    fn into_any(self: Box<Self>) -> Box<dyn Any>;

    /// Appends the events of `other` (a page of the same storage, following this one).
    fn append(&mut self, other: BoxedPage) -> Result<()>;

    /// Trims the page to the events at indices `range` (clamped to the page).
    fn keep(&mut self, range: std::ops::Range<usize>);

    /// The position of the event at `index`, `None` past the end.
    fn position(&self, index: usize) -> Option<Position>;

    /// Keeps the events for which `keep(stream_id, revision, created_at)` is true, without
    /// reading their payloads.
    fn retain_heads(&mut self, keep: &mut dyn FnMut(&str, Revision, u64) -> bool);
}

/// A page of any storage.
pub type BoxedPage = Box<dyn Page>;

impl Page for Vec<RecordedEvent> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn into_events(self: Box<Self>) -> Result<Vec<RecordedEvent>> {
        Ok(*self)
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn append(&mut self, other: BoxedPage) -> Result<()> {
        match other.into_any().downcast::<Vec<RecordedEvent>>() {
            Ok(events) => {
                self.extend(*events);
                Ok(())
            }
            Err(_) => Err(Error::storage(
                "pages of different storages cannot be joined",
            )),
        }
    }

    fn keep(&mut self, range: std::ops::Range<usize>) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        self.truncate(end);
        self.drain(..start);
    }

    fn position(&self, index: usize) -> Option<Position> {
        self.get(index).map(|e| e.position)
    }

    fn retain_heads(&mut self, keep: &mut dyn FnMut(&str, Revision, u64) -> bool) {
        self.retain(|e| keep(e.stream_id.as_str(), e.revision, e.created_at));
    }
}

/// One transaction of a storage: primitives over its events and its small key-value `meta`
/// area. Reads see the state when the transaction began (plus its own writes, where the storage
/// [reads its own writes](Capabilities::reads_own_writes)); writes become visible at
/// [`commit`](Transaction::commit), all together, or never (dropping a transaction rolls it
/// back). A storage whose transactions must not wait on anything else (IndexedDB) is safe: the
/// core awaits nothing but these primitives between `begin` and `commit`.
pub trait Transaction {
    /// The last revision ever written in `stream` (removed events count), `None` when it has
    /// none.
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>>;

    /// The position of the log's last event ever written (removed events count), `None` when
    /// the log is empty.
    fn log_head(&mut self) -> Io<'_, Option<Position>>;

    /// The heads of several streams and of the log, as one transaction reads them (an append
    /// needs one, a group of appends needs them all). Storages that can issue the reads at once
    /// override this.
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Io<'a, HeadsOf> {
        Box::pin(async move {
            let mut heads = Vec::with_capacity(streams.len());
            for stream in streams {
                heads.push(self.stream_head(stream).await?);
            }
            Ok((heads, self.log_head().await?))
        })
    }

    /// Where each of `ids` is stored, if anywhere (`result[i]` for `ids[i]`), removed events
    /// included (`removed: true`).
    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>>;

    /// The live events of `stream` at `revisions`, ascending (removed events and revisions
    /// never received are skipped).
    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage>;

    /// The live events of the log at `positions`, ascending (removed events and positions
    /// never received — holes — are skipped).
    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage>;

    /// The live events at `positions` of the streams `selection` matches (a `$$X` metadata
    /// stream follows `X`: [`Selection::matches`]), ascending: the first `max` of them
    /// (`Forwards`) or the last `max` (`Backwards`). A page shorter than `max` means every
    /// position of the range was examined. `positions` may reach past the log's head.
    ///
    /// The default reads windows of [`read_log`](Self::read_log) up to the log's head and keeps
    /// the matching events: its cost is the positions it passes. Storages with a stream index
    /// override it to read only the selected streams ([`Selection::ranges`]).
    fn read_selected<'a>(
        &'a mut self,
        selection: &'a Selection,
        positions: Positions,
        direction: Direction,
        max: u64,
    ) -> Io<'a, BoxedPage> {
        Box::pin(selected::scan_log(
            self, selection, positions, direction, max,
        ))
    }

    /// Writes `events` at their positions (numbered by the core). Positions are increasing past
    /// the log's head and revisions increasing in each stream, but neither is necessarily dense:
    /// a synced device may have holes where the server removed events before it pulled them.
    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()>;

    /// Called by the append algorithm just before it puts the events of a local append (the
    /// put is the append's last request): where a [`Layered`] storage's [`Hook`] adds its own
    /// writes to the same transaction. Storages do nothing here.
    fn appended<'a>(&'a mut self, appending: Appending<'a>) -> Io<'a, ()> {
        let _ = appending;
        Box::pin(async { Ok(()) })
    }

    /// Removes events: see [`Removal`]. Events already removed, and revisions that do not
    /// exist, are skipped.
    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()>;

    /// A hint: this transaction will [`get_meta`](Self::get_meta) these keys. Storages that
    /// can issue requests at once start them now (IndexedDB); the default does nothing.
    fn prefetch_meta(&mut self, keys: &[&str]) {
        let _ = keys;
    }

    /// A hint: this transaction may read [`log_head`](Self::log_head) after its next read.
    /// Storages that can issue requests at once start it now (IndexedDB: a log read that comes
    /// back short then needs no second round trip); the default does nothing.
    fn prefetch_log_head(&mut self) {}

    /// Deletes every event at a position at or after `from` (the tail of the log), removed
    /// events included, with its stream and id entries. Sync rewrites its pending tail with this. Storages that do not
    /// [truncate](Capabilities::truncates) fail it.
    fn truncate_log(&mut self, from: Position) -> Io<'_, ()>;

    /// The value stored under `key` in the meta area.
    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>>;

    /// Every `(key, value)` of the meta area whose key starts with `prefix`, in key order.
    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>>;

    /// Stores `value` under `key` in the meta area (`None` deletes it).
    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()>;

    /// Makes every write of this transaction durable and visible, atomically.
    fn commit<'t>(self: Box<Self>) -> Committing<'t>
    where
        Self: 't;
}

/// A transaction of any storage.
pub type BoxedTx<'a> = Box<dyn Transaction + 'a>;

/// Where events are kept: [`MemoryStorage`] and, on wasm32, `HeapStorage` (memory on the JS
/// heap), `IndexedDbStorage` (feature `indexeddb`), `DurableObjectStorage` (feature
/// `durable-object`) and `PostgresStorage` (feature `postgres`); [`Layered`] adds a [`Hook`]'s writes to any of them.
///
/// Object-safe: an [`EventStore`](crate::EventStore) holds an `Rc<dyn Storage>`. Futures are not
/// `Send`: storages live on one thread (a browser tab, a worker) and may hold JS objects. Every
/// method takes `&self`; no storage holds a `RefCell` borrow across an `.await`, so concurrent
/// calls interleave safely.
pub trait Storage {
    /// Begins a transaction. Concurrent write transactions, also from other tabs sharing the
    /// storage, are serialised, or conflict at commit ([`CommitError::Conflict`]).
    fn begin(&self, mode: Mode) -> Io<'_, BoxedTx<'_>>;

    /// What this storage can do.
    fn capabilities(&self) -> Capabilities;

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

/// A [`CommitError`] as the error a caller sees.
pub(crate) fn commit_failure(error: CommitError) -> Error {
    match error {
        CommitError::Failed(e) => e,
        CommitError::Conflict => {
            Error::storage("the storage kept refusing the write as conflicting with another writer")
        }
    }
}
