//! [`IndexedDbStorage`]: durable storage in the browser, shared safely by every tab and worker.
//!
//! Plain I/O on the storage seam: one transaction is one IndexedDB transaction over the `events`
//! store and the `meta` area, awaiting nothing but its own requests. IndexedDB serialises
//! overlapping readwrite transactions, so the core's append keeps positions dense and unique and
//! revisions contiguous across tabs. The unique `id` index refuses a taken id at commit
//! ([`CommitError::Conflict`]), so the core looks ids up only when its decision depends on them.
//!
//! A removed event's record is replaced under its key by a husk `{ position, id, streamId,
//! revision, removed: 1 }` (schema version 4): heads, `locate` and the unique indexes work on it
//! as before, reads filter husks out in JS before anything crosses into wasm, and the event's
//! type, payloads and createdAt are gone from the store. Removing costs about what writing cost
//! (one put per event; IndexedDB's cost is per written record).

mod request;
mod schema;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use indexed_db_futures::database::Database;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::transaction::{
    Transaction, TransactionDurability, TransactionMode, TransactionOptions,
};
use indexed_db_futures::Build;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use web_sys::{
    BroadcastChannel, IdbCursorDirection, IdbDatabase, IdbIndex, IdbKeyRange, IdbObjectStore,
    IdbTransaction, MessageEvent,
};

use request::{bound, cursor_number, key_number, pair, pending, pending_live, Pending};
use schema::{BY_ID, BY_STREAM, CHECKPOINTS, EVENTS, META, SCHEMA_VERSION};

use super::checkpoint;
use super::js::{self, js_error, Records};
use super::{
    BoxedPage, BoxedTx, Capabilities, CommitError, Committing, HeadsOf, Io, Mode, Positions,
    Removal, Revisions, Storage,
};
use crate::{Error, Json, Position, RecordedEvent, Result, Revision, StoredLocation, StreamId};
use uuid::Uuid;

/// A `message` listener kept alive while installed.
type MessageListener = Closure<dyn FnMut(MessageEvent)>;

/// How durably a readwrite transaction commits (IndexedDB's `durability` hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The browser's default (relaxed in Chromium).
    #[default]
    Default,
    /// Flushed to disk before the append resolves.
    Strict,
    /// May resolve before the data reaches the disk.
    Relaxed,
}

/// Events in an IndexedDB database (browsers, workers). Open with [`IndexedDbStorage::open`].
#[derive(Debug)]
pub struct IndexedDbStorage {
    db: Database,
    name: String,
    durability: Durability,
    /// Set when the connection is closed: by [`Storage::close`], by another tab's upgrade
    /// (`versionchange`), or by the browser.
    lost: Rc<Cell<bool>>,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
    /// Tells the other tabs and workers on this database that events were appended (wake-ups
    /// for their subscriptions); `None` where the runtime has no BroadcastChannel.
    channel: Option<BroadcastChannel>,
    on_message: RefCell<Option<MessageListener>>,
}

impl IndexedDbStorage {
    /// Opens (creating or upgrading) the database `name`. A database written by a newer evstore
    /// (a higher schema version) is refused with `STORAGE_ERROR`. While open, the connection
    /// closes itself when another tab needs to upgrade the database, so upgrades never block.
    pub async fn open(name: &str, durability: Durability) -> Result<Self> {
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| {
                schema::upgrade(db.as_sys(), event.old_version() as u32).map_err(Into::into)
            })
            .await
            .map_err(|e| open_error(name, e))?;
        let lost = Rc::new(Cell::new(false));
        let on_close = {
            let raw: IdbDatabase = db.as_sys().clone().unchecked_into();
            let lost = lost.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                raw.close();
                lost.set(true);
            })
        };
        let raw = raw_db(&db);
        raw.set_onversionchange(Some(on_close.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let storage = IndexedDbStorage {
            db,
            name: name.to_owned(),
            durability,
            lost,
            _on_close: on_close,
            channel: BroadcastChannel::new(&format!("evstore:{name}")).ok(),
            on_message: RefCell::new(None),
        };
        storage.move_checkpoints().await?;
        Ok(storage)
    }

    /// A database created before schema version 3 keeps checkpoints in an object store of their
    /// own: moves them into the meta area, in one transaction (the emptied store stays, as
    /// IndexedDB deletes stores only in a version change).
    async fn move_checkpoints(&self) -> Result<()> {
        if !raw_db(&self.db).object_store_names().contains(CHECKPOINTS) {
            return Ok(());
        }
        let tx = self.transaction([CHECKPOINTS, META], TransactionMode::Readwrite)?;
        let raw = raw_tx(&tx);
        let legacy = raw.object_store(CHECKPOINTS).map_err(js_error)?;
        let records = pending(legacy.get_all())?.result().await?;
        let records: js_sys::Array = records.unchecked_into();
        if records.length() == 0 {
            return Ok(());
        }
        let meta = raw.object_store(META).map_err(js_error)?;
        for record in records.iter() {
            let field = |k: &str| Reflect::get(&record, &k.into()).ok();
            let name = field("name").and_then(|n| n.as_string());
            let position = field("position").and_then(|p| p.as_f64());
            let (Some(name), Some(position)) = (name, position) else {
                return Err(Error::storage("a stored checkpoint record is malformed"));
            };
            let value = JsValue::from_str(&(position as u64).to_string());
            meta.put_with_key(&value, &checkpoint::key(&name).into())
                .map_err(js_error)?;
        }
        legacy.clear().map_err(js_error)?;
        tx.commit().await.map_err(|e| js_error(failure(e, &raw)))
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the database `name` (for tests and "reset" features). Waits until it is gone.
    pub async fn delete(name: &str) -> Result<()> {
        Database::delete_by_name(name)
            .map_err(|e| match e {
                indexed_db_futures::error::OpenDbError::Base(e) => idb_error(e),
                _ => Error::storage("IndexedDB is not available in this runtime"),
            })?
            .await
            .map_err(idb_error)
    }

    fn check_connected(&self) -> Result<()> {
        if self.lost.get() {
            Err(Error::storage(format!(
                "the connection to database '{}' was closed (another tab upgraded it, or the browser closed it); reopen the store",
                self.name
            )))
        } else {
            Ok(())
        }
    }

    fn transaction<N: indexed_db_futures::database::ObjectStoreName>(
        &self,
        stores: N,
        mode: TransactionMode,
    ) -> Result<Transaction<'_>> {
        self.check_connected()?;
        let builder = self.db.transaction(stores).with_mode(mode);
        let tx = match (mode, self.durability) {
            (TransactionMode::Readwrite, d) if d != Durability::Default => {
                let durability = match d {
                    Durability::Strict => TransactionDurability::Strict,
                    _ => TransactionDurability::Relaxed,
                };
                builder
                    .with_options(TransactionOptions::new().with_durability(durability))
                    .build()
            }
            _ => builder.build(),
        };
        tx.map_err(idb_error)
    }
}

/// One IndexedDB transaction over the events and the meta area. Requests are issued at once
/// and awaited in order; nothing else is awaited inside it.
pub struct IndexedDbTx<'a> {
    tx: Transaction<'a>,
    raw: IdbTransaction,
    events: IdbObjectStore,
    /// `meta` gets issued ahead by [`prefetch_meta`](crate::Transaction::prefetch_meta), not yet
    /// taken by `get_meta`.
    prefetched: Vec<(String, Pending)>,
    /// For many keys at once, one request instead: which of them exist.
    probe: Option<Probe>,
    /// The log head's cursor, issued ahead by
    /// [`prefetch_log_head`](crate::Transaction::prefetch_log_head).
    head: Option<Pending>,
}

/// From this many keys on, [`prefetch_meta`](crate::Transaction::prefetch_meta) asks which of
/// them exist with one `getAllKeys` (then gets only those) instead of one get per key: each
/// IndexedDB request costs about as much as a small read, and a group commit of 100 appends to
/// new streams would otherwise issue 100 gets that find nothing.
const PROBE_FROM: usize = 4;
/// The probe reads at most this many keys per asked key (of the span between the smallest and
/// the largest asked key); past that it is abandoned for one get per key.
const PROBE_SPAN: usize = 16;

/// One `getAllKeys` over the span of the keys `covered`, then the keys it found.
struct Probe {
    /// The asked keys it answers for (a key written since is taken out).
    covered: Vec<String>,
    /// The request, until it was awaited.
    request: Option<Pending>,
    /// The keys of the span that exist; `None` when the span held too many to tell.
    found: Option<Vec<String>>,
    /// The request's limit.
    limit: u32,
}

impl Probe {
    /// Whether `key` may exist (`true` unless the probe saw the whole span without it).
    async fn may_hold(&mut self, key: &str) -> Result<bool> {
        if let Some(request) = self.request.take() {
            let keys: js_sys::Array = request.result().await?.unchecked_into();
            self.found = (keys.length() < self.limit)
                .then(|| keys.iter().filter_map(|k| k.as_string()).collect());
        }
        Ok(match &self.found {
            Some(found) => found.iter().any(|k| k == key),
            None => true,
        })
    }
}

impl IndexedDbTx<'_> {
    fn meta(&self) -> Result<IdbObjectStore> {
        self.raw.object_store(META).map_err(js_error)
    }

    fn index(&self, name: &str) -> Result<IdbIndex> {
        self.events.index(name).map_err(js_error)
    }

    /// The live records in `range` (husks are filtered out in JS, before anything crosses).
    async fn get_all(&self, index: Option<&IdbIndex>, range: &IdbKeyRange) -> Result<BoxedPage> {
        let request = match index {
            Some(i) => i.get_all_with_key(range),
            None => self.events.get_all_with_key(range),
        };
        let records = pending_live(request)?.result().await?;
        Ok(Records::boxed(records.unchecked_into()))
    }
}

impl crate::storage::Transaction for IndexedDbTx<'_> {
    fn stream_head<'a>(&'a mut self, stream: &'a StreamId) -> Io<'a, Option<Revision>> {
        Box::pin(async move {
            let request = stream_head_request(&self.events, stream.as_str())?;
            Ok(cursor_number(request.result().await?))
        })
    }

    fn log_head(&mut self) -> Io<'_, Option<Position>> {
        Box::pin(async move {
            let request = match self.head.take() {
                Some(request) => request,
                None => log_head_request(&self.events)?,
            };
            Ok(cursor_number(request.result().await?))
        })
    }

    fn prefetch_log_head(&mut self) {
        if self.head.is_none() {
            self.head = log_head_request(&self.events).ok();
        }
    }

    /// Every cursor is issued before any is awaited.
    fn heads_of<'a>(&'a mut self, streams: &'a [StreamId]) -> Io<'a, HeadsOf> {
        Box::pin(async move {
            let requests = streams
                .iter()
                .map(|s| stream_head_request(&self.events, s.as_str()))
                .collect::<Result<Vec<_>>>()?;
            let log_req = log_head_request(&self.events)?;
            let mut heads = Vec::with_capacity(requests.len());
            for req in requests {
                heads.push(cursor_number(req.result().await?));
            }
            Ok((heads, cursor_number(log_req.result().await?)))
        })
    }

    /// Every lookup is in flight at once.
    fn locate<'a>(&'a mut self, ids: &'a [Uuid]) -> Io<'a, Vec<Option<StoredLocation>>> {
        Box::pin(async move {
            let by_id = self.index(BY_ID)?;
            let requests = ids
                .iter()
                .map(|id| pending(by_id.get(&id.hyphenated().to_string().into())))
                .collect::<Result<Vec<_>>>()?;
            let mut stored = Vec::with_capacity(ids.len());
            for req in requests {
                let record = req.result().await?;
                stored.push(if record.is_undefined() {
                    None
                } else {
                    Some(location(&record)?)
                });
            }
            Ok(stored)
        })
    }

    fn read_stream<'a>(&'a mut self, stream: &'a StreamId, revs: Revisions) -> Io<'a, BoxedPage> {
        Box::pin(async move {
            let s = stream.as_str();
            let range = bound(
                &pair(s, key_number(*revs.start())),
                &pair(s, key_number(*revs.end())),
            )?;
            self.get_all(Some(&self.index(BY_STREAM)?), &range).await
        })
    }

    fn read_log(&mut self, positions: Positions) -> Io<'_, BoxedPage> {
        Box::pin(async move {
            let range = bound(
                &key_number(*positions.start()).into(),
                &key_number(*positions.end()).into(),
            )?;
            self.get_all(None, &range).await
        })
    }

    fn put<'a>(&'a mut self, events: &'a [RecordedEvent]) -> Io<'a, ()> {
        Box::pin(async move {
            // A head read ahead would not see this write.
            self.head = None;
            for event in events {
                // A failing request aborts the transaction; the commit reports it.
                self.events.add(&js::record(event)).map_err(js_error)?;
            }
            Ok(())
        })
    }

    fn truncate_log(&mut self, from: Position) -> Io<'_, ()> {
        Box::pin(async move {
            // A head read ahead would not see this write.
            self.head = None;
            let range = IdbKeyRange::lower_bound(&key_number(from).into()).map_err(js_error)?;
            pending(self.events.delete(&range))?.result().await?;
            Ok(())
        })
    }

    /// Each record is replaced under its own key by its husk; records are read in batches and
    /// the puts issued at once, in JS (`idbHusk`): no record crosses into wasm.
    fn remove<'a>(&'a mut self, what: &'a Removal) -> Io<'a, ()> {
        Box::pin(async move {
            // A head read ahead would not see this write.
            self.head = None;
            let index = self.index(BY_STREAM)?;
            let revisions = (
                key_number(*what.revisions.start()),
                key_number(*what.revisions.end()),
            );
            request::husk(
                &index,
                what.stream.as_str(),
                revisions,
                what.created_before.map_or(f64::INFINITY, |t| t as f64),
                what.through.map_or(f64::INFINITY, key_number),
            )
            .result()
            .await?;
            Ok(())
        })
    }

    /// Issues the gets now, so they run together with the reads that follow; for many keys, one
    /// `getAllKeys` over their span instead, and later gets only for the keys that exist.
    fn prefetch_meta(&mut self, keys: &[&str]) {
        let Ok(meta) = self.meta() else { return };
        if keys.len() >= PROBE_FROM && self.probe.is_none() {
            let mut covered: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            // IndexedDB orders strings by UTF-16 code units.
            covered.sort_unstable_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            covered.dedup();
            let limit = (covered.len() * PROBE_SPAN).min(u32::MAX as usize) as u32;
            let span = bound(
                &covered[0].as_str().into(),
                &covered[covered.len() - 1].as_str().into(),
            );
            let request =
                span.and_then(|span| pending(meta.get_all_keys_with_key_and_limit(&span, limit)));
            if let Ok(request) = request {
                self.probe = Some(Probe {
                    covered,
                    request: Some(request),
                    found: None,
                    limit,
                });
                return;
            }
        }
        for key in keys {
            if self.prefetched.iter().any(|(k, _)| k == key) {
                continue;
            }
            if let Ok(get) = pending(meta.get(&(*key).into())) {
                self.prefetched.push(((*key).to_owned(), get));
            }
        }
    }

    fn get_meta<'a>(&'a mut self, key: &'a str) -> Io<'a, Option<Json>> {
        Box::pin(async move {
            let get = match self.prefetched.iter().position(|(k, _)| k == key) {
                Some(i) => self.prefetched.swap_remove(i).1,
                None => {
                    if let Some(probe) = &mut self.probe {
                        if probe.covered.iter().any(|k| k == key) && !probe.may_hold(key).await? {
                            return Ok(None);
                        }
                    }
                    pending(self.meta()?.get(&key.into()))?
                }
            };
            let value = get.result().await?;
            Ok(value.as_string().map(Json::trusted))
        })
    }

    fn scan_meta<'a>(&'a mut self, prefix: &'a str) -> Io<'a, Vec<(String, Json)>> {
        Box::pin(async move {
            let meta = self.meta()?;
            let range = bound(&prefix.into(), &format!("{prefix}\u{ffff}").into())?;
            let keys = pending(meta.get_all_keys_with_key(&range))?;
            let values = pending(meta.get_all_with_key(&range))?;
            let keys: js_sys::Array = keys.result().await?.unchecked_into();
            let values: js_sys::Array = values.result().await?.unchecked_into();
            Ok(keys
                .iter()
                .zip(values.iter())
                .filter_map(|(k, v)| Some((k.as_string()?, Json::trusted(v.as_string()?))))
                .collect())
        })
    }

    fn put_meta<'a>(&'a mut self, key: &'a str, value: Option<&'a Json>) -> Io<'a, ()> {
        Box::pin(async move {
            // A get or probe issued before this put would answer the old value.
            self.prefetched.retain(|(k, _)| k != key);
            if let Some(probe) = &mut self.probe {
                probe.covered.retain(|k| k != key);
            }
            let meta = self.meta()?;
            match value {
                Some(v) => meta.put_with_key(&v.as_str().into(), &key.into()),
                None => meta.delete(&key.into()),
            }
            .map_err(js_error)?;
            Ok(())
        })
    }

    fn commit<'t>(self: Box<Self>) -> Committing<'t>
    where
        Self: 't,
    {
        Box::pin(async move {
            match self.tx.commit().await {
                Ok(()) => Ok(()),
                Err(e) => {
                    let error = failure(e, &self.raw);
                    if js::error_name(&error) == "ConstraintError" {
                        Err(CommitError::Conflict)
                    } else {
                        Err(CommitError::Failed(js_error(error)))
                    }
                }
            }
        })
    }
}

impl Storage for IndexedDbStorage {
    fn begin(&self, mode: Mode) -> Io<'_, BoxedTx<'_>> {
        let tx_mode = match mode {
            Mode::Read => TransactionMode::Readonly,
            Mode::Write => TransactionMode::Readwrite,
        };
        let tx = self.transaction([EVENTS, META], tx_mode).and_then(|tx| {
            let raw: IdbTransaction = tx.as_sys().clone().unchecked_into();
            let events = raw.object_store(EVENTS).map_err(js_error)?;
            Ok(Box::new(IndexedDbTx {
                tx,
                raw,
                events,
                prefetched: Vec::new(),
                probe: None,
                head: None,
            }) as BoxedTx<'_>)
        });
        Box::pin(async move { tx })
    }

    /// The unique `id` index refuses a taken id at commit (`ConstraintError`); a readwrite
    /// transaction costs far more than its writes, so appends issued together share one.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_duplicate_ids: true,
            groups_appends: true,
            ..Capabilities::default()
        }
    }

    fn committed(&self, last_position: Position) {
        if let Some(channel) = &self.channel {
            // A wake-up for other tabs; losing one only delays them until the next.
            let _ = channel.post_message(&(last_position as f64).into());
        }
    }

    fn watch(&self, wake: Rc<dyn Fn()>) {
        if let Some(channel) = &self.channel {
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |_| wake());
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            *self.on_message.borrow_mut() = Some(on_message);
        }
    }

    fn close(&self) {
        self.lost.set(true);
        raw_db(&self.db).close();
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        self.on_message.borrow_mut().take();
    }
}

/// Maps an `indexed_db_futures` error to the contract's error.
fn idb_error(error: indexed_db_futures::error::Error) -> Error {
    match error {
        indexed_db_futures::error::Error::DomException(e) => js_error(e.into()),
        other => Error::storage(describe_idb_error(&other)),
    }
}

/// A fixed description of a non-DOM `indexed_db_futures` error (its `Display` would pull float
/// formatting into the wasm for nothing).
fn describe_idb_error(error: &indexed_db_futures::error::Error) -> &'static str {
    use indexed_db_futures::error::Error as E;
    match error {
        E::DomException(_) => "IndexedDB raised a DOMException",
        E::Serialisation(_) => "IndexedDB could not serialise a value",
        E::MissingData(_) => {
            "IndexedDB returned no data where data was expected (the transaction was aborted)"
        }
        _ => "IndexedDB failed with a JS error",
    }
}

/// The DOMException behind a failed commit: the crate's, else the transaction's.
fn failure(error: indexed_db_futures::error::Error, tx: &IdbTransaction) -> JsValue {
    match error {
        indexed_db_futures::error::Error::DomException(e) => e.into(),
        other => tx
            .error()
            .map_or_else(|| describe_idb_error(&other).into(), Into::into),
    }
}

fn raw_db(db: &Database) -> &IdbDatabase {
    db.as_sys().unchecked_ref()
}

fn raw_tx(tx: &Transaction<'_>) -> IdbTransaction {
    tx.as_sys().clone().unchecked_into()
}

/// A key cursor on the last event of `stream` (its head), or on nothing.
fn stream_head_request(events: &IdbObjectStore, stream: &str) -> Result<Pending> {
    let index: IdbIndex = events.index(BY_STREAM).map_err(js_error)?;
    let range = bound(&pair(stream, 0.0), &pair(stream, f64::INFINITY))?;
    pending(index.open_key_cursor_with_range_and_direction(&range, IdbCursorDirection::Prev))
}

/// A key cursor on the last event of the log, or on nothing.
fn log_head_request(events: &IdbObjectStore) -> Result<Pending> {
    pending(
        events.open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev),
    )
}

/// Where a stored event record (or husk) is.
fn location(record: &JsValue) -> Result<StoredLocation> {
    let field = |k: &str| Reflect::get(record, &k.into()).ok();
    let stream = field("streamId").and_then(|v| v.as_string());
    let revision = field("revision").and_then(|v| v.as_f64());
    let position = field("position").and_then(|v| v.as_f64());
    let removed = field("removed").and_then(|v| v.as_f64()) == Some(1.0);
    match (stream, revision, position) {
        (Some(s), Some(r), Some(p)) => Ok(StoredLocation {
            stream_id: StreamId::trusted(&s),
            revision: r as u64,
            position: p as u64,
            removed,
        }),
        _ => Err(Error::storage(
            "an event record in the database is malformed",
        )),
    }
}

fn open_error(name: &str, error: indexed_db_futures::error::OpenDbError) -> Error {
    use indexed_db_futures::error::OpenDbError;
    match error {
        OpenDbError::Base(indexed_db_futures::error::Error::DomException(e)) => {
            let e: JsValue = e.into();
            if js::error_name(&e) == "VersionError" {
                Error::storage(format!(
                    "database '{name}' was written by a newer evstore (its schema version is above {SCHEMA_VERSION}); \
                     this version cannot open it without risking damage"
                ))
            } else {
                js_error(e)
            }
        }
        OpenDbError::NullFactory | OpenDbError::UnsupportedEnvironment => Error::storage(
            "IndexedDB is not available in this runtime; use { storage: \"memory\" }",
        ),
        OpenDbError::VersionZero => Error::storage("IndexedDB refused the schema version"),
        OpenDbError::Base(e) => idb_error(e),
    }
}
