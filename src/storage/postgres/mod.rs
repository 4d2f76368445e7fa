//! [`PostgresStorage`]: one tenant's events in a PostgreSQL database shared by every tenant (and by
//! every server process) — plain I/O on the storage seam over a small JS query interface
//! (`db.query`, `db.transaction`: `server/db.js` implements it for node-postgres and PGlite; the
//! SQL and the tables are in `src/storage/pg.js`).
//!
//! Reads run as they are called, each one query awaited like an IndexedDB request, with as few
//! round trips as the seam allows: a read transaction pins the tenant's head in its first read
//! (not in a query of its own), and the meta keys of
//! [`prefetch_meta`](crate::Transaction::prefetch_meta) are read along with the next read. A write
//! transaction is one database transaction that begins by locking the tenant's head row
//! (`SELECT head … FOR UPDATE`): the write transactions of a tenant, from this process or any
//! other, run one after another, so what a write transaction reads stays true until it commits.
//! Its writes are staged and written by [`commit`](crate::Transaction::commit) in that
//! transaction: the records (refused as [`CommitError::Conflict`] unless they continue the head),
//! the removals (husks), the meta changes, the new head and a `pg_notify`. A unique violation
//! (`23505`) is a conflict too: nothing was written and the core decides again. A transaction
//! dropped without a commit rolls back.
//!
//! Other writers (other server processes) are watched through the database's
//! `watch(tenant, wake)` (`LISTEN evstore` in `server/db.js`), when it has one: see
//! [`Storage::watch`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

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

#[wasm_bindgen(module = "/src/storage/pg.js")]
extern "C" {
    #[wasm_bindgen(js_name = pgHasInterface)]
    fn has_interface(db: &JsValue) -> bool;
    #[wasm_bindgen(js_name = pgOpen)]
    fn open_schema(db: &JsValue, tenant: &str) -> Promise;
    #[wasm_bindgen(js_name = pgReader)]
    fn reader(db: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = pgLogHead)]
    fn log_head(q: &JsValue, tenant: &str, head: Option<f64>, keys: &Array) -> Promise;
    #[wasm_bindgen(js_name = pgStreamHead)]
    fn stream_head(
        q: &JsValue,
        tenant: &str,
        head: Option<f64>,
        keys: &Array,
        stream_id: &str,
    ) -> Promise;
    #[wasm_bindgen(js_name = pgLocate)]
    fn locate(q: &JsValue, tenant: &str, head: Option<f64>, keys: &Array, ids: &Array) -> Promise;
    #[wasm_bindgen(js_name = pgReadStream)]
    fn read_stream(
        q: &JsValue,
        tenant: &str,
        head: Option<f64>,
        keys: &Array,
        stream_id: &str,
        from: f64,
        to: f64,
    ) -> Promise;
    #[wasm_bindgen(js_name = pgReadLog)]
    fn read_log(
        q: &JsValue,
        tenant: &str,
        head: Option<f64>,
        keys: &Array,
        from: f64,
        to: f64,
    ) -> Promise;
    #[wasm_bindgen(js_name = pgReadSelected)]
    #[allow(clippy::too_many_arguments)]
    fn read_selected(
        q: &JsValue,
        tenant: &str,
        head: Option<f64>,
        keys: &Array,
        ranges: &Array,
        from: f64,
        to: f64,
        backwards: bool,
        max: f64,
    ) -> Promise;
    #[wasm_bindgen(js_name = pgScanMeta)]
    fn scan_meta(q: &JsValue, tenant: &str, prefix: &str, end: Option<String>) -> Promise;
    #[wasm_bindgen(js_name = pgBeginWrite)]
    fn begin_write(db: &JsValue, tenant: &str) -> Promise;
    #[wasm_bindgen(js_name = pgAbortWrite)]
    fn abort_write(handle: &JsValue);
    #[wasm_bindgen(js_name = pgCommitWrite)]
    fn commit_write(
        handle: &JsValue,
        tenant: &str,
        records: &Array,
        meta: &Array,
        removals: &Array,
    ) -> Promise;
    #[wasm_bindgen(js_name = pgWatch, catch)]
    fn watch_tenant(
        db: &JsValue,
        tenant: &str,
        wake: &JsValue,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = pgUnwatch)]
    fn unwatch(unwatch: &JsValue);
}

/// The value `promise` resolves with; a rejection as the contract's error (cause kept).
async fn settle(promise: Promise) -> Result<JsValue> {
    JsFuture::from(promise).await.map_err(js_error)
}

/// A revision or position a query returned (`-1`: none).
fn number(n: &JsValue) -> Result<Option<u64>> {
    n.as_f64()
        .map(present)
        .ok_or_else(|| Error::storage("PostgreSQL returned a head that is not a number"))
}

/// Rows a query returned.
fn rows(found: JsValue) -> Result<Array> {
    found.dyn_into::<Array>().map_err(|_| {
        Error::storage("the database's query interface returned rows that are not an array")
    })
}

/// One tenant's events in a PostgreSQL database. Open with [`PostgresStorage::open`].
#[derive(Debug)]
pub struct PostgresStorage {
    db: JsValue,
    /// `(sql, params) → rows` outside any transaction: what read transactions query with.
    reader: JsValue,
    tenant: String,
    closed: Cell<bool>,
    /// The wake-up registered with the database's `watch`, while it is.
    watching: RefCell<Option<Watching>>,
}

/// A wake-up registered with the database's `watch`.
#[derive(Debug)]
struct Watching {
    /// What the database calls (kept alive while registered).
    wake: Closure<dyn Fn()>,
    /// The `unwatch` function `watch` returned (null: none).
    unwatch: JsValue,
}

impl PostgresStorage {
    /// Opens the store of `tenant` in `db` (the query interface of `server/db.js`), creating or
    /// upgrading the tables and the tenant's row. Tables written by a newer evstore are refused
    /// with `STORAGE_ERROR`.
    pub async fn open(db: JsValue, tenant: &str) -> Result<Self> {
        if !has_interface(&db) {
            return Err(Error::invalid(
                "database must be the query interface { query(sql, params), transaction(fn) } \
                 (evstore's server/db.js makes one from a pg.Pool or a PGlite)",
            ));
        }
        if tenant.is_empty() {
            return Err(Error::invalid("tenant must not be empty"));
        }
        settle(open_schema(&db, tenant)).await?;
        Ok(PostgresStorage {
            reader: reader(&db),
            db,
            tenant: tenant.to_owned(),
            closed: Cell::new(false),
            watching: RefCell::new(None),
        })
    }

    /// The tenant whose log this store is.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Stops the wake-ups of [`Storage::watch`]: unregisters first, then drops the closure (a
    /// dropped closure must never be called).
    fn stop_watching(&self) {
        if let Some(Watching { wake, unwatch: it }) = self.watching.borrow_mut().take() {
            unwatch(&it);
            drop(wake);
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            Err(Error::storage("the PostgreSQL storage was closed"))
        } else {
            Ok(())
        }
    }
}

/// A transaction: reads as called, each bounded by the tenant's head the transaction pinned in
/// its first read (so that its reads see one state of the log: see `src/storage/pg.js`); for a
/// write transaction, on the database transaction that holds the tenant's lock (its head is the
/// one read under the lock), with its writes staged for [`commit`](Transaction::commit). The meta
/// values of [`prefetch_meta`](Transaction::prefetch_meta) come with the next read.
pub struct PostgresTx<'a> {
    tenant: &'a str,
    /// `(sql, params) → rows`: outside any transaction (reads), or in the write transaction.
    q: JsValue,
    /// The open write transaction's handle (`pgBeginWrite`), until it commits or rolls back.
    write: Option<JsValue>,
    /// The tenant's head this transaction reads at (-1: empty), once known (a read transaction
    /// pins it in its first read).
    head: Option<f64>,
    /// Meta keys announced by `prefetch_meta`, to be read along with the next read.
    wanted: Vec<String>,
    /// Meta values read along with reads (`None`: no value), by key.
    fetched: HashMap<String, Option<String>>,
    records: Array,
    /// Staged meta changes, `[key, value | null]`, in order.
    meta: Array,
    /// Staged removals, `[streamId, from, to, createdBefore | null, through | null]`, run after
    /// the inserts (so they may husk events of this commit).
    removals: Array,
}

impl Drop for PostgresTx<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.write.take() {
            abort_write(&handle);
        }
    }
}

impl PostgresTx<'_> {
    /// The keys of `prefetch_meta` not read yet, to read along with the next read (taken).
    fn keys(&mut self) -> Array {
        self.wanted.drain(..).map(JsValue::from).collect()
    }

    /// The value of a read issued with `keys` (`{ head, meta, value }`, `src/storage/pg.js`):
    /// pins the head it read at (when not yet pinned) and keeps the meta values that came with it.
    async fn landed(&mut self, keys: Array, read: Promise) -> Result<JsValue> {
        let read = settle(read).await?;
        let field = |name: &str| Reflect::get(&read, &name.into()).unwrap_or_default();
        if self.head.is_none() {
            self.head = Some(number(&field("head"))?.map_or(-1.0, |h| h as f64));
        }
        let meta: Array = field("meta").dyn_into().map_err(|_| {
            Error::storage(
                "the PostgreSQL storage's read returned meta values that are not an array",
            )
        })?;
        for (key, value) in keys.iter().zip(meta.iter()) {
            if let Some(key) = key.as_string() {
                self.fetched.insert(key, value.as_string());
            }
        }
        Ok(field("value"))
    }
}

impl Transaction for PostgresTx<'_> {
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>> {
        Box::pin(async move {
            let keys = self.keys();
            let read = stream_head(&self.q, self.tenant, self.head, &keys, stream.as_str());
            number(&self.landed(keys, read).await?)
        })
    }

    /// The head this transaction reads at (for a write transaction, the one read under the
    /// lock; for a read transaction that read already, the one it pinned: no query).
    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        Box::pin(async move {
            if self.head.is_none() {
                let keys = self.keys();
                let read = log_head(&self.q, self.tenant, None, &keys);
                self.landed(keys, read).await?;
            }
            Ok(self.head.and_then(present))
        })
    }

    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        Box::pin(async move {
            let keys = self.keys();
            let read = locate(&self.q, self.tenant, self.head, &keys, &id_keys(ids));
            locations(&rows(self.landed(keys, read).await?)?)
        })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            let (from, to) = bounds(&revs);
            let keys = self.keys();
            let read = read_stream(
                &self.q,
                self.tenant,
                self.head,
                &keys,
                stream.as_str(),
                from,
                to,
            );
            Ok(Records::boxed(rows(self.landed(keys, read).await?)?))
        })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        Box::pin(async move {
            let (from, to) = bounds(&positions);
            let keys = self.keys();
            let read = read_log(&self.q, self.tenant, self.head, &keys, from, to);
            Ok(Records::boxed(rows(self.landed(keys, read).await?)?))
        })
    }

    /// One query: per range of [`Selection::ranges`] a term over the index of live events by
    /// `(tenant, stream_id, position)`, limited to `max`, merged in position order
    /// (`pgReadSelected` in `src/storage/pg.js`).
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
            let keys = self.keys();
            let read = read_selected(
                &self.q,
                self.tenant,
                self.head,
                &keys,
                &ranges,
                from,
                to,
                backwards,
                max as f64,
            );
            Ok(Records::boxed(rows(self.landed(keys, read).await?)?))
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

    /// Staged: the commit runs it after the inserts, as one `UPDATE` that blanks the events'
    /// type, payloads and createdAt and sets `removed`.
    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()> {
        Box::pin(async move {
            let (from, to) = bounds(&what.revisions);
            let optional = |n: Option<u64>| n.map_or(JsValue::NULL, |n| (n as f64).into());
            self.removals.push(&Array::of5(
                &what.stream.as_str().into(),
                &from.into(),
                &to.into(),
                &optional(what.created_before),
                &optional(what.through),
            ));
            Ok(())
        })
    }

    /// Not supported: a server's log is never rewritten (synced client stores run on IndexedDB
    /// or memory).
    fn truncate_log(&mut self, _from: Position) -> Io<'_, ()> {
        Box::pin(async move {
            Err(Error::storage(
                "the PostgreSQL storage cannot rewrite its log (a synced client store runs on IndexedDB or memory)",
            ))
        })
    }

    /// The stored entries (key order: the `"C"` collation, the order of Rust strings), then this
    /// transaction's staged changes over them.
    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>> {
        Box::pin(async move {
            let found =
                rows(settle(scan_meta(&self.q, self.tenant, prefix, prefix_end(prefix))).await?)?;
            Ok(merge_meta(&found, &self.meta, prefix))
        })
    }

    /// Records the keys: the next read brings their values (a get of a key not brought yet
    /// reads it with the others still wanted, and pins the head if not yet pinned).
    fn prefetch_meta(&mut self, keys: &[&str]) {
        for key in keys {
            if !self.fetched.contains_key(*key) && !self.wanted.iter().any(|k| k == key) {
                self.wanted.push((*key).to_owned());
            }
        }
    }

    /// This transaction's staged change of `key`, else the value a read brought (under the
    /// write transaction's lock, or in a read transaction, it stands), else one query.
    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>> {
        Box::pin(async move {
            if let Some(staged) = staged_meta(&self.meta, key) {
                return Ok(staged);
            }
            if !self.fetched.contains_key(key) {
                self.prefetch_meta(&[key]);
                let keys = self.keys();
                let read = log_head(&self.q, self.tenant, self.head, &keys);
                self.landed(keys, read).await?;
            }
            Ok(self.fetched.get(key).cloned().flatten().map(Json::trusted))
        })
    }

    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()> {
        Box::pin(async move {
            let value = value.map_or(JsValue::NULL, |v| v.as_str().into());
            self.meta.push(&Array::of2(&key.into(), &value));
            Ok(())
        })
    }

    fn commit<'t>(mut self: Box<Self>) -> Committing<'t>
    where
        Self: 't,
    {
        Box::pin(async move {
            let Some(handle) = self.write.take() else {
                if self.records.length() + self.meta.length() + self.removals.length() == 0 {
                    return Ok(());
                }
                return Err(CommitError::Failed(Error::storage(
                    "a read transaction of the PostgreSQL storage cannot write",
                )));
            };
            let done = commit_write(
                &handle,
                self.tenant,
                &self.records,
                &self.meta,
                &self.removals,
            );
            match settle(done).await?.as_string().as_deref() {
                Some("ok") => Ok(()),
                _ => Err(CommitError::Conflict),
            }
        })
    }
}

impl Storage for PostgresStorage {
    /// A write transaction waits for the tenant's lock (held by another write transaction of
    /// this tenant, in any process, until it commits or rolls back).
    fn begin(&self, mode: Mode) -> Io<'_, BoxedTx<'_>> {
        Box::pin(async move {
            self.check_open()?;
            let mut tx = PostgresTx {
                tenant: &self.tenant,
                q: self.reader.clone(),
                write: None,
                head: None,
                wanted: Vec::new(),
                fetched: HashMap::new(),
                records: Array::new(),
                meta: Array::new(),
                removals: Array::new(),
            };
            if mode == Mode::Write {
                let handle = settle(begin_write(&self.db, &self.tenant)).await?;
                let field = |name: &str| Reflect::get(&handle, &name.into()).unwrap_or_default();
                tx.q = field("q");
                let locked = field("head").as_f64().ok_or_else(|| {
                    Error::storage("PostgreSQL returned a head that is not a number")
                });
                tx.write = Some(handle);
                tx.head = Some(locked?);
            }
            Ok(Box::new(tx) as BoxedTx<'_>)
        })
    }

    /// The unique `(tenant, id)` constraint refuses a taken id at commit. Writes are staged for
    /// the commit, so a transaction's reads do not see them, and the log is never rewritten.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_duplicate_ids: true,
            groups_appends: false,
            reads_own_writes: false,
            truncates: false,
        }
    }

    /// Registers `wake` with the database's `watch(tenant, wake)` (server/db.js: `LISTEN
    /// evstore`; it wakes after another database object's commit of this tenant, and after its
    /// listener reconnected). A database without `watch` never wakes, nor one whose `watch`
    /// threw (no error can be reported from here: its wake-ups are lost, as without `watch`).
    /// Unregistered by [`close`](Storage::close) or when the storage is dropped.
    fn watch(&self, wake: Rc<dyn Fn()>) {
        if self.closed.get() {
            return;
        }
        self.stop_watching();
        let wake = Closure::<dyn Fn()>::new(move || wake());
        if let Ok(unwatch) = watch_tenant(&self.db, &self.tenant, wake.as_ref()) {
            *self.watching.borrow_mut() = Some(Watching { wake, unwatch });
        }
    }

    /// The data stays in the database, and the database (its pool) stays open: it belongs to
    /// the caller. Only this handle stops working, and its wake-ups stop.
    fn close(&self) {
        self.closed.set(true);
        self.stop_watching();
    }
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        self.stop_watching();
    }
}
