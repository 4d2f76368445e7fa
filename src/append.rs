//! The append algorithm, once for every storage: in one transaction, read what the decision
//! needs (the heads, the stream's lifecycle record), [`decide`](crate::decide) (or decide the
//! lifecycle call), number the events, write them with what they remove, commit.

use std::collections::HashMap;

use uuid::Uuid;

use crate::decision::{Decision, StoredLocation};
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::lifecycle::{
    self, decide_in, decide_lifecycle, life_key, LifecycleDecision, LifecycleOp, StreamLife,
    StreamView,
};
use crate::model::{AppendResult, Position, Revision, StreamId};
use crate::storage::{
    commit_failure, AppendKind, Appending, CommitError, Mode, PreparedAppend, Removal, Storage,
    Transaction,
};

/// The heads of `stream` and of the log, as `tx` reads them.
#[cfg(feature = "sync")]
pub(crate) async fn heads(
    tx: &mut dyn Transaction,
    stream: &StreamId,
) -> Result<crate::storage::Heads> {
    let (streams, log) = tx.heads_of(std::slice::from_ref(stream)).await?;
    Ok(crate::storage::Heads {
        stream: streams.into_iter().next().flatten(),
        log,
    })
}

/// How many transactions one append may take when commits keep conflicting (each conflict means
/// another writer committed in between; the next attempt sees it).
const ATTEMPTS: usize = 4;

/// How an append ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Written now.
    Written(AppendResult),
    /// Its events were already stored (a retry).
    Already(AppendResult),
}

impl Appended {
    /// The result either way.
    pub(crate) fn result(self) -> AppendResult {
        match self {
            Appended::Written(r) | Appended::Already(r) => r,
        }
    }
}

/// What the store tells the append algorithm: the time (for `maxAge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Context {
    /// Now, in ms since the Unix epoch.
    pub now: u64,
}

/// What the algorithm knows of a stream inside its transaction (kept up to date with the
/// writes of a group).
#[derive(Debug, Clone, Default)]
struct Known {
    /// The stored head (removed events count).
    head: Option<Revision>,
    /// The stored head of its metadata stream `$$X` (read for lifecycle calls only).
    meta_head: Option<Revision>,
    /// Its lifecycle record.
    life: Option<StreamLife>,
}

/// [`read_known`] for one append of events (the common case, without its collections): the
/// stream's head and record, and the log's head.
async fn read_known_one(
    tx: &mut dyn Transaction,
    stream: &StreamId,
) -> Result<(Known, Option<Position>)> {
    let key = life_key(stream.as_str());
    tx.prefetch_meta(&[&key]);
    let (heads, log) = tx.heads_of(std::slice::from_ref(stream)).await?;
    let life = match tx.get_meta(&key).await? {
        Some(json) => Some(StreamLife::decode(&json)?),
        None => None,
    };
    let known = Known {
        head: heads.into_iter().next().flatten(),
        meta_head: None,
        life,
    };
    Ok((known, log))
}

/// Reads, in `tx`, what `appends` need of their streams, and the log's head.
async fn read_known(
    tx: &mut dyn Transaction,
    appends: &[&PreparedAppend],
) -> Result<(HashMap<StreamId, Known>, Option<Position>)> {
    let streams = lifecycle::distinct(appends.iter().map(|a| a.stream_id.clone()));
    let keys: Vec<String> = streams.iter().map(|s| life_key(s.as_str())).collect();
    tx.prefetch_meta(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    let metas = lifecycle::distinct(
        appends
            .iter()
            .filter(|a| matches!(a.kind, AppendKind::Lifecycle { .. }))
            .map(|a| a.stream_id.metadata_stream()),
    );
    let all: Vec<StreamId> = streams.iter().chain(&metas).cloned().collect();
    let (heads, log) = tx.heads_of(&all).await?;
    let mut known: HashMap<StreamId, Known> = HashMap::with_capacity(streams.len());
    for (stream, key) in streams.iter().zip(&keys) {
        let life = match tx.get_meta(key).await? {
            Some(json) => Some(StreamLife::decode(&json)?),
            None => None,
        };
        known.insert(
            stream.clone(),
            Known {
                life,
                ..Known::default()
            },
        );
    }
    for (stream, head) in all.iter().zip(heads) {
        match stream.as_str().strip_prefix(crate::model::METADATA_PREFIX) {
            Some(x) if stream.is_system() => {
                if let Some(k) = known.get_mut(x) {
                    k.meta_head = head;
                }
            }
            _ => {
                if let Some(k) = known.get_mut(stream) {
                    k.head = head;
                }
            }
        }
    }
    Ok((known, log))
}

/// Appends `append` to `storage` atomically.
///
/// Ids are looked up only when the decision can depend on them, if the storage rejects
/// duplicate ids on write: when the first decision is a conflict (the call may be a retry of one
/// that was written before the stream moved on), or when the commit hits a taken id (then a new
/// transaction decides with the ids looked up).
pub(crate) async fn append(
    storage: &dyn Storage,
    append: &PreparedAppend,
    ctx: Context,
) -> Result<Appended> {
    let ids = append.ids();
    let mut look_up = !storage.capabilities().rejects_duplicate_ids;
    let mut last = CommitError::Conflict;
    for _ in 0..ATTEMPTS {
        match attempt(storage, append, &ids, look_up, ctx).await {
            Ok(result) => return result,
            Err(CommitError::Conflict) => look_up = true,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(commit_failure(last))
}

/// One transaction. `Ok(result)` is final (written, already written, or refused by the
/// decision); `Err(Conflict)` asks for another attempt.
async fn attempt(
    storage: &dyn Storage,
    append: &PreparedAppend,
    ids: &[Uuid],
    look_up: bool,
    ctx: Context,
) -> std::result::Result<Result<Appended>, CommitError> {
    let mut tx = storage.begin(Mode::Write).await?;
    let (mut known, mut log) = match append.kind {
        AppendKind::Events => read_known_one(&mut *tx, &append.stream_id).await?,
        AppendKind::Lifecycle { .. } => {
            let (mut known, log) = read_known(&mut *tx, &[append]).await?;
            (known.remove(&append.stream_id).unwrap_or_default(), log)
        }
    };
    let decided =
        decide_and_write(&mut *tx, append, ids, look_up, &mut known, &mut log, ctx).await?;
    if matches!(decided, Ok(Appended::Written(_))) {
        tx.commit().await?;
    }
    Ok(decided)
}

/// Where removals stop: on a store with a sync state (an outbox: its pending events are still
/// to be pushed, and its hook deals with them), at its confirmed prefix (`Err(())`: nothing is
/// confirmed, nothing is removed physically); elsewhere nowhere.
async fn through(tx: &mut dyn Transaction) -> Result<std::result::Result<Option<Position>, ()>> {
    match tx.get_meta(crate::sync::STATE_KEY).await? {
        Some(json) => Ok(crate::sync::state_marks(&json)?.1.map(Some).ok_or(())),
        None => Ok(Ok(None)),
    }
}

/// Looks the call's ids up and decides again when a decision without them failed on the
/// expected revision or a tombstone (the call may be a retry of one written before the stream
/// moved on or was tombstoned, or hold an id stored elsewhere).
async fn located<T>(
    tx: &mut dyn Transaction,
    ids: &[Uuid],
    look_up: bool,
    decide: impl Fn(&[Option<StoredLocation>]) -> Result<T>,
) -> Result<Result<T>> {
    let stored = if look_up {
        tx.locate(ids).await?
    } else {
        vec![None; ids.len()]
    };
    let decision = decide(&stored);
    if !look_up
        && matches!(
            decision,
            Err(Error::WrongExpectedRevision { .. } | Error::StreamDeleted { .. })
        )
    {
        let stored = tx.locate(ids).await?;
        return Ok(decide(&stored));
    }
    Ok(decision)
}

/// Inside `tx`, with what `tx` knows of the stream and the log's head: looks ids up when the
/// decision needs them, decides, numbers and writes the events, and what they remove.
/// `Ok(result)` is this append's final answer once `tx` commits; `Err` fails the transaction.
async fn decide_and_write(
    tx: &mut dyn Transaction,
    append: &PreparedAppend,
    ids: &[Uuid],
    look_up: bool,
    known: &mut Known,
    log: &mut Option<Position>,
    ctx: Context,
) -> std::result::Result<Result<Appended>, CommitError> {
    let view = StreamView {
        stored_head: known.head,
        life: known.life.as_ref(),
    };
    let next_position = log.map_or(0, |p| p + 1);
    let x = &append.stream_id;
    let (events, removals, life) = match &append.kind {
        AppendKind::Events => {
            let decision = located(tx, ids, look_up, |stored| {
                decide_in(x, &view, append.expected, ids, stored)
            })
            .await?;
            let first_revision = match decision {
                Ok(Decision::Write { first_revision }) => first_revision,
                Ok(Decision::AlreadyWritten(result)) => return Ok(Ok(Appended::Already(result))),
                Err(e) => return Ok(Err(e)),
            };
            let events = numbered(append, first_revision, next_position);
            let new_head = events.last().map(|e| e.revision);
            let mut removals = Vec::new();
            let mut life = None;
            if let Some(before) = known.life.as_ref().filter(|l| l.metadata.retains()) {
                if let Ok(through) = through(tx).await? {
                    // On a store with an outbox, a pending append never pushes confirmed events
                    // out by maxCount (the server may refuse it): ingesting the server's events
                    // does that; maxAge does not depend on it.
                    let uncounted;
                    let rules = if through.is_some() {
                        uncounted = StreamLife {
                            metadata: crate::lifecycle::StreamMetadata {
                                max_count: None,
                                ..before.metadata.clone()
                            },
                            ..before.clone()
                        };
                        &uncounted
                    } else {
                        before
                    };
                    let (r, floor) = lifecycle::retention(x, new_head, rules, 0, ctx.now, through);
                    removals = r;
                    if floor != before.floor {
                        life = Some(StreamLife {
                            floor,
                            ..before.clone()
                        });
                    }
                }
            }
            known.head = new_head;
            (events, removals, life)
        }
        AppendKind::Lifecycle { op, id } => {
            let decision = located(tx, ids, look_up, |stored| {
                decide_lifecycle(
                    x,
                    &view,
                    known.meta_head,
                    op,
                    append.expected,
                    *id,
                    stored.first().and_then(Option::as_ref),
                )
            })
            .await?;
            let write = match decision {
                Ok(LifecycleDecision::Write(write)) => write,
                Ok(LifecycleDecision::AlreadyWritten(result)) => {
                    return Ok(Ok(Appended::Already(result)))
                }
                Err(e) => return Ok(Err(e)),
            };
            let event = write.recorded(*id, next_position, append.created_at);
            let tombstone = matches!(op, LifecycleOp::Tombstone);
            let x_head = if tombstone {
                Some(event.revision)
            } else {
                known.head
            };
            let (life, removals) = match through(tx).await? {
                Ok(through) => {
                    lifecycle::plan(known.life.as_ref(), x_head, &event, ctx.now, through)?
                }
                // Nothing confirmed: the record as planned, no removal.
                Err(()) => {
                    let planned =
                        lifecycle::plan(known.life.as_ref(), x_head, &event, ctx.now, Some(0))?;
                    (planned.0, Vec::new())
                }
            };
            if tombstone {
                known.head = Some(event.revision);
            } else {
                known.meta_head = Some(event.revision);
            }
            (vec![event], removals, Some(life))
        }
    };
    // The hooks' writes, the removals and the record first, the put last: on a storage that
    // refuses a taken id on write (IndexedDB's unique index), a refused `put` aborts the
    // transaction, failing every later request of it; issued last, it can only fail the
    // commit, which asks for an attempt with ids looked up. Only what removes the call's own
    // events (an append of more events than `maxCount`) must follow the put.
    tx.appended(Appending {
        append,
        events: &events,
        removals: &removals,
    })
    .await?;
    let own = match append.kind {
        AppendKind::Events => events.first().map(|e| e.revision),
        AppendKind::Lifecycle { .. } => None,
    };
    let (before, after) = split(&removals, own);
    write_removals(tx, &before).await?;
    if let Some(life) = life {
        tx.put_meta(&life_key(x.as_str()), Some(&life.encode()))
            .await?;
        known.life = Some(life);
    }
    tx.put(&events).await?;
    if let Err(e) = write_removals(tx, &after).await {
        // Without the ids looked up, this may be the put's refusal of a taken id, which aborted
        // the transaction: another attempt, with ids looked up, tells.
        return Err(if look_up {
            CommitError::Failed(e)
        } else {
            CommitError::Conflict
        });
    }
    let last = &events[events.len() - 1];
    *log = Some(last.position);
    Ok(Ok(Appended::Written(AppendResult {
        next_expected_revision: last.revision,
        position: last.position,
    })))
}

/// `removals` split at the first revision of the call's own events, `own`: what can be removed
/// before they are put, and what removes some of them (never by age: they are new).
fn split(removals: &[Removal], own: Option<Revision>) -> (Vec<Removal>, Vec<Removal>) {
    let Some(own) = own else {
        return (removals.to_vec(), Vec::new());
    };
    let mut before = Vec::new();
    let mut after = Vec::new();
    for r in removals {
        let (start, end) = (*r.revisions.start(), *r.revisions.end());
        if start < own {
            before.push(Removal {
                revisions: start..=end.min(own - 1),
                ..r.clone()
            });
        }
        if end >= own && r.created_before.is_none() {
            after.push(Removal {
                revisions: start.max(own)..=end,
                ..r.clone()
            });
        }
    }
    (before, after)
}

async fn write_removals(tx: &mut dyn Transaction, removals: &[Removal]) -> Result<()> {
    for removal in removals {
        tx.remove(removal).await?;
    }
    Ok(())
}

/// The events of `append` as recorded from `first_revision` in its stream and `first_position`
/// in the log.
pub(crate) fn numbered(
    append: &PreparedAppend,
    first_revision: Revision,
    first_position: Position,
) -> Vec<RecordedEvent> {
    append
        .events
        .iter()
        .enumerate()
        .map(|(offset, event)| RecordedEvent {
            id: event.id,
            stream_id: append.stream_id.clone(),
            event_type: event.event_type.clone(),
            revision: first_revision + offset as u64,
            position: first_position + offset as u64,
            data: event.data.clone(),
            metadata: event.metadata.clone(),
            created_at: append.created_at,
        })
        .collect()
}

/// Appends a group of appends (issued together) in one transaction: each decided in order, on
/// what the earlier ones of the group wrote (heads and lifecycle records alike), with its own
/// result — a refused append changes nothing for the others. If the transaction fails as a
/// whole (a unique index caught a duplicate id, another writer got in first, a storage error),
/// each append is decided alone.
pub(crate) async fn append_group(
    storage: &dyn Storage,
    appends: &[PreparedAppend],
    ctx: Context,
) -> Vec<Result<Appended>> {
    if appends.len() > 1 {
        if let Ok(results) = try_group(storage, appends, ctx).await {
            return results;
        }
    }
    let mut results = Vec::with_capacity(appends.len());
    for a in appends {
        results.push(append(storage, a, ctx).await);
    }
    results
}

async fn try_group(
    storage: &dyn Storage,
    appends: &[PreparedAppend],
    ctx: Context,
) -> std::result::Result<Vec<Result<Appended>>, CommitError> {
    let look_up = !storage.capabilities().rejects_duplicate_ids;
    let mut tx = storage.begin(Mode::Write).await?;
    // Everything the group needs, read at once; then kept up to date with the group's writes.
    let all: Vec<&PreparedAppend> = appends.iter().collect();
    let (mut known, mut log) = read_known(&mut *tx, &all).await?;
    let mut results = Vec::with_capacity(appends.len());
    for a in appends {
        let ids = a.ids();
        let k = known.entry(a.stream_id.clone()).or_default();
        let decided = decide_and_write(&mut *tx, a, &ids, look_up, k, &mut log, ctx).await?;
        results.push(decided);
    }
    tx.commit().await?;
    Ok(results)
}

/// The open-time sweep: a read of the lifecycle records, then, when some stream has retention,
/// one write transaction applying its rules. Returns the registry of those streams.
pub(crate) async fn sweep(storage: &dyn Storage, ctx: Context) -> Result<lifecycle::Registry> {
    // Most stores have no retention: a read says so, and opening them writes nothing.
    let registry = lifecycle::Registry::load(&mut *storage.begin(Mode::Read).await?).await?;
    if registry.streams.is_empty() {
        return Ok(registry);
    }
    let mut last = CommitError::Conflict;
    for _ in 0..ATTEMPTS {
        let mut tx = storage.begin(Mode::Write).await?;
        let registry = lifecycle::Registry::load(&mut *tx).await?;
        if let Ok(through) = through(&mut *tx).await? {
            for (x, life) in &registry.streams {
                lifecycle::enforce(&mut *tx, x, life, ctx.now, through).await?;
            }
        }
        match tx.commit().await {
            Ok(()) => return lifecycle::Registry::reloaded(storage).await,
            Err(CommitError::Conflict) => last = CommitError::Conflict,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(commit_failure(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal(revisions: std::ops::RangeInclusive<Revision>, aged: bool) -> Removal {
        Removal {
            stream: StreamId::new("x").unwrap(),
            revisions,
            created_before: aged.then_some(5),
            through: None,
        }
    }

    #[test]
    fn removals_of_the_calls_own_events_follow_the_put() {
        let ranges = |rs: &[Removal]| rs.iter().map(|r| r.revisions.clone()).collect::<Vec<_>>();
        let (before, after) = split(&[removal(2..=6, false), removal(7..=9, true)], Some(5));
        // (the new events are never removed by age)
        assert_eq!(ranges(&before), [2..=4]);
        assert_eq!(ranges(&after), [5..=6]);
        assert!(after[0].created_before.is_none());
        let (before, after) = split(&[removal(0..=3, false), removal(0..=9, true)], Some(4));
        assert_eq!(ranges(&before), [0..=3, 0..=3]);
        assert!(after.is_empty());
        let (before, after) = split(&[removal(6..=7, false)], Some(6));
        assert!(before.is_empty());
        assert_eq!(ranges(&after), [6..=7]);
        let (before, after) = split(&[removal(0..=9, false)], None);
        assert_eq!((ranges(&before), after.len()), (vec![0..=9], 0));
    }
}
