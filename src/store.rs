//! [`EventStore`]: validation, then the storage's atomic append; reads; aggregates.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::append::{Appended, Context};
use crate::group::Group;
use crate::lifecycle::{LifecycleOp, Registry, StreamMetadata};
use crate::notify::Notify;
use crate::read::{self as reads, ReadPage, ReadRequest, Source};

use crate::clock::{now_millis, IdGenerator};
use crate::error::{Error, Result};
use crate::event::{NewEvent, ProposedEvent, RecordedEvent};
use crate::model::{
    AppendResult, ExpectedRevision, Position, Revision, StreamId, MAX_EVENT_TYPE_CHARS,
};
use crate::read::ReadOptions;
use crate::schema::Schema;
use crate::selection::Selection;
use crate::storage::{checkpoint, AppendKind, Mode, PreparedAppend, Storage};
use uuid::Uuid;

/// The default limit of one event's `data` + `metadata` as JSON: 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Options of an [`EventStore`].
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// The size limit of one event's `data` + `metadata` as JSON, in bytes.
    pub max_event_bytes: usize,
    /// The clock, in milliseconds since the Unix epoch: `createdAt` of new events and the
    /// `maxAge` retention use it (tests move time with their own).
    pub now: fn() -> u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            now: now_millis,
        }
    }
}

impl PartialEq for StoreOptions {
    /// Options are equal when their limits are (clocks are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.max_event_bytes == other.max_event_bytes
    }
}

impl Eq for StoreOptions {}

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
    /// The streams a synced store holds (its sync selection): local writes to others are refused.
    selection: RefCell<Selection>,
    /// How many appends this store object wrote (a synced store's status counts them at once).
    written: Cell<u64>,
    group: Group,
    /// The streams whose records hide events at read time (maxAge, maxCount).
    registry: Rc<RefCell<Registry>>,
    /// The event types' current versions (and, for Rust callers, their upcasting steps).
    schema: Option<Rc<Schema>>,
}

/// Who proposes an append: the store's caller, or a device whose push the sync server decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The app: `$` metadata keys are refused and `$schemaVersion` is stamped.
    Caller,
    /// A pushed append: its events are stored as the device stamped them.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    Pushed,
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
            selection: RefCell::new(Selection::all()),
            written: Cell::new(0),
            group: Group::default(),
            registry: Rc::new(RefCell::new(Registry::default())),
            schema: None,
        }
    }

    /// This store with `schema`: appends stamp `metadata.$schemaVersion`, and reads deliver
    /// older events upcast. `INVALID_ARGUMENT` when a step is missing or out of range.
    pub fn with_schema(mut self, schema: Schema) -> Result<Self> {
        schema.validate()?;
        self.schema = Some(Rc::new(schema));
        Ok(self)
    }

    /// The store's schema, if it has one.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_deref()
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
        let append = self.prepare(stream_id, events, expected, None, Origin::Caller)?;
        if self.synced.get() {
            crate::sync::check_pushable(&append)?;
        }
        Ok(self.append_prepared(&append).await?.result())
    }

    /// Runs the append algorithm for a validated append (in a group with the appends issued in
    /// the same tick, where the storage groups them) and tells subscribers.
    pub(crate) async fn append_prepared(&self, append: &PreparedAppend) -> Result<Appended> {
        let ctx = self.context();
        let appended = if self.storage.capabilities().groups_appends {
            let storage = &*self.storage;
            let appended = self
                .group
                .submit(append.clone(), |appends| async move {
                    crate::append::append_group(storage, &appends, ctx).await
                })
                .await;
            self.release_if_closed();
            appended?
        } else {
            crate::append::append(&*self.storage, append, ctx).await?
        };
        if let Appended::Written(result) = appended {
            self.written.set(self.written.get() + 1);
            if matches!(append.kind, AppendKind::Lifecycle { .. }) {
                // The next log read re-reads the stream's record, in its own transaction.
                self.registry.borrow_mut().changed(&append.stream_id);
            }
            self.storage.committed(result.position);
            self.notify.notify();
        }
        Ok(appended)
    }

    /// What the append algorithm needs to know of the store.
    fn context(&self) -> Context {
        Context {
            now: (self.options.now)(),
        }
    }

    /// Validates a lifecycle call on `stream_id` (written as one system event with `id`).
    pub(crate) fn prepare_lifecycle(
        &self,
        stream_id: &str,
        op: LifecycleOp,
        expected: ExpectedRevision,
        id: Uuid,
        created_at: u64,
    ) -> Result<PreparedAppend> {
        let stream_id = StreamId::new(stream_id)?;
        self.check_selected(&stream_id)?;
        if let LifecycleOp::SetMetadata(m) = &op {
            // The metadata must read back as it was given (validated like parsed metadata).
            StreamMetadata::from_json(&m.to_json())?;
            if m.custom.as_ref().is_some_and(|c| !c.is_object()) {
                return Err(Error::invalid("metadata.custom must be a plain object"));
            }
        }
        Ok(PreparedAppend {
            stream_id,
            expected,
            events: Vec::new(),
            created_at,
            kind: AppendKind::Lifecycle { op, id },
        })
    }

    /// Runs a local lifecycle call.
    async fn lifecycle(
        &self,
        stream_id: &str,
        op: LifecycleOp,
        expected: ExpectedRevision,
    ) -> Result<AppendResult> {
        self.check_open()?;
        let now = (self.options.now)();
        let append = self.prepare_lifecycle(stream_id, op, expected, self.ids.next(now), now)?;
        Ok(self.append_prepared(&append).await?.result())
    }

    /// Replaces the metadata of `stream_id` (its retention rules and custom data), if the
    /// metadata's own revision satisfies `expected_metadata_revision`. Writes a `$metadata`
    /// event in `$$<stream_id>` and removes at once what the new rules hide.
    /// `next_expected_revision` is the new metadata revision; `position` the event's.
    ///
    /// ```
    /// use evstore::{EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent, ReadOptions, StreamMetadata};
    /// # futures::executor::block_on(async {
    /// let store = EventStore::new(MemoryStorage::new());
    /// let events = (0..5).map(|n| ProposedEvent::new("Tick", Json::from_value(&n).unwrap())).collect();
    /// store.append("Clock-1", events, ExpectedRevision::NoStream).await?;
    /// let keep_two = StreamMetadata { max_count: Some(2), ..StreamMetadata::default() };
    /// let r = store.set_stream_metadata("Clock-1", keep_two, ExpectedRevision::NoStream).await?;
    /// assert_eq!(r.next_expected_revision, 0); // the first metadata revision
    /// let left = store.read_stream("Clock-1", ReadOptions::forwards()).await?;
    /// assert_eq!(left.iter().map(|e| e.revision).collect::<Vec<_>>(), [3, 4]);
    ///
    /// store.tombstone_stream("Clock-1", ExpectedRevision::Any).await?;
    /// let err = store.read_stream("Clock-1", ReadOptions::forwards()).await.unwrap_err();
    /// assert_eq!(err.code(), "STREAM_DELETED");
    /// # Ok::<(), evstore::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn set_stream_metadata(
        &self,
        stream_id: &str,
        metadata: StreamMetadata,
        expected_metadata_revision: ExpectedRevision,
    ) -> Result<AppendResult> {
        self.lifecycle(
            stream_id,
            LifecycleOp::SetMetadata(metadata),
            expected_metadata_revision,
        )
        .await
    }

    /// The metadata of `stream_id` and its revision (`({}, None)` when never set).
    /// `STREAM_DELETED` when the stream is tombstoned.
    pub async fn get_stream_metadata(
        &self,
        stream_id: &str,
    ) -> Result<(StreamMetadata, Option<Revision>)> {
        self.check_open()?;
        let stream_id = StreamId::new(stream_id)?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        match crate::lifecycle::read_life(&mut *tx, &stream_id).await? {
            None => Ok((StreamMetadata::default(), None)),
            Some(life) if life.tombstoned => Err(Error::StreamDeleted {
                stream_id: stream_id.to_string(),
            }),
            Some(life) => Ok((life.metadata, life.metadata_revision)),
        }
    }

    /// Soft-deletes `stream_id` if `expected` holds: its events are removed, it reads as
    /// empty, and a later append recreates it with revisions continuing after the old last
    /// one.
    pub async fn delete_stream(
        &self,
        stream_id: &str,
        expected: ExpectedRevision,
    ) -> Result<AppendResult> {
        self.lifecycle(stream_id, LifecycleOp::Delete, expected)
            .await
    }

    /// Hard-deletes `stream_id` if `expected` holds: its events are removed, and every later
    /// append, read or metadata change of it fails with `STREAM_DELETED`.
    pub async fn tombstone_stream(
        &self,
        stream_id: &str,
        expected: ExpectedRevision,
    ) -> Result<AppendResult> {
        self.lifecycle(stream_id, LifecycleOp::Tombstone, expected)
            .await
    }

    /// The open-time sweep: removes what the retention rules (`maxCount`, `maxAge`) hide now,
    /// in one write transaction, and loads the registry the reads filter by.
    pub async fn enforce_retention(&self) -> Result<()> {
        self.check_open()?;
        let ctx = self.context();
        let registry = crate::append::sweep(&*self.storage, ctx).await?;
        *self.registry.borrow_mut() = registry;
        Ok(())
    }

    /// Reloads the registry of streams with read-time retention (after a commit that wrote a
    /// lifecycle record: a local call, a sync ingest).
    pub async fn reload_lifecycle(&self) -> Result<()> {
        self.check_open()?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        let registry = Registry::load(&mut *tx).await?;
        *self.registry.borrow_mut() = registry;
        Ok(())
    }

    /// Validates an append and gives each event its final id; `created_at` defaults to now.
    pub(crate) fn prepare(
        &self,
        stream_id: &str,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
        created_at: Option<u64>,
        origin: Origin,
    ) -> Result<PreparedAppend> {
        let stream_id = StreamId::new(stream_id)?;
        self.check_selected(&stream_id)?;
        if events.is_empty() {
            return Err(Error::invalid("events must be a non-empty list"));
        }
        let created_at = created_at.unwrap_or_else(self.options.now);
        let events = events
            .into_iter()
            .enumerate()
            .map(|(index, event)| self.validate_event(index, event, created_at, origin))
            .collect::<Result<Vec<_>>>()?;
        Ok(PreparedAppend {
            stream_id,
            expected,
            events,
            created_at,
            kind: AppendKind::Events,
        })
    }

    fn validate_event(
        &self,
        index: usize,
        mut event: ProposedEvent,
        now: u64,
        origin: Origin,
    ) -> Result<NewEvent> {
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
        if origin == Origin::Caller {
            if let Some(key) = crate::schema::reserved_key(&event.metadata) {
                return Err(Error::invalid(format!(
                    "events[{index}].metadata: key {key:?} is reserved (the store sets \
                     $schemaVersion); leave out $ keys when re-appending a read event"
                )));
            }
            if let Some(stamped) = self
                .schema
                .as_ref()
                .and_then(|s| s.stamp(&event.event_type, &event.metadata))
            {
                event.metadata = stamped;
            }
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
        let page = self.read_stream_page(stream_id, options).await?;
        self.upcast(page.into_events()?)
    }

    /// Reads the global log (`$all`).
    pub async fn read_all(&self, options: ReadOptions) -> Result<Vec<RecordedEvent>> {
        let page = self.read_all_page(options).await?;
        self.upcast(page.into_events()?)
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
        let mut tx = self.storage.begin(Mode::Read).await?;
        let now = (self.options.now)();
        let (page, _) =
            reads::read_stream_in(&mut *tx, &stream_id, options.request(), now, false).await?;
        Ok(page)
    }

    /// [`read_all`](Self::read_all), returning the storage's page as it read it.
    pub async fn read_all_page(&self, options: ReadOptions) -> Result<ReadPage> {
        self.read_all_request(options.request()).await
    }

    /// Reads the global log restricted to the streams `selection` matches (a `$$X` metadata
    /// stream follows `X`): [`read_all`](Self::read_all) without the other streams' events,
    /// with the same positions, options and hiding. `from` and `max_count` count positions and
    /// matching events as `read_all` does.
    ///
    /// ```
    /// use evstore::{EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent, ReadOptions, Selection};
    /// # futures::executor::block_on(async {
    /// let store = EventStore::new(MemoryStorage::new());
    /// for stream in ["List-7", "List-8", "Item-7-1"] {
    ///     let event = ProposedEvent::new("Added", Json::null());
    ///     store.append(stream, vec![event], ExpectedRevision::Any).await?;
    /// }
    /// let selection = Selection::parse(&["List-7", "Item-*"])?;
    /// let events = store.read_all_selected(&selection, ReadOptions::forwards()).await?;
    /// assert_eq!(events.iter().map(|e| e.position).collect::<Vec<_>>(), [0, 2]);
    /// # Ok::<(), evstore::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_all_selected(
        &self,
        selection: &Selection,
        options: ReadOptions,
    ) -> Result<Vec<RecordedEvent>> {
        let page = self.read_all_selected_page(selection, options).await?;
        self.upcast(page.into_events()?)
    }

    /// `events` as the caller reads them: upcast by the store's schema, if it has one.
    fn upcast(&self, mut events: Vec<RecordedEvent>) -> Result<Vec<RecordedEvent>> {
        if let Some(schema) = &self.schema {
            for event in &mut events {
                schema.upcast_event(event)?;
            }
        }
        Ok(events)
    }

    /// [`read_all_selected`](Self::read_all_selected), returning the storage's page as it read
    /// it. `covered` says how far the read looked (positions of other streams included).
    pub async fn read_all_selected_page(
        &self,
        selection: &Selection,
        options: ReadOptions,
    ) -> Result<ReadPage> {
        if selection.is_all() {
            return self.read_all_page(options).await;
        }
        self.read_log_request(Source::Selected(selection), options.request())
            .await
    }

    /// The current revision of `stream_id`, `None` when it has no events (or was
    /// soft-deleted). `STREAM_DELETED` when tombstoned.
    pub async fn stream_revision(&self, stream_id: &str) -> Result<Option<Revision>> {
        self.check_open()?;
        let stream_id = StreamId::new(stream_id)?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        crate::lifecycle::visible_head(&mut *tx, &stream_id).await
    }

    /// The position of the log's last event, `None` when the log is empty.
    pub async fn head_position(&self) -> Result<Option<Position>> {
        self.check_open()?;
        self.storage.begin(Mode::Read).await?.log_head().await
    }

    /// Folds the events of `stream_id` into a state, starting from `initial`.
    ///
    /// `revision` in the result is the revision of the last event folded: the
    /// `ExpectedRevision` for the next append made from this state. With a schema, events are
    /// folded upcast, and an event written by a newer app is `SCHEMA_TOO_NEW` before `evolve`
    /// sees it.
    pub async fn aggregate_stream<T, E>(
        &self,
        stream_id: &str,
        initial: T,
        mut evolve: impl FnMut(T, &RecordedEvent) -> std::result::Result<T, E>,
    ) -> std::result::Result<Aggregate<T>, E>
    where
        E: From<Error>,
    {
        self.check_open()?;
        let stream_id = StreamId::new(stream_id)?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        let now = (self.options.now)();
        let request = ReadOptions::forwards().request();
        let (page, revision) =
            reads::read_stream_in(&mut *tx, &stream_id, request, now, true).await?;
        drop(tx);
        let mut state = initial;
        for mut event in page.into_events()? {
            if let Some(schema) = &self.schema {
                schema.too_new(&event)?;
                schema.upcast_event(&mut event)?;
            }
            state = evolve(state, &event)?;
        }
        Ok(Aggregate { state, revision })
    }

    /// Reads the global log with a resolved request (for subscriptions).
    pub(crate) async fn read_all_request(&self, request: ReadRequest) -> Result<ReadPage> {
        self.read_log_request(Source::Log, request).await
    }

    /// Reads the log (or the selected streams of it) with a resolved request, hiding what the
    /// streams' records hide at read time.
    async fn read_log_request(&self, source: Source<'_>, request: ReadRequest) -> Result<ReadPage> {
        self.check_open()?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        self.read_log_in(&mut *tx, source, request).await
    }

    /// [`read_all_request`](Self::read_all_request) with, for a synced store, its
    /// [`SyncMarks`] read first in the same transaction (a subscription's look at the log: one
    /// transaction, not two). `since`: a generation seen before, for the removed position.
    pub(crate) async fn read_all_marked(
        &self,
        request: ReadRequest,
        since: Option<u64>,
    ) -> Result<(Option<SyncMarks>, ReadPage)> {
        self.check_open()?;
        let mut tx = self.storage.begin(Mode::Read).await?;
        let marks = if self.synced.get() {
            tx.prefetch_meta(&[crate::sync::STATE_KEY]);
            Some(marks_in(&mut *tx, since).await?)
        } else {
            None
        };
        let page = self.read_log_in(&mut *tx, Source::Log, request).await?;
        Ok((marks, page))
    }

    /// [`read_log_request`](Self::read_log_request) in `tx`.
    async fn read_log_in(
        &self,
        tx: &mut dyn crate::storage::Transaction,
        source: Source<'_>,
        request: ReadRequest,
    ) -> Result<ReadPage> {
        Registry::refresh(&self.registry, &mut *tx).await?;
        let registry = self.registry.clone();
        let hiding = !registry.borrow().streams.is_empty();
        let mut counted = registry.borrow().counted();
        if let Source::Selected(selection) = source {
            counted.retain(|s| selection.matches(s.as_str()));
        }
        let heads: std::collections::HashMap<StreamId, Option<Revision>> = if counted.is_empty() {
            Default::default()
        } else {
            let (heads, _) = tx.heads_of(&counted).await?;
            counted.into_iter().zip(heads).collect()
        };
        let now = (self.options.now)();
        let mut keep = |stream: &str, r: Revision, t: u64| {
            let head = heads.get(stream).copied();
            !registry.borrow().hides(stream, r, t, now, head)
        };
        let keep: Option<reads::Hide<'_>> = if hiding { Some(&mut keep) } else { None };
        reads::read_in(&mut *tx, source, request, 0, keep).await
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
            let registry = Rc::downgrade(&self.registry);
            self.storage.watch(Rc::new(move || {
                // Another writer may have changed a stream's lifecycle: reload before reading.
                if let Some(r) = registry.upgrade() {
                    r.borrow_mut().loaded = false;
                }
                if let Some(n) = notify.upgrade() {
                    n.notify();
                }
            }));
        }
    }

    /// How many appends this store object has written so far.
    #[cfg(feature = "sync")]
    pub(crate) fn written(&self) -> u64 {
        self.written.get()
    }

    /// Marks the store as synced with `selection`, the streams it holds: its pending tail can be
    /// rewritten, which subscriptions watch, and local writes to other streams are refused.
    #[cfg(feature = "sync")]
    pub(crate) fn mark_synced(&self, selection: Selection) {
        self.synced.set(true);
        *self.selection.borrow_mut() = selection;
    }

    /// The streams this store holds: its sync selection (every stream when not synced).
    pub fn sync_selection(&self) -> Selection {
        self.selection.borrow().clone()
    }

    /// Refuses a local write to `stream` when the store is synced with a selection that does
    /// not match it (the device never holds that stream).
    fn check_selected(&self, stream: &StreamId) -> Result<()> {
        let selection = self.selection.borrow();
        if selection.matches(stream.as_str()) {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "stream {:?} is outside this store's sync selection {selection}",
            stream.as_str()
        )))
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

/// For a synced store, `(generation, confirmed)` of its sync state — the generation changes
/// whenever the pending tail (the positions after `confirmed`) is rewritten — and the lowest
/// position of the confirmed events removed by ingests since a given generation (sync's
/// lifecycle; `None` when none).
pub(crate) type SyncMarks = ((u64, Option<Position>), Option<Position>);

/// The [`SyncMarks`] read in `tx`, with the removed position since generation `since`.
async fn marks_in(
    tx: &mut dyn crate::storage::Transaction,
    since: Option<u64>,
) -> Result<SyncMarks> {
    Ok(match tx.get_meta(crate::sync::STATE_KEY).await? {
        Some(json) => {
            let removed = match since {
                Some(g) => crate::sync::removed_since(&json, g)?,
                None => None,
            };
            (crate::sync::state_marks(&json)?, removed)
        }
        None => ((0, None), None),
    })
}
