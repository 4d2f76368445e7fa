//! [`MemoryStorage`]: the in-memory storage — plain I/O on the storage seam.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;
use std::rc::Rc;

use uuid::Uuid;

use super::{CommitError, Mode, PreparedAppend, Storage, Transaction};
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
}

#[derive(Debug, Default)]
struct Log {
    events: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Vec<Position>>,
    ids: HashMap<Uuid, Position>,
    event_types: HashSet<Rc<str>>,
    meta: HashMap<String, Json>,
    checkpoints: HashMap<String, Position>,
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

/// A transaction: reads go to the log at once; writes are staged and applied at commit, which
/// conflicts if another transaction committed since this one began.
#[derive(Debug)]
pub struct MemoryTx<'a> {
    storage: &'a MemoryStorage,
    /// The log's length when the transaction began.
    began_at: usize,
    events: Vec<RecordedEvent>,
    meta: Vec<(String, Option<Json>)>,
}

impl Log {
    fn intern(&mut self, event_type: &Rc<str>) -> Rc<str> {
        if let Some(t) = self.event_types.get(event_type) {
            return t.clone();
        }
        self.event_types.insert(event_type.clone());
        event_type.clone()
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
    type Page = Vec<RecordedEvent>;

    async fn stream_head(&mut self, stream: &StreamId) -> Result<Option<Revision>> {
        let log = self.storage.log.borrow();
        Ok(log.streams.get(stream).map(|p| p.len() as Revision - 1))
    }

    async fn log_head(&mut self) -> Result<Option<Position>> {
        Ok((self.storage.log.borrow().events.len() as Position).checked_sub(1))
    }

    async fn locate(&mut self, ids: &[Uuid]) -> Result<Vec<Option<StoredLocation>>> {
        let log = self.storage.log.borrow();
        Ok(ids
            .iter()
            .map(|id| {
                let event = &log.events[*log.ids.get(id)? as usize];
                Some(StoredLocation {
                    stream_id: event.stream_id.clone(),
                    revision: event.revision,
                    position: event.position,
                })
            })
            .collect())
    }

    async fn read_stream(
        &mut self,
        stream: &StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Result<Vec<RecordedEvent>> {
        let log = self.storage.log.borrow();
        let Some(positions) = log.streams.get(stream) else {
            return Ok(Vec::new());
        };
        Ok(positions[clamp(revisions, positions.len())]
            .iter()
            .map(|p| log.events[*p as usize].clone())
            .collect())
    }

    async fn read_log(
        &mut self,
        positions: RangeInclusive<Position>,
    ) -> Result<Vec<RecordedEvent>> {
        let log = self.storage.log.borrow();
        Ok(log.events[clamp(positions, log.events.len())].to_vec())
    }

    async fn put(&mut self, _append: &PreparedAppend, events: &[RecordedEvent]) -> Result<()> {
        self.events.extend_from_slice(events);
        Ok(())
    }

    async fn get_meta(&mut self, key: &str) -> Result<Option<Json>> {
        if let Some((_, value)) = self.meta.iter().rev().find(|(k, _)| k == key) {
            return Ok(value.clone());
        }
        Ok(self.storage.log.borrow().meta.get(key).cloned())
    }

    async fn put_meta(&mut self, key: &str, value: Option<&Json>) -> Result<()> {
        self.meta.push((key.to_owned(), value.cloned()));
        Ok(())
    }

    async fn commit(self) -> std::result::Result<(), CommitError> {
        let mut log = self.storage.log.borrow_mut();
        if log.events.len() != self.began_at {
            return Err(CommitError::Conflict);
        }
        for (key, value) in self.meta {
            match value {
                Some(v) => log.meta.insert(key, v),
                None => log.meta.remove(&key),
            };
        }
        for mut event in self.events {
            // Share one allocation per stream id and per event type across the log.
            let shared = log
                .streams
                .get_key_value(&event.stream_id)
                .map(|(k, _)| k.clone());
            if let Some(stream_id) = shared {
                event.stream_id = stream_id;
            }
            event.event_type = log.intern(&event.event_type);
            log.ids.insert(event.id, event.position);
            log.streams
                .entry(event.stream_id.clone())
                .or_default()
                .push(event.position);
            log.events.push(event);
        }
        Ok(())
    }
}

impl Storage for MemoryStorage {
    type Tx<'a> = MemoryTx<'a>;

    async fn begin(&self, _mode: Mode) -> Result<MemoryTx<'_>> {
        Ok(MemoryTx {
            storage: self,
            began_at: self.log.borrow().events.len(),
            events: Vec::new(),
            meta: Vec::new(),
        })
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        Ok(self.log.borrow().checkpoints.get(name).copied())
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        self.log
            .borrow_mut()
            .checkpoints
            .insert(name.to_owned(), position);
        Ok(())
    }

    /// Releases every stored event (a closed store is never read again).
    fn close(&self) {
        *self.log.borrow_mut() = Log::default();
    }
}
