//! [`DurableObjectStorage`]: events in a Cloudflare Durable Object's own SQLite database — plain
//! I/O on the storage seam over `ctx.storage.sql` (see `src/storage/host.js` for the schema).
//!
//! The SQL API is synchronous: a transaction's reads run at once, its writes are staged and
//! written by [`commit`](crate::Transaction::commit) in one `transactionSync` (all or nothing).
//! The unique constraints on `position`, `(stream_id, revision)` and `id` refuse any write that
//! another writer made stale, so the core decides again ([`CommitError::Conflict`]). Removals are
//! staged too and run in the same `transactionSync`, after the inserts: a deletion is all or
//! nothing, also when the runtime is killed halfway. A removed event stays as a husk row (its id,
//! stream, revision and position; type, payloads and createdAt blanked, `removed = 1`).

use std::cell::Cell;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use super::js::{bounds, id_keys, js_error, locations, merge_meta, present, staged_meta, Records};
use super::{
    BoxedPage, BoxedTx, Capabilities, CommitError, Committing, Io, Mode, Positions, Removal,
    Revisions, Storage, Transaction,
};
use crate::{
    prefix_end, Direction, Error, Json, Position, RecordedEvent, Result, Revision, Selection,
    StoredLocation, StreamId, StreamPattern,
};
use uuid::Uuid;

#[wasm_bindgen(module = "/src/storage/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = hasSql)]
    fn has_sql(storage: &JsValue) -> bool;
    #[wasm_bindgen(js_name = openSchema, catch)]
    fn open_schema(storage: &JsValue) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = streamHead, catch)]
    fn stream_head(storage: &JsValue, stream_id: &str) -> std::result::Result<f64, JsValue>;
    #[wasm_bindgen(js_name = logHead, catch)]
    fn log_head(storage: &JsValue) -> std::result::Result<f64, JsValue>;
    #[wasm_bindgen(catch)]
    fn locate(storage: &JsValue, ids: &Array) -> std::result::Result<Array, JsValue>;
    #[wasm_bindgen(js_name = readStream, catch)]
    fn read_stream(
        storage: &JsValue,
        stream_id: &str,
        from: f64,
        to: f64,
    ) -> std::result::Result<Array, JsValue>;
    #[wasm_bindgen(js_name = readLog, catch)]
    fn read_log(storage: &JsValue, from: f64, to: f64) -> std::result::Result<Array, JsValue>;
    #[wasm_bindgen(js_name = readSelected, catch)]
    fn read_selected(
        storage: &JsValue,
        ranges: &Array,
        from: f64,
        to: f64,
        backwards: bool,
        max: f64,
    ) -> std::result::Result<Array, JsValue>;
    #[wasm_bindgen(js_name = scanMeta, catch)]
    fn scan_meta(storage: &JsValue, prefix: &str) -> std::result::Result<Array, JsValue>;
    #[wasm_bindgen(js_name = getMeta, catch)]
    fn get_meta(storage: &JsValue, key: &str) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn commit(
        storage: &JsValue,
        records: &Array,
        meta: &Array,
        removals: &Array,
    ) -> std::result::Result<String, JsValue>;
}

/// Events in a Durable Object's SQLite storage. Open with [`DurableObjectStorage::open`].
#[derive(Debug)]
pub struct DurableObjectStorage {
    storage: JsValue,
    closed: Cell<bool>,
}

impl DurableObjectStorage {
    /// Opens the store in `storage` (a Durable Object's `ctx.storage` with the SQL API), creating
    /// or upgrading its tables. Data written by a newer evstore is refused with `STORAGE_ERROR`.
    pub fn open(storage: JsValue) -> Result<Self> {
        if !has_sql(&storage) {
            return Err(Error::invalid(
                "durableObjectStorage must be a Durable Object's ctx.storage with the SQLite API \
                 (storage.sql and storage.transactionSync; declare the class under new_sqlite_classes)",
            ));
        }
        open_schema(&storage).map_err(js_error)?;
        Ok(DurableObjectStorage {
            storage,
            closed: Cell::new(false),
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            Err(Error::storage("the Durable Object storage was closed"))
        } else {
            Ok(())
        }
    }
}

/// A transaction: reads at once, writes staged for one `transactionSync` at commit.
pub struct DurableObjectTx<'a> {
    storage: &'a JsValue,
    records: Array,
    meta: Array,
    /// Staged removals, `[streamId, from, to, createdBefore | null, through | null]`, run after
    /// the inserts (so they may husk events of this commit).
    removals: Array,
}

impl Transaction for DurableObjectTx<'_> {
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>> {
        Box::pin(async move {
            Ok(present(
                stream_head(self.storage, stream.as_str()).map_err(js_error)?,
            ))
        })
    }

    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        Box::pin(async move { Ok(present(log_head(self.storage).map_err(js_error)?)) })
    }

    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        Box::pin(async move { locations(&locate(self.storage, &id_keys(ids)).map_err(js_error)?) })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            let (from, to) = bounds(&revs);
            Ok(Records::boxed(
                read_stream(self.storage, stream.as_str(), from, to).map_err(js_error)?,
            ))
        })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        Box::pin(async move {
            let (from, to) = bounds(&positions);
            Ok(Records::boxed(
                read_log(self.storage, from, to).map_err(js_error)?,
            ))
        })
    }

    /// Per range of [`Selection::ranges`] one term over the index of live events by
    /// `(stream_id, position)` (`stream_id = ?`, or `stream_id >= prefix AND stream_id <
    /// prefix_end(prefix)`, with `position BETWEEN`), up to 5 terms merged by SQLite in one
    /// `UNION ALL … ORDER BY position LIMIT max` (`src/storage/host.js`, `selectedQueries`).
    fn read_selected<'a>(
        &'a mut self,
        selection: &'a Selection,
        positions: Positions,
        direction: Direction,
        max: u64,
    ) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            let ranges: Array = selection
                .ranges()
                .into_iter()
                .map(|range| -> JsValue {
                    match range {
                        StreamPattern::Exact(id) => Array::of1(&id.into()).into(),
                        StreamPattern::Prefix(prefix) => {
                            let end = prefix_end(&prefix).map_or(JsValue::NULL, JsValue::from);
                            Array::of2(&prefix.into(), &end).into()
                        }
                    }
                })
                .collect();
            let (from, to) = bounds(&positions);
            let backwards = direction == Direction::Backwards;
            Ok(Records::boxed(
                read_selected(self.storage, &ranges, from, to, backwards, max as f64)
                    .map_err(js_error)?,
            ))
        })
    }

    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()> {
        Box::pin(async move {
            for event in events {
                self.records.push(&super::js::record(event));
            }
            Ok(())
        })
    }

    /// Staged: the commit's `transactionSync` runs it after the inserts, as one `UPDATE` that
    /// blanks the events' type, payloads and createdAt and sets `removed`.
    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()> {
        Box::pin(async move {
            let (from, to) = bounds(&what.revisions);
            let optional = |n: Option<u64>| n.map_or(JsValue::NULL, |n| (n as f64).into());
            let removal = Array::of5(
                &what.stream.as_str().into(),
                &from.into(),
                &to.into(),
                &optional(what.created_before),
                &optional(what.through),
            );
            self.removals.push(&removal);
            Ok(())
        })
    }

    /// Not supported: this storage's reads do not see a transaction's staged writes, so it
    /// cannot rewrite its log (it serves sync; synced client stores run on IndexedDB or memory).
    fn truncate_log(&mut self, _from: Position) -> Io<'_, ()> {
        Box::pin(async move {
            Err(Error::storage(
                "the Durable Object storage cannot rewrite its log (a synced client store runs on IndexedDB or memory)",
            ))
        })
    }

    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>> {
        Box::pin(async move {
            let rows = scan_meta(self.storage, prefix).map_err(js_error)?;
            Ok(merge_meta(&rows, &self.meta, prefix))
        })
    }

    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>> {
        Box::pin(async move {
            if let Some(staged) = staged_meta(&self.meta, key) {
                return Ok(staged);
            }
            let value = get_meta(self.storage, key).map_err(js_error)?;
            Ok(value.as_string().map(Json::trusted))
        })
    }

    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()> {
        Box::pin(async move {
            let value = value.map_or(JsValue::NULL, |v| v.as_str().into());
            self.meta.push(&Array::of2(&key.into(), &value));
            Ok(())
        })
    }

    fn commit<'t>(self: Box<Self>) -> Committing<'t>
    where
        Self: 't,
    {
        Box::pin(async move {
            match commit(self.storage, &self.records, &self.meta, &self.removals)
                .map_err(js_error)?
                .as_str()
            {
                "ok" => Ok(()),
                _ => Err(CommitError::Conflict),
            }
        })
    }
}

impl Storage for DurableObjectStorage {
    fn begin(&self, _mode: Mode) -> Io<'_, BoxedTx<'_>> {
        let tx = self.check_open().map(|()| {
            Box::new(DurableObjectTx {
                storage: &self.storage,
                records: Array::new(),
                meta: Array::new(),
                removals: Array::new(),
            }) as BoxedTx<'_>
        });
        Box::pin(async move { tx })
    }

    /// The unique `id` column refuses a taken id at commit. Writes are staged for one
    /// `transactionSync` at commit, so a transaction's reads do not see them, and the log is
    /// never rewritten (this storage serves sync; synced client stores run on IndexedDB or
    /// memory).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_duplicate_ids: true,
            groups_appends: false,
            reads_own_writes: false,
            truncates: false,
        }
    }

    /// The data stays in the object; only this handle stops working.
    fn close(&self) {
        self.closed.set(true);
    }
}

impl DurableObjectStorage {
    /// The `ctx.storage` this store writes to.
    pub fn js_storage(&self) -> &Object {
        self.storage.unchecked_ref()
    }
}
