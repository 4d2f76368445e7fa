//! [`Layered`]: a [`Hook`] around any storage — the one place that forwards the seam's
//! primitives, so a cross-cutting write (the sync outbox) or a test's instrumentation (faults,
//! counters) is written as just what it changes.

use std::cell::Cell;
use std::rc::Rc;

use uuid::Uuid;

use super::{
    Appending, BoxedPage, BoxedTx, Capabilities, Committing, HeadsOf, Io, Mode, Positions, Removal,
    Revisions, Storage, Transaction,
};
use crate::decision::StoredLocation;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::json::Json;
use crate::model::{Position, Revision, StreamId};
use crate::read::Direction;
use crate::selection::Selection;

/// A primitive of the storage seam, as a [`Hook`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    /// [`Storage::begin`].
    Begin,
    /// [`Transaction::stream_head`] (also once for [`Transaction::heads_of`]).
    StreamHead,
    /// [`Transaction::log_head`] (also in [`Transaction::heads_of`]).
    LogHead,
    /// [`Transaction::locate`].
    Locate,
    /// [`Transaction::read_stream`].
    ReadStream,
    /// [`Transaction::read_log`].
    ReadLog,
    /// [`Transaction::read_selected`].
    ReadSelected,
    /// [`Transaction::put`].
    Put,
    /// [`Transaction::truncate_log`].
    TruncateLog,
    /// [`Transaction::remove`].
    Remove,
    /// [`Transaction::get_meta`].
    GetMeta,
    /// [`Transaction::scan_meta`].
    ScanMeta,
    /// [`Transaction::put_meta`].
    PutMeta,
    /// [`Transaction::commit`].
    Commit,
}

/// What a [`Layered`] storage adds to the storage underneath. Every method has a default that
/// changes nothing.
pub trait Hook {
    /// Before each primitive; an error fails that primitive (the inner one is not called).
    fn before(&self, primitive: Primitive) -> Result<()> {
        let _ = primitive;
        Ok(())
    }

    /// After each read of events, with how many it returned.
    fn read(&self, primitive: Primitive, events: usize) {
        let _ = (primitive, events);
    }

    /// The capabilities of the layered storage, from those of the storage underneath.
    fn capabilities(&self, inner: Capabilities) -> Capabilities {
        inner
    }

    /// The log's head an append numbers its events after ([`Transaction::heads_of`]), from the
    /// head of the storage underneath (`head`, read through `tx`): a hook may place it further (a
    /// partially synced device's log reaches its confirmed position, past its last stored event,
    /// so that its next local append goes after it). Reads see the storage's own head.
    fn log_head<'a>(
        &'a self,
        tx: &'a mut dyn Transaction,
        head: Option<Position>,
    ) -> Io<'a, Option<Position>> {
        let _ = tx;
        Box::pin(async move { Ok(head) })
    }

    /// The meta keys [`log_head`](Hook::log_head) reads: requested together with the heads
    /// (storages that pipeline requests then need no extra round trip).
    fn head_meta(&self) -> &'static [&'static str] {
        &[]
    }

    /// Inside a local append's transaction, just before its events are put: the hook's own
    /// writes (through `tx`, into the same atomic commit).
    fn appended<'a>(&'a self, tx: &'a mut dyn Transaction, what: Appending<'a>) -> Io<'a, ()> {
        let _ = (tx, what);
        Box::pin(async { Ok(()) })
    }

    /// [`appended`](Hook::appended) in the transaction numbered `tx_id` (unique per [`Layered`]
    /// storage): a hook that keeps what it wrote until the transaction commits overrides this
    /// one, and [`committed`](Hook::committed) / [`abandoned`](Hook::abandoned).
    fn appended_in<'a>(
        &'a self,
        tx_id: u64,
        tx: &'a mut dyn Transaction,
        what: Appending<'a>,
    ) -> Io<'a, ()> {
        let _ = tx_id;
        self.appended(tx, what)
    }

    /// The transaction `tx_id`, in which [`appended_in`](Hook::appended_in) ran, committed: what
    /// the hook wrote in it is stored (called at once, before the append's caller resumes).
    fn committed(&self, tx_id: u64) {
        let _ = tx_id;
    }

    /// The transaction `tx_id`, in which [`appended_in`](Hook::appended_in) ran, ended without
    /// committing (failed, or dropped): nothing the hook wrote in it is stored.
    fn abandoned(&self, tx_id: u64) {
        let _ = tx_id;
    }
}

/// `inner` with `hook` around every primitive.
pub struct Layered<H> {
    inner: Rc<dyn Storage>,
    hook: Rc<H>,
    /// The number of the next transaction (see [`Hook::appended_in`]).
    next_tx: Cell<u64>,
}

impl<H: Hook + 'static> Layered<H> {
    /// `inner` with `hook`.
    pub fn new(inner: impl Storage + 'static, hook: H) -> Self {
        Self::over(Rc::new(inner), Rc::new(hook))
    }

    /// A shared `inner` with a shared `hook` (the caller may keep both, e.g. to read what the
    /// hook counted).
    pub fn over(inner: Rc<dyn Storage>, hook: Rc<H>) -> Self {
        Layered {
            inner,
            hook,
            next_tx: Cell::new(0),
        }
    }

    /// The storage underneath.
    pub fn inner(&self) -> &Rc<dyn Storage> {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

impl<H> std::fmt::Debug for Layered<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layered").finish_non_exhaustive()
    }
}

impl<H: Hook + 'static> Storage for Layered<H> {
    fn begin(&self, mode: Mode) -> Io<'_, BoxedTx<'_>> {
        Box::pin(async move {
            self.hook.before(Primitive::Begin)?;
            let inner = self.inner.begin(mode).await?;
            let id = self.next_tx.get();
            self.next_tx.set(id + 1);
            Ok(Box::new(LayeredTx {
                inner,
                hook: &*self.hook,
                staged: Staged {
                    hook: &*self.hook,
                    id,
                    armed: false,
                },
            }) as BoxedTx<'_>)
        })
    }

    fn capabilities(&self) -> Capabilities {
        self.hook.capabilities(self.inner.capabilities())
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

/// A transaction of a [`Layered`] storage.
struct LayeredTx<'a, H: Hook> {
    inner: BoxedTx<'a>,
    hook: &'a H,
    staged: Staged<'a, H>,
}

/// Whether the hook wrote in a transaction ([`Hook::appended_in`] ran): then it is told how the
/// transaction ended, [`Hook::abandoned`] when dropped uncommitted.
struct Staged<'a, H: Hook> {
    hook: &'a H,
    id: u64,
    armed: bool,
}

impl<H: Hook> Staged<'_, H> {
    /// Tells the hook how the transaction ended (once).
    fn settle(&mut self, committed: bool) {
        if std::mem::take(&mut self.armed) {
            if committed {
                self.hook.committed(self.id);
            } else {
                self.hook.abandoned(self.id);
            }
        }
    }
}

impl<H: Hook> Drop for Staged<'_, H> {
    fn drop(&mut self) {
        self.settle(false);
    }
}

impl<H: Hook> LayeredTx<'_, H> {
    /// Counts a read's events for the hook.
    fn counted(&self, primitive: Primitive, page: Result<BoxedPage>) -> Result<BoxedPage> {
        if let Ok(p) = &page {
            self.hook.read(primitive, p.len());
        }
        page
    }
}

impl<H: Hook> Transaction for LayeredTx<'_, H> {
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>> {
        Box::pin(async move {
            self.hook.before(Primitive::StreamHead)?;
            self.inner.stream_head(stream).await
        })
    }

    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        Box::pin(async move {
            self.hook.before(Primitive::LogHead)?;
            self.inner.log_head().await
        })
    }

    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Io<'a, HeadsOf> {
        Box::pin(async move {
            self.hook.before(Primitive::StreamHead)?;
            self.hook.before(Primitive::LogHead)?;
            self.inner.prefetch_meta(self.hook.head_meta());
            let (heads, head) = self.inner.heads_of(streams).await?;
            Ok((heads, self.hook.log_head(&mut *self.inner, head).await?))
        })
    }

    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        Box::pin(async move {
            self.hook.before(Primitive::Locate)?;
            self.inner.locate(ids).await
        })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            self.hook.before(Primitive::ReadStream)?;
            let page = self.inner.read_stream(stream, revs).await;
            self.counted(Primitive::ReadStream, page)
        })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        Box::pin(async move {
            self.hook.before(Primitive::ReadLog)?;
            let page = self.inner.read_log(positions).await;
            self.counted(Primitive::ReadLog, page)
        })
    }

    fn read_selected<'a>(
        &'a mut self,
        selection: &'a Selection,
        positions: Positions,
        direction: Direction,
        max: u64,
    ) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            self.hook.before(Primitive::ReadSelected)?;
            let page = self
                .inner
                .read_selected(selection, positions, direction, max)
                .await;
            self.counted(Primitive::ReadSelected, page)
        })
    }

    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()> {
        Box::pin(async move {
            self.hook.before(Primitive::Put)?;
            self.inner.put(events).await
        })
    }

    fn appended<'a>(&'a mut self, appending: Appending<'a>) -> Io<'a, ()> {
        Box::pin(async move {
            self.inner.appended(appending).await?;
            self.staged.armed = true;
            self.hook
                .appended_in(self.staged.id, &mut *self.inner, appending)
                .await
        })
    }

    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()> {
        Box::pin(async move {
            self.hook.before(Primitive::Remove)?;
            self.inner.remove(what).await
        })
    }

    fn prefetch_meta(&mut self, keys: &[&str]) {
        self.inner.prefetch_meta(keys);
    }

    fn prefetch_log_head(&mut self) {
        self.inner.prefetch_log_head();
    }

    fn truncate_log(&mut self, from: Position) -> Io<'_, ()> {
        Box::pin(async move {
            self.hook.before(Primitive::TruncateLog)?;
            self.inner.truncate_log(from).await
        })
    }

    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>> {
        Box::pin(async move {
            self.hook.before(Primitive::GetMeta)?;
            self.inner.get_meta(key).await
        })
    }

    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>> {
        Box::pin(async move {
            self.hook.before(Primitive::ScanMeta)?;
            self.inner.scan_meta(prefix).await
        })
    }

    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()> {
        Box::pin(async move {
            self.hook.before(Primitive::PutMeta)?;
            self.inner.put_meta(key, value).await
        })
    }

    fn commit<'t>(self: Box<Self>) -> Committing<'t>
    where
        Self: 't,
    {
        Box::pin(async move {
            let LayeredTx {
                inner,
                hook,
                mut staged,
            } = *self;
            hook.before(Primitive::Commit)?;
            let result = inner.commit().await;
            staged.settle(result.is_ok());
            result
        })
    }
}
