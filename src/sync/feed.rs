//! The server's side of one connection's feed: the pull/live half of sync, sans-I/O. A host
//! keeps a [`Feed`] per connection, answers a pull with [`EventStore::start_pull`], then sends
//! [`EventStore::next_frame`] until it has nothing more (pacing its sends as it likes), and does
//! the same for every live feed after each commit.

use super::protocol::ServerMessage;
use super::wire::wire_size;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::model::Position;
use crate::read::{ReadFrom, ReadOptions};
use crate::selection::Selection;
use crate::storage::Mode;
use crate::store::EventStore;

/// The most events one `events` frame carries.
pub const FRAME_EVENTS: u64 = 1000;

/// An `events` frame stops after the event that takes it past this many bytes (so one large
/// event still goes out, alone).
pub const FRAME_BYTES: usize = 500 * 1000;

/// How large an `events` frame may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// The most events one frame carries.
    pub events: u64,
    /// A frame stops after the event that takes it past this many bytes.
    pub bytes: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            events: FRAME_EVENTS,
            bytes: FRAME_BYTES,
        }
    }
}

/// Where one connection's feed stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Feed {
    /// The last position sent (`None`: nothing yet).
    pub cursor: Option<Position>,
    /// The backlog has been sent (`CaughtUp`): committed events follow as they come.
    pub live: bool,
    /// The streams this feed sends: the pull's selection within the token's (every stream
    /// until a pull says otherwise).
    pub selection: Selection,
}

/// A pull, as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The last position the client holds.
    pub after: Option<Position>,
    /// The id of the client's last event at or before `after` (`None`: it holds none).
    pub after_id: Option<uuid::Uuid>,
    /// The position of the `after_id` event in the client's log (`None`: `after`).
    pub after_id_at: Option<Position>,
    /// The log the client synced with.
    pub epoch: Option<String>,
    /// The streams the client selects (`None`: every stream).
    pub streams: Option<Selection>,
}

impl EventStore {
    /// Answers a pull on `feed`, for the server log `epoch`, from a token that may read `token`'s
    /// streams: `Some(Behind)` when the client holds another log (another epoch, a position past
    /// the head, or another event at `after`: a log restored from an earlier copy); else `None`,
    /// with the feed restarted from `after` on the pull's streams within the token's — the host
    /// then sends [`next_frame`](Self::next_frame) until it has nothing more.
    ///
    /// The pull's `after_id` counts as this log's only when its event is in a stream the feed
    /// selects: an id of another stream is refused like an unknown one (probing reveals nothing).
    pub async fn start_pull(
        &self,
        feed: &mut Feed,
        epoch: &str,
        pull: &PullRequest,
        token: &Selection,
    ) -> Result<Option<ServerMessage>> {
        let selection = pull
            .streams
            .as_ref()
            .map_or_else(|| token.clone(), |s| s.intersect(token));
        let other_log = pull.epoch.as_deref().is_some_and(|e| e != epoch);
        let diverged = match pull.after {
            Some(at) => {
                // The client's last event at or before `after` must be this log's, at the same
                // position (a removed event's id stays known, at its position).
                let mut tx = self.storage().begin(Mode::Read).await?;
                let head = tx.log_head().await?;
                let theirs = match pull.after_id {
                    Some(id) => tx.locate(&[id]).await?.pop().flatten(),
                    None => None,
                };
                drop(tx);
                let expected_at = pull.after_id_at.unwrap_or(at);
                let known = pull.after_id.is_none()
                    || (expected_at <= at
                        && theirs.is_some_and(|l| {
                            l.position == expected_at && selection.matches(l.stream_id.as_str())
                        }));
                head.is_none_or(|h| at > h) || !known
            }
            None => false,
        };
        if other_log || diverged {
            return Ok(Some(ServerMessage::Behind {
                head: self.head_position().await?,
                epoch: epoch.to_owned(),
                refused: (pull.after, pull.epoch.clone()),
            }));
        }
        *feed = Feed {
            cursor: pull.after,
            live: false,
            selection,
        };
        Ok(None)
    }

    /// The next message of `feed` for a token that may read `token`'s streams: the events of the
    /// feed's streams after its cursor (one bounded frame, with the log's positions: other
    /// streams' events are holes in it); once none is left while catching up, one empty frame up
    /// to the log's head when the cursor is below it, then `CaughtUp` (naming the streams served),
    /// after which the feed is live; `None` when there is nothing to send. No frame ever holds an
    /// event of a stream outside the feed's selection or the token's.
    pub async fn next_frame(
        &self,
        feed: &mut Feed,
        epoch: &str,
        limits: FrameLimits,
        token: &Selection,
    ) -> Result<Option<ServerMessage>> {
        let (frame, _) = self.next_frame_more(feed, epoch, limits, token).await?;
        Ok(frame)
    }

    /// [`next_frame`](Self::next_frame), and whether another call may give a frame now: false
    /// once a live feed has read the log to its head (its frame holds every event left, or there
    /// is none), so that a host fanning out a commit stops without reading the log once more. A
    /// later commit has events again: the host calls after every commit, as before.
    pub async fn next_frame_more(
        &self,
        feed: &mut Feed,
        epoch: &str,
        limits: FrameLimits,
        token: &Selection,
    ) -> Result<(Option<ServerMessage>, bool)> {
        let selection = feed.selection.intersect(token);
        // The head is read before the events: when none matches after the cursor, none matches
        // up to this head either (a later commit may pass it, never fill it in).
        let head = if feed.live {
            None
        } else {
            self.head_position().await?
        };
        let from = feed.cursor.map_or(0, |p| p + 1);
        let options = ReadOptions::forwards()
            .from(ReadFrom::At(from))
            .max_count(limits.events);
        // The stored form travels: never the schema's upcast form.
        let read = self
            .read_all_selected_page(&selection, options)
            .await?
            .into_events()?;
        // A forward read stops short of `max_count` only at the log's head (its windows go on
        // until they hold enough events or pass the head).
        let read_to_head = (read.len() as u64) < limits.events;
        let after = feed.cursor;
        let Some(last_read) = read.last().map(|e| e.position) else {
            if feed.live {
                return Ok((None, false));
            }
            if let Some(head) = head.filter(|h| after.is_none_or(|c| c < *h)) {
                // The rest of the log holds no event of the feed: the client's confirmed prefix
                // reaches the head all the same.
                feed.cursor = Some(head);
                let frame = ServerMessage::Events {
                    events: Vec::new(),
                    epoch: Some(epoch.to_owned()),
                    after,
                    through: head,
                };
                return Ok((Some(frame), true));
            }
            // Live from here: what was committed during the catch-up follows.
            feed.live = true;
            let frame = ServerMessage::CaughtUp {
                head: feed.cursor,
                epoch: epoch.to_owned(),
                streams: Some(selection),
            };
            return Ok((Some(frame), true));
        };
        // Defence in depth: whatever the read gave, only the selection's events leave.
        let mut events: Vec<RecordedEvent> = read
            .into_iter()
            .filter(|e| selection.matches(e.stream_id.as_str()))
            .collect();
        let keep = frame_len(&events, limits.bytes);
        // A frame covers the holes before its first event and ends with its last event: a hole
        // at the head of the log is covered by the next frame, with the event after it.
        let through = if keep < events.len() {
            events[keep - 1].position
        } else {
            last_read
        };
        let more = !(feed.live && read_to_head && keep == events.len());
        events.truncate(keep);
        feed.cursor = Some(through);
        let frame = ServerMessage::Events {
            events,
            epoch: Some(epoch.to_owned()),
            after,
            through,
        };
        Ok((Some(frame), more))
    }
}

/// How many of `events` one frame takes: up to the one that passes `max_bytes`.
fn frame_len(events: &[RecordedEvent], max_bytes: usize) -> usize {
    let mut bytes = 0;
    for (i, e) in events.iter().enumerate() {
        bytes += wire_size(e);
        if bytes >= max_bytes {
            return i + 1;
        }
    }
    events.len()
}
