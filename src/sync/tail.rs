//! The local log of a synced store — the confirmed prefix, then the pending tail — and the one
//! algorithm that rewrites the tail: server events are written after the confirmed prefix and the
//! queued appends are decided again, in order, on top of them ([`decide`], the rule everywhere).
//! Ingest, discard and retry all run it inside one write transaction of the caller, so a crash
//! mid-rewrite changes nothing.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::records::{
    conflict_stream, ConflictRecord, EntryKind, OutboxEntry, SyncState, CONFLICT, OUTBOX, STATE,
};
use crate::decision::{Decision, StoredLocation};
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::lifecycle::{
    apply, decide_in, decide_lifecycle, execute, is_lifecycle, life_key, next_life, plan,
    read_life, removed_before, retention, LifecycleDecision, LifecycleOp, StreamLife,
    StreamMetadata, StreamView, LIFE_PREFIX,
};
use crate::model::{ExpectedRevision, Position, Revision, StreamId};
use crate::selection::Selection;
use crate::storage::{Removal, Transaction};

/// How many of the server's events a conflict carries at most.
pub(crate) const MAX_THEIRS: u64 = 1000;

/// A queued append with its events (as placed in the log, or detached).
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub entry: OutboxEntry,
    pub events: Vec<RecordedEvent>,
    /// The entry's record must be written again.
    dirty: bool,
}

/// The head of `stream`: as the replay has it (`heads`, kept up to date with what it placed),
/// else as stored.
async fn head_in(
    tx: &mut dyn Transaction,
    heads: &HashMap<StreamId, Option<Revision>>,
    stream: &StreamId,
) -> Result<Option<Revision>> {
    match heads.get(stream) {
        Some(h) => Ok(*h),
        None => tx.stream_head(stream).await,
    }
}

impl Pending {
    /// A queued append as written: `entry` and its `events`.
    pub fn new(entry: OutboxEntry, events: Vec<RecordedEvent>) -> Self {
        Pending {
            entry,
            events,
            dirty: false,
        }
    }

    pub fn ids(&self) -> Vec<Uuid> {
        self.events.iter().map(|e| e.id).collect()
    }

    pub fn is_detached(&self) -> bool {
        self.entry.detached.is_some()
    }
}

/// The conflict records of the held streams, by stream, in stream order: a sorted vector (a few
/// entries; and one `BTreeMap` instantiation less in the wasm).
#[derive(Debug, Clone, Default)]
pub(crate) struct Conflicts(Vec<(StreamId, ConflictRecord)>);

impl Conflicts {
    fn find(&self, stream: &StreamId) -> std::result::Result<usize, usize> {
        self.0.binary_search_by(|(s, _)| s.cmp(stream))
    }

    /// The record of `stream`.
    pub fn get(&self, stream: &StreamId) -> Option<&ConflictRecord> {
        self.find(stream).ok().map(|i| &self.0[i].1)
    }

    /// Sets the record of `stream`.
    pub fn insert(&mut self, stream: StreamId, record: ConflictRecord) {
        match self.find(&stream) {
            Ok(i) => self.0[i].1 = record,
            Err(i) => self.0.insert(i, (stream, record)),
        }
    }

    /// Removes the record of `stream`, returning it.
    pub fn remove(&mut self, stream: &StreamId) -> Option<ConflictRecord> {
        self.find(stream).ok().map(|i| self.0.remove(i).1)
    }

    /// How many streams are held.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'a> IntoIterator for &'a Conflicts {
    type Item = &'a (StreamId, ConflictRecord);
    type IntoIter = std::slice::Iter<'a, (StreamId, ConflictRecord)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// What a synced store holds besides its events, as one transaction read it.
#[derive(Debug, Clone)]
pub(crate) struct Local {
    pub state: SyncState,
    pub pending: Vec<Pending>,
    pub conflicts: Conflicts,
    /// Outbox keys to delete and conflict records written or deleted, for [`Local::save`].
    removed: Vec<u64>,
    conflicts_changed: Vec<StreamId>,
    /// Now (ms), for the retention rules applied here (the store's clock).
    pub now: u64,
    /// A lifecycle record was written: the store's registry must be reloaded after the commit.
    pub lives_changed: bool,
    /// The streams of the queued lifecycle calls as loaded (their records depend on them).
    life_streams: Vec<StreamId>,
    /// The lowest position of the live events this ingest removed.
    removed_low: Option<Position>,
    /// The log held nothing after the confirmed prefix as loaded (read with the events only).
    tail_clear: bool,
}

/// Reads the sync state, the outbox and the conflicts; with `events`, also every queued
/// append's events from the pending tail (needed to rewrite it).
pub(crate) async fn load(tx: &mut dyn Transaction, events: bool) -> Result<Local> {
    let state = match tx.get_meta(STATE).await? {
        Some(json) => SyncState::decode(&json)?,
        None => SyncState::default(),
    };
    let mut entries = Vec::new();
    for (key, json) in tx.scan_meta(OUTBOX).await? {
        entries.push(OutboxEntry::decode(&key, &json)?);
    }
    let mut conflicts = Conflicts::default();
    for (key, json) in tx.scan_meta(CONFLICT).await? {
        conflicts.insert(conflict_stream(&key)?, ConflictRecord::decode(&json)?);
    }
    let events_wanted = events;
    let (tail, tail_clear) = if events {
        read_tail(tx, &state).await?
    } else {
        (Vec::new(), false)
    };
    let mut tail = tail.into_iter();
    let mut pending = Vec::with_capacity(entries.len());
    for entry in entries {
        let events = match &entry.detached {
            Some(events) => events.clone(),
            None if events => tail.by_ref().take(entry.count).collect(),
            None => Vec::new(),
        };
        if (events.len() != entry.count) && (entry.detached.is_some() || events_wanted) {
            return Err(mismatch());
        }
        pending.push(Pending {
            entry,
            events,
            dirty: false,
        });
    }
    if tail.next().is_some() {
        return Err(mismatch());
    }
    let mut life_streams: Vec<StreamId> = Vec::new();
    for p in &pending {
        if p.entry.kind != EntryKind::Events && !life_streams.contains(&p.entry.stream_id) {
            life_streams.push(p.entry.stream_id.clone());
        }
    }
    Ok(Local {
        state,
        pending,
        conflicts,
        removed: Vec::new(),
        conflicts_changed: Vec::new(),
        now: crate::clock::now_millis(),
        lives_changed: false,
        life_streams,
        removed_low: None,
        tail_clear,
    })
}

fn mismatch() -> Error {
    Error::storage("the sync outbox does not match the local log's pending events")
}

/// The events after the confirmed prefix, and whether the log holds nothing there.
async fn read_tail(
    tx: &mut dyn Transaction,
    state: &SyncState,
) -> Result<(Vec<RecordedEvent>, bool)> {
    let start = state.tail_start();
    match tx.log_head().await? {
        Some(head) if head >= start => Ok((tx.read_log(start..=head).await?.into_events()?, false)),
        _ => Ok((Vec::new(), true)),
    }
}

/// An `events` frame of the server: its events in `(after, through]`, the other positions of
/// that range being holes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Frame {
    /// The last position before the frame (`None`: the start of the log).
    pub after: Option<Position>,
    /// The last position the frame covers.
    pub through: Position,
    /// The events, ascending.
    pub events: Vec<RecordedEvent>,
}

impl Frame {
    /// `self` followed by `next`, when `next` goes on from (or overlaps) `self`; else `next`.
    pub fn then(self, next: Frame) -> Frame {
        if next.after > Some(self.through) {
            return next;
        }
        let mut events = self.events;
        let through = self.through;
        events.extend(next.events.into_iter().filter(|e| e.position > through));
        Frame {
            after: self.after,
            through: through.max(next.through),
            events,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Default)]
pub(crate) struct Ingested {
    /// The part of the frame held back for the next ingest: the first events of a queued append
    /// of this client whose other events have not arrived yet.
    pub carry: Option<Frame>,
    /// The first position whose event changed (the pending tail was rewritten).
    pub rewritten_from: Option<Position>,
    /// Whether anything was written.
    pub changed: bool,
    /// Streams held by this ingest.
    pub new_conflicts: Vec<StreamId>,
}

/// Events of the server's log arrived out of order: the client must pull again.
#[derive(Debug)]
pub(crate) struct Gap;

impl Local {
    /// The first position of the pending tail.
    pub fn tail_start(&self) -> Position {
        self.state.tail_start()
    }

    /// Whether `entry` is held: at or after its stream's conflicting append.
    pub fn is_held(&self, entry: &OutboxEntry) -> bool {
        self.conflicts
            .get(&entry.stream_id)
            .is_some_and(|c| entry.seq >= c.seq)
    }

    /// Whether `entry` is held by a `STREAM_DELETED` conflict foreseen here (not the server's
    /// answer): it is pushed once all the same. Written before the tombstone (a lost reply), it is
    /// `already` there and then dropped here (its events were removed with the stream); else
    /// the server's refusal replaces the foreseen one.
    pub fn pushed_once(&self, entry: &OutboxEntry) -> bool {
        entry.kind == EntryKind::Events
            && self.conflicts.get(&entry.stream_id).is_some_and(|c| {
                entry.seq >= c.seq
                    && !c.from_server
                    && c.rejection
                        .as_ref()
                        .is_some_and(|r| r.0 == "STREAM_DELETED")
            })
    }

    /// How many queued appends can be pushed (not held). While a replaced log is pulled, the
    /// detached queue waits but counts as pushable (`flush` waits for it).
    pub fn pushable(&self) -> usize {
        self.pending
            .iter()
            .filter(|p| !self.is_held(&p.entry))
            .count()
    }

    /// Writes the server's `frame` (which must go on from the confirmed prefix: else a [`Gap`])
    /// and rewrites what follows it. A frame the confirmed prefix already covers changes nothing.
    ///
    /// `acked`: the appends the server accepted (`ok` or `already`) with their last event's
    /// position. One whose position the frame passes without delivering it (the server removed
    /// its events before this client pulled them) is dropped here, so that no removed event stays
    /// behind on this device.
    pub async fn ingest(
        &mut self,
        tx: &mut dyn Transaction,
        frame: Frame,
        acked: &HashMap<u64, Position>,
    ) -> Result<std::result::Result<Ingested, Gap>> {
        let mut done = Ingested::default();
        let confirmed = self.state.confirmed;
        if confirmed.is_some_and(|c| frame.through <= c) {
            return Ok(Ok(done)); // stale: already held
        }
        if frame.after > confirmed {
            return Ok(Err(Gap));
        }
        let start = self.tail_start();
        let Frame {
            through,
            mut events,
            ..
        } = frame;
        events.retain(|e| e.position >= start);
        let carried = self.incomplete_suffix(&mut events, through);
        let through = match carried.first().map(|e| e.position) {
            None => through,
            Some(first) if first <= start => {
                // Nothing before the incomplete append: all of it waits.
                done.carry = Some(Frame {
                    after: confirmed,
                    through,
                    events: carried,
                });
                return Ok(Ok(done));
            }
            Some(first) => {
                done.carry = Some(Frame {
                    after: Some(first - 1),
                    through,
                    events: carried,
                });
                first - 1
            }
        };
        done.changed = true;
        let delivered: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let skipped = self.skipped(acked, through, &delivered);
        // The frame fills every position it covers (no hole: the tail's husks of cancelled
        // appends there would stay in the confirmed prefix otherwise, at positions that hold
        // other events on the server).
        let dense = events.last().map(|e| e.position) == Some(through)
            && events
                .iter()
                .enumerate()
                .all(|(i, e)| e.position == start + i as u64);
        if skipped.is_empty() && dense && self.is_head_of_tail(&events, through) {
            // The usual online case: the server confirms our own appends at the positions they
            // have locally. Nothing in the log changes.
            let mut left = events.len();
            for p in &self.pending {
                if p.is_detached() {
                    continue;
                }
                if left == 0 || left < p.events.len() {
                    break;
                }
                left -= p.events.len();
                self.removed.push(p.entry.seq);
            }
            let removed = &self.removed;
            self.pending.retain(|p| !removed.contains(&p.entry.seq));
            // Our own lifecycle calls were applied when made, up to the confirmed prefix of
            // then: what they remove of the events confirmed now goes now.
            self.confirm_in_place(tx, &events, through, false, &mut done)
                .await?;
            return Ok(Ok(done));
        }
        let idle = self.pending.is_empty() && self.tail_clear && !self.state.resetting;
        if skipped.is_empty() && dense && idle {
            // Nothing queued and nothing after the confirmed prefix (a device receiving others'
            // events): the frame only extends the log. No rewrite, so the subscriptions' reads
            // of the sync marks stay valid (the generation moves only if something is removed).
            tx.put(&events).await?;
            self.confirm_in_place(tx, &events, through, true, &mut done)
                .await?;
            return Ok(Ok(done));
        }
        self.drop_entries(&skipped);
        self.rewind(tx, start).await?;
        if !events.is_empty() {
            tx.put(&events).await?;
        }
        self.confirm_through(through, &events);
        self.confirm_lifecycle(tx, &events, through, true).await?;
        let fresh: HashMap<Uuid, StoredLocation> = events
            .iter()
            .map(|e| {
                let at = StoredLocation {
                    stream_id: e.stream_id.clone(),
                    revision: e.revision,
                    position: e.position,
                    removed: false,
                };
                (e.id, at)
            })
            .collect();
        let force = self.state.resetting;
        done.new_conflicts = self.replay(tx, Some(&fresh), through + 1, force).await?;
        done.rewritten_from = Some(start);
        self.state.generation += 1;
        self.record_removal();
        self.save(tx).await?;
        Ok(Ok(done))
    }

    /// Moves the confirmed prefix to `through` with `events` where the log already holds them
    /// (nothing rewritten), applies their lifecycle (`apply_events` as in
    /// [`confirm_lifecycle`](Self::confirm_lifecycle)) and saves the state. Only if that removed
    /// delivered events do subscriptions see a rewrite.
    async fn confirm_in_place(
        &mut self,
        tx: &mut dyn Transaction,
        events: &[RecordedEvent],
        through: Position,
        apply_events: bool,
        done: &mut Ingested,
    ) -> Result<()> {
        self.confirm_through(through, events);
        self.confirm_lifecycle(tx, events, through, apply_events)
            .await?;
        if self.removed_low.is_some() {
            self.state.generation += 1;
            done.rewritten_from = self.removed_low;
            self.record_removal();
        }
        self.save(tx).await
    }

    /// After the confirmed prefix grew to `through` with `events`: applies their lifecycle
    /// events (`apply_events`: the server's, put just now; else our own, applied when made, whose
    /// records stand) and the retention rules of the streams they touch, removing what those hide
    /// up to `through`; refreshes the conflicts of those streams (no removed event stays in
    /// their `theirs`).
    async fn confirm_lifecycle(
        &mut self,
        tx: &mut dyn Transaction,
        events: &[RecordedEvent],
        through: Position,
        apply_events: bool,
    ) -> Result<()> {
        let mut touched: Vec<StreamId> = Vec::new();
        let mut lifecycle_seen = false;
        for e in events {
            let x = StreamId::trusted(e.stream_id.about());
            if is_lifecycle(e) {
                lifecycle_seen = true;
                if apply_events {
                    let before = read_life(tx, &x).await?;
                    let x_head = tx.stream_head(&x).await?;
                    let (life, removals) =
                        plan(before.as_ref(), x_head, e, self.now, Some(through))?;
                    for removal in &removals {
                        self.note_removed(tx, removal).await?;
                    }
                    execute(tx, x.as_str(), &life, &removals).await?;
                    self.lives_changed = true;
                }
            }
            if !touched.contains(&x) {
                touched.push(x);
            }
        }
        if touched.is_empty() {
            return Ok(());
        }
        // The records of the touched streams that remove something (one read of them all: few
        // streams have one).
        let lives = tx.scan_meta(LIFE_PREFIX).await?;
        for (key, json) in lives {
            let x = StreamId::trusted(&key[LIFE_PREFIX.len()..]);
            if !touched.contains(&x) {
                continue;
            }
            let life = StreamLife::decode(&json)?;
            let removes = life.tombstoned
                || life.metadata.retains()
                || life.metadata.truncate_before.is_some();
            if removes {
                // The retention rules count the server's events only: the stream's queued events
                // (above its confirmed ones) may still be refused.
                // (After a rewind the tail is empty: the queue is placed again later.)
                let queued = self
                    .pending
                    .iter()
                    .filter(|_| !apply_events)
                    .filter(|p| !p.is_detached() && p.entry.stream_id == x)
                    .filter(|p| p.entry.kind == EntryKind::Events)
                    .filter_map(|p| p.events.first())
                    .map(|e| e.revision)
                    .min();
                let head = match queued {
                    Some(first) => first.checked_sub(1),
                    None => tx.stream_head(&x).await?,
                };
                // The floor the server's lifecycle events of `x` carry (an earlier `$metadata`
                // may never arrive here: superseded, it was removed on the server).
                let carried = events
                    .iter()
                    .filter(|e| is_lifecycle(e) && e.stream_id.about() == x.as_str())
                    .map(removed_before)
                    .max()
                    .unwrap_or(0);
                let (removals, _) = retention(&x, head, &life, carried, self.now, Some(through));
                for removal in &removals {
                    self.note_removed(tx, removal).await?;
                    tx.remove(removal).await?;
                }
            }
            // The superseded metadata events (all of them once tombstoned).
            let meta = x.metadata_stream();
            let upto = if life.tombstoned {
                tx.stream_head(&meta).await?
            } else {
                life.metadata_revision.and_then(|r| r.checked_sub(1))
            };
            if let Some(upto) = upto {
                let removal = Removal {
                    stream: meta,
                    revisions: 0..=upto,
                    created_before: None,
                    through: Some(through),
                };
                self.note_removed(tx, &removal).await?;
                tx.remove(&removal).await?;
            }
        }
        if lifecycle_seen {
            for x in &touched {
                let Some(mut record) = self.conflicts.get(x).cloned() else {
                    continue;
                };
                let head = tx.stream_head(x).await?;
                let fresh = theirs(tx, x, record.expected, head).await?;
                if fresh != record.theirs {
                    record.theirs = fresh;
                    self.conflicts.insert(x.clone(), record);
                    self.conflicts_changed.push(x.clone());
                }
            }
        }
        Ok(())
    }

    /// Notes the lowest position of the live events `removal` is about to remove (subscriptions
    /// that delivered them rebase).
    async fn note_removed(&mut self, tx: &mut dyn Transaction, removal: &Removal) -> Result<()> {
        let events = tx
            .read_stream(&removal.stream, removal.revisions.clone())
            .await?
            .into_events()?;
        let first = events
            .iter()
            .filter(|e| removal.through.is_none_or(|t| e.position <= t))
            .filter(|e| removal.created_before.is_none_or(|c| e.created_at < c))
            .map(|e| e.position)
            .min();
        if let Some(p) = first {
            self.removed_low = Some(self.removed_low.map_or(p, |l| l.min(p)));
        }
        Ok(())
    }

    /// Records, with the generation of the rewrite, where this ingest removed confirmed events.
    fn record_removal(&mut self) {
        if let Some(p) = self.removed_low.take() {
            let removals = &mut self.state.removals;
            removals.push((self.state.generation, p));
            if removals.len() > super::records::REMOVALS_KEPT {
                removals.remove(0);
            }
        }
    }

    /// Splits off the trailing events that belong to a queued append not complete in `events`.
    fn incomplete_suffix(
        &self,
        events: &mut Vec<RecordedEvent>,
        through: Position,
    ) -> Vec<RecordedEvent> {
        let Some(last) = events.last() else {
            return Vec::new();
        };
        let Some(p) = self
            .pending
            .iter()
            .find(|p| p.events.iter().any(|e| e.id == last.id))
        else {
            return Vec::new();
        };
        let arrived = events
            .iter()
            .rev()
            .take_while(|e| p.events.iter().any(|m| m.id == e.id))
            .count();
        if arrived >= p.events.len() {
            return Vec::new();
        }
        // The append's events are at consecutive positions on the server: when the frame covers
        // where its last one is, the others are holes (removed there), not yet to come.
        let first_arrived = &events[events.len() - arrived];
        let index = p
            .events
            .iter()
            .position(|m| m.id == first_arrived.id)
            .unwrap_or(0) as u64;
        let start = first_arrived.position.saturating_sub(index);
        if start + p.events.len() as u64 - 1 <= through {
            return Vec::new();
        }
        events.split_off(events.len() - arrived)
    }

    /// Whether `events` are exactly the first events of the pending tail, where they are, and no
    /// other event of the tail is at or before `through`.
    /// The confirmed prefix now reaches `through`, with `events` (the server's, at their
    /// positions) its last ones: the last of them anchors the next pull.
    fn confirm_through(&mut self, through: Position, events: &[RecordedEvent]) {
        self.state.confirmed = Some(through);
        if let Some(last) = events.last() {
            self.state.anchor = Some((last.id, last.position));
        }
    }

    fn is_head_of_tail(&self, events: &[RecordedEvent], through: Position) -> bool {
        let mut tail = self
            .pending
            .iter()
            .filter(|p| !p.is_detached())
            .flat_map(|p| p.events.iter());
        events.iter().all(|e| {
            tail.next().is_some_and(|m| {
                m.id == e.id
                    && m.position == e.position
                    && m.revision == e.revision
                    && m.stream_id == e.stream_id
                    // The server decides a lifecycle call again: a delete's truncateBefore, or
                    // the floor its metadata carries, may differ from ours; the rewrite takes
                    // the server's.
                    && (!is_lifecycle(e)
                        || (m.data.as_str() == e.data.as_str()
                            && m.metadata.as_str() == e.metadata.as_str()))
            })
        }) && tail.next().is_none_or(|m| m.position > through)
    }

    /// Decides every queued append again, in order, on the log as it is up to `next_position`
    /// (the tail is already truncated): written at new positions (same revisions when nobody
    /// else wrote the stream), dropped when already stored, or held as a conflict with every
    /// later append of its stream. Ids can only be stored by the server events just written
    /// (`fresh`), except after a reset (`None`: they are looked up). Returns the streams it newly
    /// held. With `force` (while a replaced log is pulled, before it is all in), nothing is
    /// decided: every append is placed on top of its stream as it is, to be decided at the end.
    async fn replay(
        &mut self,
        tx: &mut dyn Transaction,
        fresh: Option<&HashMap<Uuid, StoredLocation>>,
        mut next_position: Position,
        force: bool,
    ) -> Result<Vec<StreamId>> {
        let mut heads: HashMap<StreamId, Option<Revision>> = HashMap::new();
        let mut held = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for mut p in pending {
            let stream = p.entry.stream_id.clone();
            if p.entry.kind != EntryKind::Events {
                if let Some(next) = self
                    .replay_lifecycle(tx, &mut p, fresh, next_position, force, &mut heads)
                    .await?
                {
                    next_position = next;
                } else if self.is_held(&p.entry) && !held.contains(&stream) {
                    held.push(stream.clone());
                }
                if !self.removed.contains(&p.entry.seq) {
                    self.pending.push(p);
                }
                continue;
            }
            let head = head_in(tx, &heads, &stream).await?;
            let life = read_life(tx, &stream).await?;
            let view = StreamView {
                stored_head: head,
                life: life.as_ref(),
            };
            let ids = p.ids();
            let stored: Vec<Option<StoredLocation>> = match fresh {
                Some(fresh) => ids.iter().map(|id| fresh.get(id).cloned()).collect(),
                None => tx.locate(&ids).await?,
            };
            if !force && !self.is_held(&p.entry) {
                match decide_in(&stream, &view, p.entry.expected, &ids, &stored) {
                    Ok(Decision::Write { first_revision }) => {
                        p.set_detached(false);
                        place(tx, &mut p, first_revision, next_position).await?;
                        next_position += p.events.len() as u64;
                        heads.insert(stream, p.events.last().map(|e| e.revision));
                        self.pending.push(p);
                        continue;
                    }
                    Ok(Decision::AlreadyWritten(_)) => {
                        self.removed.push(p.entry.seq);
                        heads.insert(stream, head);
                        continue;
                    }
                    Err(
                        e @ (Error::WrongExpectedRevision { .. }
                        | Error::DuplicateEventId { .. }
                        | Error::StreamDeleted { .. }),
                    ) => {
                        // A revision conflict, or a refusal (an id stored elsewhere, a
                        // tombstoned stream) kept with it.
                        let rejection = (!matches!(e, Error::WrongExpectedRevision { .. }))
                            .then(|| (e.code().to_owned(), e.to_string()));
                        let theirs = theirs(tx, &stream, p.entry.expected, head).await?;
                        let record = ConflictRecord {
                            seq: p.entry.seq,
                            expected: p.entry.expected,
                            actual: if view.tombstoned() {
                                head
                            } else {
                                view.visible_head()
                            },
                            rejection,
                            theirs,
                            from_server: false,
                            withheld: false,
                        };
                        self.hold(&stream, record);
                        held.push(stream.clone());
                    }
                    Err(e) => return Err(e),
                }
            }
            // Held: kept visible on top of the stream, unless its ids are stored elsewhere or
            // the stream is tombstoned (its events are out of the log: the conflict holds them).
            if p.is_detached() || stored.iter().any(Option::is_some) || view.tombstoned() {
                p.set_detached(true);
                heads.insert(stream, head);
            } else {
                place(tx, &mut p, head.map_or(0, |r| r + 1), next_position).await?;
                next_position += p.events.len() as u64;
                heads.insert(stream, p.events.last().map(|e| e.revision));
            }
            self.pending.push(p);
        }
        Ok(held)
    }

    /// Decides a queued lifecycle call again (see [`replay`](Self::replay)): written at
    /// `next_position` and applied (returns the next free position), already stored (dropped),
    /// or held — detached, not applied — like a refused append. While a replaced log is pulled
    /// (`force`) it waits detached.
    async fn replay_lifecycle(
        &mut self,
        tx: &mut dyn Transaction,
        p: &mut Pending,
        fresh: Option<&HashMap<Uuid, StoredLocation>>,
        next_position: Position,
        force: bool,
        heads: &mut HashMap<StreamId, Option<Revision>>,
    ) -> Result<Option<Position>> {
        let x = p.entry.stream_id.clone();
        let meta = x.metadata_stream();
        let event = p
            .events
            .first()
            .cloned()
            .ok_or_else(|| Error::storage("a queued lifecycle call has no event"))?;
        let op = match p.entry.kind {
            EntryKind::Metadata => {
                LifecycleOp::SetMetadata(StreamMetadata::from_json(&event.data)?)
            }
            EntryKind::Delete => LifecycleOp::Delete,
            _ => LifecycleOp::Tombstone,
        };
        if force || self.is_held(&p.entry) {
            p.set_detached(true);
            return Ok(None);
        }
        let x_head = head_in(tx, heads, &x).await?;
        let meta_head = head_in(tx, heads, &meta).await?;
        let life = read_life(tx, &x).await?;
        let view = StreamView {
            stored_head: x_head,
            life: life.as_ref(),
        };
        let stored = match fresh {
            Some(fresh) => fresh.get(&event.id).cloned(),
            None => tx.locate(&[event.id]).await?.pop().flatten(),
        };
        let expected = p.entry.expected;
        match decide_lifecycle(
            &x,
            &view,
            meta_head,
            &op,
            expected,
            event.id,
            stored.as_ref(),
        ) {
            Ok(LifecycleDecision::Write(write)) => {
                let recorded = write.recorded(event.id, next_position, p.entry.created_at);
                tx.put(std::slice::from_ref(&recorded)).await?;
                // Its record only: what it removes goes once the server confirmed it (a queued
                // call may still be refused, or found written before).
                apply_confirmed(tx, &recorded, self.now, None).await?;
                self.lives_changed = true;
                if recorded.stream_id == x {
                    heads.insert(x, Some(recorded.revision));
                } else {
                    heads.insert(meta, Some(recorded.revision));
                }
                p.set_detached(false);
                p.events = vec![recorded];
                Ok(Some(next_position + 1))
            }
            Ok(LifecycleDecision::AlreadyWritten(_)) => {
                self.removed.push(p.entry.seq);
                Ok(None)
            }
            Err(
                e @ (Error::WrongExpectedRevision { .. }
                | Error::DuplicateEventId { .. }
                | Error::StreamDeleted { .. }),
            ) => {
                let rejection = (!matches!(e, Error::WrongExpectedRevision { .. }))
                    .then(|| (e.code().to_owned(), e.to_string()));
                let (actual, theirs) = if let LifecycleOp::SetMetadata(_) = op {
                    let current = match meta_head {
                        Some(h) => tx.read_stream(&meta, h..=h).await?.into_events()?,
                        None => Vec::new(),
                    };
                    (meta_head, current)
                } else {
                    (view.visible_head(), theirs(tx, &x, expected, x_head).await?)
                };
                let record = ConflictRecord {
                    seq: p.entry.seq,
                    expected,
                    actual,
                    rejection,
                    theirs,
                    from_server: false,
                    withheld: false,
                };
                self.hold(&x, record);
                p.set_detached(true);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Truncates the log from `start` (the pending tail) and sets the lifecycle records of the
    /// streams with queued lifecycle calls back to what the confirmed log says: the queue is then
    /// decided (and its calls applied) again on top of it.
    async fn rewind(&mut self, tx: &mut dyn Transaction, start: Position) -> Result<()> {
        tx.truncate_log(start).await?;
        let mut streams: Vec<StreamId> = self.life_streams.clone();
        for p in &self.pending {
            if p.entry.kind != EntryKind::Events && !streams.contains(&p.entry.stream_id) {
                streams.push(p.entry.stream_id.clone());
            }
        }
        for x in &streams {
            tx.put_meta(&life_key(x.as_str()), None).await?;
            let meta = x.metadata_stream();
            if let Some(h) = tx.stream_head(&meta).await? {
                let events = tx.read_stream(&meta, 0..=h).await?.into_events()?;
                if let Some(latest) = events.last() {
                    apply_confirmed(tx, latest, self.now, self.state.confirmed).await?;
                }
            }
            if let Some(h) = tx.stream_head(x).await? {
                let last = tx.read_stream(x, h..=h).await?.into_events()?;
                if let Some(tombstone) = last.first().filter(|e| is_lifecycle(e)) {
                    apply_confirmed(tx, tombstone, self.now, self.state.confirmed).await?;
                }
            }
            self.lives_changed = true;
        }
        Ok(())
    }

    /// Holds `stream` from the append `seq` on: a new conflict, or an earlier one than the
    /// stream's current conflict (which it replaces: everything from it on is held). Returns
    /// whether the record changed.
    pub fn hold(&mut self, stream: &StreamId, record: ConflictRecord) -> bool {
        // The server's answer replaces a conflict foreseen here for the same append.
        let keep = |c: &ConflictRecord| {
            c.seq < record.seq || (c.seq == record.seq && (c.from_server || !record.from_server))
        };
        if self.conflicts.get(stream).is_some_and(keep) {
            return false;
        }
        self.conflicts.insert(stream.clone(), record);
        self.conflicts_changed.push(stream.clone());
        true
    }

    /// The queued appends (not detached) the server accepted at a position at or before `through`
    /// whose events are not among `delivered`: removed on the server before they reached us.
    fn skipped(
        &self,
        acked: &HashMap<u64, Position>,
        through: Position,
        delivered: &[Uuid],
    ) -> Vec<u64> {
        self.pending
            .iter()
            .filter(|p| acked.get(&p.entry.seq).is_some_and(|at| *at <= through))
            .filter(|p| !p.events.iter().any(|e| delivered.contains(&e.id)))
            .map(|p| p.entry.seq)
            .collect()
    }

    /// Removes the queued appends `seqs` (their events go with the next rewrite of the tail).
    fn drop_entries(&mut self, seqs: &[u64]) {
        if seqs.is_empty() {
            return;
        }
        self.removed.extend_from_slice(seqs);
        self.pending.retain(|p| !seqs.contains(&p.entry.seq));
    }

    /// Drops the queued appends `seqs` — accepted by the server at a position the confirmed
    /// prefix already passed without their events (removed there) — and rewrites the tail.
    /// Returns whether any was still queued.
    pub async fn drop_skipped(&mut self, tx: &mut dyn Transaction, seqs: &[u64]) -> Result<bool> {
        let queued: Vec<u64> = self
            .pending
            .iter()
            .filter(|p| seqs.contains(&p.entry.seq))
            .map(|p| p.entry.seq)
            .collect();
        if queued.is_empty() {
            return Ok(false);
        }
        self.drop_entries(&queued);
        let start = self.tail_start();
        self.rewind(tx, start).await?;
        let force = self.state.resetting;
        self.replay(tx, Some(&HashMap::new()), start, force).await?;
        self.state.generation += 1;
        Ok(true)
    }

    /// Cancels every queued append of events to `stream` (a local delete or tombstone of it):
    /// their outbox entries go, their events in the tail are husked (detached ones go with their
    /// entry), and the stream's conflict with them. Returns, when events in the log were
    /// cancelled, the stream's last confirmed revision (below them).
    pub async fn cancel_appends(
        &mut self,
        tx: &mut dyn Transaction,
        stream: &StreamId,
    ) -> Result<Option<Option<Revision>>> {
        let mut cancelled = Vec::new();
        let mut lowest: Option<Revision> = None;
        for p in &self.pending {
            if p.entry.stream_id != *stream || p.entry.kind != EntryKind::Events {
                continue;
            }
            if !p.is_detached() {
                super::outbox::husk(tx, &p.events).await?;
                if let Some(first) = p.events.first() {
                    lowest = Some(lowest.map_or(first.revision, |l| l.min(first.revision)));
                }
            }
            cancelled.push(p.entry.seq);
        }
        if self
            .conflicts
            .get(stream)
            .is_some_and(|c| cancelled.contains(&c.seq))
        {
            self.conflicts.remove(stream);
            self.conflicts_changed.push(stream.clone());
        }
        self.drop_entries(&cancelled);
        Ok(lowest.map(|r| r.checked_sub(1)))
    }

    /// Drops the held appends of `stream` and its conflict, then rewrites the tail.
    ///
    /// Returns whether a lifecycle call was among them: it removed confirmed events here when it
    /// was made, which the server still has (the caller pulls the log again).
    pub async fn release(&mut self, tx: &mut dyn Transaction, stream: &StreamId) -> Result<bool> {
        let Some(record) = self.conflicts.remove(stream) else {
            return Err(Error::invalid(format!(
                "stream '{stream}' has no conflict (it was resolved already)"
            )));
        };
        self.conflicts_changed.push(stream.clone());
        let mut lifecycle = false;
        for p in &self.pending {
            if p.entry.stream_id == *stream && p.entry.seq >= record.seq {
                self.removed.push(p.entry.seq);
                lifecycle |= p.entry.kind != EntryKind::Events;
            }
        }
        let removed = &self.removed;
        self.pending.retain(|p| !removed.contains(&p.entry.seq));
        let start = self.tail_start();
        self.rewind(tx, start).await?;
        let force = self.state.resetting;
        self.replay(tx, Some(&HashMap::new()), start, force).await?;
        self.state.generation += 1;
        Ok(lifecycle)
    }

    /// The device now holds fewer streams: `selection`, which what it held covers. In the
    /// caller's transaction, the confirmed events of every stream `selection` does not match are
    /// removed (husked: their ids stay known) with the conflicts' copies of them, and their
    /// lifecycle records unless a queued call of the stream still stands on one; subscriptions
    /// that delivered them rebase. Queued appends stay queued and are pushed: the server's answer
    /// settles them (accepted: they leave with the first frame past them, which does not carry
    /// them; refused: a conflict the app discards).
    pub async fn narrow(&mut self, tx: &mut dyn Transaction, selection: &Selection) -> Result<()> {
        const WINDOW: u64 = 4096;
        let Some(confirmed) = self.state.confirmed else {
            return Ok(());
        };
        let mut gone: HashSet<StreamId> = HashSet::new();
        let mut from: Position = 0;
        loop {
            let to = confirmed.min(from.saturating_add(WINDOW - 1));
            for e in tx.read_log(from..=to).await?.into_events()? {
                if !selection.matches(e.stream_id.as_str()) {
                    let low = self.removed_low.map_or(e.position, |l| l.min(e.position));
                    self.removed_low = Some(low);
                    gone.insert(e.stream_id);
                }
            }
            if to == confirmed {
                break;
            }
            from = to + 1;
        }
        if let Some((id, _)) = self.state.anchor {
            // A pull names an event of the selection: else the server takes it for unknown.
            let at = tx.locate(&[id]).await?.pop().flatten();
            if at.is_none_or(|l| !selection.matches(l.stream_id.as_str())) {
                self.state.anchor = None;
            }
        }
        let mut gone: Vec<StreamId> = gone.into_iter().collect();
        gone.sort();
        for stream in &gone {
            if let Some(head) = tx.stream_head(stream).await? {
                let removal = Removal {
                    stream: stream.clone(),
                    revisions: 0..=head,
                    created_before: None,
                    through: Some(confirmed),
                };
                tx.remove(&removal).await?;
            }
            let x = stream.about();
            let queued = self.pending.iter().any(|p| p.entry.stream_id.as_str() == x);
            let key = life_key(x);
            if !queued && tx.get_meta(&key).await?.is_some() {
                tx.put_meta(&key, None).await?;
                self.lives_changed = true;
            }
        }
        let mut cleared = Vec::new();
        for (stream, record) in &self.conflicts {
            if !selection.matches(stream.as_str()) && !record.theirs.is_empty() {
                cleared.push(stream.clone());
            }
        }
        for stream in cleared {
            if let Some(mut record) = self.conflicts.get(&stream).cloned() {
                record.theirs.clear();
                self.conflicts.insert(stream.clone(), record);
                self.conflicts_changed.push(stream);
            }
        }
        if self.removed_low.is_some() {
            self.state.generation += 1;
            self.record_removal();
        }
        Ok(())
    }

    /// The server holds another log (reset or restored): the confirmed prefix is dropped (the
    /// server no longer has it), conflicts too (they were about the old log), and the queued
    /// appends stay, placed as they are from position 0 on, still visible. The new log is then
    /// pulled from its start, and [`Local::settle`] decides the queue again on top of it.
    pub async fn reset(&mut self, tx: &mut dyn Transaction, epoch: Option<String>) -> Result<()> {
        for (stream, _) in std::mem::take(&mut self.conflicts).0 {
            self.conflicts_changed.push(stream);
        }
        tx.truncate_log(0).await?;
        // The lifecycle records were about the old log: they come again with the new one.
        for (key, _) in tx.scan_meta(LIFE_PREFIX).await? {
            tx.put_meta(&key, None).await?;
        }
        self.lives_changed = true;
        self.state.confirmed = None;
        self.state.anchor = None;
        if epoch.is_some() {
            self.state.epoch = epoch;
        }
        self.state.resetting = true;
        self.state.generation += 1;
        self.replay(tx, Some(&HashMap::new()), 0, true).await?;
        Ok(())
    }

    /// After a reset, once the new log is all in: decides the queue again on top of it.
    pub async fn settle(&mut self, tx: &mut dyn Transaction) -> Result<Vec<StreamId>> {
        self.state.resetting = false;
        self.state.generation += 1;
        let start = self.state.tail_start();
        self.rewind(tx, start).await?;
        self.replay(tx, None, start, false).await
    }

    /// Queues a new append whose events were just written by the caller.
    pub fn queue(&mut self, mut entry: OutboxEntry, events: Vec<RecordedEvent>) {
        entry.seq = self.state.next_seq;
        self.state.next_seq += 1;
        self.pending.push(Pending {
            entry,
            events,
            dirty: true,
        });
    }

    /// Writes what changed: outbox entries, conflict records, the state.
    pub async fn save(&mut self, tx: &mut dyn Transaction) -> Result<()> {
        // A conflict whose held appends are all gone (confirmed, dropped, cancelled) is over.
        let orphans: Vec<StreamId> = (&self.conflicts)
            .into_iter()
            .filter(|(stream, record)| {
                !self
                    .pending
                    .iter()
                    .any(|p| p.entry.stream_id == *stream && p.entry.seq >= record.seq)
            })
            .map(|(stream, _)| stream.clone())
            .collect();
        for stream in orphans {
            self.conflicts.remove(&stream);
            self.conflicts_changed.push(stream);
        }
        for seq in std::mem::take(&mut self.removed) {
            tx.put_meta(&OutboxEntry::key(seq), None).await?;
        }
        for p in &mut self.pending {
            if std::mem::take(&mut p.dirty) {
                tx.put_meta(&OutboxEntry::key(p.entry.seq), Some(&p.entry.encode()))
                    .await?;
            }
        }
        for stream in std::mem::take(&mut self.conflicts_changed) {
            let key = ConflictRecord::key(&stream);
            let value = self.conflicts.get(&stream).map(ConflictRecord::encode);
            tx.put_meta(&key, value.as_ref()).await?;
        }
        self.state.pending = self.pending.len() as u64;
        tx.put_meta(STATE, Some(&self.state.encode())).await
    }
}

impl Pending {
    fn set_detached(&mut self, detached: bool) {
        if detached != self.is_detached() {
            self.entry.detached = detached.then(|| self.events.clone());
            self.dirty = true;
        }
    }
}

/// Applies lifecycle `event` on a device whose confirmed prefix ends at `confirmed`: what it
/// removes goes up to there (the pending tail is decided again by sync, never husked); with
/// nothing confirmed, only the stream's record changes.
async fn apply_confirmed(
    tx: &mut dyn Transaction,
    event: &RecordedEvent,
    now: u64,
    confirmed: Option<Position>,
) -> Result<()> {
    if confirmed.is_some() {
        return apply(tx, event, now, confirmed).await;
    }
    let x = StreamId::trusted(event.stream_id.about());
    let before = read_life(tx, &x).await?;
    let life = next_life(before.as_ref(), event)?;
    tx.put_meta(&life_key(x.as_str()), Some(&life.encode()))
        .await
}

/// Writes `p`'s events at `first_revision` / `first_position` onwards.
async fn place(
    tx: &mut dyn Transaction,
    p: &mut Pending,
    first_revision: Revision,
    first_position: Position,
) -> Result<()> {
    for (offset, e) in p.events.iter_mut().enumerate() {
        e.revision = first_revision + offset as u64;
        e.position = first_position + offset as u64;
    }
    tx.put(&p.events).await
}

/// The events of `stream` after `expected`, up to `head` (at most [`MAX_THEIRS`]).
pub(crate) async fn theirs(
    tx: &mut dyn Transaction,
    stream: &StreamId,
    expected: ExpectedRevision,
    head: Option<Revision>,
) -> Result<Vec<RecordedEvent>> {
    let from = match expected {
        ExpectedRevision::Exact(n) => n + 1,
        _ => 0,
    };
    match head {
        Some(head) if head >= from => {
            let to = head.min(from + MAX_THEIRS - 1);
            tx.read_stream(stream, from..=to).await?.into_events()
        }
        _ => Ok(Vec::new()),
    }
}
