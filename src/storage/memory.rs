//! [`MemoryStorage`]: the in-memory storage — plain I/O on the storage seam.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::RangeInclusive;
use std::rc::Rc;

use uuid::Uuid;

use super::{
    BoxedPage, BoxedTx, Capabilities, CommitError, Committing, HeadsOf, Io, Mode, Positions,
    Revisions, Storage, Transaction,
};
use crate::decision::StoredLocation;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::json::Json;
use crate::model::{Position, Revision, StreamId};

/// Keeps every event in memory, for tests, servers, workers and apps that need no persistence.
///
/// Append cost does not grow with the size of the store: the global log is a vector indexed by
/// position, each stream a vector of positions indexed by revision, ids a hash map.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    log: RefCell<Log>,
    /// Whether a transaction holds uncommitted writes (one writer at a time).
    writing: Cell<bool>,
}

#[derive(Debug, Default)]
struct Log {
    /// How many transactions with writes have committed.
    commits: u64,
    events: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Vec<Position>>,
    ids: HashMap<Uuid, Position>,
    event_types: HashSet<Rc<str>>,
    meta: BTreeMap<String, Json>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of events stored.
    pub fn len(&self) -> usize {
        self.log.borrow().events.len()
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A transaction. Writes apply to the log at once (so the transaction reads its own writes)
/// and are undone if it ends without a commit; a commit conflicts if another transaction
/// committed since this one began.
#[derive(Debug)]
pub struct MemoryTx<'a> {
    storage: &'a MemoryStorage,
    /// The log's commit count when the transaction began.
    began_at: u64,
    undo: Vec<Undo>,
    committed: bool,
}

impl MemoryTx<'_> {
    /// Makes this the one transaction with uncommitted writes.
    fn claim(&self) -> Result<()> {
        if self.undo.is_empty() && self.storage.writing.replace(true) {
            return Err(crate::Error::storage(
                "another transaction of this memory storage has uncommitted writes",
            ));
        }
        Ok(())
    }
}

/// How to take back one write.
#[derive(Debug)]
enum Undo {
    /// Remove the last `n` events.
    Put(usize),
    /// Put back the events a truncation removed.
    Truncate(Vec<RecordedEvent>),
    /// Restore a meta value.
    Meta(String, Option<Json>),
}

impl Log {
    fn intern(&mut self, event_type: &Rc<str>) -> Rc<str> {
        if let Some(t) = self.event_types.get(event_type) {
            return t.clone();
        }
        self.event_types.insert(event_type.clone());
        event_type.clone()
    }

    fn push(&mut self, mut event: RecordedEvent) {
        // Share one allocation per stream id and per event type across the log.
        let shared = self
            .streams
            .get_key_value(&event.stream_id)
            .map(|(k, _)| k.clone());
        if let Some(stream_id) = shared {
            event.stream_id = stream_id;
        }
        event.event_type = self.intern(&event.event_type);
        self.ids.insert(event.id, event.position);
        self.streams
            .entry(event.stream_id.clone())
            .or_default()
            .push(event.position);
        self.events.push(event);
    }

    /// Removes the events from index `from` on, returning them.
    fn truncate(&mut self, from: usize) -> Vec<RecordedEvent> {
        let removed = self.events.split_off(from.min(self.events.len()));
        for event in removed.iter().rev() {
            self.ids.remove(&event.id);
            if let Some(positions) = self.streams.get_mut(&event.stream_id) {
                positions.pop();
                if positions.is_empty() {
                    self.streams.remove(&event.stream_id);
                }
            }
        }
        removed
    }
}

/// The indices of `range` that exist in a sequence of `len`, as a slice range.
fn clamp(range: RangeInclusive<u64>, len: usize) -> std::ops::Range<usize> {
    let len = len as u64;
    let start = (*range.start()).min(len);
    let end = range.end().saturating_add(1).min(len).max(start);
    start as usize..end as usize
}

impl Transaction for MemoryTx<'_> {
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>> {
        let log = self.storage.log.borrow();
        let head = log.streams.get(stream).map(|p| p.len() as Revision - 1);
        Box::pin(async move { Ok(head) })
    }

    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        let head = (self.storage.log.borrow().events.len() as Position).checked_sub(1);
        Box::pin(async move { Ok(head) })
    }

    /// Read at once, in one future (an append's first step).
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Io<'a, HeadsOf> {
        let log = self.storage.log.borrow();
        let heads = streams
            .iter()
            .map(|s| log.streams.get(s).map(|p| p.len() as Revision - 1))
            .collect();
        let head = (log.events.len() as Position).checked_sub(1);
        Box::pin(async move { Ok((heads, head)) })
    }

    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        let log = self.storage.log.borrow();
        let found = ids
            .iter()
            .map(|id| {
                let event = &log.events[*log.ids.get(id)? as usize];
                Some(StoredLocation {
                    stream_id: event.stream_id.clone(),
                    revision: event.revision,
                    position: event.position,
                })
            })
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        let log = self.storage.log.borrow();
        let events: Vec<RecordedEvent> = match log.streams.get(stream) {
            Some(positions) => positions[clamp(revs, positions.len())]
                .iter()
                .map(|p| log.events[*p as usize].clone())
                .collect(),
            None => Vec::new(),
        };
        Box::pin(async move { Ok(Box::new(events) as BoxedPage) })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        let log = self.storage.log.borrow();
        let events = log.events[clamp(positions, log.events.len())].to_vec();
        Box::pin(async move { Ok(Box::new(events) as BoxedPage) })
    }

    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()> {
        let done = self.claim().map(|()| {
            let mut log = self.storage.log.borrow_mut();
            for event in events {
                log.push(event.clone());
            }
            drop(log);
            self.undo.push(Undo::Put(events.len()));
        });
        Box::pin(async move { done })
    }

    fn truncate_log(&mut self, from: Position) -> Io<'_, ()> {
        let done = self.claim().map(|()| {
            let removed = self
                .storage
                .log
                .borrow_mut()
                .truncate(usize::try_from(from).unwrap_or(usize::MAX));
            self.undo.push(Undo::Truncate(removed));
        });
        Box::pin(async move { done })
    }

    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>> {
        let value = self.storage.log.borrow().meta.get(key).cloned();
        Box::pin(async move { Ok(value) })
    }

    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>> {
        let log = self.storage.log.borrow();
        let found = log
            .meta
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()> {
        let done = self.claim().map(|()| {
            let mut log = self.storage.log.borrow_mut();
            let previous = match value {
                Some(v) => log.meta.insert(key.to_owned(), v.clone()),
                None => log.meta.remove(key),
            };
            drop(log);
            self.undo.push(Undo::Meta(key.to_owned(), previous));
        });
        Box::pin(async move { done })
    }

    fn commit<'t>(mut self: Box<Self>) -> Committing<'t>
    where
        Self: 't,
    {
        let result = self.finish();
        Box::pin(async move { result })
    }
}

impl MemoryTx<'_> {
    /// Commits: conflicts if another transaction committed since this one began.
    fn finish(&mut self) -> std::result::Result<(), CommitError> {
        let mut log = self.storage.log.borrow_mut();
        if self.undo.is_empty() {
            self.committed = true;
            return Ok(());
        }
        if log.commits != self.began_at {
            // Another transaction committed in between: this one's reads may be stale.
            return Err(CommitError::Conflict);
        }
        log.commits += 1;
        self.committed = true;
        self.storage.writing.set(false);
        Ok(())
    }
}

impl Drop for MemoryTx<'_> {
    /// A transaction that ends without a commit takes its writes back, newest first.
    fn drop(&mut self) {
        if self.committed || self.undo.is_empty() {
            return;
        }
        self.storage.writing.set(false);
        let mut log = self.storage.log.borrow_mut();
        for undo in self.undo.drain(..).rev() {
            match undo {
                Undo::Put(n) => {
                    let from = log.events.len() - n;
                    log.truncate(from);
                }
                Undo::Truncate(events) => {
                    for event in events {
                        log.push(event);
                    }
                }
                Undo::Meta(key, Some(value)) => {
                    log.meta.insert(key, value);
                }
                Undo::Meta(key, None) => {
                    log.meta.remove(&key);
                }
            }
        }
    }
}

impl Storage for MemoryStorage {
    fn begin(&self, _mode: Mode) -> Io<'_, BoxedTx<'_>> {
        let tx = MemoryTx {
            storage: self,
            began_at: self.log.borrow().commits,
            undo: Vec::new(),
            committed: false,
        };
        Box::pin(async move { Ok(Box::new(tx) as BoxedTx<'_>) })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Releases every stored event (a closed store is never read again).
    fn close(&self) {
        *self.log.borrow_mut() = Log::default();
    }
}
