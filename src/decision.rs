//! The append decision: expected revision and idempotency, as one pure function.
//!
//! Every storage reads the stream head and the stored locations of the call's ids inside its
//! atomic write, calls [`decide`], and writes only on [`Decision::Write`]. The rules live here
//! and nowhere else.

use std::collections::HashSet;

use uuid::Uuid;

use crate::error::Result;
use crate::model::{AppendResult, ExpectedRevision, Position, Revision, StreamId};

/// Where an event id is already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLocation {
    /// The stream holding it.
    pub stream_id: StreamId,
    /// Its revision there.
    pub revision: Revision,
    /// Its global position.
    pub position: Position,
    /// Whether the event was removed (by retention or a deletion): only its id, stream,
    /// revision and position are kept, so retries and duplicates are still recognised.
    pub removed: bool,
}

/// What a storage must do with an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write the events with contiguous revisions starting at `first_revision`.
    Write {
        /// The revision of the first event to write.
        first_revision: Revision,
    },
    /// The call was already written (a retry): write nothing, return this.
    AlreadyWritten(AppendResult),
}

/// Decides an append to `stream_id`, whose current revision is `head`, of events with `ids`
/// under `expected`. `stored[i]` is where `ids[i]` is already stored, if anywhere (removed
/// events included: their ids stay known). The rules of a stream with a lifecycle (deleted,
/// tombstoned) are the core's `decide_in`, of which this is the case without one.
///
/// In order:
/// 1. an id repeated within the call is `DUPLICATE_EVENT_ID`;
/// 2. if every id is stored in this stream, in call order at contiguous revisions, the call is
///    a retry and is [`Decision::AlreadyWritten`], whatever `expected` says now (also when the
///    events were removed since);
/// 3. any other stored id is `DUPLICATE_EVENT_ID`;
/// 4. `expected` must hold for `head`, else `WRONG_EXPECTED_REVISION`.
///
/// ```
/// use evstore::{decide, Decision, ExpectedRevision};
/// let d = decide(&evstore::StreamId::new("s")?, Some(4), ExpectedRevision::Exact(4), &[uuid::Uuid::nil()], &[None])?;
/// assert_eq!(d, Decision::Write { first_revision: 5 });
/// # Ok::<(), evstore::Error>(())
/// ```
pub fn decide(
    stream_id: &StreamId,
    head: Option<Revision>,
    expected: ExpectedRevision,
    ids: &[Uuid],
    stored: &[Option<StoredLocation>],
) -> Result<Decision> {
    let view = crate::lifecycle::StreamView {
        stored_head: head,
        life: None,
    };
    crate::lifecycle::decide_in(stream_id, &view, expected, ids, stored)
}

pub(crate) fn first_repeated(ids: &[Uuid]) -> Option<Uuid> {
    match ids {
        [] | [_] => None,
        [a, b] => (a == b).then_some(*a),
        _ => {
            let mut seen = HashSet::with_capacity(ids.len());
            ids.iter().find(|id| !seen.insert(**id)).copied()
        }
    }
}

/// `Some` when every id is stored in `stream_id`, in order, at contiguous revisions.
pub(crate) fn already_written(
    stream_id: &StreamId,
    stored: &[Option<StoredLocation>],
) -> Option<AppendResult> {
    let first = stored.first()?.as_ref()?;
    let mut last = first;
    for (offset, location) in stored.iter().enumerate() {
        let location = location.as_ref()?;
        if location.stream_id != *stream_id || location.revision != first.revision + offset as u64 {
            return None;
        }
        last = location;
    }
    Some(AppendResult {
        next_expected_revision: last.revision,
        position: last.position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn sid(s: &str) -> StreamId {
        StreamId::new(s).unwrap()
    }
    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    fn at(stream: &str, revision: Revision, position: Position) -> Option<StoredLocation> {
        Some(StoredLocation {
            stream_id: sid(stream),
            revision,
            position,
            removed: false,
        })
    }

    #[test]
    fn expected_revision_rules() {
        let s = sid("s");
        let new = [None];
        let ids = [id(1)];
        let ok = |head, exp| decide(&s, head, exp, &ids, &new);
        assert_eq!(
            ok(None, ExpectedRevision::NoStream),
            Ok(Decision::Write { first_revision: 0 })
        );
        assert_eq!(
            ok(Some(2), ExpectedRevision::Any),
            Ok(Decision::Write { first_revision: 3 })
        );
        assert_eq!(
            ok(Some(2), ExpectedRevision::StreamExists),
            Ok(Decision::Write { first_revision: 3 })
        );
        assert_eq!(
            ok(Some(2), ExpectedRevision::Exact(2)),
            Ok(Decision::Write { first_revision: 3 })
        );
        for (head, exp) in [
            (Some(0), ExpectedRevision::NoStream),
            (None, ExpectedRevision::StreamExists),
            (None, ExpectedRevision::Exact(0)),
            (Some(3), ExpectedRevision::Exact(2)),
        ] {
            assert_eq!(ok(head, exp).unwrap_err().code(), "WRONG_EXPECTED_REVISION");
        }
    }

    #[test]
    fn retry_after_the_stream_moved_on_is_already_written() {
        let d = decide(
            &sid("s"),
            Some(9),
            ExpectedRevision::NoStream,
            &[id(1), id(2)],
            &[at("s", 0, 10), at("s", 1, 12)],
        );
        assert_eq!(
            d,
            Ok(Decision::AlreadyWritten(AppendResult {
                next_expected_revision: 1,
                position: 12
            }))
        );
    }

    #[test]
    fn partial_reordered_foreign_and_repeated_ids_are_duplicates() {
        let s = sid("s");
        let dup = |ids: &[Uuid], stored: &[Option<StoredLocation>]| {
            decide(&s, Some(5), ExpectedRevision::Any, ids, stored).unwrap_err()
        };
        // partial: one stored, one new
        assert_eq!(
            dup(&[id(1), id(2)], &[at("s", 0, 0), None]),
            Error::DuplicateEventId {
                event_id: id(1).to_string()
            }
        );
        // reordered
        assert_eq!(
            dup(&[id(2), id(1)], &[at("s", 1, 1), at("s", 0, 0)]).code(),
            "DUPLICATE_EVENT_ID"
        );
        // not contiguous
        assert_eq!(
            dup(&[id(1), id(3)], &[at("s", 0, 0), at("s", 2, 2)]).code(),
            "DUPLICATE_EVENT_ID"
        );
        // stored in another stream
        assert_eq!(
            dup(&[id(1)], &[at("other", 0, 0)]).code(),
            "DUPLICATE_EVENT_ID"
        );
        // repeated in the call, even when stored
        assert_eq!(
            dup(&[id(1), id(1)], &[at("s", 0, 0), at("s", 0, 0)]),
            Error::DuplicateEventId {
                event_id: id(1).to_string()
            }
        );
        assert_eq!(
            dup(&[id(1), id(2), id(1)], &[None, None, None]).code(),
            "DUPLICATE_EVENT_ID"
        );
    }
}
