//! [`MemoryStorage`]: the in-memory storage — plain I/O on the storage seam.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::ops::{Bound, RangeInclusive};
use std::rc::Rc;

use uuid::Uuid;

use super::{
    BoxedPage, BoxedTx, Capabilities, CommitError, Committing, HeadsOf, Io, Mode, Positions,
    Removal, Revisions, Storage, Transaction,
};
use crate::decision::StoredLocation;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::json::Json;
use crate::model::{Position, Revision, StreamId};
use crate::read::Direction;
use crate::selection::{Selection, StreamPattern};

/// Keeps every event in memory, for tests, servers, workers and apps that need no persistence.
///
/// Append cost does not grow with the size of the store: the global log is a vector of slots
/// indexed by position (an event, a removed event's husk, or a hole never written), each stream
/// a sorted vector of `(revision, position)`, ids a hash map. A selection of streams is read
/// from those vectors, merged in log order (the stream ids are kept sorted for prefixes).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    log: RefCell<Log>,
    /// Whether a transaction holds uncommitted writes (one writer at a time).
    writing: Cell<bool>,
}

/// One position of the log.
#[derive(Debug, Clone)]
enum Slot {
    /// A live event.
    Live(RecordedEvent),
    /// A removed event: what identifies it stays, its payload is gone.
    Husk {
        id: Uuid,
        stream: StreamId,
        revision: Revision,
    },
    /// A position never written here (a synced device that never received a removed event).
    Hole,
}

impl Slot {
    fn id(&self) -> Option<(Uuid, &StreamId, Revision)> {
        match self {
            Slot::Live(e) => Some((e.id, &e.stream_id, e.revision)),
            Slot::Husk {
                id,
                stream,
                revision,
            } => Some((*id, stream, *revision)),
            Slot::Hole => None,
        }
    }
}

#[derive(Debug, Default)]
struct Log {
    /// How many transactions with writes have committed.
    commits: u64,
    events: Vec<Slot>,
    streams: HashMap<StreamId, Vec<(Revision, Position)>>,
    /// The keys of `streams`, in order (prefix patterns are ranges of it).
    names: BTreeSet<StreamId>,
    ids: HashMap<Uuid, Position>,
    event_types: HashSet<Rc<str>>,
    meta: BTreeMap<String, Json>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of positions written (removed events included).
    pub fn len(&self) -> usize {
        self.log.borrow().events.len()
    }

    /// Whether no event was ever written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of live events stored (removed events and holes left out).
    pub fn live_len(&self) -> usize {
        let log = self.log.borrow();
        log.events
            .iter()
            .filter(|s| matches!(s, Slot::Live(_)))
            .count()
    }

    /// Every stored text, for erasure checks: each live event's id, stream id, type, data and
    /// metadata, each removed event's id and stream id, and every meta key and value.
    pub fn raw_dump(&self) -> String {
        let log = self.log.borrow();
        let mut out = String::new();
        for slot in &log.events {
            match slot {
                Slot::Live(e) => {
                    out += &format!(
                        "{} {} {} {} {} {}\n",
                        e.position, e.id, e.stream_id, e.event_type, e.data, e.metadata
                    );
                }
                Slot::Husk {
                    id,
                    stream,
                    revision,
                } => out += &format!("husk {id} {stream} {revision}\n"),
                Slot::Hole => out += "hole\n",
            }
        }
        for (k, v) in &log.meta {
            out += &format!("{k} {v}\n");
        }
        out
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
    /// Cut the log back to this length.
    Put(usize),
    /// Put back the slots a truncation removed (from this position).
    Truncate(usize, Vec<Slot>),
    /// Bring back removed events.
    Remove(Vec<RecordedEvent>),
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

    /// Places `slot` at `position` (at or past the end; holes fill the gap).
    fn place(&mut self, position: usize, mut slot: Slot) {
        if let Slot::Live(event) = &mut slot {
            // Share one allocation per stream id and per event type across the log.
            let shared = self
                .streams
                .get_key_value(&event.stream_id)
                .map(|(k, _)| k.clone());
            if let Some(stream_id) = shared {
                event.stream_id = stream_id;
            }
            event.event_type = self.intern(&event.event_type);
        }
        if let Some((id, stream, revision)) = slot.id() {
            self.ids.insert(id, position as Position);
            if !self.streams.contains_key(stream) {
                self.names.insert(stream.clone());
            }
            let entries = self.streams.entry(stream.clone()).or_default();
            let at = entries.partition_point(|(r, _)| *r < revision);
            entries.insert(at, (revision, position as Position));
        }
        if position >= self.events.len() {
            self.events.resize(position, Slot::Hole);
            self.events.push(slot);
        } else {
            self.events[position] = slot;
        }
    }

    /// Removes the slots from `from` on, returning them; trailing holes go too.
    fn truncate(&mut self, from: usize) -> Vec<Slot> {
        let removed = self.events.split_off(from.min(self.events.len()));
        for slot in removed.iter().rev() {
            if let Some((id, stream, revision)) = slot.id() {
                self.ids.remove(&id);
                if let Some(entries) = self.streams.get_mut(stream) {
                    entries.retain(|(r, _)| *r != revision);
                    if entries.is_empty() {
                        self.streams.remove(stream);
                        self.names.remove(stream);
                    }
                }
            }
        }
        while matches!(self.events.last(), Some(Slot::Hole)) {
            self.events.pop();
        }
        removed
    }

    fn head(&self, stream: &StreamId) -> Option<Revision> {
        self.streams.get(stream)?.last().map(|(r, _)| *r)
    }

    fn log_head(&self) -> Option<Position> {
        (self.events.len() as Position).checked_sub(1)
    }

    /// The `(revision, position)` entries of `stream` within `revs`.
    fn entries(&self, stream: &StreamId, revs: &Revisions) -> &[(Revision, Position)] {
        let Some(entries) = self.streams.get(stream) else {
            return &[];
        };
        let start = entries.partition_point(|(r, _)| r < revs.start());
        let end = entries.partition_point(|(r, _)| r <= revs.end());
        &entries[start..end.max(start)]
    }
}

impl Log {
    /// The live events at `positions` of the streams `selection` matches: the first `max`
    /// (forwards) or the last `max` (backwards), ascending. The matching streams' entries are
    /// merged in position order (positions ascend with revisions in a stream); when they hold
    /// about as many entries as the range has positions, the log's slots are scanned instead.
    fn selected(
        &self,
        selection: &Selection,
        positions: Positions,
        direction: Direction,
        max: u64,
    ) -> Vec<RecordedEvent> {
        let slots = clamp(positions, self.events.len());
        let (lo, hi) = (slots.start as Position, slots.end as Position);
        let mut streams: Vec<&Vec<(Revision, Position)>> = Vec::new();
        for range in selection.ranges() {
            match range {
                StreamPattern::Exact(id) => streams.extend(self.streams.get(id.as_str())),
                StreamPattern::Prefix(prefix) => {
                    let from = (Bound::Included(prefix.as_str()), Bound::Unbounded);
                    streams.extend(
                        self.names
                            .range::<str, _>(from)
                            .take_while(|name| name.as_str().starts_with(prefix.as_str()))
                            .map(|name| &self.streams[name]),
                    );
                }
            }
        }
        let runs: Vec<&[(Revision, Position)]> = streams
            .into_iter()
            .map(|entries| {
                let start = entries.partition_point(|(_, p)| *p < lo);
                let end = entries.partition_point(|(_, p)| *p < hi);
                &entries[start..end.max(start)]
            })
            .filter(|run| !run.is_empty())
            .collect();
        let total: usize = runs.iter().map(|run| run.len()).sum();
        let live = |p: Position| match &self.events[p as usize] {
            Slot::Live(e) => Some(e),
            _ => None,
        };
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let merge_cost = total.saturating_mul(runs.len().max(1).ilog2() as usize + 1);
        let mut found: Vec<RecordedEvent> = Vec::new();
        if runs.len() > 1 && merge_cost >= slots.len() {
            // Most of the range is selected: one pass over the slots costs less than a merge.
            let matching = |slot: &Slot| match slot {
                Slot::Live(e) if selection.matches(e.stream_id.as_str()) => Some(e.clone()),
                _ => None,
            };
            let range = &self.events[slots];
            match direction {
                Direction::Forwards => {
                    found.extend(range.iter().filter_map(matching).take(max));
                }
                Direction::Backwards => {
                    found.extend(range.iter().rev().filter_map(matching).take(max));
                    found.reverse();
                }
            }
            return found;
        }
        match direction {
            Direction::Forwards => {
                let mut next: Vec<usize> = vec![0; runs.len()];
                let mut heap: BinaryHeap<Reverse<(Position, usize)>> = runs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| Reverse((r[0].1, i)))
                    .collect();
                while found.len() < max {
                    let Some(Reverse((p, i))) = heap.pop() else {
                        break;
                    };
                    found.extend(live(p).cloned());
                    next[i] += 1;
                    if let Some((_, p)) = runs[i].get(next[i]) {
                        heap.push(Reverse((*p, i)));
                    }
                }
            }
            Direction::Backwards => {
                let mut left: Vec<usize> = runs.iter().map(|r| r.len() - 1).collect();
                let mut heap: BinaryHeap<(Position, usize)> = runs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r[r.len() - 1].1, i))
                    .collect();
                while found.len() < max {
                    let Some((p, i)) = heap.pop() else {
                        break;
                    };
                    found.extend(live(p).cloned());
                    if left[i] > 0 {
                        left[i] -= 1;
                        heap.push((runs[i][left[i]].1, i));
                    }
                }
                found.reverse();
            }
        }
        found
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
        let head = self.storage.log.borrow().head(stream);
        Box::pin(async move { Ok(head) })
    }

    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        let head = self.storage.log.borrow().log_head();
        Box::pin(async move { Ok(head) })
    }

    /// Read at once, in one future (an append's first step).
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Io<'a, HeadsOf> {
        let log = self.storage.log.borrow();
        let heads = streams.iter().map(|s| log.head(s)).collect();
        let head = log.log_head();
        Box::pin(async move { Ok((heads, head)) })
    }

    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        let log = self.storage.log.borrow();
        let found = ids
            .iter()
            .map(|id| {
                let position = *log.ids.get(id)?;
                let slot = &log.events[position as usize];
                let (_, stream, revision) = slot.id()?;
                Some(StoredLocation {
                    stream_id: stream.clone(),
                    revision,
                    position,
                    removed: !matches!(slot, Slot::Live(_)),
                })
            })
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        let log = self.storage.log.borrow();
        let events: Vec<RecordedEvent> = log
            .entries(stream, &revs)
            .iter()
            .filter_map(|(_, p)| match &log.events[*p as usize] {
                Slot::Live(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        Box::pin(async move { Ok(Box::new(events) as BoxedPage) })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        let log = self.storage.log.borrow();
        let events: Vec<RecordedEvent> = log.events[clamp(positions, log.events.len())]
            .iter()
            .filter_map(|slot| match slot {
                Slot::Live(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        Box::pin(async move { Ok(Box::new(events) as BoxedPage) })
    }

    /// Read from the selected streams' entries (see `Log::selected`), not by scanning the log.
    fn read_selected<'a>(
        &'a mut self,
        selection: &'a Selection,
        positions: Positions,
        direction: Direction,
        max: u64,
    ) -> Io<'a, BoxedPage> {
        let events = self
            .storage
            .log
            .borrow()
            .selected(selection, positions, direction, max);
        Box::pin(async move { Ok(Box::new(events) as BoxedPage) })
    }

    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()> {
        let done = self.claim().and_then(|()| {
            let mut log = self.storage.log.borrow_mut();
            let before = log.events.len();
            if events
                .iter()
                .zip(events.iter().skip(1))
                .any(|(a, b)| a.position >= b.position)
                || events
                    .first()
                    .is_some_and(|e| (e.position as usize) < before)
            {
                return Err(crate::Error::storage(
                    "events must be put at increasing positions past the log's head",
                ));
            }
            for event in events {
                log.place(event.position as usize, Slot::Live(event.clone()));
            }
            drop(log);
            self.undo.push(Undo::Put(before));
            Ok(())
        });
        Box::pin(async move { done })
    }

    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()> {
        let done = self.claim().map(|()| {
            let mut log = self.storage.log.borrow_mut();
            let positions: Vec<Position> = log
                .entries(&what.stream, &what.revisions)
                .iter()
                .map(|(_, p)| *p)
                .collect();
            let mut removed = Vec::new();
            for p in positions {
                let slot = &mut log.events[p as usize];
                if let Slot::Live(e) = slot {
                    if what.covers(e.revision, e.position, e.created_at) {
                        let husk = Slot::Husk {
                            id: e.id,
                            stream: e.stream_id.clone(),
                            revision: e.revision,
                        };
                        if let Slot::Live(e) = std::mem::replace(slot, husk) {
                            removed.push(e);
                        }
                    }
                }
            }
            drop(log);
            self.undo.push(Undo::Remove(removed));
        });
        Box::pin(async move { done })
    }

    fn truncate_log(&mut self, from: Position) -> Io<'_, ()> {
        let done = self.claim().map(|()| {
            let from = usize::try_from(from).unwrap_or(usize::MAX);
            let removed = self.storage.log.borrow_mut().truncate(from);
            self.undo.push(Undo::Truncate(from, removed));
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
                Undo::Put(len) => {
                    log.truncate(len);
                }
                Undo::Truncate(from, slots) => {
                    for (offset, slot) in slots.into_iter().enumerate() {
                        if !matches!(slot, Slot::Hole) {
                            log.place(from + offset, slot);
                        }
                    }
                }
                Undo::Remove(events) => {
                    for event in events {
                        let p = event.position as usize;
                        log.events[p] = Slot::Live(event);
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
