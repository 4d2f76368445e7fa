//! [`Outboxed`]: the storage decorator that queues every local append for the server, in the
//! append's own transaction (an append is acknowledged only with its outbox entry).

use std::ops::RangeInclusive;
use std::rc::Rc;

use uuid::Uuid;

use super::records::{OutboxEntry, SyncState, STATE};
use crate::decision::StoredLocation;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::json::Json;
use crate::model::{Position, Revision, StreamId};
use crate::storage::{CommitError, Heads, Mode, PreparedAppend, Storage, Transaction};

/// A storage whose appends also write an outbox entry (and nothing else differs).
#[derive(Debug)]
pub struct Outboxed<S> {
    inner: S,
}

impl<S: Storage> Outboxed<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Outboxed { inner }
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// A transaction of an [`Outboxed`] storage.
pub struct OutboxTx<T>(T);

impl<T: Transaction> Transaction for OutboxTx<T> {
    type Page = T::Page;

    async fn stream_head(&mut self, stream: &StreamId) -> Result<Option<Revision>> {
        self.0.stream_head(stream).await
    }

    async fn log_head(&mut self) -> Result<Option<Position>> {
        self.0.log_head().await
    }

    async fn heads(&mut self, stream: &StreamId) -> Result<Heads> {
        self.0.heads(stream).await
    }

    async fn heads_of(
        &mut self,
        streams: &[StreamId],
    ) -> Result<(Vec<Option<Revision>>, Option<Position>)> {
        self.0.heads_of(streams).await
    }

    async fn locate(&mut self, ids: &[Uuid]) -> Result<Vec<Option<StoredLocation>>> {
        self.0.locate(ids).await
    }

    async fn read_stream(
        &mut self,
        stream: &StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Result<Self::Page> {
        self.0.read_stream(stream, revisions).await
    }

    async fn read_log(&mut self, positions: RangeInclusive<Position>) -> Result<Self::Page> {
        self.0.read_log(positions).await
    }

    async fn put(&mut self, events: &[RecordedEvent]) -> Result<()> {
        self.0.put(events).await
    }

    /// Queues the append: the next outbox entry, in the same transaction as its events.
    async fn appended(&mut self, append: &PreparedAppend, events: &[RecordedEvent]) -> Result<()> {
        self.0.appended(append, events).await?;
        let mut state = match self.0.get_meta(STATE).await? {
            Some(json) => SyncState::decode(&json)?,
            None => SyncState::default(),
        };
        let entry = OutboxEntry {
            seq: state.next_seq,
            stream_id: append.stream_id.clone(),
            expected: append.expected,
            count: events.len(),
            created_at: append.created_at,
            detached: None,
        };
        state.next_seq += 1;
        state.pending += 1;
        self.0
            .put_meta(&OutboxEntry::key(entry.seq), Some(&entry.encode()))
            .await?;
        self.0.put_meta(STATE, Some(&state.encode())).await
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

impl<S: Storage> Storage for Outboxed<S> {
    type Tx<'a>
        = OutboxTx<S::Tx<'a>>
    where
        Self: 'a;

    async fn begin(&self, mode: Mode) -> Result<Self::Tx<'_>> {
        Ok(OutboxTx(self.inner.begin(mode).await?))
    }

    fn rejects_duplicate_ids(&self) -> bool {
        self.inner.rejects_duplicate_ids()
    }

    fn groups_appends(&self) -> bool {
        self.inner.groups_appends()
    }

    fn reads_own_writes(&self) -> bool {
        self.inner.reads_own_writes()
    }

    fn truncates(&self) -> bool {
        self.inner.truncates()
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        self.inner.load_checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        self.inner.save_checkpoint(name, position).await
    }

    fn watch(&self, wake: Rc<dyn Fn()>) {
        self.inner.watch(wake)
    }

    fn committed(&self, last_position: Position) {
        self.inner.committed(last_position)
    }

    fn close(&self) {
        self.inner.close()
    }
}
