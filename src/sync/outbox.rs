//! The sync outbox: a [`Hook`] that queues every local append for the server, in the append's
//! own transaction (an append is acknowledged only with its outbox entry).

use super::records::{OutboxEntry, SyncState, STATE};
use crate::storage::{Appending, Hook, Io, Layered, Transaction};

/// A storage whose appends also write an outbox entry (and nothing else differs).
pub type Outboxed = Layered<Outbox>;

/// The hook of an [`Outboxed`] storage.
#[derive(Debug, Default)]
pub struct Outbox;

impl Hook for Outbox {
    /// Queues the append: the next outbox entry, in the same transaction as its events.
    fn appended<'a>(&'a self, tx: &'a mut dyn Transaction, what: Appending<'a>) -> Io<'a, ()> {
        let Appending { append, events, .. } = what;
        Box::pin(async move {
            let mut state = match tx.get_meta(STATE).await? {
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
                kind: Default::default(),
            };
            state.next_seq += 1;
            state.pending += 1;
            tx.put_meta(&OutboxEntry::key(entry.seq), Some(&entry.encode()))
                .await?;
            tx.put_meta(STATE, Some(&state.encode())).await
        })
    }
}
