//! The sync outbox: a [`Hook`] that queues every local append — and every local lifecycle call
//! — for the server, in the call's own transaction (a call is acknowledged only with its outbox
//! entry).

use super::records::{EntryKind, OutboxEntry, SyncState, STATE};
use super::tail::load;
use crate::lifecycle::LifecycleOp;
use crate::model::{ExpectedRevision, Position};
use crate::storage::{AppendKind, Appending, Hook, Io, Layered, Removal, Transaction};

/// A storage whose appends also write an outbox entry (and nothing else differs).
pub type Outboxed = Layered<Outbox>;

/// The hook of an [`Outboxed`] storage.
#[derive(Debug, Default)]
pub struct Outbox;

impl Hook for Outbox {
    /// An append's log reaches the confirmed position at least: a device that holds some
    /// streams only may have no event there (the server's events at its last positions are of
    /// other streams), and its local appends go after it.
    fn head_meta(&self) -> &'static [&'static str] {
        &[STATE]
    }

    fn log_head<'a>(
        &'a self,
        tx: &'a mut dyn Transaction,
        head: Option<Position>,
    ) -> Io<'a, Option<Position>> {
        Box::pin(async move {
            let confirmed = match tx.get_meta(STATE).await? {
                Some(json) => SyncState::decode(&json)?.confirmed,
                None => None,
            };
            Ok(head.max(confirmed))
        })
    }

    /// Queues the append: the next outbox entry, in the same transaction as its events. A local
    /// delete or tombstone first cancels the queued appends of its stream (their events would
    /// be erased right after reaching the server and every other device: they never leave).
    fn appended<'a>(&'a self, tx: &'a mut dyn Transaction, what: Appending<'a>) -> Io<'a, ()> {
        let Appending { append, events, .. } = what;
        Box::pin(async move {
            let kind = match &append.kind {
                AppendKind::Events => EntryKind::Events,
                AppendKind::Lifecycle { op, .. } => match op {
                    LifecycleOp::SetMetadata(_) => EntryKind::Metadata,
                    LifecycleOp::Delete => EntryKind::Delete,
                    LifecycleOp::Tombstone => EntryKind::Tombstone,
                },
            };
            let mut entry = OutboxEntry {
                seq: 0,
                stream_id: append.stream_id.clone(),
                expected: append.expected,
                count: events.len(),
                created_at: append.created_at,
                detached: None,
                kind,
            };
            if kind.removes() {
                let mut local = load(tx, true).await?;
                if let Some(confirmed_head) = local.cancel_appends(tx, &append.stream_id).await? {
                    // The device deleted its view: the server's part of the stream plus these
                    // appends. The server checks the call against the part it knows.
                    if let ExpectedRevision::Exact(_) = entry.expected {
                        entry.expected = confirmed_head
                            .map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                    }
                }
                local.queue(entry, events.to_vec());
                return local.save(tx).await;
            }
            let mut state = match tx.get_meta(STATE).await? {
                Some(json) => SyncState::decode(&json)?,
                None => SyncState::default(),
            };
            entry.seq = state.next_seq;
            state.next_seq += 1;
            state.pending += 1;
            tx.put_meta(&OutboxEntry::key(entry.seq), Some(&entry.encode()))
                .await?;
            tx.put_meta(STATE, Some(&state.encode())).await
        })
    }
}

/// Husks `events` of one queued append (contiguous revisions of one stream) in the tail.
pub(crate) async fn husk(
    tx: &mut dyn Transaction,
    events: &[crate::RecordedEvent],
) -> crate::Result<()> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(());
    };
    let removal = Removal {
        stream: first.stream_id.clone(),
        revisions: first.revision..=last.revision,
        created_before: None,
        through: None,
    };
    tx.remove(&removal).await
}
