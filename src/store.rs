//! [`EventStore`]: validation, then the storage's atomic append; reads; aggregates.

use std::cell::Cell;
use std::rc::Rc;

use crate::append::Appended;
use crate::group::Group;
use crate::notify::Notify;
use crate::read::{self as reads, ReadPage, ReadRequest};

use crate::clock::{now_millis, IdGenerator};
use crate::error::{Error, Result};
use crate::event::{NewEvent, ProposedEvent, RecordedEvent};
use crate::model::{
    AppendResult, ExpectedRevision, Position, Revision, StreamId, MAX_EVENT_TYPE_CHARS,
};
use crate::read::ReadOptions;
use crate::storage::{checkpoint, Mode, PreparedAppend, Storage};

/// The default limit of one event's `data` + `metadata` as JSON: 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Options of an [`EventStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// The size limit of one event's `data` + `metadata` as JSON, in bytes.
    pub max_event_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// A stream's state folded from its events, with the revision it reflects.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate<T> {
    /// The folded state.
    pub state: T,
    /// The stream's current revision (`None`: no events): the next append's expected revision.
    pub revision: Option<Revision>,
}

/// An event store over a [`Storage`] (any storage: the store holds it as `Rc<dyn Storage>`).
///
/// Every method takes `&self` and holds no borrow across an `.await`, so concurrent calls (and
/// handlers that call back into the store) are safe.
pub struct EventStore {
    storage: Rc<dyn Storage>,
    options: StoreOptions,
    ids: IdGenerator,
    closed: Cell<bool>,
    /// The storage was released (after `close`, once the in-flight appends finished).
    released: Cell<bool>,
    notify: Rc<Notify>,
    watching: Cell<bool>,
    synced: Cell<bool>,
    /// How many appends this store object wrote (a synced store's status counts them at once).
    written: Cell<u64>,
    group: Group,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("options", &self.options)
            .field("closed", &self.closed.get())
            .finish_non_exhaustive()
    }
}

impl EventStore {
    /// A store over `storage` with default options.
    pub fn new(storage: impl Storage + 'static) -> Self {
        Self::with_options(storage, StoreOptions::default())
    }

    /// A store over `storage` with `options`.
    pub fn with_options(storage: impl Storage + 'static, options: StoreOptions) -> Self {
        Self::over(Rc::new(storage), options)
    }

    /// A store over a shared `storage` (several stores, or one reopened, over the same data).
    pub fn over(storage: Rc<dyn Storage>, options: StoreOptions) -> Self {
        EventStore {
            storage,
            options,
            ids: IdGenerator::new(),
            closed: Cell::new(false),
            released: Cell::new(false),
            notify: Rc::new(Notify::default()),
            watching: Cell::new(false),
            synced: Cell::new(false),
            written: Cell::new(0),
            group: Group::default(),
        }
    }

    /// The storage underneath.
    pub fn storage(&self) -> &Rc<dyn Storage> {
        &self.storage
    }

    /// The store's options.
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    /// Appends `events` to `stream_id` atomically, if `expected` holds (see the contract's
    /// idempotency rules for events with ids that are already stored).
    pub async fn append(
        &self,
        stream_id: &str,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
    ) -> Result<AppendResult> {
        self.check_open()?;
        let append = self.prepare(stream_id, events, expected, None)?;
        if self.synced.get() {
            crate::sync::check_pushable(&append)?;
        }
        Ok(self.append_prepared(&append).await?.result())
    }

    /// Runs the append algorithm for a validated append (in a group with the appends issued in
    /// the same tick, where the storage groups them) and tells subscribers.
    pub(crate) async fn append_prepared(&self, append: &PreparedAppend) -> Result<Appended> {
        let appended = if self.storage.capabilities().groups_appends {
            let storage = &*self.storage;
            let appended = self
                .group
                .submit(append.clone(), |appends| async move {
                    crate::append::append_group(storage, &appends).await
                })
                .await;
            self.release_if_closed();
            appended?
        } else {
            crate::append::append(&*self.storage, append).await?
        };
        if let Appended::Written(result) = appended {
            self.written.set(self.written.get() + 1);
            self.storage.committed(result.position);
            self.notify.notify();
        }
        Ok(appended)
    }

    /// Validates an append and gives each event its final id; `created_at` defaults to now.
    pub(crate) fn prepare(
        &self,
        stream_id: &str,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
        created_at: Option<u64>,
    ) -> Result<PreparedAppend> {
        let stream_id = StreamId::new(stream_id)?;
        if events.is_empty() {
            return Err(Error::invalid("events must be a non-empty list"));
        }
        let created_at = created_at.unwrap_or_else(now_millis);
        let events = events
            .into_iter()
            .enumerate()
            .map(|(index, event)| self.validate_event(index, event, created_at))
            .collect::<Result<Vec<_>>>()?;
        Ok(PreparedAppend {
            stream_id,
            expected,
            events,
            created_at,
        })
    }

    fn validate_event(&self, index: usize, event: ProposedEvent, now: u64) -> Result<NewEvent> {
        if event.event_type.is_empty() {
            return Err(Error::invalid(format!(
                "events[{index}].type must be a non-empty string"
            )));
        }
        if event.event_type.len() > MAX_EVENT_TYPE_CHARS
            && event.event_type.chars().count() > MAX_EVENT_TYPE_CHARS
        {
            return Err(Error::invalid(format!(
                "events[{index}].type is longer than {MAX_EVENT_TYPE_CHARS} characters"
            )));
        }
        if !event.metadata.is_object() {
            return Err(Error::invalid(format!(
                "events[{index}].metadata must be an object"
            )));
        }
        let size = event.data.byte_len() + event.metadata.byte_len();
        if size > self.options.max_event_bytes {
            return Err(Error::EventTooLarge {
                event_index: index,
                size,
                max: self.options.max_event_bytes,
            });
        }
        Ok(NewEvent {
            id: event.id.unwrap_or_else(|| self.ids.next(now)),
            event_type: Rc::from(event.event_type),
            data: event.data,
            metadata: event.metadata,
        })
    }

    /// Reads the events of `stream_id` (empty when it has none).
    pub async fn read_stream(
        &self,
        stream_id: &str,
        options: ReadOptions,
    ) -> Result<Vec<RecordedEvent>> {
        self.read_stream_page(stream_id, options)
            .await?
            .into_events()
    }

    /// Reads the global log (`$all`).
    pub async fn read_all(&self, options: ReadOptions) -> Result<Vec<RecordedEvent>> {
        self.read_all_page(options).await?.into_events()
    }

    /// [`read_stream`](Self::read_stream), returning the storage's page as it read it (hosts
    /// that build their own objects from stored records use this).
    pub async fn read_stream_page(
        &self,
        stream_id: &str,
        options: ReadOptions,
    ) -> Result<ReadPage> {
        self.check_open()?;
        let stream_id = StreamId::new(stream_id)?;
        reads::read(&*self.storage, Some(&stream_id), options.request()).await
    }

    /// [`read_all`](Self::read_all), returning the storage's page as it read it.
    pub async fn read_all_page(&self, options: ReadOptions) -> Result<ReadPage> {
        self.check_open()?;
        reads::read(&*self.storage, None, options.request()).await
    }

    /// The current revision of `stream_id`, `None` when it has no events.
    pub async fn stream_revision(&self, stream_id: &str) -> Result<Option<Revision>> {
        self.check_open()?;
        let stream_id = StreamId::new(stream_id)?;
        self.storage
            .begin(Mode::Read)
            .await?
            .stream_head(&stream_id)
            .await
    }

    /// The position of the log's last event, `None` when the log is empty.
    pub async fn head_position(&self) -> Result<Option<Position>> {
        self.check_open()?;
        self.storage.begin(Mode::Read).await?.log_head().await
    }

    /// Folds the events of `stream_id` into a state, starting from `initial`.
    ///
    /// `revision` in the result is the revision of the last event folded: the
    /// `ExpectedRevision` for the next append made from this state.
    pub async fn aggregate_stream<T, E>(
        &self,
        stream_id: &str,
        initial: T,
        mut evolve: impl FnMut(T, &RecordedEvent) -> std::result::Result<T, E>,
    ) -> std::result::Result<Aggregate<T>, E>
    where
        E: From<Error>,
    {
        let events = self.read_stream(stream_id, ReadOptions::forwards()).await?;
        let revision = events.last().map(|e| e.revision);
        let mut state = initial;
        for event in &events {
            state = evolve(state, event)?;
        }
        Ok(Aggregate { state, revision })
    }

    /// Reads the global log with a resolved request (for subscriptions).
    pub(crate) async fn read_all_request(&self, request: ReadRequest) -> Result<ReadPage> {
        self.check_open()?;
        reads::read(&*self.storage, None, request).await
    }

    /// The position recorded under the checkpoint `name`, if any.
    pub async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        self.check_open()?;
        checkpoint::load(&*self.storage, name).await
    }

    /// Records `position` under the checkpoint `name`, durably as the storage allows.
    pub async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        self.check_open()?;
        checkpoint::save(&*self.storage, name, position).await
    }

    /// The wake-ups of this store's subscriptions.
    pub(crate) fn notify(&self) -> &Rc<Notify> {
        &self.notify
    }

    /// Has the storage wake this store's subscriptions when other writers (tabs, workers)
    /// append; done once, when the first subscription starts.
    pub(crate) fn watch_other_writers(&self) {
        if !self.watching.replace(true) {
            let notify = Rc::downgrade(&self.notify);
            self.storage.watch(Rc::new(move || {
                if let Some(n) = notify.upgrade() {
                    n.notify();
                }
            }));
        }
    }

    /// How many appends this store object has written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.get()
    }

    /// Marks the store as synced: its pending tail can be rewritten, which subscriptions watch.
    pub(crate) fn mark_synced(&self) {
        self.synced.set(true);
    }

    /// For a synced store, `(generation, confirmed)` of its sync state: the generation changes
    /// whenever the pending tail (the positions after `confirmed`) is rewritten.
    pub(crate) async fn sync_marks(&self) -> Result<Option<(u64, Option<Position>)>> {
        if !self.synced.get() {
            return Ok(None);
        }
        self.check_open()?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        let state = match tx.get_meta(crate::sync::STATE_KEY).await? {
            Some(json) => crate::sync::state_marks(&json)?,
            None => (0, None),
        };
        Ok(Some(state))
    }

    /// Closes the store: every later call fails with `CLOSED`, and subscriptions end. Appends
    /// already accepted (issued before, still in a group commit) finish first; then the storage
    /// is released.
    pub fn close(&self) {
        if !self.closed.replace(true) {
            self.release_if_closed();
            self.notify.notify();
        }
    }

    /// Releases the storage once the store is closed and no append is in flight.
    fn release_if_closed(&self) {
        if self.closed.get() && self.group.is_idle() && !self.released.replace(true) {
            self.storage.close();
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }
}
