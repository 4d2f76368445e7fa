//! Sync (protocol v4): a store that works offline and syncs with a server store, both ways.
//!
//! - Every local append of a synced store also writes an outbox entry in its own transaction
//!   ([`Outboxed`]), so nothing acknowledged locally is lost.
//! - [`SyncClient`] pushes the outbox in order and ingests the server's log: the local log is
//!   the server's log (the confirmed prefix) followed by the pending local appends, decided again
//!   with [`decide`](crate::decide) on top of each new server event they did not expect. An append
//!   the server refuses holds its stream (a conflict) with every later append of that stream;
//!   other streams go on.
//! - `SyncServer` is the server half (cargo feature `server`): it serves each client message's
//!   text on the connection's `Feed` and gives every frame as text — pushes decided by
//!   `EventStore::accept_push` (the same append algorithm as a local one), pulls answered by
//!   `EventStore::start_pull` and `EventStore::next_frame` (catch-up, then live).
//!
//! Both halves exchange [`ClientMessage`]s and [`ServerMessage`]s, written and read by one codec
//! ([`wire`]), and do no I/O besides their store's transactions: hosts carry the texts (a
//! WebSocket in the browser and the edge service, a simulated network in the tests).

#[cfg(feature = "sync")]
mod client;
#[cfg(feature = "server")]
mod feed;
#[cfg(feature = "sync")]
mod outbox;
mod protocol;
// The stored records of both halves; a build without the client half reads only the sync state.
#[cfg_attr(not(feature = "sync"), allow(dead_code))]
mod records;
#[cfg(feature = "server")]
mod serve;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "sync")]
mod tail;
pub mod wire;

#[cfg(feature = "sync")]
pub use client::{Conflict, LinkState, SyncClient, SyncStatus};
#[cfg(feature = "server")]
pub use feed::{Feed, FrameLimits, PullRequest, FRAME_BYTES, FRAME_EVENTS};
#[cfg(feature = "sync")]
pub use outbox::{Outbox, Outboxed, Tap, TappedOutbox};
pub use protocol::{
    ClientMessage, PushAppend, PushKind, PushOutcome, PushPolicy, Refusal, ServerMessage,
    TheirsCut, MAX_CLIENT_MESSAGE_BYTES, MAX_CREATED_AT_MS, MAX_THEIRS_BYTES, PROTOCOL_VERSION,
};
#[cfg(feature = "server")]
pub use serve::{
    Access, Served, SyncServer, CLOSE_UNAUTHENTICATED, CLOSE_UPGRADE_REQUIRED, FAILED,
};
#[cfg(feature = "server")]
pub use server::{MalformedAppend, PushStreams, FORBIDDEN_STREAM};
pub(crate) use wire::check_pushable;
#[cfg(feature = "server")]
pub use wire::{decode_client_message, encode_server_frame, ClientFrame};
pub use wire::{
    decode_server_message, encode_auth, encode_client_message, ErrorFrame, ServerFrame,
    MAX_NESTING, PING,
};

/// The meta key of the sync state (read by subscriptions).
pub(crate) const STATE_KEY: &str = records::STATE;

/// `(generation, confirmed)` of a stored sync state.
pub(crate) fn state_marks(json: &crate::Json) -> crate::Result<(u64, Option<crate::Position>)> {
    let state = records::SyncState::decode(json)?;
    Ok((state.generation, state.confirmed))
}

/// The lowest position of the confirmed events removed by ingests after `generation` (`None`:
/// none), per a stored sync state; `Some(0)` when the state no longer remembers them all.
pub(crate) fn removed_since(
    json: &crate::Json,
    generation: u64,
) -> crate::Result<Option<crate::Position>> {
    let state = records::SyncState::decode(json)?;
    let forgotten = state.removals.len() == records::REMOVALS_KEPT
        && state
            .removals
            .first()
            .is_some_and(|(g, _)| *g > generation + 1);
    if forgotten {
        return Ok(Some(0));
    }
    Ok(state
        .removals
        .iter()
        .filter(|(g, _)| *g > generation)
        .map(|(_, p)| *p)
        .min())
}
