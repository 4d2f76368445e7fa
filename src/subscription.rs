//! Subscriptions: catch up from a position, then stay live — driven by reading the log.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::model::{about_of, category_of, Position, StreamId};
use crate::notify::Notify;
use crate::read::{Direction, ReadFrom, ReadRequest};
use crate::schema::Schema;
use crate::storage::BoxedPage;
use crate::store::EventStore;

/// How many events a subscription reads from the log at a time.
const PAGE: u64 = 1024;

/// Where a subscription starts (when no checkpoint is recorded yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscribeFrom {
    /// From the first event of the log.
    #[default]
    Start,
    /// After this position (exclusive).
    After(Position),
    /// Live only: events committed after the subscription started.
    End,
}

/// Which events a subscription delivers. All given conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFilter {
    /// Only events of this stream.
    pub stream_id: Option<StreamId>,
    /// Only events of streams of this category (the part before the first `-`).
    pub category: Option<String>,
    /// Only events of these types.
    pub event_types: Option<Vec<String>>,
}

impl EventFilter {
    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        self.matches_head(event.stream_id.as_str(), &event.event_type)
    }

    /// Whether an event of `stream_id` and `event_type` passes the filter. The stream and
    /// category conditions apply to the stream the event is about ([`about_of`]: `X` for a
    /// `$metadata` event in `$$X`), so lifecycle events reach the subscribers of their stream.
    pub fn matches_head(&self, stream_id: &str, event_type: &str) -> bool {
        let about = about_of(stream_id);
        self.stream_id.as_ref().is_none_or(|s| s.as_str() == about)
            && self
                .category
                .as_deref()
                .is_none_or(|c| category_of(about) == c)
            && self
                .event_types
                .as_ref()
                .is_none_or(|types| types.iter().any(|t| t == event_type))
    }

    /// Whether every event passes (no condition given).
    pub fn is_all(&self) -> bool {
        self.stream_id.is_none() && self.category.is_none() && self.event_types.is_none()
    }
}

/// Options of [`EventStore::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeOptions {
    /// Where to start when no checkpoint is recorded.
    pub from: SubscribeFrom,
    /// Which events to deliver.
    pub filter: EventFilter,
    /// A name under which the store records the position of each handled event; a later
    /// subscription with the same name resumes after it (and ignores `from`).
    pub checkpoint: Option<String>,
}

impl SubscribeOptions {
    /// Checks the options (the stream id of the filter is valid by its type): a checkpoint name
    /// and a category must not be empty, and an event-type list must name at least one type.
    pub fn validate(&self) -> Result<()> {
        if self.checkpoint.as_deref() == Some("") {
            return Err(Error::invalid("checkpoint must be a non-empty name"));
        }
        if self.filter.category.as_deref() == Some("") {
            return Err(Error::invalid("category must not be empty"));
        }
        if self
            .filter
            .event_types
            .as_ref()
            .is_some_and(|t| t.is_empty() || t.iter().any(String::is_empty))
        {
            return Err(Error::invalid(
                "eventTypes must be a non-empty list of non-empty types",
            ));
        }
        Ok(())
    }
}

/// What a subscription hands out: the core's [`RecordedEvent`], or a host's own form of one
/// taken straight from the storage's page (the JS bindings keep stored records as they are, so
/// their payloads never cross into wasm). See [`FromPage`].
pub trait Delivered {
    /// Its position in the log.
    fn position(&self) -> Position;
}

/// How a storage's page becomes what a subscription hands out.
pub trait FromPage: Delivered + Sized {
    /// The events of `page` (ascending) that pass `filter`, upcast by `schema` where the form
    /// has data to upcast, and the position of the page's last event, whether it passes or not.
    fn select(
        page: BoxedPage,
        filter: &EventFilter,
        schema: Option<&Schema>,
    ) -> Result<(Vec<Self>, Option<Position>)>;
}

impl Delivered for RecordedEvent {
    fn position(&self) -> Position {
        self.position
    }
}

impl FromPage for RecordedEvent {
    fn select(
        page: BoxedPage,
        filter: &EventFilter,
        schema: Option<&Schema>,
    ) -> Result<(Vec<Self>, Option<Position>)> {
        let mut events = page.into_events()?;
        let last = events.last().map(|e| e.position);
        events.retain(|e| filter.matches(e));
        if let Some(schema) = schema {
            for event in &mut events {
                schema.upcast_event(event)?;
            }
        }
        Ok((events, last))
    }
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionMessage<E = RecordedEvent> {
    /// The next event, in position order.
    Event(E),
    /// The backlog has been delivered; what follows is live. Sent once.
    CaughtUp,
    /// Synced stores only: sync rewrote the log after `after` (`None`: all of it) — pending
    /// events were confirmed at other positions, rebased or discarded. Events after `after`
    /// that were delivered are void; they are delivered again as they are now.
    Rebase {
        /// The last position that still holds what was delivered.
        after: Option<Position>,
    },
}

/// A batch of what a subscription yields (see [`Subscription::next_batch`]).
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionBatch<E = RecordedEvent> {
    /// The next events, in position order.
    Events(Vec<E>),
    /// The backlog has been delivered; what follows is live. Sent once.
    CaughtUp,
    /// See [`SubscriptionMessage::Rebase`].
    Rebase {
        /// The last position that still holds what was delivered.
        after: Option<Position>,
    },
}

/// What [`Subscription::ready`] found.
enum Ready {
    Events,
    CaughtUp,
    Rebase(Option<Position>),
}

/// Cancels a subscription from anywhere (a clonable handle).
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    shared: Rc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cancelled: Cell<bool>,
    waiter: u64,
    notify: Rc<Notify>,
}

impl Unsubscribe {
    /// Stops the subscription: it yields nothing more, and a pending `next` returns `None`.
    pub fn unsubscribe(&self) {
        self.shared.cancelled.set(true);
        self.shared.notify.release(self.shared.waiter);
    }

    /// Whether [`unsubscribe`](Self::unsubscribe) was called.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.get()
    }
}

/// A catch-up subscription: the stored events after its start, then new events as they are
/// committed, in position order, with no gap and no duplicate.
///
/// Delivery is driven by reading the log from the subscription's own position; wake-ups only
/// say that there may be more. A slow consumer falls behind and catches up; it never blocks
/// writers. With a checkpoint, an event counts as handled when the consumer asks for what comes
/// after it (or calls [`Subscription::handled`]), and its position is then recorded: the
/// guarantee is at-least-once (an event whose checkpoint was not yet written when the page died
/// is delivered again after the reload).
///
/// ```
/// use std::rc::Rc;
/// use evstore::{EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent, SubscribeOptions, SubscriptionMessage};
/// # futures::executor::block_on(async {
/// let store = Rc::new(EventStore::new(MemoryStorage::new()));
/// store.append("Order-1", vec![ProposedEvent::new("Placed", Json::null())], ExpectedRevision::Any).await?;
/// let mut sub = store.subscribe(SubscribeOptions::default()).await?;
/// assert!(matches!(sub.next().await, Some(Ok(SubscriptionMessage::Event(e))) if e.position == 0));
/// assert!(matches!(sub.next().await, Some(Ok(SubscriptionMessage::CaughtUp))));
/// store.append("Order-1", vec![ProposedEvent::new("Shipped", Json::null())], ExpectedRevision::Any).await?;
/// assert!(matches!(sub.next().await, Some(Ok(SubscriptionMessage::Event(e))) if e.position == 1));
/// # Ok::<(), evstore::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Subscription<E = RecordedEvent> {
    store: Rc<EventStore>,
    filter: EventFilter,
    checkpoint: Option<String>,
    /// Where the next read of the log starts.
    scan: Position,
    buffer: VecDeque<E>,
    /// The position of the last event handed out, whose checkpoint is not yet recorded.
    unrecorded: Option<Position>,
    caught_up: bool,
    /// The last position handed out.
    delivered: Option<Position>,
    /// Synced stores: the sync state's `(generation, confirmed)` as last read.
    sync_seen: Option<(u64, Option<Position>)>,
    shared: Rc<Shared>,
}

impl EventStore {
    /// Starts a subscription. Resolves where it starts (the recorded checkpoint, else
    /// `options.from`; `End` is the log's head now) before returning, so an append that starts
    /// after this returns is delivered.
    pub async fn subscribe(self: &Rc<Self>, options: SubscribeOptions) -> Result<Subscription> {
        self.subscribe_as(options).await
    }

    /// [`subscribe`](Self::subscribe), handing out events as `E` takes them from the storage's
    /// pages (a host's own form of an event; see [`FromPage`]).
    pub async fn subscribe_as<E>(
        self: &Rc<Self>,
        options: SubscribeOptions,
    ) -> Result<Subscription<E>> {
        self.check_open()?;
        options.validate()?;
        self.watch_other_writers();
        let recorded = match &options.checkpoint {
            Some(name) => self.load_checkpoint(name).await?,
            None => None,
        };
        let scan = match (recorded, options.from) {
            (Some(p), _) | (None, SubscribeFrom::After(p)) => p + 1,
            (None, SubscribeFrom::Start) => 0,
            (None, SubscribeFrom::End) => self.head_position().await?.map_or(0, |p| p + 1),
        };
        let notify = self.notify().clone();
        Ok(Subscription {
            store: self.clone(),
            filter: options.filter,
            checkpoint: options.checkpoint,
            scan,
            buffer: VecDeque::new(),
            unrecorded: None,
            caught_up: false,
            delivered: None,
            sync_seen: None,
            shared: Rc::new(Shared {
                cancelled: Cell::new(false),
                waiter: notify.register(),
                notify,
            }),
        })
    }
}

impl<E: FromPage> Subscription<E> {
    /// A handle that cancels this subscription.
    pub fn unsubscriber(&self) -> Unsubscribe {
        Unsubscribe {
            shared: self.shared.clone(),
        }
    }

    /// This subscription as a [`Stream`](futures_util::Stream) of messages (ends when
    /// unsubscribed, or after an error). Taking the next item records the checkpoint of the
    /// previous event, as [`Subscription::next`] does.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<SubscriptionMessage<E>>> {
        futures_util::stream::unfold((self, false), |(mut sub, failed)| async move {
            if failed {
                return None;
            }
            let message = sub.next().await?;
            let failed = message.is_err();
            Some((message, (sub, failed)))
        })
    }

    /// The next event (or the one-time `CaughtUp`); waits for new events once caught up.
    /// `None` once unsubscribed. Asking for the next message records the checkpoint of the
    /// previous event (the consumer is done with it).
    pub async fn next(&mut self) -> Option<Result<SubscriptionMessage<E>>> {
        Some(match self.ready().await? {
            Ok(Ready::Events) => {
                let event = self.buffer.pop_front()?;
                self.unrecorded = Some(event.position());
                self.delivered = Some(event.position());
                Ok(SubscriptionMessage::Event(event))
            }
            Ok(Ready::CaughtUp) => Ok(SubscriptionMessage::CaughtUp),
            Ok(Ready::Rebase(after)) => Ok(SubscriptionMessage::Rebase { after }),
            Err(e) => Err(e),
        })
    }

    /// Every buffered event at once (at least one), or the one-time `CaughtUp`; waits for new
    /// events once caught up. `None` once unsubscribed. The consumer reports each handled event
    /// with [`Subscription::handled`] (which records checkpoints).
    pub async fn next_batch(&mut self) -> Option<Result<SubscriptionBatch<E>>> {
        Some(match self.ready().await? {
            Ok(Ready::Events) => {
                self.delivered = self.buffer.back().map(Delivered::position);
                Ok(SubscriptionBatch::Events(self.buffer.drain(..).collect()))
            }
            Ok(Ready::CaughtUp) => Ok(SubscriptionBatch::CaughtUp),
            Ok(Ready::Rebase(after)) => Ok(SubscriptionBatch::Rebase { after }),
            Err(e) => Err(e),
        })
    }

    /// Records the previous event's checkpoint, then makes events ready (in the buffer), or
    /// finds the one-time `CaughtUp` or a rebase; `None` once cancelled.
    async fn ready(&mut self) -> Option<Result<Ready>> {
        if let Err(e) = self.record_handled().await {
            return Some(Err(e));
        }
        if self.shared.cancelled.get() {
            return None;
        }
        if !self.buffer.is_empty() {
            return Some(Ok(Ready::Events));
        }
        self.fill().await
    }

    /// Records that the event at `position` was handled (with a checkpoint, its position is
    /// written before this returns).
    pub async fn handled(&mut self, position: Position) -> Result<()> {
        self.unrecorded = Some(position);
        self.record_handled().await
    }

    /// Saves the checkpoint. On a synced store it never records a position of the pending tail
    /// (which sync may rewrite): at most the confirmed position last seen. Once the store is
    /// closed it records nothing (`CLOSED`: the event is delivered again after a reopen).
    async fn record_handled(&mut self) -> Result<()> {
        if let (Some(mut position), Some(name)) = (self.unrecorded.take(), &self.checkpoint) {
            self.store.check_open()?;
            if let Some((_, confirmed)) = self.sync_seen {
                match confirmed {
                    Some(c) => position = position.min(c),
                    None => return Ok(()),
                }
            }
            self.store.save_checkpoint(name, position).await?;
        }
        Ok(())
    }

    /// On a synced store, notices a rewrite of the pending tail since the last look (`marks`,
    /// read with the page that follows: see [`EventStore::read_all_marked`]): events at or after
    /// the first position that may have changed are to be read again (`Err(None)`: the page
    /// read with the marks is void), and if some of them were delivered, the consumer is told
    /// first (`Err(Some(after))`). `Ok`: the page holds.
    fn check_rewrite(
        &mut self,
        marks: Option<crate::store::SyncMarks>,
    ) -> std::result::Result<(), Option<Option<Position>>> {
        let Some((now, removed)) = marks else {
            return Ok(());
        };
        let seen = self.sync_seen.replace(now);
        let Some((generation, confirmed)) = seen else {
            return Ok(());
        };
        if generation == now.0 {
            return Ok(());
        }
        // Every rewrite since then started after the confirmed prefix as it was then (the
        // prefix only grows), so everything before it is as delivered — but for confirmed
        // events a lifecycle event removed since (sync's ingest).
        let keep = match (confirmed, now.1) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
        let keep = match removed {
            Some(p) => keep.min(p.checked_sub(1)),
            None => keep,
        };
        let rewind = keep.map_or(0, |p| p + 1);
        self.buffer.retain(|e| e.position() < rewind);
        self.scan = self.scan.min(rewind);
        if self.delivered.is_some_and(|d| d >= rewind) {
            self.delivered = keep;
            return Err(Some(keep));
        }
        Err(None)
    }

    /// Reads until the buffer holds events, or, at the end of the log, finds `CaughtUp` once
    /// and then waits for wake-ups. `None`: cancelled.
    async fn fill(&mut self) -> Option<Result<Ready>> {
        loop {
            if self.shared.cancelled.get() {
                return None;
            }
            let notify = self.store.notify().clone();
            let generation = notify.generation();
            let request = ReadRequest {
                from: ReadFrom::At(self.scan),
                direction: Direction::Forwards,
                max_count: PAGE,
            };
            // The sync state (a synced store) and the page, in one transaction.
            let since = self.sync_seen.map(|(generation, _)| generation);
            let (marks, page) = match self.store.read_all_marked(request, since).await {
                Ok(read) => read,
                Err(e) => return Some(Err(e)),
            };
            if self.shared.cancelled.get() {
                return None;
            }
            match self.check_rewrite(marks) {
                Ok(()) => {}
                Err(Some(after)) => return Some(Ok(Ready::Rebase(after))),
                Err(None) => continue, // read again from where the rewrite starts
            }
            let (page, covered) = (page.page, page.covered);
            // The read skips holes (removed events) until it has a page or passes the log's
            // head: a short page is the end, a window full of holes is not.
            let read = page.as_ref().map_or(0, |p| p.len());
            let at_end = (read as u64) < PAGE;
            if let Some(covered) = covered {
                self.scan = self.scan.max(covered + 1);
            }
            if let Some(page) = page {
                match E::select(page, &self.filter, self.store.schema()) {
                    Ok((events, last)) => {
                        if let Some(last) = last {
                            self.scan = self.scan.max(last + 1);
                        }
                        self.buffer.extend(events);
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            if !self.buffer.is_empty() {
                return Some(Ok(Ready::Events));
            }
            if !at_end {
                continue;
            }
            if !self.caught_up {
                self.caught_up = true;
                return Some(Ok(Ready::CaughtUp));
            }
            let shared = self.shared.clone();
            let stop = move || shared.cancelled.get();
            notify.changed(self.shared.waiter, generation, &stop).await;
        }
    }
}

impl<E> Drop for Subscription<E> {
    fn drop(&mut self) {
        self.shared.notify.release(self.shared.waiter);
    }
}
