//! The messages of sync protocol v4, as values. Hosts carry them over their transport (the
//! browser and the edge service as JSON over a WebSocket: `edge/PROTOCOL.md`); the client and
//! server state machines only see these.

use crate::event::{NewEvent, RecordedEvent};
use crate::json::Json;
use crate::model::{ExpectedRevision, Position, Revision, StreamId};
use crate::selection::Selection;

/// The protocol version these messages belong to (v4: partial sync — a pull names the streams
/// it selects, `caughtUp` says which the feed serves; v3: stream lifecycle — pushed appends have a
/// `kind`, `events` frames say which positions they cover (`after`, `through`), so that removed
/// events leave explicit holes; v2: a pull names the id of the event at its `after`; capped and
/// withheld `theirs`).
pub const PROTOCOL_VERSION: u32 = 4;

/// The most bytes (UTF-8) of one client message the server reads: a push over it is refused
/// whole, so the client never sends one (an append too large for it is refused at append time).
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 1024 * 1024;

/// The latest `createdAt` a pushed append may carry: JavaScript's last representable date
/// (8.64e15 ms after the epoch), so that every stored event reads back with a date.
pub const MAX_CREATED_AT_MS: u64 = 8_640_000_000_000_000;

/// The most bytes of conflicting events (`theirs`) one push result carries, over all its
/// outcomes; the rest reaches the client with the log it pulls.
pub const MAX_THEIRS_BYTES: usize = 256 * 1024;

/// What a pushed append does: append events, or change the stream's lifecycle (each lifecycle
/// call is one event, whose id the client chose: the server writes it with that id).
#[derive(Debug, Clone, PartialEq)]
pub enum PushKind {
    /// An ordinary append of [`PushAppend::events`] (`"kind":"events"`).
    Events,
    /// `setStreamMetadata` (`"kind":"metadata"`): the expected revision is the expected
    /// metadata revision.
    Metadata {
        /// The id of the `$metadata` event.
        id: uuid::Uuid,
        /// The new metadata, as the client sent it (the server validates it).
        metadata: Json,
    },
    /// `deleteStream` (`"kind":"delete"`), a soft delete.
    Delete {
        /// The id of the `$metadata` event.
        id: uuid::Uuid,
    },
    /// `tombstoneStream` (`"kind":"tombstone"`), a hard delete.
    Tombstone {
        /// The id of the `$streamDeleted` event.
        id: uuid::Uuid,
    },
}

impl PushKind {
    /// The wire name (`"events"`, `"metadata"`, `"delete"`, `"tombstone"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            PushKind::Events => "events",
            PushKind::Metadata { .. } => "metadata",
            PushKind::Delete { .. } => "delete",
            PushKind::Tombstone { .. } => "tombstone",
        }
    }

    /// The lifecycle event's id (`None` for events).
    pub fn id(&self) -> Option<uuid::Uuid> {
        match self {
            PushKind::Events => None,
            PushKind::Metadata { id, .. }
            | PushKind::Delete { id }
            | PushKind::Tombstone { id } => Some(*id),
        }
    }
}

/// A queued local append, as pushed: the original call, resent verbatim until a terminal answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAppend {
    /// The outbox sequence number of the append (the client's own reference).
    pub seq: u64,
    /// What the append does (events, or a lifecycle change of the stream).
    pub kind: PushKind,
    /// The stream.
    pub stream_id: StreamId,
    /// The expected revision the append was made with.
    pub expected: ExpectedRevision,
    /// The events with their ids (none for a lifecycle kind).
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
        /// The id of the event at `after` in the client's log: a server whose event there is
        /// another one (restored from an earlier copy, then grown again) answers `Behind`.
        after_id: Option<uuid::Uuid>,
        /// The position of the `after_id` event, when it is not `after` (the client's log has
        /// a hole at `after`).
        after_id_at: Option<Position>,
        /// The epoch of the server log the client synced with (`None` before the first time):
        /// a server holding another log answers `Behind` instead of events.
        epoch: Option<String>,
        /// The streams the client holds (`None`: every stream): the server sends only their
        /// events (and only those its token may read).
        streams: Option<Selection>,
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

/// What the server allows one pusher: from its token's scopes and the service's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushPolicy {
    /// The pusher may read the streams it pushes to: conflicts carry `theirs` (else withheld).
    pub reveal_theirs: bool,
    /// The most events one pushed append may hold (more: rejected, `INVALID_ARGUMENT`).
    pub max_append_events: usize,
    /// The pusher may delete streams (the `delete` scope): pushed `delete` and `tombstone`
    /// appends are rejected with `FORBIDDEN` without it.
    pub may_delete: bool,
}

impl Default for PushPolicy {
    fn default() -> Self {
        PushPolicy {
            reveal_theirs: true,
            max_append_events: 1000,
            may_delete: true,
        }
    }
}

/// Why a conflict's `theirs` is not every event of the stream after the expected revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TheirsCut {
    /// Cut to keep the push result small: the rest arrives with the pulled log.
    Capped,
    /// Not sent: the pusher's token may not read the stream (no `read` scope).
    Withheld,
}

impl TheirsCut {
    /// The wire name (`"capped"`, `"withheld"`).
    pub fn as_str(self) -> &'static str {
        match self {
            TheirsCut::Capped => "capped",
            TheirsCut::Withheld => "withheld",
        }
    }

    /// The cut named `name` on the wire.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "capped" => Some(TheirsCut::Capped),
            "withheld" => Some(TheirsCut::Withheld),
            _ => None,
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
        /// Why `theirs` stops short, when it does.
        theirs_cut: Option<TheirsCut>,
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
    /// Events of the server's log, in position order, each with its server position: every event
    /// the client receives at a position in `(after, through]`. Positions in that range without
    /// an event are holes (removed events).
    Events {
        /// The events.
        events: Vec<RecordedEvent>,
        /// The identity of the server's log they belong to (`None`: not said).
        epoch: Option<String>,
        /// The last position the previous frame covered (`None`: the start of the log). The
        /// client takes the frame only when it holds the log up to exactly there.
        after: Option<Position>,
        /// The last position this frame covers (at least its last event's).
        through: Position,
    },
    /// The backlog has been sent; later events are live.
    CaughtUp {
        /// The last position sent (`None`: empty log).
        head: Option<Position>,
        /// The identity of the server's log.
        epoch: String,
        /// The streams the feed serves: the pull's selection within what the token may read
        /// (`None`: not said, every stream).
        streams: Option<Selection>,
    },
    /// The answer to a `Push`, one outcome per append (fewer when the server stopped early).
    PushResult {
        /// The batch id of the push.
        batch: u64,
        /// The outcomes, in the order of the push's appends.
        outcomes: Vec<PushOutcome>,
    },
    /// The server refused a `Pull` whose `after` is beyond its head, whose epoch is not its own,
    /// or whose `after_id` is not the id of its event at `after`: it holds another log, or an
    /// earlier state of this one (restored from a copy, perhaps grown again since).
    Behind {
        /// The server's head.
        head: Option<Position>,
        /// The identity of the server's log.
        epoch: String,
        /// The refused pull's `after` and `epoch` (an answer to an older pull is stale).
        refused: (Option<Position>, Option<String>),
    },
}
