//! [`HeapStorage`]: the memory storage of JS hosts — events kept on the JS heap as the records
//! every JS-hosted storage reads (`src/storage/heap.js`), plain I/O on the storage seam.
//!
//! A JS caller's reads then build the contract's objects straight from stored JSON text (one
//! `JSON.parse` per payload, nothing copied out of wasm memory), and the garbage collector sees
//! every stored byte: a store dropped without `close()` is reclaimed like any JS object, and
//! pressure from it is pressure V8 can see. Transactions behave as those of
//! [`MemoryStorage`](crate::MemoryStorage): writes apply at once and are undone unless committed.
//! A removed event's record is replaced by a husk (its id, stream, revision and position), a new
//! object, so its payload strings become garbage at once; positions the log never held are holes.

use std::cell::{Cell, RefCell};

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::js::{bounds, id_keys, locations, present, Records};
use super::{
    BoxedPage, BoxedTx, Capabilities, CommitError, Committing, HeadsOf, Io, Mode, Positions,
    Removal, Revisions, Storage, Transaction,
};
use crate::{Error, Json, Position, RecordedEvent, Result, Revision, StoredLocation, StreamId};
use uuid::Uuid;

#[wasm_bindgen(module = "/src/storage/heap.js")]
extern "C" {
    #[wasm_bindgen(js_name = heapNew)]
    fn heap_new() -> JsValue;
    #[wasm_bindgen(js_name = heapAttach)]
    fn heap_attach(handle: &JsValue, store: &JsValue);
    #[wasm_bindgen(js_name = heapHold)]
    fn heap_hold(handle: &JsValue);
    #[wasm_bindgen(js_name = heapRelease)]
    fn heap_release(handle: &JsValue);
    #[wasm_bindgen(js_name = heapCommits)]
    fn heap_commits(log: &JsValue) -> f64;
    #[wasm_bindgen(js_name = heapClaim)]
    fn heap_claim(log: &JsValue) -> bool;
    #[wasm_bindgen(js_name = heapStreamHead)]
    fn heap_stream_head(log: &JsValue, stream_id: &str) -> f64;
    #[wasm_bindgen(js_name = heapLogHead)]
    fn heap_log_head(log: &JsValue) -> f64;
    #[wasm_bindgen(js_name = heapLocate)]
    fn heap_locate(log: &JsValue, ids: &Array) -> Array;
    #[wasm_bindgen(js_name = heapReadStream)]
    fn heap_read_stream(log: &JsValue, stream_id: &str, from: f64, to: f64) -> Array;
    #[wasm_bindgen(js_name = heapReadLog)]
    fn heap_read_log(log: &JsValue, from: f64, to: f64) -> Array;
    #[wasm_bindgen(js_name = heapPut)]
    #[allow(clippy::too_many_arguments)]
    fn heap_put(
        log: &JsValue,
        position: f64,
        revision: f64,
        created_at: f64,
        text: &str,
        id_len: f64,
        stream_len: f64,
        data: &str,
        metadata: &str,
    );
    #[wasm_bindgen(js_name = heapPutKept)]
    #[allow(clippy::too_many_arguments)]
    fn heap_put_kept(
        log: &JsValue,
        position: f64,
        revision: f64,
        created_at: f64,
        id: &str,
        kept: &JsValue,
        k: u32,
    );
    #[wasm_bindgen(js_name = heapStreamHeadKept)]
    fn heap_stream_head_kept(log: &JsValue, kept: &JsValue) -> f64;
    #[wasm_bindgen(js_name = heapTruncate)]
    fn heap_truncate(log: &JsValue, from: f64);
    #[wasm_bindgen(js_name = heapRemove)]
    fn heap_remove(
        log: &JsValue,
        stream_id: &str,
        from: f64,
        to: f64,
        created_before: f64,
        through: f64,
    ) -> f64;
    #[wasm_bindgen(js_name = heapGetMeta)]
    fn heap_get_meta(log: &JsValue, key: &str) -> Option<String>;
    #[wasm_bindgen(js_name = heapScanMeta)]
    fn heap_scan_meta(log: &JsValue, prefix: &str) -> Array;
    #[wasm_bindgen(js_name = heapPutMeta)]
    fn heap_put_meta(log: &JsValue, key: &str, value: Option<&str>);
    #[wasm_bindgen(js_name = heapCommit)]
    fn heap_commit(log: &JsValue, began_at: f64) -> bool;
    #[wasm_bindgen(js_name = heapRollback)]
    fn heap_rollback(log: &JsValue);
    #[wasm_bindgen(js_name = heapClose)]
    fn heap_close(log: &JsValue);
}

/// The append being made, as the bindings parsed it from `encodeAppend`'s text (src/codec.js),
/// whose JS strings that call kept in `KEPT.strings`: the stream id, then per event its type,
/// data and metadata. A write of exactly these (the same stream and type, the very same payload
/// texts: what a `causedBy` or schema stamp rewrote is another text) stores the JS strings
/// instead of copying them back out of wasm.
struct Kept {
    stream: String,
    events: Vec<(String, Json, Json)>,
}

thread_local! {
    /// The object `encodeAppend` leaves its strings in (one for the module's lifetime).
    static KEPT: JsValue = js_sys::Object::new().into();
    /// What `KEPT.strings` holds, when it holds the strings of the append being made.
    static EXPECTED: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

/// Before an append is encoded: forgets the last one (its strings are about to be replaced)
/// and returns the object `encodeAppend` keeps the new one's strings in.
pub(crate) fn begin_append() -> JsValue {
    EXPECTED.with(|e| e.borrow_mut().take());
    KEPT.with(Clone::clone)
}

/// After `encodeAppend` succeeded and its text was parsed: the append its strings are of.
pub(crate) fn expect_append(stream: &str, events: &[crate::ProposedEvent]) {
    let kept = Kept {
        stream: stream.to_owned(),
        events: events
            .iter()
            .map(|e| (e.event_type.clone(), e.data.clone(), e.metadata.clone()))
            .collect(),
    };
    EXPECTED.with(|e| *e.borrow_mut() = Some(kept));
}

/// When the append is done: its strings are no longer needed.
pub(crate) fn end_append() {
    EXPECTED.with(|e| e.borrow_mut().take());
}

/// Whether `stream` is the stream of the expected append.
fn kept_stream(stream: &str) -> bool {
    EXPECTED.with(|e| e.borrow().as_ref().is_some_and(|k| k.stream == stream))
}

/// Whether `event`, the `k`th of a write, is the `k`th event of the expected append, unchanged.
fn kept_event(event: &RecordedEvent, k: usize) -> bool {
    let same = |a: &Json, b: &Json| {
        let (a, b) = (a.as_str(), b.as_str());
        // The expected append holds its texts, so the same address is the same text.
        std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()
    };
    EXPECTED.with(|e| {
        e.borrow().as_ref().is_some_and(|kept| {
            kept.events.get(k).is_some_and(|(t, d, m)| {
                kept.stream == event.stream_id.as_str()
                    && **t == *event.event_type
                    && same(d, &event.data)
                    && same(m, &event.metadata)
            })
        })
    })
}

/// Keeps every event in memory on the JS heap: the memory store of the JS bindings.
#[derive(Debug)]
pub struct HeapStorage {
    /// The log's handle (see `heap.js`): it owns the log until [`attach`](HeapStorage::attach).
    log: JsValue,
    /// Whether a meta value was ever written (until then every meta read finds nothing, without
    /// asking JS: a store without lifecycle rules or sync never writes one).
    has_meta: Cell<bool>,
}

impl Default for HeapStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl HeapStorage {
    /// An empty store.
    pub fn new() -> Self {
        HeapStorage {
            log: heap_new(),
            has_meta: Cell::new(false),
        }
    }

    /// Makes the JS object `store` the owner of the events: from now on this storage reaches
    /// them during calls of `store`'s methods and while a [`HeapHold`] lives, so dropping
    /// `store` frees them at the next collection, without waiting for its finalizer.
    pub fn attach(&self, store: &JsValue) {
        heap_attach(&self.log, store);
    }

    /// Keeps the events reachable until the guard is dropped: for what runs on without the
    /// store object (a subscription, a sync engine). Take it while the store is in use.
    pub fn hold(&self) -> HeapHold {
        heap_hold(&self.log);
        HeapHold {
            handle: self.log.clone(),
        }
    }
}

/// Keeps a [`HeapStorage`]'s events reachable while it lives (see [`HeapStorage::hold`]).
#[derive(Debug)]
pub struct HeapHold {
    handle: JsValue,
}

impl Drop for HeapHold {
    fn drop(&mut self) {
        heap_release(&self.handle);
    }
}

/// A transaction; see [`HeapStorage`].
pub struct HeapTx<'a> {
    log: &'a JsValue,
    has_meta: &'a Cell<bool>,
    /// The log's commit count when the transaction began.
    began_at: f64,
    /// Whether this transaction holds the log's uncommitted writes.
    writing: bool,
    committed: bool,
}

impl HeapTx<'_> {
    /// Makes this the one transaction with uncommitted writes.
    fn claim(&mut self) -> Result<()> {
        if !self.writing {
            if !heap_claim(self.log) {
                return Err(Error::storage(
                    "another transaction of this memory storage has uncommitted writes",
                ));
            }
            self.writing = true;
        }
        Ok(())
    }
}

impl Transaction for HeapTx<'_> {
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>> {
        Box::pin(async move { Ok(present(heap_stream_head(self.log, stream.as_str()))) })
    }

    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        Box::pin(async move { Ok(present(heap_log_head(self.log))) })
    }

    /// Read at once, in one future (an append's first step).
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Io<'a, HeadsOf> {
        let heads = streams
            .iter()
            .map(|s| {
                present(if kept_stream(s.as_str()) {
                    KEPT.with(|kept| heap_stream_head_kept(self.log, kept))
                } else {
                    heap_stream_head(self.log, s.as_str())
                })
            })
            .collect();
        let log = present(heap_log_head(self.log));
        Box::pin(async move { Ok((heads, log)) })
    }

    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        Box::pin(async move { locations(&heap_locate(self.log, &id_keys(ids))) })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            let (from, to) = bounds(&revs);
            Ok(Records::boxed(heap_read_stream(
                self.log,
                stream.as_str(),
                from,
                to,
            )))
        })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        Box::pin(async move {
            let (from, to) = bounds(&positions);
            Ok(Records::boxed(heap_read_log(self.log, from, to)))
        })
    }

    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()> {
        Box::pin(async move {
            self.claim()?;
            let mut text = String::new();
            for (k, e) in events.iter().enumerate() {
                // The id is ASCII; the stream id's length in UTF-16 code units is how JS slices.
                let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
                if kept_event(e, k) {
                    let id = e.id.hyphenated().encode_lower(&mut id);
                    KEPT.with(|kept| {
                        heap_put_kept(
                            self.log,
                            e.position as f64,
                            e.revision as f64,
                            e.created_at as f64,
                            id,
                            kept,
                            k as u32,
                        )
                    });
                    continue;
                }
                text.clear();
                text.push_str(e.id.hyphenated().encode_lower(&mut id));
                text.push_str(e.stream_id.as_str());
                text.push_str(&e.event_type);
                heap_put(
                    self.log,
                    e.position as f64,
                    e.revision as f64,
                    e.created_at as f64,
                    &text,
                    id.len() as f64,
                    utf16_len(e.stream_id.as_str()) as f64,
                    e.data.as_str(),
                    e.metadata.as_str(),
                );
            }
            Ok(())
        })
    }

    fn truncate_log(&mut self, from: Position) -> Io<'_, ()> {
        Box::pin(async move {
            self.claim()?;
            heap_truncate(self.log, from as f64);
            Ok(())
        })
    }

    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()> {
        Box::pin(async move {
            self.claim()?;
            let (from, to) = bounds(&what.revisions);
            heap_remove(
                self.log,
                what.stream.as_str(),
                from,
                to,
                what.created_before.map_or(f64::INFINITY, |t| t as f64),
                what.through.map_or(f64::INFINITY, |p| p as f64),
            );
            Ok(())
        })
    }

    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>> {
        Box::pin(async move {
            if !self.has_meta.get() {
                return Ok(None);
            }
            Ok(heap_get_meta(self.log, key).map(Json::trusted))
        })
    }

    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>> {
        Box::pin(async move {
            if !self.has_meta.get() {
                return Ok(Vec::new());
            }
            Ok(heap_scan_meta(self.log, prefix)
                .iter()
                .filter_map(|entry| {
                    let entry: Array = entry.unchecked_into();
                    Some((
                        entry.get(0).as_string()?,
                        Json::trusted(entry.get(1).as_string()?),
                    ))
                })
                .collect())
        })
    }

    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()> {
        Box::pin(async move {
            self.claim()?;
            self.has_meta.set(true);
            heap_put_meta(self.log, key, value.map(Json::as_str));
            Ok(())
        })
    }

    fn commit<'t>(mut self: Box<Self>) -> Committing<'t>
    where
        Self: 't,
    {
        Box::pin(async move {
            if !self.writing {
                self.committed = true;
                return Ok(());
            }
            if !heap_commit(self.log, self.began_at) {
                return Err(CommitError::Conflict); // dropping `self` takes the writes back
            }
            self.committed = true;
            Ok(())
        })
    }
}

impl Drop for HeapTx<'_> {
    /// A transaction that ends without a commit takes its writes back.
    fn drop(&mut self) {
        if self.writing && !self.committed {
            heap_rollback(self.log);
        }
    }
}

/// The length of `s` in UTF-16 code units (how JS counts).
fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

impl Storage for HeapStorage {
    fn begin(&self, _mode: Mode) -> Io<'_, BoxedTx<'_>> {
        let tx = HeapTx {
            log: &self.log,
            has_meta: &self.has_meta,
            began_at: heap_commits(&self.log),
            writing: false,
            committed: false,
        };
        Box::pin(async move { Ok(Box::new(tx) as BoxedTx<'_>) })
    }

    /// A write of a stored id makes the commit conflict, so appends need no id lookup first.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_duplicate_ids: true,
            ..Capabilities::default()
        }
    }

    /// Releases every stored event (a closed store is never read again).
    fn close(&self) {
        heap_close(&self.log);
    }
}
