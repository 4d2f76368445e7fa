//! The client half of sync: a state machine over a synced store, driven by its host — told when
//! the connection opens or closes and what the server sent, asked what to send — with no I/O of
//! its own besides the store's transactions. The browser hosts it over a WebSocket; the tests
//! over a simulated lossy network.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use super::outbox::{Queued, Tap};
use super::protocol::{ClientMessage, PushAppend, PushKind, PushOutcome, ServerMessage, TheirsCut};
use super::records::{
    decode_selection, encode_selection, ConflictRecord, EntryKind, OutboxEntry, SyncState,
    CONFLICT, SELECTION, STATE,
};
use super::tail::{load, theirs, Frame, Local};
use crate::append::numbered;
use crate::decision::Decision;
use crate::error::{Error, Result};
use crate::event::{NewEvent, ProposedEvent, RecordedEvent};
use crate::model::{AppendResult, ExpectedRevision, Position, Revision, StreamId};
use crate::selection::Selection;
use crate::storage::{BoxedTx, CommitError, Mode, Transaction};
use crate::store::{EventStore, Origin};

/// How many appends one push carries at most.
const BATCH_APPENDS: usize = 256;
/// How many events one push carries at most (one larger append goes alone).
const BATCH_EVENTS: usize = 4096;
/// About how many bytes of events one push carries at most (one larger append goes alone).
const BATCH_BYTES: usize = 512 * 1024;
/// How many times a local transaction is tried when commits conflict with other writers.
const ATTEMPTS: usize = 8;

/// Whether the client is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    /// Not connected (the network or the server is unreachable).
    #[default]
    Offline,
    /// A connection is being made.
    Connecting,
    /// Connected.
    Online,
}

/// What a synced store reports about its sync.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncStatus {
    /// The connection.
    pub state: LinkState,
    /// Queued appends not yet confirmed, held ones included.
    pub pending: usize,
    /// Streams held by a conflict.
    pub conflicts: usize,
    /// The last confirmed position.
    pub confirmed: Option<Position>,
    /// Queued appends that are not held (`flush` waits for none).
    pub pushable: usize,
    /// Whether the server's backlog was received on this connection.
    pub caught_up: bool,
    /// Whether the client is pulling a replaced server log from its start (pushes wait).
    pub resetting: bool,
}

/// A held stream, with what the app needs to decide again.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The stream.
    pub stream_id: StreamId,
    /// The expected revision of the conflicting append.
    pub expected: ExpectedRevision,
    /// The server's revision of the stream.
    pub actual: Option<Revision>,
    /// `(code, message)` when the server refused the append for another reason than its
    /// expected revision.
    pub rejection: Option<(String, String)>,
    /// Every held local event of the stream, oldest first.
    pub pending: Vec<RecordedEvent>,
    /// The server's events of the stream after the expected revision.
    pub theirs: Vec<RecordedEvent>,
    /// The server withheld `theirs`: the token may not read the stream (no `read` scope).
    pub theirs_withheld: bool,
}

/// A unit of work of [`SyncClient::transact`]: from a transaction and the loaded local state to
/// both (to save and commit) and a result.
type Work<'s, Tx, T> = dyn Fn(Tx, Local) -> Step<'s, Tx, T> + 's;

/// The future of a [`Work`].
type Step<'s, Tx, T> = Pin<Box<dyn Future<Output = Result<(Tx, Local, T)>> + 's>>;

/// The client sync state machine over `store` (whose storage must be an
/// [`Outboxed`](super::Outboxed) one, or erase one, so that local appends are queued).
#[derive(Debug)]
pub struct SyncClient {
    store: Rc<EventStore>,
    engine: RefCell<Engine>,
    /// The streams this device holds.
    selection: Selection,
    /// The stored selection was compared with this one (see [`SyncClient::select`]).
    selected: std::cell::Cell<bool>,
    /// The outbox's tap (see [`SyncClient::tap`]), once attached.
    tap: RefCell<Option<Rc<Tap>>>,
    /// How many of this client's reads and writes of the outbox are under way: a push from
    /// memory waits for none (it could pass what they are about to change).
    busy: std::cell::Cell<u32>,
    /// Handling a server message ([`SyncClient::receive`]): its writes are counted in `received`.
    receiving: std::cell::Cell<bool>,
    /// `(from, to)`: the store's change generations from `from` to `to` are all writes of
    /// received messages (see [`SyncClient::received_only_since`]).
    received: std::cell::Cell<(u64, u64)>,
}

/// Counts a piece of work as under way ([`SyncClient::busy`]) until dropped.
struct Busy<'a>(&'a std::cell::Cell<u32>);

impl<'a> Busy<'a> {
    fn new(count: &'a std::cell::Cell<u32>) -> Self {
        count.set(count.get() + 1);
        Busy(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

#[derive(Debug, Default)]
struct Engine {
    status: SyncStatus,
    outgoing: VecDeque<ClientMessage>,
    /// The push awaiting its result: batch id and the sequence numbers it carries.
    in_flight: Option<(u64, Vec<u64>)>,
    /// Held appends pushed once on this connection (a `STREAM_DELETED` foreseen here).
    pushed_once: std::collections::HashSet<u64>,
    /// Appends the server accepted on this connection, whose events have not arrived yet, with
    /// the position of their last event.
    acked: HashMap<u64, Position>,
    next_batch: u64,
    /// Events held back until the rest of their append arrives (the end of a frame).
    carry: Option<Frame>,
    /// The epoch of the server log this store synced with.
    epoch: Option<String>,
    /// This connection's server said which log it holds, and it is the one in `epoch`: pushes
    /// wait for it, so that no answer from another log is ever taken for this one's.
    log_checked: bool,
    /// The appends of the push in flight whose streams this device does not select.
    unselected: Vec<u64>,
    /// The streams pulls name (`None`: every stream).
    streams: Option<Selection>,
    /// The streams the server said this connection's feed serves (its last `caughtUp`).
    served: Option<Selection>,
    /// The `after` and `epoch` of the last pull sent: a refusal of any other pull is stale.
    pulled: (Option<Position>, Option<String>),
    /// The store's count of written appends when `status` was last read from storage: the
    /// appends written since are queued too, and counted without another read.
    written_seen: u64,
    /// `Some(seq)`: as last read, every queued append before `seq` is accepted or in flight and
    /// no stream is held, so the appends queued next (from `seq` on, in order) can be pushed
    /// from memory as they commit. `None`: only a read of the outbox tells.
    clear_from: Option<u64>,
}

impl Engine {
    /// Queues a pull from `after`; `last` is the client's last event at or before it (its id
    /// and position).
    fn pull(&mut self, after: Option<Position>, last: Option<(uuid::Uuid, Position)>) {
        self.carry = None;
        let epoch = self.epoch.clone();
        self.pulled = (after, epoch.clone());
        self.outgoing.push_back(ClientMessage::Pull {
            after,
            after_id: last.map(|(id, _)| id),
            after_id_at: last.map(|(_, at)| at).filter(|at| Some(*at) != after),
            epoch,
            streams: self.streams.clone(),
        });
    }
}

/// The id of the last event at or before `at` in the local log (the server checks it is its own,
/// there), and its position: the log may have holes, so windows of doubling width are read
/// downwards.
async fn id_at(
    tx: &mut dyn Transaction,
    at: Option<Position>,
) -> Result<Option<(uuid::Uuid, Position)>> {
    let Some(mut high) = at else { return Ok(None) };
    let mut width = 16u64;
    loop {
        let low = high.saturating_sub(width - 1);
        let events = tx.read_log(low..=high).await?.into_events()?;
        if let Some(e) = events.last() {
            return Ok(Some((e.id, e.position)));
        }
        if low == 0 {
            return Ok(None);
        }
        high = low - 1;
        width = (width * 2).min(1 << 16);
    }
}

impl SyncClient {
    /// The client of `store`, holding every stream of the server's log.
    pub fn new(store: Rc<EventStore>) -> Self {
        Self::with_selection(store, Selection::all())
    }

    /// The client of `store`, holding only the streams `selection` matches: pulls name them,
    /// and the store refuses local writes to other streams (`INVALID_ARGUMENT`). What the store
    /// held under another selection is reconciled by [`select`](Self::select), before the first
    /// connection at the latest.
    pub fn with_selection(store: Rc<EventStore>, selection: Selection) -> Self {
        store.mark_synced(selection.clone());
        let engine = Engine {
            streams: (!selection.is_all()).then(|| selection.clone()),
            ..Engine::default()
        };
        SyncClient {
            store,
            engine: RefCell::new(engine),
            selection,
            selected: std::cell::Cell::new(false),
            tap: RefCell::new(None),
            busy: std::cell::Cell::new(0),
            receiving: std::cell::Cell::new(false),
            received: std::cell::Cell::new((0, 0)),
        }
    }

    /// Attaches the tap of the store's outbox (a [`TappedOutbox`](super::outbox::TappedOutbox)):
    /// while connected, each local append is pushed from memory as soon as its transaction
    /// commits, when nothing else is queued before it and no push is in flight; `sent` is then
    /// called (the host sends [`take_outgoing`](Self::take_outgoing) at once). Other appends are
    /// pushed as before, after a read of the outbox.
    pub fn tap(self: &Rc<Self>, tap: Rc<Tap>, sent: Rc<dyn Fn()>) {
        let client = Rc::downgrade(self);
        tap.listen(Rc::new(move || {
            if client.upgrade().is_some_and(|c| c.push_committed()) {
                sent();
            }
        }));
        *self.tap.borrow_mut() = Some(tap);
    }

    /// Pushes the appends the tap saw commit, from memory, if they are next in the queue and
    /// a push can go now; returns whether a push was queued. Otherwise the regular pump pushes
    /// them (after reading the outbox).
    fn push_committed(&self) -> bool {
        let Some(tap) = self.tap.borrow().clone() else {
            return false;
        };
        let queued = tap.take();
        let mut e = self.engine.borrow_mut();
        let idle = e.status.state == LinkState::Online
            && e.log_checked
            && !e.status.resetting
            && e.in_flight.is_none()
            && self.busy.get() == 0;
        let Some(mut next) = e.clear_from else {
            return false;
        };
        if queued.is_empty() || !idle {
            return false;
        }
        let mut appends = Vec::with_capacity(queued.len());
        let (mut events_chosen, mut bytes) = (0usize, 0usize);
        for q in &queued {
            let Queued::Entry(p) = q else {
                e.clear_from = None; // the queue was rewritten: read it
                return false;
            };
            let seq = p.entry.seq;
            if seq != next
                || e.acked.contains_key(&seq)
                || !self.selection.matches(p.entry.stream_id.as_str())
            {
                return false;
            }
            next += 1;
            events_chosen += p.entry.count;
            bytes += p
                .events
                .iter()
                .map(|e| e.data.byte_len() + e.metadata.byte_len() + e.event_type.len() + 96)
                .sum::<usize>();
            let Ok(append) = pushed(p) else { return false };
            if appends.len() == BATCH_APPENDS
                || events_chosen > BATCH_EVENTS
                || bytes > BATCH_BYTES
                || !super::wire::fits_one_push(&append)
            {
                return false;
            }
            appends.push(append);
        }
        let batch = e.next_batch;
        e.next_batch += 1;
        e.in_flight = Some((batch, appends.iter().map(|a| a.seq).collect()));
        e.unselected = Vec::new();
        e.clear_from = Some(next);
        e.outgoing.push_back(ClientMessage::Push { batch, appends });
        true
    }

    /// [`with_selection`](Self::with_selection), then [`select`](Self::select).
    pub async fn open(store: Rc<EventStore>, selection: Selection) -> Result<Self> {
        let client = Self::with_selection(store, selection);
        client.select().await?;
        Ok(client)
    }

    /// The streams this device holds.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// The streams the server said it serves on this connection (the selection within the
    /// token's streams), once caught up.
    pub fn served(&self) -> Option<Selection> {
        self.engine.borrow().served.clone()
    }

    /// Reconciles the store with this client's selection (once; a store never synced, or synced
    /// before partial sync, held every stream). The same: nothing. Narrower (the old one covers
    /// it): the confirmed events of the streams no longer selected are removed from the store, in
    /// one transaction (subscriptions that delivered them rebase). Wider or other: the confirmed
    /// prefix is dropped and the server's log pulled again from its start with the new selection
    /// (as after a reset of the server: the queue stays, subscriptions rebase).
    pub async fn select(&self) -> Result<()> {
        if self.selected.get() {
            return Ok(());
        }
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        let stored = match tx.get_meta(SELECTION).await? {
            Some(json) => Some(decode_selection(&json)?),
            None => None,
        };
        drop(tx);
        let old = stored.unwrap_or_else(Selection::all);
        if old != self.selection {
            let new = self.selection.clone();
            self.transact(&|mut tx, mut local| {
                let (old, new) = (old.clone(), new.clone());
                Box::pin(async move {
                    if old.covers(&new) {
                        local.narrow(&mut *tx, &new).await?;
                    } else if local.state.confirmed.is_some() || local.state.epoch.is_some() {
                        local.reset(&mut *tx, None).await?;
                    }
                    tx.put_meta(SELECTION, Some(&encode_selection(&new)))
                        .await?;
                    local.save(&mut *tx).await?;
                    Ok((tx, local, ()))
                })
            })
            .await?;
        }
        self.selected.set(true);
        Ok(())
    }

    /// The store.
    pub fn store(&self) -> &Rc<EventStore> {
        &self.store
    }

    /// The status as last read or changed.
    pub fn status(&self) -> SyncStatus {
        let e = self.engine.borrow();
        let mut status = e.status.clone();
        // Local appends resolved since the last read are queued: counted as soon as they resolve.
        let since = self.store.written().saturating_sub(e.written_seen) as usize;
        status.pending += since;
        status.pushable += since;
        status
    }

    /// Reads the counts of the status again (other tabs may have appended): the sync state and
    /// the conflicts only, not the outbox (`pushable` stays as last computed).
    pub async fn refresh(&self) -> Result<SyncStatus> {
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        let state = match tx.get_meta(STATE).await? {
            Some(json) => SyncState::decode(&json)?,
            None => SyncState::default(),
        };
        let conflicts = tx.scan_meta(CONFLICT).await?.len();
        drop(tx);
        let mut e = self.engine.borrow_mut();
        e.written_seen = self.store.written();
        e.status.pending = state.pending as usize;
        e.status.conflicts = conflicts;
        e.status.confirmed = state.confirmed;
        e.status.resetting = state.resetting;
        e.epoch = state.epoch;
        drop(e);
        Ok(self.status())
    }

    /// How many queued appends are not held (reads the whole outbox): `flush` waits for none.
    pub async fn pushable(&self) -> Result<usize> {
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        let local = load(&mut *tx, false).await?;
        drop(tx);
        self.absorb(&local);
        Ok(local.pushable())
    }

    /// The epoch of the server log this store synced with, as last read.
    pub fn epoch(&self) -> Option<String> {
        self.engine.borrow().epoch.clone()
    }

    /// A connection is being made.
    pub fn connecting(&self) {
        self.engine.borrow_mut().status.state = LinkState::Connecting;
    }

    /// The connection is open: pull from the confirmed position, push the queue.
    pub async fn connected(&self) -> Result<()> {
        self.select().await?;
        let status = self.refresh().await?;
        let after_id = self.confirmed_id(status.confirmed).await?;
        {
            let mut e = self.engine.borrow_mut();
            e.status.state = LinkState::Online;
            e.status.caught_up = false;
            e.in_flight = None;
            e.acked.clear();
            e.pushed_once.clear();
            e.outgoing.clear();
            e.log_checked = false;
            e.clear_from = None;
            e.pull(status.confirmed, after_id);
        }
        if let Some(tap) = &*self.tap.borrow() {
            tap.arm(true);
        }
        self.pump().await
    }

    /// The event a pull from `at` names: the anchor of the sync state (the last event the
    /// confirmed prefix took, removed since or not), else the last live event at or before `at`.
    async fn confirmed_id(&self, at: Option<Position>) -> Result<Option<(uuid::Uuid, Position)>> {
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        let anchor = match tx.get_meta(STATE).await? {
            Some(json) => SyncState::decode(&json)?.anchor,
            None => None,
        };
        match anchor {
            Some((id, position)) if at.is_some_and(|a| position <= a) => Ok(Some((id, position))),
            _ => id_at(&mut *tx, at).await,
        }
    }

    /// The connection closed (or failed): nothing in flight is answered any more.
    pub fn disconnected(&self) {
        let mut e = self.engine.borrow_mut();
        e.status.state = LinkState::Offline;
        e.status.caught_up = false;
        e.served = None;
        e.in_flight = None;
        e.acked.clear();
        e.carry = None;
        e.outgoing.clear();
        e.clear_from = None;
        drop(e);
        if let Some(tap) = &*self.tap.borrow() {
            tap.arm(false);
        }
    }

    /// Resolves once the store may have changed since `since` (a [`generation`](Self::generation)):
    /// a local append, one in another tab sharing the storage, or a sync write.
    pub async fn changed(&self, since: u64) {
        self.store.watch_other_writers();
        let notify = self.store.notify().clone();
        let waiter = notify.register();
        notify.changed(waiter, since, &|| false).await;
        notify.release(waiter);
    }

    /// The store's change generation (see [`changed`](Self::changed)).
    pub fn generation(&self) -> u64 {
        self.store.notify().generation()
    }

    /// Whether a push is awaiting its result.
    pub fn push_in_flight(&self) -> bool {
        self.engine.borrow().in_flight.is_some()
    }

    /// The messages to send now, in order.
    pub fn take_outgoing(&self) -> Vec<ClientMessage> {
        self.engine.borrow_mut().outgoing.drain(..).collect()
    }

    /// Whether every change of the store since `since` (a [`generation`](Self::generation)) is
    /// a write of a received message: the host then has nothing to push or read again for them
    /// (its handling of the message did both).
    pub fn received_only_since(&self, since: u64) -> bool {
        let (from, to) = self.received.get();
        from <= since && since <= to && self.generation() == to
    }

    /// Handles a message from the server. Returns the streams it held (new conflicts).
    pub async fn receive(&self, message: ServerMessage) -> Result<Vec<StreamId>> {
        struct Receiving<'a>(&'a std::cell::Cell<bool>);
        impl Drop for Receiving<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.receiving.set(true);
        let _receiving = Receiving(&self.receiving);
        if self.engine.borrow().status.state != LinkState::Online {
            return Ok(Vec::new());
        }
        let held = match message {
            ServerMessage::Events {
                events,
                epoch,
                after,
                through,
            } => {
                let known = self.engine.borrow().epoch.clone();
                match (epoch, known) {
                    (Some(e), Some(k)) if e != k => {
                        self.reset(e).await?;
                        Vec::new()
                    }
                    (epoch, _) => {
                        let checked = epoch.is_some();
                        let frame = Frame {
                            after,
                            through,
                            events,
                        };
                        let (held, idle) = self.ingest(frame, epoch).await?;
                        self.engine.borrow_mut().log_checked |= checked;
                        if idle {
                            // Nothing queued as the frame committed: no push to choose (a
                            // local append committed since wakes its own pump), and no read of
                            // the outbox competing with the subscriptions this frame woke.
                            return Ok(held);
                        }
                        held
                    }
                }
            }
            ServerMessage::CaughtUp { epoch, streams, .. } => {
                let held = self.caught_up(epoch).await?;
                let mut e = self.engine.borrow_mut();
                e.served = Some(streams.unwrap_or_else(Selection::all));
                e.status.caught_up = true;
                e.log_checked = true;
                held
            }
            ServerMessage::PushResult { batch, outcomes } => {
                self.push_result(batch, outcomes).await?
            }
            ServerMessage::Behind {
                head: _,
                epoch,
                refused: (after, refused_epoch),
            } => {
                // An answer to an earlier pull than the last one sent is stale. Else the server
                // does not hold the log the client confirmed: another epoch, a head before the
                // client's position, or another event at it (a restored copy).
                let stale = (after, refused_epoch) != self.engine.borrow().pulled;
                if !stale {
                    self.reset(epoch).await?;
                }
                Vec::new()
            }
        };
        self.pump().await?;
        Ok(held)
    }

    /// Queues the next push when none is in flight and something is pushable.
    pub async fn pump(&self) -> Result<()> {
        // An append too large for any push (queued by an older version) is held, then the
        // queue goes on without it: it never wedges the queue.
        while let Some(too_large) = self.pump_once().await? {
            self.hold_unpushable(too_large).await?;
        }
        Ok(())
    }

    /// Holds `append` (too large to push) as a rejected conflict of its stream.
    async fn hold_unpushable(&self, append: PushAppend) -> Result<()> {
        let size = super::wire::append_wire_len(&append);
        let message = format!(
            "this append is {size} bytes as a sync message, over the limit of one push \
             ({} bytes): discard it, or retry it split into smaller appends",
            super::protocol::MAX_CLIENT_MESSAGE_BYTES
        );
        self.transact(&|mut tx, mut local| {
            let (stream, message) = (append.stream_id.clone(), message.clone());
            Box::pin(async move {
                let head = tx.stream_head(&stream).await?;
                let record = ConflictRecord {
                    seq: append.seq,
                    expected: append.expected,
                    actual: head,
                    rejection: Some(("INVALID_ARGUMENT".to_owned(), message)),
                    theirs: Vec::new(),
                    from_server: false,
                    withheld: false,
                };
                local.hold(&stream, record);
                local.save(&mut *tx).await?;
                Ok((tx, local, ()))
            })
        })
        .await
    }

    /// Queues the next push, if it can go; returns an append that can never be pushed instead.
    async fn pump_once(&self) -> Result<Option<PushAppend>> {
        {
            let e = self.engine.borrow();
            let waiting = e.status.resetting || !e.log_checked;
            if e.status.state != LinkState::Online || e.in_flight.is_some() || waiting {
                return Ok(None);
            }
        }
        let _busy = Busy::new(&self.busy);
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        // The pending tail's events, sliced by the outbox's counts: the tail may hold husks of
        // cancelled appends, so positions say nothing.
        let local = load(&mut *tx, true).await?;
        let (acked, pushed_once) = {
            let e = self.engine.borrow();
            (e.acked.clone(), e.pushed_once.clone())
        };
        let mut appends = Vec::new();
        let (mut events_chosen, mut bytes) = (0usize, 0usize);
        for p in &local.pending {
            let blocked = p.is_detached() || local.is_held(&p.entry);
            let once =
                blocked && local.pushed_once(&p.entry) && !pushed_once.contains(&p.entry.seq);
            if acked.contains_key(&p.entry.seq) || (blocked && !once) {
                continue;
            }
            if appends.len() == BATCH_APPENDS
                || (events_chosen >= BATCH_EVENTS && !appends.is_empty())
            {
                break;
            }
            let size: usize = p
                .events
                .iter()
                .map(|e| e.data.byte_len() + e.metadata.byte_len() + e.event_type.len() + 96)
                .sum();
            if bytes + size > BATCH_BYTES && !appends.is_empty() {
                break;
            }
            bytes += size;
            events_chosen += p.entry.count;
            appends.push(pushed(p)?);
        }
        drop(tx);
        self.absorb(&local);
        if appends.is_empty() {
            return Ok(None);
        }
        if appends.len() == 1 && !super::wire::fits_one_push(&appends[0]) {
            return Ok(appends.pop());
        }
        let mut e = self.engine.borrow_mut();
        for a in &appends {
            if local.conflicts.get(&a.stream_id).is_some() {
                e.pushed_once.insert(a.seq); // held: pushed once per connection
            }
        }
        let batch = e.next_batch;
        e.next_batch += 1;
        e.in_flight = Some((batch, appends.iter().map(|a| a.seq).collect()));
        // Appends of streams this device no longer selects (queued before a narrower reopen):
        // once accepted they leave the device, as no frame brings their events back.
        e.unselected = appends
            .iter()
            .filter(|a| !self.selection.matches(a.stream_id.as_str()))
            .map(|a| a.seq)
            .collect();
        e.outgoing.push_back(ClientMessage::Push { batch, appends });
        drop(e);
        self.absorb(&local);
        Ok(None)
    }

    /// Ingests server events (of the log `epoch`, recorded with the first confirmed events).
    /// Returns the streams it held and whether the outbox was empty as it committed (nothing
    /// to push then).
    async fn ingest(&self, frame: Frame, epoch: Option<String>) -> Result<(Vec<StreamId>, bool)> {
        let frame = match self.engine.borrow_mut().carry.take() {
            Some(carry) => carry.then(frame),
            None => frame,
        };
        let _busy = Busy::new(&self.busy);
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            let mut tx = self.store.storage().begin(Mode::Write).await?;
            let mut local = load(&mut *tx, true).await?;
            local.now = (self.store.options().now)();
            if local.state.epoch.is_none() {
                local.state.epoch.clone_from(&epoch);
            }
            let acked = self.engine.borrow().acked.clone();
            let done = match local.ingest(&mut *tx, frame.clone(), &acked).await? {
                Ok(done) => done,
                Err(super::tail::Gap) => {
                    let after = local.state.confirmed;
                    let after_id = id_at(&mut *tx, after).await?;
                    drop(tx);
                    self.engine.borrow_mut().pull(after, after_id);
                    return Ok((Vec::new(), false));
                }
            };
            if done.changed {
                match tx.commit().await {
                    Ok(()) => {}
                    Err(CommitError::Conflict) => {
                        last_error =
                            Some(Error::storage("local writes kept conflicting with sync"));
                        continue;
                    }
                    Err(CommitError::Failed(e)) => return Err(e),
                }
                if local.lives_changed {
                    self.store.reload_lifecycle().await?;
                }
                self.wrote(&local);
            } else {
                drop(tx);
            }
            let mut e = self.engine.borrow_mut();
            e.carry = done.carry;
            // Accepted appends the confirmed prefix passed are settled (delivered or removed).
            if let Some(confirmed) = local.state.confirmed {
                e.acked.retain(|_, at| *at > confirmed);
            }
            drop(e);
            self.absorb(&local);
            return Ok((done.new_conflicts, local.pending.is_empty()));
        }
        Err(last_error.unwrap_or_else(|| Error::storage("sync ingest failed")))
    }

    async fn push_result(&self, batch: u64, outcomes: Vec<PushOutcome>) -> Result<Vec<StreamId>> {
        let seqs = {
            let mut e = self.engine.borrow_mut();
            match &e.in_flight {
                Some((b, _)) if *b == batch => {
                    e.in_flight.take().map(|(_, s)| s).unwrap_or_default()
                }
                _ => return Ok(Vec::new()), // stale or duplicated
            }
        };
        let mut holds = Vec::new();
        let mut skipped = Vec::new();
        let confirmed = self.engine.borrow().status.confirmed;
        for (seq, outcome) in seqs.into_iter().zip(outcomes) {
            match outcome {
                PushOutcome::Ok { position, .. } | PushOutcome::Already { position, .. } => {
                    let unselected = self.engine.borrow().unselected.contains(&seq);
                    if unselected || confirmed.is_some_and(|c| position <= c) {
                        // Passed already: confirmed then, or removed before it reached us; or
                        // of a stream this device does not hold: its events never come here.
                        skipped.push(seq);
                    } else {
                        self.engine.borrow_mut().acked.insert(seq, position);
                    }
                }
                PushOutcome::Conflict {
                    actual,
                    theirs,
                    theirs_cut,
                    rejection,
                } => {
                    let withheld = theirs_cut == Some(TheirsCut::Withheld);
                    holds.push((
                        seq,
                        actual,
                        theirs,
                        rejection.map(|r| (r.code, r.message)),
                        withheld,
                    ));
                }
                PushOutcome::Blocked | PushOutcome::Failed(_) => {}
            }
        }
        if !skipped.is_empty() && self.any_queued(&skipped).await? {
            self.transact(&|mut tx, mut local| {
                let skipped = skipped.clone();
                Box::pin(async move {
                    local.drop_skipped(&mut *tx, &skipped).await?;
                    local.save(&mut *tx).await?;
                    Ok((tx, local, ()))
                })
            })
            .await?;
        }
        if holds.is_empty() {
            return Ok(Vec::new());
        }
        self.transact(&|mut tx, mut local| {
            let holds = holds.clone();
            Box::pin(async move {
                let mut held = Vec::new();
                for (seq, actual, theirs, rejection, withheld) in holds {
                    let Some(p) = local.pending.iter().find(|p| p.entry.seq == seq) else {
                        continue; // confirmed meanwhile
                    };
                    let stream = p.entry.stream_id.clone();
                    let record = ConflictRecord {
                        seq,
                        expected: p.entry.expected,
                        actual,
                        rejection,
                        theirs,
                        from_server: true,
                        withheld,
                    };
                    if local.hold(&stream, record) {
                        held.push(stream);
                    }
                }
                local.save(&mut *tx).await?;
                Ok((tx, local, held))
            })
        })
        .await
    }

    /// Whether any of the appends `seqs` is still queued (usually none: the frame that
    /// confirmed them came before their result).
    async fn any_queued(&self, seqs: &[u64]) -> Result<bool> {
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        for seq in seqs {
            if tx.get_meta(&OutboxEntry::key(*seq)).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The backlog is in: records the server log's epoch the first time; after a reset, decides
    /// the queue again on top of the new log. A different epoch means another log: reset.
    async fn caught_up(&self, epoch: String) -> Result<Vec<StreamId>> {
        let known = self.engine.borrow().epoch.clone();
        if known.as_ref().is_some_and(|k| *k != epoch) {
            self.reset(epoch).await?;
            return Ok(Vec::new());
        }
        let resetting = self.engine.borrow().status.resetting;
        if known.is_some() && !resetting {
            return Ok(Vec::new()); // the same log, nothing to record
        }
        self.transact(&|mut tx, mut local| {
            let epoch = epoch.clone();
            Box::pin(async move {
                let held = if local.state.resetting {
                    local.settle(&mut *tx).await?
                } else {
                    Vec::new()
                };
                local.state.epoch = Some(epoch);
                local.save(&mut *tx).await?;
                Ok((tx, local, held))
            })
        })
        .await
    }

    /// The server holds another log, or an earlier state of this one (a reset or a restore): the
    /// local log is emptied but for the queue, which waits, and the new log is pulled from its
    /// start; then the queue is decided again on top of it and pushed. Nothing queued is lost;
    /// confirmed events the server no longer has are gone, as on the server.
    async fn reset(&self, epoch: String) -> Result<()> {
        self.transact(&|mut tx, mut local| {
            let epoch = epoch.clone();
            Box::pin(async move {
                local.reset(&mut *tx, Some(epoch)).await?;
                local.save(&mut *tx).await?;
                Ok((tx, local, ()))
            })
        })
        .await?;
        let mut e = self.engine.borrow_mut();
        e.in_flight = None;
        e.acked.clear();
        e.pull(None, None);
        Ok(())
    }

    /// Every held stream. Its `actual` revision and `theirs` are the freshest known: the
    /// server's answer, or the confirmed events received since, whichever is later.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>> {
        let caught_up = self.engine.borrow().status.caught_up;
        let mut tx = self.store.storage().begin(Mode::Read).await?;
        let local = load(&mut *tx, true).await?;
        let mut conflicts = Vec::with_capacity(local.conflicts.len());
        for (stream, record) in &local.conflicts {
            let held = |p: &&super::tail::Pending| {
                p.entry.stream_id == *stream && p.entry.seq >= record.seq
            };
            let pending: Vec<RecordedEvent> = local
                .pending
                .iter()
                .filter(held)
                .flat_map(|p| p.events.iter().cloned())
                .collect();
            let attached = local
                .pending
                .iter()
                .filter(|p| held(p) && !p.is_detached())
                .map(|p| p.events.len() as u64)
                .sum::<u64>();
            // Held events sit on top of the stream: below them is the server's part.
            let confirmed_head = tx
                .stream_head(stream)
                .await?
                .and_then(|h| (h + 1).checked_sub(attached))
                .and_then(|n| n.checked_sub(1));
            // The server's answer while the local log has not caught up with it; else the
            // local log's view, the freshest. Once this connection caught up, the local log is
            // the server's: an answer beyond it is from a log the server no longer holds (it was
            // restored from an earlier copy).
            // What the expected revision is checked against: the stream's visible head (none
            // after a soft delete), or for a held metadata change the metadata revision.
            let metadata = local
                .pending
                .iter()
                .any(|p| p.entry.seq == record.seq && p.entry.kind == EntryKind::Metadata);
            let life = crate::lifecycle::read_life(&mut *tx, stream).await?;
            let view = crate::lifecycle::StreamView {
                stored_head: confirmed_head,
                life: life.as_ref(),
            };
            let visible = if view.tombstoned() {
                confirmed_head
            } else {
                view.visible_head()
            };
            let (actual, theirs) = if metadata {
                let meta = stream.metadata_stream();
                let head = tx.stream_head(&meta).await?;
                let current = match head {
                    Some(h) => tx.read_stream(&meta, h..=h).await?.into_events()?,
                    None => Vec::new(),
                };
                (head, current)
            } else if record.from_server && record.actual > visible && !caught_up {
                (record.actual, record.theirs.clone())
            } else {
                let theirs = theirs(&mut *tx, stream, record.expected, confirmed_head).await?;
                (visible, theirs)
            };
            conflicts.push(Conflict {
                stream_id: stream.clone(),
                expected: record.expected,
                actual,
                rejection: record.rejection.clone(),
                pending,
                theirs,
                theirs_withheld: record.withheld,
            });
        }
        drop(tx);
        self.absorb(&local);
        Ok(conflicts)
    }

    /// Drops the held events of `stream`: it becomes the server's.
    pub async fn discard(&self, stream: &str) -> Result<()> {
        let stream = StreamId::new(stream)?;
        let refetch = self
            .transact(&|mut tx, mut local| {
                let stream = stream.clone();
                Box::pin(async move {
                    let lifecycle = local.release(&mut *tx, &stream).await?;
                    local.save(&mut *tx).await?;
                    let refetch = lifecycle.then(|| local.state.epoch.clone()).flatten();
                    Ok((tx, local, refetch))
                })
            })
            .await?;
        self.refetch(refetch).await?;
        self.pump().await
    }

    /// After a dropped lifecycle call (it removed confirmed events here, which the server still
    /// has): the server's log `epoch` is pulled again from its start, the queue kept on top.
    async fn refetch(&self, epoch: Option<String>) -> Result<()> {
        match epoch {
            Some(epoch) => self.reset(epoch).await,
            None => Ok(()),
        }
    }

    /// Replaces the held events of `stream` with `events`, appended under `expected` (decided
    /// locally at once, like any append) and queued.
    pub async fn retry(
        &self,
        stream: &str,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
    ) -> Result<AppendResult> {
        let append = self
            .store
            .prepare(stream, events, expected, None, Origin::Caller)?;
        super::wire::check_pushable(&append)?;
        let result = self
            .transact(&|mut tx, mut local| {
                let append = append.clone();
                Box::pin(async move {
                    let lifecycle = local.release(&mut *tx, &append.stream_id).await?;
                    let refetch = lifecycle.then(|| local.state.epoch.clone()).flatten();
                    let ids: Vec<_> = append.events.iter().map(|e| e.id).collect();
                    let heads = crate::append::heads(&mut *tx, &append.stream_id).await?;
                    let stored = tx.locate(&ids).await?;
                    let life = crate::lifecycle::read_life(&mut *tx, &append.stream_id).await?;
                    let view = crate::lifecycle::StreamView {
                        stored_head: heads.stream,
                        life: life.as_ref(),
                    };
                    let decided = crate::lifecycle::decide_in(
                        &append.stream_id,
                        &view,
                        append.expected,
                        &ids,
                        &stored,
                    )?;
                    let Decision::Write { first_revision } = decided else {
                        return Err(Error::invalid("these events are already stored"));
                    };
                    let first_position = heads.log.map_or(0, |p| p + 1);
                    let events = numbered(&append, first_revision, first_position);
                    tx.put(&events).await?;
                    let last = &events[events.len() - 1];
                    let result = AppendResult {
                        next_expected_revision: last.revision,
                        position: last.position,
                    };
                    let entry = OutboxEntry {
                        seq: 0,
                        stream_id: append.stream_id.clone(),
                        expected: append.expected,
                        count: events.len(),
                        created_at: append.created_at,
                        detached: None,
                        kind: Default::default(),
                    };
                    local.queue(entry, events);
                    local.save(&mut *tx).await?;
                    Ok((tx, local, (result, refetch)))
                })
            })
            .await?;
        let (result, refetch) = result;
        self.refetch(refetch).await?;
        self.pump().await?;
        Ok(result)
    }

    /// Runs `work` in a write transaction over the loaded local state and commits it (again
    /// from the start when the commit conflicts with another writer).
    ///
    /// `work` is a trait object returning a boxed future: the loop is compiled once per result
    /// type, not once per caller.
    async fn transact<'s, T>(&'s self, work: &Work<'s, BoxedTx<'s>, T>) -> Result<T> {
        let _busy = Busy::new(&self.busy);
        for _ in 0..ATTEMPTS {
            let mut tx = self.store.storage().begin(Mode::Write).await?;
            let mut local = load(&mut *tx, true).await?;
            local.now = (self.store.options().now)();
            let (tx, local, value) = work(tx, local).await?;
            match tx.commit().await {
                Ok(()) => {
                    if local.lives_changed {
                        self.store.reload_lifecycle().await?;
                    }
                    self.wrote(&local);
                    self.absorb(&local);
                    return Ok(value);
                }
                Err(CommitError::Conflict) => continue,
                Err(CommitError::Failed(e)) => return Err(e),
            }
        }
        Err(Error::storage("local writes kept conflicting with sync"))
    }

    /// After a committed change: wake this store's subscriptions and other tabs.
    fn wrote(&self, local: &Local) {
        let last = local
            .pending
            .iter()
            .filter_map(|p| p.events.last())
            .map(|e| e.position)
            .max()
            .or(local.state.confirmed);
        if let Some(last) = last {
            self.store.storage().committed(last);
        }
        let before = self.generation();
        self.store.notify().notify();
        if self.receiving.get() {
            let (from, to) = self.received.get();
            let from = if to == before { from } else { before };
            self.received.set((from, self.generation()));
        }
    }

    fn absorb(&self, local: &Local) {
        let mut e = self.engine.borrow_mut();
        e.written_seen = self.store.written();
        e.status.pending = local.pending.len();
        e.status.conflicts = local.conflicts.len();
        e.status.confirmed = local.state.confirmed;
        e.status.pushable = local.pushable();
        e.status.resetting = local.state.resetting;
        e.epoch.clone_from(&local.state.epoch);
        // Pushing from memory goes on from the stored queue's end when all of it is answered
        // or in flight, and nothing is held.
        let in_flight = e.in_flight.as_ref().map_or(&[][..], |(_, seqs)| &seqs[..]);
        let clear = local.conflicts.len() == 0
            && local
                .pending
                .iter()
                .all(|p| e.acked.contains_key(&p.entry.seq) || in_flight.contains(&p.entry.seq));
        e.clear_from = clear.then_some(local.state.next_seq);
    }
}

/// The push of a queued append: its events, or its lifecycle call (whose one event is the
/// lifecycle event: its id, and for a metadata change its data, the new metadata).
fn pushed(p: &super::tail::Pending) -> Result<PushAppend> {
    let entry = &p.entry;
    let event = || {
        p.events
            .first()
            .filter(|_| p.events.len() == 1)
            .ok_or_else(|| Error::storage("a queued lifecycle call is not one event"))
    };
    let kind = match entry.kind {
        EntryKind::Events => PushKind::Events,
        EntryKind::Metadata => {
            let e = event()?;
            PushKind::Metadata {
                id: e.id,
                metadata: e.data.clone(),
            }
        }
        EntryKind::Delete => PushKind::Delete { id: event()?.id },
        EntryKind::Tombstone => PushKind::Tombstone { id: event()?.id },
    };
    let events = match kind {
        PushKind::Events => p.events.iter().map(new_event).collect(),
        _ => Vec::new(),
    };
    Ok(PushAppend {
        seq: entry.seq,
        kind,
        stream_id: entry.stream_id.clone(),
        expected: entry.expected,
        events,
        created_at: entry.created_at,
    })
}

fn new_event(e: &RecordedEvent) -> NewEvent {
    NewEvent {
        id: e.id,
        event_type: e.event_type.clone(),
        data: e.data.clone(),
        metadata: e.metadata.clone(),
    }
}
