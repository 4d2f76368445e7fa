//! [`SyncServer`]: the server half of sync protocol v4, sans-I/O. A host (the edge service's
//! Durable Object, the simulation in the tests) keeps one [`Feed`] per connection and passes
//! message texts in; the server decides every frame and hands texts back. The host keeps the
//! sockets, the token's verification, its own limits (sockets, message rate, lifetime) and the
//! pacing of its sends.
//!
//! - [`serve`](SyncServer::serve): one client message → what to do ([`Served`]).
//! - [`next_frame`](SyncServer::next_frame): the next frame of a feed (catch-up, `caughtUp`,
//!   then live events); the host calls it until it gives nothing, after a pull and after every
//!   commit (for each live feed).

use std::rc::Rc;

use super::feed::{Feed, FrameLimits};
use super::protocol::{PushPolicy, ServerMessage};
use super::server::PushStreams;
use super::wire::{
    decode_client_message, encode_server_frame, ClientFrame, ErrorFrame, ServerFrame,
};
use crate::selection::Selection;
use crate::store::EventStore;

/// Close code: the token expired or is invalid.
pub const CLOSE_UNAUTHENTICATED: u16 = 4401;
/// Close code: the client speaks an older protocol version (update the client).
pub const CLOSE_UPGRADE_REQUIRED: u16 = 4426;

/// What the connection's token allows, as of the message being served.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// The token has the `read` scope (pull; conflicts reveal `theirs`).
    pub read: bool,
    /// The token has the `append` scope (push).
    pub append: bool,
    /// The token has the `delete` scope (pushed deletes and tombstones).
    pub delete: bool,
    /// The token has expired (every message but `auth` closes the socket).
    pub expired: bool,
    /// The streams the token may touch (its `streams` claim; every stream when absent).
    pub streams: Selection,
}

/// What the host does with a client message.
#[derive(Debug, Clone, PartialEq)]
pub enum Served {
    /// Send this frame (an error or a refusal); the socket stays open.
    Reply(String),
    /// The pull was accepted and the feed restarted: send [`next_frame`](SyncServer::next_frame)
    /// until it gives nothing.
    Pull,
    /// The push was decided: send every live feed its new frames (this one's included), then
    /// this frame (the `pushResult`).
    Pushed(String),
    /// A token renewal: verify `token` (absent: `None`); if it holds, the socket takes its
    /// claims and the answer is [`authenticated`](SyncServer::authenticated).
    Auth(Option<String>),
    /// Send this error frame, then close the socket with `code` and `reason`.
    Close {
        /// The WebSocket close code.
        code: u16,
        /// The error frame.
        frame: String,
        /// The close reason (the error's message).
        reason: String,
    },
}

/// The server half of sync over one store: the log `epoch` (its identity), frame limits and the
/// push limits of the service.
pub struct SyncServer {
    store: Rc<EventStore>,
    epoch: String,
    limits: FrameLimits,
    max_append_events: usize,
}

impl SyncServer {
    /// The server of `store`, whose log is identified by `epoch`; pushed appends hold at most
    /// `max_append_events` events.
    pub fn new(store: Rc<EventStore>, epoch: impl Into<String>, max_append_events: usize) -> Self {
        SyncServer {
            store,
            epoch: epoch.into(),
            limits: FrameLimits::default(),
            max_append_events,
        }
    }

    /// The same server with other frame limits (tests use small frames).
    pub fn with_limits(mut self, limits: FrameLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The store served.
    pub fn store(&self) -> &Rc<EventStore> {
        &self.store
    }

    /// The log's identity.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Serves one client message (its text) on `feed`.
    pub async fn serve(&self, feed: &mut Feed, text: &str, access: &Access) -> Served {
        self.serve_frame(feed, decode_client_message(text), access)
            .await
    }

    /// Serves one client message already read with
    /// [`decode_client_message`](super::decode_client_message) (a host that looks at a message
    /// before it queues it reads it once).
    pub async fn serve_frame(
        &self,
        feed: &mut Feed,
        frame: Result<ClientFrame, ErrorFrame>,
        access: &Access,
    ) -> Served {
        let frame = match frame {
            // A renewal is the one message an expired token may send.
            Ok(ClientFrame::Auth { token }) => return Served::Auth(token),
            Ok(frame) => frame,
            Err(error) => return reply(error),
        };
        if access.expired {
            return close(
                CLOSE_UNAUTHENTICATED,
                ErrorFrame::new("UNAUTHENTICATED", "token expired"),
            );
        }
        match frame {
            ClientFrame::Invalid {
                error,
                upgrade: true,
                ..
            } => close(CLOSE_UPGRADE_REQUIRED, error),
            ClientFrame::Invalid {
                error,
                pull,
                after_scope,
                ..
            } => {
                // Some checks of a message come after its scope's, as the protocol has them.
                let (scope, allowed) = if pull {
                    ("read", access.read)
                } else {
                    ("append", access.append)
                };
                reply(if after_scope && !allowed {
                    lacks(scope)
                } else {
                    error
                })
            }
            ClientFrame::Pull(_) if !access.read => reply(lacks("read")),
            ClientFrame::Pull(pull) => {
                match self
                    .store
                    .start_pull(feed, &self.epoch, &pull, &access.streams)
                    .await
                {
                    Ok(None) => Served::Pull,
                    Ok(Some(refusal)) => Served::Reply(message(refusal)),
                    Err(_) => reply(failed()),
                }
            }
            ClientFrame::Push { .. } if !access.append => reply(lacks("append")),
            ClientFrame::Push { batch, appends } => {
                let policy = PushPolicy {
                    reveal_theirs: access.read,
                    max_append_events: self.max_append_events,
                    may_delete: access.delete,
                };
                let visible = feed.selection.intersect(&access.streams);
                let streams = PushStreams {
                    token: &access.streams,
                    visible: &visible,
                };
                let outcomes = self
                    .store
                    .accept_push_scoped(appends, policy, streams)
                    .await;
                Served::Pushed(message(ServerMessage::PushResult { batch, outcomes }))
            }
            ClientFrame::Auth { token } => Served::Auth(token),
        }
    }

    /// The next frame of `feed`: a bounded `events` frame after its cursor, then (while catching
    /// up) `caughtUp`, after which the feed is live; `None` when there is nothing to send. A live
    /// feed whose token lost the `read` scope (`read` false) stops, with a `FORBIDDEN` frame.
    /// `Err`: the store failed (the feed stays where it was; [`FAILED`] is the frame to send).
    /// The feed's selection decides which streams' events it carries; see
    /// [`next_frame_for`](Self::next_frame_for) to hold it to a token's streams as well.
    pub async fn next_frame(&self, feed: &mut Feed, read: bool) -> crate::Result<Option<String>> {
        let access = Access {
            read,
            ..Access::default()
        };
        self.next_frame_for(feed, &access).await
    }

    /// [`next_frame`](Self::next_frame) for a connection with `access`: no frame carries an
    /// event of a stream outside the feed's selection or `access.streams`.
    pub async fn next_frame_for(
        &self,
        feed: &mut Feed,
        access: &Access,
    ) -> crate::Result<Option<String>> {
        Ok(self.next_frame_more(feed, access).await?.0)
    }

    /// [`next_frame_for`](Self::next_frame_for), and whether another call may give a frame now
    /// (see [`EventStore::next_frame_more`]): a host sending a live feed a commit's events stops
    /// at false instead of asking once more for nothing.
    pub async fn next_frame_more(
        &self,
        feed: &mut Feed,
        access: &Access,
    ) -> crate::Result<(Option<String>, bool)> {
        if !access.read {
            if !feed.live {
                return Ok((None, false));
            }
            feed.live = false;
            return Ok((Some(error_text(lacks("read"))), false));
        }
        let (frame, more) = self
            .store
            .next_frame_more(feed, &self.epoch, self.limits, &access.streams)
            .await?;
        Ok((frame.map(message), more))
    }

    /// The answer to an accepted token renewal: `authenticated` with the token's `exp` (its
    /// JSON number text).
    pub fn authenticated(exp: &str) -> String {
        encode_server_frame(&ServerFrame::Authenticated {
            exp: exp.to_owned(),
        })
    }

    /// An error frame of the host's own (a limit, a refused token).
    pub fn error_frame(error: ErrorFrame) -> String {
        error_text(error)
    }
}

fn message(m: ServerMessage) -> String {
    encode_server_frame(&ServerFrame::Message(m))
}

fn error_text(e: ErrorFrame) -> String {
    encode_server_frame(&ServerFrame::Error(e))
}

fn reply(e: ErrorFrame) -> Served {
    Served::Reply(error_text(e))
}

fn close(code: u16, e: ErrorFrame) -> Served {
    Served::Close {
        code,
        reason: e.message.clone(),
        frame: error_text(e),
    }
}

fn lacks(scope: &str) -> ErrorFrame {
    ErrorFrame::new(
        "FORBIDDEN",
        format!("the token lacks the \"{scope}\" scope"),
    )
}

/// The message of the error frame a host sends when serving a message failed.
pub const FAILED: &str = "the service failed to handle the message";

fn failed() -> ErrorFrame {
    ErrorFrame::new("STORAGE_ERROR", FAILED)
}
