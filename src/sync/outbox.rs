//! The sync outbox: a [`Hook`] that queues every local append — and every local lifecycle call
//! — for the server, in the call's own transaction (a call is acknowledged only with its outbox
//! entry).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::records::{EntryKind, OutboxEntry, SyncState, STATE};
use super::tail::{load, Pending};
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
        Box::pin(async move { queue(tx, what).await.map(|_| ()) })
    }
}

/// Writes the outbox entry of `what` (see [`Outbox::appended`]); returns it unless the append
/// also rewrote the queue (a delete or tombstone cancels queued appends).
async fn queue(
    tx: &mut dyn Transaction,
    what: Appending<'_>,
) -> crate::Result<Option<OutboxEntry>> {
    let Appending { append, events, .. } = what;
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
                entry.expected =
                    confirmed_head.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
            }
        }
        local.queue(entry, events.to_vec());
        local.save(tx).await?;
        return Ok(None);
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
    tx.put_meta(STATE, Some(&state.encode())).await?;
    Ok(Some(entry))
}

/// What a [`TappedOutbox`] hands its listener: the appends it queued, as committed.
#[derive(Debug, Clone)]
pub enum Queued {
    /// An outbox entry and its events, as written.
    Entry(Pending),
    /// The queue was rewritten too (a delete or tombstone cancelled queued appends): what is
    /// queued is known only by reading it.
    Rewritten,
}

/// The shared part of a [`TappedOutbox`]: what it queued in transactions not yet settled, what
/// committed, and who is told.
#[derive(Default)]
pub struct Tap {
    /// Whether to keep what is queued (someone takes it: a connected client).
    armed: Cell<bool>,
    /// By transaction: what was queued in it.
    staged: RefCell<Vec<(u64, Queued)>>,
    /// Committed, in commit order, not yet taken.
    ready: RefCell<Vec<Queued>>,
    /// Called after each commit that queued something while armed.
    listener: RefCell<Option<Rc<dyn Fn()>>>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap")
            .field("armed", &self.armed.get())
            .finish_non_exhaustive()
    }
}

impl Tap {
    /// Keeps what is queued from now on (`true`), or nothing (`false`: dropped as well).
    pub(crate) fn arm(&self, armed: bool) {
        self.armed.set(armed);
        if !armed {
            self.staged.borrow_mut().clear();
            self.ready.borrow_mut().clear();
        }
    }

    /// Calls `listener` after each commit that queued something while armed.
    pub(crate) fn listen(&self, listener: Rc<dyn Fn()>) {
        *self.listener.borrow_mut() = Some(listener);
    }

    /// What committed since the last call, in commit order.
    pub(crate) fn take(&self) -> Vec<Queued> {
        std::mem::take(&mut *self.ready.borrow_mut())
    }
}

/// An [`Outbox`] that also keeps what it queued, for its [`Tap`]: a connected client pushes a
/// local append from memory as soon as its transaction commits, without reading the outbox.
#[derive(Debug, Default)]
pub struct TappedOutbox {
    tap: Rc<Tap>,
}

impl TappedOutbox {
    /// The hook and its tap.
    pub fn new() -> (Self, Rc<Tap>) {
        let tap = Rc::new(Tap::default());
        (TappedOutbox { tap: tap.clone() }, tap)
    }
}

impl Hook for TappedOutbox {
    fn head_meta(&self) -> &'static [&'static str] {
        Outbox.head_meta()
    }

    fn log_head<'a>(
        &'a self,
        tx: &'a mut dyn Transaction,
        head: Option<Position>,
    ) -> Io<'a, Option<Position>> {
        Box::pin(async move { Outbox.log_head(tx, head).await })
    }

    fn appended<'a>(&'a self, tx: &'a mut dyn Transaction, what: Appending<'a>) -> Io<'a, ()> {
        Box::pin(async move { queue(tx, what).await.map(|_| ()) })
    }

    fn appended_in<'a>(
        &'a self,
        tx_id: u64,
        tx: &'a mut dyn Transaction,
        what: Appending<'a>,
    ) -> Io<'a, ()> {
        Box::pin(async move {
            let entry = queue(tx, what).await?;
            if self.tap.armed.get() {
                let queued = match entry {
                    Some(entry) => Queued::Entry(Pending::new(entry, what.events.to_vec())),
                    None => Queued::Rewritten,
                };
                self.tap.staged.borrow_mut().push((tx_id, queued));
            }
            Ok(())
        })
    }

    fn committed(&self, tx_id: u64) {
        let mine: Vec<Queued> = {
            let mut staged = self.tap.staged.borrow_mut();
            let (mine, others) = staged.drain(..).partition(|(id, _)| *id == tx_id);
            *staged = others;
            mine.into_iter().map(|(_, q)| q).collect()
        };
        if mine.is_empty() || !self.tap.armed.get() {
            return;
        }
        self.tap.ready.borrow_mut().extend(mine);
        let listener = self.tap.listener.borrow().clone();
        if let Some(listener) = listener {
            listener();
        }
    }

    fn abandoned(&self, tx_id: u64) {
        self.tap.staged.borrow_mut().retain(|(id, _)| *id != tx_id);
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
