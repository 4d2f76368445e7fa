//! The append algorithm, once for every storage: in one transaction, read what the decision
//! needs, [`decide`], number the events, write, commit.

use std::collections::HashMap;

use uuid::Uuid;

use crate::decision::{decide, Decision};
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::model::{AppendResult, Position, Revision, StreamId};
use crate::storage::{
    commit_failure, Appending, CommitError, Heads, Mode, PreparedAppend, Storage, Transaction,
};

/// The heads of `stream` and of the log, as `tx` reads them.
pub(crate) async fn heads(tx: &mut dyn Transaction, stream: &StreamId) -> Result<Heads> {
    let (streams, log) = tx.heads_of(std::slice::from_ref(stream)).await?;
    Ok(Heads {
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

/// Appends `append` to `storage` atomically.
///
/// Ids are looked up only when the decision can depend on them, if the storage rejects
/// duplicate ids on write: when the first decision is a conflict (the call may be a retry of one
/// that was written before the stream moved on), or when the commit hits a taken id (then a new
/// transaction decides with the ids looked up).
pub(crate) async fn append(storage: &dyn Storage, append: &PreparedAppend) -> Result<Appended> {
    let ids: Vec<Uuid> = append.events.iter().map(|e| e.id).collect();
    let mut look_up = !storage.capabilities().rejects_duplicate_ids;
    let mut last = CommitError::Conflict;
    for _ in 0..ATTEMPTS {
        match attempt(storage, append, &ids, look_up).await {
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
) -> std::result::Result<Result<Appended>, CommitError> {
    let mut tx = storage.begin(Mode::Write).await?;
    let heads = heads(&mut *tx, &append.stream_id).await?;
    let decided = decide_and_write(&mut *tx, append, ids, look_up, heads).await?;
    if matches!(decided, Ok(Appended::Written(_))) {
        tx.commit().await?;
    }
    Ok(decided)
}

/// Inside `tx`, with the stream's and the log's `heads` as `tx` sees them: looks ids up when the
/// decision needs them, [`decide`]s, numbers and writes the events. `Ok(result)` is this append's
/// final answer once `tx` commits; `Err` fails the transaction.
async fn decide_and_write(
    tx: &mut dyn Transaction,
    append: &PreparedAppend,
    ids: &[Uuid],
    look_up: bool,
    heads: Heads,
) -> std::result::Result<Result<Appended>, CommitError> {
    let mut stored = if look_up {
        tx.locate(ids).await?
    } else {
        vec![None; ids.len()]
    };
    let mut decision = decide(
        &append.stream_id,
        heads.stream,
        append.expected,
        ids,
        &stored,
    );
    if !look_up && matches!(decision, Err(Error::WrongExpectedRevision { .. })) {
        stored = tx.locate(ids).await?;
        decision = decide(
            &append.stream_id,
            heads.stream,
            append.expected,
            ids,
            &stored,
        );
    }
    let first_revision = match decision {
        Ok(Decision::Write { first_revision }) => first_revision,
        Ok(Decision::AlreadyWritten(result)) => return Ok(Ok(Appended::Already(result))),
        Err(e) => return Ok(Err(e)),
    };
    let events = numbered(append, first_revision, heads.log.map_or(0, |p| p + 1));
    // The hooks' writes first: on a storage that refuses a taken id on write (IndexedDB's
    // unique index), a refused `put` aborts the transaction, failing every later request of it;
    // issued last, it can only fail the commit, which asks for an attempt with ids looked up.
    tx.appended(Appending {
        append,
        events: &events,
    })
    .await?;
    tx.put(&events).await?;
    let last = &events[events.len() - 1];
    Ok(Ok(Appended::Written(AppendResult {
        next_expected_revision: last.revision,
        position: last.position,
    })))
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
/// what the earlier ones of the group wrote, with its own result — a refused append changes
/// nothing for the others. If the transaction fails as a whole (a unique index caught a
/// duplicate id, another writer got in first, a storage error), each append is decided alone.
pub(crate) async fn append_group(
    storage: &dyn Storage,
    appends: &[PreparedAppend],
) -> Vec<Result<Appended>> {
    if appends.len() > 1 {
        if let Ok(results) = try_group(storage, appends).await {
            return results;
        }
    }
    let mut results = Vec::with_capacity(appends.len());
    for a in appends {
        results.push(append(storage, a).await);
    }
    results
}

async fn try_group(
    storage: &dyn Storage,
    appends: &[PreparedAppend],
) -> std::result::Result<Vec<Result<Appended>>, CommitError> {
    let look_up = !storage.capabilities().rejects_duplicate_ids;
    let mut tx = storage.begin(Mode::Write).await?;
    // Every head the group needs, read at once; then kept up to date with the group's writes.
    let mut streams: Vec<StreamId> = Vec::new();
    for a in appends {
        if !streams.contains(&a.stream_id) {
            streams.push(a.stream_id.clone());
        }
    }
    let (stream_heads, mut log) = tx.heads_of(&streams).await?;
    let mut stream_heads: HashMap<StreamId, Option<Revision>> =
        streams.into_iter().zip(stream_heads).collect();
    let mut results = Vec::with_capacity(appends.len());
    for a in appends {
        let ids: Vec<Uuid> = a.events.iter().map(|e| e.id).collect();
        let stream = stream_heads.get(&a.stream_id).copied().flatten();
        let decided = decide_and_write(&mut *tx, a, &ids, look_up, Heads { stream, log }).await?;
        if let Ok(Appended::Written(r)) = &decided {
            stream_heads.insert(a.stream_id.clone(), Some(r.next_expected_revision));
            log = Some(r.position);
        }
        results.push(decided);
    }
    tx.commit().await?;
    Ok(results)
}
