//! Storage decorators for tests, built on the storage seam the way cross-cutting writes (a sync
//! outbox) are: a [`Decorated`] storage wraps another, and its transactions wrap the inner ones.
//! A [`Hook`] sees every primitive call — to inject faults ([`Faults`], as redb's crash tests
//! do), to count reads, or to add its own writes to an append's transaction ([`Recorder`]).

use std::cell::{Cell, RefCell};
use std::ops::RangeInclusive;
use std::rc::Rc;

use evstore::{
    CommitError, Error, Json, Mode, Page, Position, PreparedAppend, RecordedEvent, Result,
    Revision, Storage, StreamId, Transaction, Uuid,
};

/// A primitive of the storage seam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Begin,
    StreamHead,
    LogHead,
    Locate,
    ReadStream,
    ReadLog,
    Put,
    TruncateLog,
    GetMeta,
    ScanMeta,
    PutMeta,
    Commit,
    LoadCheckpoint,
    SaveCheckpoint,
}

/// What a decorator does around the inner storage's primitives.
#[allow(async_fn_in_trait)]
pub trait Hook {
    /// Before each primitive; an error fails that primitive (and the inner one is not called).
    fn before(&self, primitive: Primitive) -> Result<()> {
        let _ = primitive;
        Ok(())
    }

    /// Whether the decorated storage groups appends issued together (group commit).
    fn groups_appends(&self) -> bool {
        false
    }

    /// After each read of the log, with the number of events it returned.
    fn read_log(&self, events: usize) {
        let _ = events;
    }

    /// Inside an append's transaction, after its events were put: the hook's own writes.
    async fn appended<T: Transaction>(
        &self,
        tx: &mut T,
        append: &PreparedAppend,
        events: &[RecordedEvent],
    ) -> Result<()> {
        let _ = (tx, append, events);
        Ok(())
    }
}

/// `inner` with `hook` around every primitive.
pub struct Decorated<S, H> {
    pub inner: S,
    pub hook: H,
}

impl<S, H> Decorated<S, H> {
    pub fn new(inner: S, hook: H) -> Self {
        Decorated { inner, hook }
    }
}

/// A transaction of a [`Decorated`] storage.
pub struct DecoratedTx<'a, T, H> {
    inner: T,
    hook: &'a H,
}

impl<T: Transaction, H: Hook> Transaction for DecoratedTx<'_, T, H> {
    type Page = T::Page;

    async fn stream_head(&mut self, stream: &StreamId) -> Result<Option<Revision>> {
        self.hook.before(Primitive::StreamHead)?;
        self.inner.stream_head(stream).await
    }

    async fn log_head(&mut self) -> Result<Option<Position>> {
        self.hook.before(Primitive::LogHead)?;
        self.inner.log_head().await
    }

    async fn heads_of(
        &mut self,
        streams: &[StreamId],
    ) -> Result<(Vec<Option<Revision>>, Option<Position>)> {
        self.hook.before(Primitive::StreamHead)?;
        self.hook.before(Primitive::LogHead)?;
        self.inner.heads_of(streams).await
    }

    async fn locate(&mut self, ids: &[Uuid]) -> Result<Vec<Option<evstore::StoredLocation>>> {
        self.hook.before(Primitive::Locate)?;
        self.inner.locate(ids).await
    }

    async fn read_stream(
        &mut self,
        stream: &StreamId,
        revisions: RangeInclusive<Revision>,
    ) -> Result<T::Page> {
        self.hook.before(Primitive::ReadStream)?;
        self.inner.read_stream(stream, revisions).await
    }

    async fn read_log(&mut self, positions: RangeInclusive<Position>) -> Result<T::Page> {
        self.hook.before(Primitive::ReadLog)?;
        let page = self.inner.read_log(positions).await?;
        self.hook.read_log(page.len());
        Ok(page)
    }

    async fn put(&mut self, events: &[RecordedEvent]) -> Result<()> {
        self.hook.before(Primitive::Put)?;
        self.inner.put(events).await
    }

    async fn appended(&mut self, append: &PreparedAppend, events: &[RecordedEvent]) -> Result<()> {
        self.inner.appended(append, events).await?;
        self.hook.appended(&mut self.inner, append, events).await
    }

    async fn truncate_log(&mut self, from: Position) -> Result<()> {
        self.hook.before(Primitive::TruncateLog)?;
        self.inner.truncate_log(from).await
    }

    async fn get_meta(&mut self, key: &str) -> Result<Option<Json>> {
        self.hook.before(Primitive::GetMeta)?;
        self.inner.get_meta(key).await
    }

    async fn scan_meta(&mut self, prefix: &str) -> Result<Vec<(String, Json)>> {
        self.hook.before(Primitive::ScanMeta)?;
        self.inner.scan_meta(prefix).await
    }

    async fn put_meta(&mut self, key: &str, value: Option<&Json>) -> Result<()> {
        self.hook.before(Primitive::PutMeta)?;
        self.inner.put_meta(key, value).await
    }

    async fn commit(self) -> std::result::Result<(), CommitError> {
        // A failure here drops the inner transaction uncommitted: it rolls back.
        self.hook.before(Primitive::Commit)?;
        self.inner.commit().await
    }
}

impl<S: Storage, H: Hook> Storage for Decorated<S, H> {
    type Tx<'a>
        = DecoratedTx<'a, S::Tx<'a>, H>
    where
        Self: 'a;

    async fn begin(&self, mode: Mode) -> Result<Self::Tx<'_>> {
        self.hook.before(Primitive::Begin)?;
        Ok(DecoratedTx {
            inner: self.inner.begin(mode).await?,
            hook: &self.hook,
        })
    }

    fn rejects_duplicate_ids(&self) -> bool {
        self.inner.rejects_duplicate_ids()
    }

    fn groups_appends(&self) -> bool {
        self.inner.groups_appends() || self.hook.groups_appends()
    }

    fn reads_own_writes(&self) -> bool {
        self.inner.reads_own_writes()
    }

    fn truncates(&self) -> bool {
        self.inner.truncates()
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        self.hook.before(Primitive::LoadCheckpoint)?;
        self.inner.load_checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        self.hook.before(Primitive::SaveCheckpoint)?;
        self.inner.save_checkpoint(name, position).await
    }

    fn watch(&self, wake: Rc<dyn Fn()>) {
        self.inner.watch(wake)
    }

    fn committed(&self, last_position: Position) {
        self.inner.committed(last_position)
    }

    fn close(&self) {
        self.inner.close()
    }
}

/// Turns group commit on for the decorated storage (memory does not group by itself), and
/// counts the write transactions begun.
#[derive(Default)]
#[allow(dead_code)] // tests/memory.rs only
pub struct Grouping {
    pub writes: Cell<usize>,
}

impl Hook for Grouping {
    fn groups_appends(&self) -> bool {
        true
    }

    fn before(&self, primitive: Primitive) -> Result<()> {
        if primitive == Primitive::Begin {
            self.writes.set(self.writes.get() + 1);
        }
        Ok(())
    }
}

/// Fails one chosen primitive call: the `n`th call from when it was armed, or every call of
/// one kind.
#[derive(Default)]
pub struct Faults {
    countdown: Cell<Option<usize>>,
    kind: Cell<Option<Primitive>>,
    /// How many faults were injected.
    pub injected: Cell<usize>,
}

impl Faults {
    /// Fails the `n`th primitive call from now (0: the next one).
    pub fn fail_nth(&self, n: usize) {
        self.countdown.set(Some(n));
    }

    /// Fails every call of `primitive` until [`Faults::heal`].
    pub fn fail_every(&self, primitive: Primitive) {
        self.kind.set(Some(primitive));
    }

    /// No more faults.
    pub fn heal(&self) {
        self.countdown.set(None);
        self.kind.set(None);
    }
}

impl Hook for Faults {
    fn before(&self, primitive: Primitive) -> Result<()> {
        let hit = match self.countdown.get() {
            Some(0) => {
                self.countdown.set(None);
                true
            }
            Some(n) => {
                self.countdown.set(Some(n - 1));
                false
            }
            None => false,
        } || self.kind.get() == Some(primitive);
        if hit {
            self.injected.set(self.injected.get() + 1);
            return Err(Error::storage(format!("injected fault in {primitive:?}")));
        }
        Ok(())
    }
}

/// Counts the events that reads of the log hand out.
#[allow(dead_code)] // used by one test crate only
#[derive(Default)]
pub struct CountReads {
    pub events: Cell<usize>,
}

impl Hook for CountReads {
    fn read_log(&self, events: usize) {
        self.events.set(self.events.get() + events);
    }
}

/// Records every append in the meta area of the same transaction, as a sync outbox would:
/// under `append/{position of its last event}`, `{"stream":…,"expected":…,"ids":[…]}`.
#[derive(Default)]
pub struct Recorder {
    /// The keys it wrote, in order (including those of transactions that did not commit).
    pub keys: RefCell<Vec<String>>,
}

impl Recorder {
    pub fn key(position: Position) -> String {
        format!("append/{position:020}")
    }
}

impl Hook for Recorder {
    async fn appended<T: Transaction>(
        &self,
        tx: &mut T,
        append: &PreparedAppend,
        events: &[RecordedEvent],
    ) -> Result<()> {
        let last = events.last().expect("an append has events").position;
        let key = Recorder::key(last);
        let record = serde_json::json!({
            "stream": append.stream_id.as_str(),
            "expected": append.expected.to_string(),
            "ids": events.iter().map(|e| e.id.to_string()).collect::<Vec<_>>(),
        });
        tx.put_meta(&key, Some(&Json::from_value(&record)?)).await?;
        self.keys.borrow_mut().push(key);
        Ok(())
    }
}
