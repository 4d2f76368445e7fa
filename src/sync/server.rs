//! The server half of sync: each pushed append decided again by the store's own append
//! algorithm (one atomic transaction each, [`decide`](crate::decide) the rule), with its
//! original expected revision, event ids and `createdAt`.

use super::protocol::{PushAppend, PushOutcome, Refusal};
use super::tail::theirs;
use crate::append::Appended;
use crate::error::Error;
use crate::event::ProposedEvent;
use crate::model::StreamId;
use crate::storage::{Mode, Storage, Transaction};
use crate::store::EventStore;

impl<S: Storage> EventStore<S> {
    /// Decides pushed appends in order, one transaction each, and answers one outcome per
    /// append: written, already stored, or a conflict (with the server's events after the
    /// expected revision) or rejection. Once an append of a stream is not written, the batch's
    /// later appends of that stream are `Blocked`. A storage failure ends the batch with
    /// `Failed` (fewer outcomes than appends: the client pushes the rest again).
    pub async fn accept_push(&self, appends: Vec<PushAppend>) -> Vec<PushOutcome> {
        // Few streams per push: a vector (no hash set instantiation in the wasm).
        let mut refused: Vec<StreamId> = Vec::new();
        let mut outcomes = Vec::with_capacity(appends.len());
        for push in appends {
            if refused.contains(&push.stream_id) {
                outcomes.push(PushOutcome::Blocked);
                continue;
            }
            let outcome = self.accept_one(push.clone()).await;
            match &outcome {
                PushOutcome::Failed(_) => {
                    outcomes.push(outcome);
                    break;
                }
                PushOutcome::Conflict { .. } => {
                    refused.push(push.stream_id);
                }
                _ => {}
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn accept_one(&self, push: PushAppend) -> PushOutcome {
        let events = push
            .events
            .into_iter()
            .map(|e| ProposedEvent {
                id: Some(e.id),
                event_type: e.event_type.to_string(),
                data: e.data,
                metadata: e.metadata,
            })
            .collect();
        let decided = match self.check_open().and_then(|()| {
            self.prepare(
                push.stream_id.as_str(),
                events,
                push.expected,
                Some(push.created_at),
            )
        }) {
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
            Err(e) if e.code() == "STORAGE_ERROR" || e.code() == "CLOSED" => {
                PushOutcome::Failed(Refusal::from(&e))
            }
            Err(e) => {
                let rejection = match e {
                    Error::WrongExpectedRevision { .. } => None,
                    other => Some(Refusal::from(&other)),
                };
                match self.conflict_view(&push.stream_id, push.expected).await {
                    Ok((actual, theirs)) => PushOutcome::Conflict {
                        actual,
                        theirs,
                        rejection,
                    },
                    Err(e) => PushOutcome::Failed(Refusal::from(&e)),
                }
            }
        }
    }

    /// The stream's revision and its events after `expected`, as of now.
    async fn conflict_view(
        &self,
        stream: &StreamId,
        expected: crate::ExpectedRevision,
    ) -> crate::Result<(Option<crate::Revision>, Vec<crate::RecordedEvent>)> {
        let mut tx = self.storage().begin(Mode::Read).await?;
        let head = tx.stream_head(stream).await?;
        let theirs = theirs(&mut tx, stream, expected, head).await?;
        Ok((head, theirs))
    }
}
