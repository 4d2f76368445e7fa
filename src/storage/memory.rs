//! [`MemoryStorage`]: the in-memory storage, and the reference the property tests model.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use uuid::Uuid;

use super::{PreparedAppend, Storage};
use crate::decision::{decide, Decision, StoredLocation};
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::model::{AppendResult, Position, Revision, StreamId};
use crate::read::{Direction, ReadRequest};

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

impl Log {
    fn location(&self, id: &Uuid) -> Option<StoredLocation> {
        let event = &self.events[*self.ids.get(id)? as usize];
        Some(StoredLocation {
            stream_id: event.stream_id.clone(),
            revision: event.revision,
            position: event.position,
        })
    }

    fn intern(&mut self, event_type: &Rc<str>) -> Rc<str> {
        if let Some(t) = self.event_types.get(event_type) {
            return t.clone();
        }
        self.event_types.insert(event_type.clone());
        event_type.clone()
    }
}

fn select(
    events: &[RecordedEvent],
    indices: &[Position],
    request: ReadRequest,
) -> Vec<RecordedEvent> {
    let (first, count) = request.select(indices.len() as u64);
    let pick = |i: u64| events[indices[i as usize] as usize].clone();
    match request.direction {
        Direction::Forwards => (first..first + count).map(pick).collect(),
        Direction::Backwards => (0..count).map(|k| pick(first - k)).collect(),
    }
}

impl Storage for MemoryStorage {
    async fn append(&self, append: &PreparedAppend) -> Result<AppendResult> {
        let mut log = self.log.borrow_mut();
        let head = log
            .streams
            .get(&append.stream_id)
            .map(|positions| positions.len() as Revision - 1);
        let ids: Vec<Uuid> = append.events.iter().map(|e| e.id).collect();
        let stored: Vec<Option<StoredLocation>> = ids.iter().map(|id| log.location(id)).collect();
        let first_revision = match decide(&append.stream_id, head, append.expected, &ids, &stored)?
        {
            Decision::AlreadyWritten(result) => return Ok(result),
            Decision::Write { first_revision } => first_revision,
        };
        let stream_id = match log.streams.get_key_value(&append.stream_id) {
            Some((key, _)) => key.clone(),
            None => append.stream_id.clone(),
        };
        let first_position = log.events.len() as Position;
        log.events.reserve(append.events.len());
        for (offset, event) in append.events.iter().enumerate() {
            let event_type = log.intern(&event.event_type);
            let position = first_position + offset as u64;
            log.events.push(RecordedEvent {
                id: event.id,
                stream_id: stream_id.clone(),
                event_type,
                revision: first_revision + offset as u64,
                position,
                data: event.data.clone(),
                metadata: event.metadata.clone(),
                created_at: append.created_at,
            });
            log.ids.insert(event.id, position);
        }
        let n = append.events.len() as u64;
        log.streams
            .entry(stream_id)
            .or_default()
            .extend(first_position..first_position + n);
        Ok(AppendResult {
            next_expected_revision: first_revision + n - 1,
            position: first_position + n - 1,
        })
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        request: ReadRequest,
    ) -> Result<Vec<RecordedEvent>> {
        let log = self.log.borrow();
        Ok(match log.streams.get(stream_id) {
            Some(positions) => select(&log.events, positions, request),
            None => Vec::new(),
        })
    }

    async fn read_all(&self, request: ReadRequest) -> Result<Vec<RecordedEvent>> {
        let log = self.log.borrow();
        let (first, count) = request.select(log.events.len() as u64);
        if count == 0 {
            return Ok(Vec::new());
        }
        let range = match request.direction {
            Direction::Forwards => first as usize..(first + count) as usize,
            Direction::Backwards => (first + 1 - count) as usize..(first + 1) as usize,
        };
        let mut events = log.events[range].to_vec();
        if request.direction == Direction::Backwards {
            events.reverse();
        }
        Ok(events)
    }

    async fn stream_revision(&self, stream_id: &StreamId) -> Result<Option<Revision>> {
        let log = self.log.borrow();
        Ok(log.streams.get(stream_id).map(|p| p.len() as Revision - 1))
    }

    async fn head_position(&self) -> Result<Option<Position>> {
        Ok((self.log.borrow().events.len() as Position).checked_sub(1))
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
