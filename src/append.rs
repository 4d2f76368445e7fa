//! The append algorithm, once for every storage: in one transaction, read what the decision
//! needs, [`decide`], number the events, write, commit.

use uuid::Uuid;

use crate::decision::{decide, Decision};
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::model::AppendResult;
use crate::storage::{commit_failure, CommitError, Mode, PreparedAppend, Storage, Transaction};

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
pub(crate) async fn append<S: Storage>(storage: &S, append: &PreparedAppend) -> Result<Appended> {
    let ids: Vec<Uuid> = append.events.iter().map(|e| e.id).collect();
    let mut look_up = !storage.rejects_duplicate_ids();
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
async fn attempt<S: Storage>(
    storage: &S,
    append: &PreparedAppend,
    ids: &[Uuid],
    look_up: bool,
) -> std::result::Result<Result<Appended>, CommitError> {
    let mut tx = storage.begin(Mode::Write).await?;
    let heads = tx.heads(&append.stream_id).await?;
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
    let first_position = heads.log.map_or(0, |p| p + 1);
    let events: Vec<RecordedEvent> = append
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
        .collect();
    tx.put(&events).await?;
    tx.appended(append, &events).await?;
    tx.commit().await?;
    let last = &events[events.len() - 1];
    Ok(Ok(Appended::Written(AppendResult {
        next_expected_revision: last.revision,
        position: last.position,
    })))
}
