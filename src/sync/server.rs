//! The server half of sync: each pushed append decided again by the store's own append
//! algorithm (one atomic transaction each, [`decide`](crate::decide) the rule), with its
//! original expected revision, event ids and `createdAt`, under the pusher's [`PushPolicy`].

use super::protocol::{
    PushAppend, PushKind, PushOutcome, PushPolicy, Refusal, TheirsCut, MAX_CREATED_AT_MS,
    MAX_THEIRS_BYTES,
};
use super::tail::theirs;
use super::wire::wire_size;
use crate::append::Appended;
use crate::error::Error;
use crate::event::{ProposedEvent, RecordedEvent};
use crate::lifecycle::{LifecycleOp, StreamMetadata};
use crate::model::{ExpectedRevision, Revision, StreamId};
use crate::selection::Selection;
use crate::storage::{Mode, PreparedAppend};
use crate::store::{EventStore, Origin};

/// A pushed append the host could not read into a [`PushAppend`]: it is rejected with `error`
/// (and, when its stream is known, holds that stream for the rest of the push).
#[derive(Debug, Clone, PartialEq)]
pub struct MalformedAppend {
    /// The append's stream, when it was readable.
    pub stream_id: Option<StreamId>,
    /// What is wrong with it (an `INVALID_ARGUMENT`).
    pub error: Error,
}

/// The streams a pusher reaches: those its token allows (`token`), and among them those whose
/// events it may see in a conflict's `theirs` (`visible`: its feed's selection within the
/// token's).
#[derive(Debug, Clone, Copy)]
pub struct PushStreams<'a> {
    /// The token's streams: an append to another stream is rejected with `FORBIDDEN`.
    pub token: &'a Selection,
    /// The streams whose events a conflict may carry (`theirs`); withheld for the others.
    pub visible: &'a Selection,
}

impl EventStore {
    /// Decides pushed appends in order, one transaction each, and answers one outcome per
    /// append: written, already stored, or a conflict (with the server's events after the
    /// expected revision, as far as `policy` and the result's byte budget allow) or rejection.
    /// Once an append of a stream is not written, the batch's later appends of that stream are
    /// `Blocked`. A storage failure ends the batch with `Failed` (fewer outcomes than appends:
    /// the client pushes the rest again). Every stream is reachable and visible; see
    /// [`accept_push_scoped`](Self::accept_push_scoped) for a token that names its streams.
    pub async fn accept_push(
        &self,
        appends: Vec<Result<PushAppend, MalformedAppend>>,
        policy: PushPolicy,
    ) -> Vec<PushOutcome> {
        let all = Selection::all();
        let streams = PushStreams {
            token: &all,
            visible: &all,
        };
        self.accept_push_scoped(appends, policy, streams).await
    }

    /// [`accept_push`](Self::accept_push) for a pusher that reaches only `streams.token`: an
    /// append (of any kind) to another stream is `rejected` with `FORBIDDEN`, without its
    /// stream's revision or events — the same answer whether or not the stream exists — and
    /// holds the batch's later appends of that stream. A conflict's `theirs` is withheld for a
    /// stream outside `streams.visible`.
    pub async fn accept_push_scoped(
        &self,
        appends: Vec<Result<PushAppend, MalformedAppend>>,
        policy: PushPolicy,
        streams: PushStreams<'_>,
    ) -> Vec<PushOutcome> {
        // Few streams per push: a vector (no hash set instantiation in the wasm).
        let mut refused: Vec<StreamId> = Vec::new();
        let mut budget = MAX_THEIRS_BYTES;
        let mut outcomes = Vec::with_capacity(appends.len());
        for push in appends {
            let push = match push {
                Ok(push) => push,
                Err(malformed) => {
                    refused.extend(malformed.stream_id);
                    outcomes.push(rejected(&malformed.error));
                    continue;
                }
            };
            if refused.contains(&push.stream_id) {
                outcomes.push(PushOutcome::Blocked);
                continue;
            }
            let stream = push.stream_id.clone();
            if !streams.token.matches(stream.as_str()) {
                // Decided before any read: nothing about the stream can show through.
                refused.push(stream);
                outcomes.push(forbidden_stream());
                continue;
            }
            let policy = PushPolicy {
                reveal_theirs: policy.reveal_theirs && streams.visible.matches(stream.as_str()),
                ..policy
            };
            let outcome = self.accept_one(push, policy, &mut budget).await;
            match &outcome {
                PushOutcome::Failed(_) => {
                    outcomes.push(outcome);
                    break;
                }
                PushOutcome::Conflict { .. } => refused.push(stream),
                _ => {}
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn accept_one(
        &self,
        push: PushAppend,
        policy: PushPolicy,
        budget: &mut usize,
    ) -> PushOutcome {
        if let Err(e) = check_push(&push, policy) {
            return self.refused(&push, e, policy, budget).await;
        }
        if matches!(
            push.kind,
            PushKind::Delete { .. } | PushKind::Tombstone { .. }
        ) && !policy.may_delete
        {
            let refusal = Refusal {
                code: "FORBIDDEN".to_owned(),
                message: "the token lacks the \"delete\" scope".to_owned(),
            };
            return self.conflict(&push, Some(refusal), policy, budget).await;
        }
        let decided = match self.check_open().and_then(|()| self.prepare_pushed(&push)) {
            Ok(prepared) => self.append_prepared(&prepared).await,
            Err(e) => Err(e),
        };
        match decided {
            Ok(Appended::Written(r)) => PushOutcome::Ok {
                next_expected_revision: r.next_expected_revision,
                position: r.position,
            },
            Ok(Appended::Already(r)) => PushOutcome::Already {
                next_expected_revision: r.next_expected_revision,
                position: r.position,
            },
            Err(e) => self.refused(&push, e, policy, budget).await,
        }
    }

    /// The pushed append as the append algorithm takes it: its events, or its lifecycle call
    /// (the server decides it again, with the pushed event id and time).
    fn prepare_pushed(&self, push: &PushAppend) -> crate::Result<PreparedAppend> {
        let stream = push.stream_id.as_str();
        let op = match &push.kind {
            PushKind::Events => {
                let events = push
                    .events
                    .iter()
                    .map(|e| ProposedEvent {
                        id: Some(e.id),
                        event_type: e.event_type.to_string(),
                        data: e.data.clone(),
                        metadata: e.metadata.clone(),
                    })
                    .collect();
                return self.prepare(
                    stream,
                    events,
                    push.expected,
                    Some(push.created_at),
                    Origin::Pushed,
                );
            }
            PushKind::Metadata { metadata, .. } => {
                LifecycleOp::SetMetadata(StreamMetadata::from_json(metadata)?)
            }
            PushKind::Delete { .. } => LifecycleOp::Delete,
            PushKind::Tombstone { .. } => LifecycleOp::Tombstone,
        };
        let id = push.kind.id().unwrap_or_default();
        self.prepare_lifecycle(stream, op, push.expected, id, push.created_at)
    }

    /// The outcome of an append that was not written because of `e`.
    async fn refused(
        &self,
        push: &PushAppend,
        e: Error,
        policy: PushPolicy,
        budget: &mut usize,
    ) -> PushOutcome {
        if e.code() == "STORAGE_ERROR" || e.code() == "CLOSED" {
            return PushOutcome::Failed(Refusal::from(&e));
        }
        let rejection = match e {
            Error::WrongExpectedRevision { .. } => None,
            other => Some(Refusal::from(&other)),
        };
        self.conflict(push, rejection, policy, budget).await
    }

    /// The outcome of an append that was not written: a revision conflict (`rejection`
    /// `None`) or a refusal, with the stream's events after the expected revision.
    async fn conflict(
        &self,
        push: &PushAppend,
        rejection: Option<Refusal>,
        policy: PushPolicy,
        budget: &mut usize,
    ) -> PushOutcome {
        let metadata = matches!(push.kind, PushKind::Metadata { .. });
        match self
            .conflict_view(&push.stream_id, push.expected, metadata)
            .await
        {
            Ok((actual, stored, all)) => {
                let (theirs, theirs_cut) = if policy.reveal_theirs {
                    cap_theirs(all, stored, budget)
                } else {
                    (Vec::new(), Some(TheirsCut::Withheld))
                };
                PushOutcome::Conflict {
                    actual,
                    theirs,
                    theirs_cut,
                    rejection,
                }
            }
            Err(e) => PushOutcome::Failed(Refusal::from(&e)),
        }
    }

    /// The stream's visible revision and its events after `expected`, as of now; for a metadata
    /// change, the metadata revision and the current `$metadata` event.
    async fn conflict_view(
        &self,
        stream: &StreamId,
        expected: ExpectedRevision,
        metadata: bool,
    ) -> crate::Result<(Option<Revision>, Option<Revision>, Vec<RecordedEvent>)> {
        let mut tx = self.storage().begin(Mode::Read).await?;
        if metadata {
            // A metadata change conflicts on the metadata revision: theirs is the current one.
            let meta = stream.metadata_stream();
            let head = tx.stream_head(&meta).await?;
            let theirs = match head {
                Some(h) => tx.read_stream(&meta, h..=h).await?.into_events()?,
                None => Vec::new(),
            };
            return Ok((head, head, theirs));
        }
        let stored = tx.stream_head(stream).await?;
        let head = match crate::lifecycle::visible_head(&mut *tx, stream).await {
            Ok(head) => head,
            Err(Error::StreamDeleted { .. }) => stored,
            Err(e) => return Err(e),
        };
        let theirs = theirs(&mut *tx, stream, expected, stored).await?;
        Ok((head, stored, theirs))
    }
}

/// The message of a push to a stream the token does not allow (it names no stream state).
pub const FORBIDDEN_STREAM: &str = "the token does not allow this stream";

/// The rejection of an append to a stream the token does not allow: no revision, no events.
fn forbidden_stream() -> PushOutcome {
    PushOutcome::Conflict {
        actual: None,
        theirs: Vec::new(),
        theirs_cut: None,
        rejection: Some(Refusal {
            code: "FORBIDDEN".to_owned(),
            message: FORBIDDEN_STREAM.to_owned(),
        }),
    }
}

/// The rejection of a malformed append.
fn rejected(error: &Error) -> PushOutcome {
    PushOutcome::Conflict {
        actual: None,
        theirs: Vec::new(),
        theirs_cut: None,
        rejection: Some(Refusal::from(error)),
    }
}

/// What the server checks of a push beyond what every append is checked for.
fn check_push(push: &PushAppend, policy: PushPolicy) -> crate::Result<()> {
    if push.events.len() > policy.max_append_events {
        return Err(Error::invalid(format!(
            "too many events in one append: {}, the limit is {}",
            push.events.len(),
            policy.max_append_events
        )));
    }
    if push.created_at > MAX_CREATED_AT_MS {
        return Err(Error::invalid(format!(
            "createdAt {} is beyond the last representable date ({MAX_CREATED_AT_MS} ms)",
            push.created_at
        )));
    }
    Ok(())
}

/// The first of `events` (a stream's events up to `head`, at most `MAX_THEIRS`
/// of them) that fit in `budget`, which they use up; and whether they stop short of `head`.
fn cap_theirs(
    mut events: Vec<RecordedEvent>,
    head: Option<Revision>,
    budget: &mut usize,
) -> (Vec<RecordedEvent>, Option<TheirsCut>) {
    let short = events.last().is_some_and(|e| Some(e.revision) != head);
    let mut keep = 0;
    for e in &events {
        let size = wire_size(e);
        if size > *budget {
            break;
        }
        *budget -= size;
        keep += 1;
    }
    let cut = (short || keep < events.len()).then_some(TheirsCut::Capped);
    events.truncate(keep);
    (events, cut)
}
