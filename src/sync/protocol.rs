//! The messages of sync protocol v1, as values. Hosts carry them over their transport (the
//! browser and the edge service as JSON over a WebSocket: `edge/PROTOCOL.md`); the client and
//! server state machines only see these.

use crate::event::{NewEvent, RecordedEvent};
use crate::model::{ExpectedRevision, Position, Revision, StreamId};

/// The protocol version these messages belong to.
pub const PROTOCOL_VERSION: u32 = 1;

/// A queued local append, as pushed: the original call, resent verbatim until a terminal answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAppend {
    /// The outbox sequence number of the append (the client's own reference).
    pub seq: u64,
    /// The stream.
    pub stream_id: StreamId,
    /// The expected revision the append was made with.
    pub expected: ExpectedRevision,
    /// The events with their ids.
    pub events: Vec<NewEvent>,
    /// When the append was made locally (milliseconds since the Unix epoch), kept by the server.
    pub created_at: u64,
}

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// Send every event after `after` (`None`: from the start), then `CaughtUp`, then live.
    Pull {
        /// The last position the client holds.
        after: Option<Position>,
    },
    /// Decide these appends in order and answer with one [`PushOutcome`] each.
    Push {
        /// The client's id of this batch, echoed by the result.
        batch: u64,
        /// The appends, oldest first.
        appends: Vec<PushAppend>,
    },
}

/// Why the server did not write an append: an error's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The contract's error code, e.g. `DUPLICATE_EVENT_ID`.
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
}

impl From<&crate::Error> for Refusal {
    fn from(e: &crate::Error) -> Self {
        Refusal {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

/// How the server decided one pushed append.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// Written now.
    Ok {
        /// The revision of its last event.
        next_expected_revision: Revision,
        /// The position of its last event.
        position: Position,
    },
    /// Its events were already stored (a retry after a lost reply).
    Already {
        /// The revision of its last event.
        next_expected_revision: Revision,
        /// The position of its last event.
        position: Position,
    },
    /// Not written: the stream's revision did not satisfy the expected revision (`rejection`
    /// `None`), or the server refused the append (`rejection`: the error, e.g. a duplicate id).
    Conflict {
        /// The stream's revision on the server.
        actual: Option<Revision>,
        /// The server's events of the stream after the expected revision (oldest first; capped).
        theirs: Vec<RecordedEvent>,
        /// Why the server refused it, when it was not a revision conflict.
        rejection: Option<Refusal>,
    },
    /// Not attempted: an earlier append of the same stream in this batch was not written.
    Blocked,
    /// Not decided: the server failed (the client pushes it again later).
    Failed(Refusal),
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// Events of the server's log, in position order, each with its server position.
    Events(Vec<RecordedEvent>),
    /// The backlog has been sent; later events are live.
    CaughtUp {
        /// The last position sent (`None`: empty log).
        head: Option<Position>,
        /// The identity of the server's log.
        epoch: String,
    },
    /// The answer to a `Push`, one outcome per append (fewer when the server stopped early).
    PushResult {
        /// The batch id of the push.
        batch: u64,
        /// The outcomes, in the order of the push's appends.
        outcomes: Vec<PushOutcome>,
    },
    /// The server refused a `Pull` whose `after` is beyond its head: it holds another log, or
    /// an earlier state of this one.
    Behind {
        /// The server's head.
        head: Option<Position>,
        /// The identity of the server's log.
        epoch: String,
    },
}
