//! [`IndexedDbStorage`]: durable storage in the browser, shared safely by every tab and worker.
//!
//! One append is one readwrite transaction over the `events` store: read the stream head and the
//! log head, apply [`decide`], write — awaiting nothing but that transaction's own requests.
//! IndexedDB serialises overlapping readwrite transactions, so positions stay dense and unique and
//! revisions contiguous across tabs. The unique `id` index guards against duplicate ids; event ids
//! are looked up only when the decision can depend on them (see [`IndexedDbStorage::append`]).

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
    BroadcastChannel, IdbCursorDirection, IdbDatabase, IdbIndex, IdbObjectStore, IdbTransaction,
    MessageEvent,
};

use request::{bound, cursor_number, dom_error, pair, pending, unpack, Pending};
pub(crate) use request::{estimate_storage, persist_storage};
use schema::{BY_ID, BY_STREAM, CHECKPOINTS, EVENTS, SCHEMA_VERSION};

use super::{PreparedAppend, Storage};
use crate::{
    decide, AppendResult, Decision, Direction, Error, Position, ReadFrom, ReadRequest,
    RecordedEvent, Result, Revision, StoredLocation, StreamId,
};

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

/// The outcome of one append attempt.
enum Attempt {
    Done(Result<AppendResult>),
    /// An id of the call was found taken only when writing: decide again with the ids looked up.
    IdTaken,
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
        Ok(IndexedDbStorage {
            db,
            name: name.to_owned(),
            durability,
            lost,
            _on_close: on_close,
            channel: BroadcastChannel::new(&format!("evstore:{name}")).ok(),
            on_message: RefCell::new(None),
        })
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

    fn transaction(&self, store: &str, mode: TransactionMode) -> Result<Transaction<'_>> {
        self.check_connected()?;
        let builder = self.db.transaction(store).with_mode(mode);
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

    async fn append_once(&self, append: &PreparedAppend, look_up_ids: bool) -> Attempt {
        match self.try_append(append, look_up_ids).await {
            Ok(attempt) => attempt,
            Err(e) => Attempt::Done(Err(e)),
        }
    }

    async fn try_append(&self, append: &PreparedAppend, look_up_ids: bool) -> Result<Attempt> {
        let tx = self.transaction(EVENTS, TransactionMode::Readwrite)?;
        let raw_tx = raw_tx(&tx);
        let events = raw_tx.object_store(EVENTS).map_err(dom_error)?;
        let stream = append.stream_id.as_str();
        let head_req = stream_head_request(&events, stream)?;
        let last_req = log_head_request(&events)?;
        let ids: Vec<uuid::Uuid> = append.events.iter().map(|e| e.id).collect();
        let mut stored = vec![None; ids.len()];
        if look_up_ids {
            stored = look_up(&events, &ids).await?;
        }
        let head = cursor_number(head_req.result().await?);
        let last = cursor_number(last_req.result().await?);
        let mut decision = decide(&append.stream_id, head, append.expected, &ids, &stored);
        if !look_up_ids && matches!(decision, Err(Error::WrongExpectedRevision { .. })) {
            // A retry of a call that was written before the stream moved on looks like a
            // conflict until its ids are known: look them up in this same transaction.
            stored = look_up(&events, &ids).await?;
            decision = decide(&append.stream_id, head, append.expected, &ids, &stored);
        }
        let first_revision = match decision {
            Ok(Decision::Write { first_revision }) => first_revision,
            Ok(Decision::AlreadyWritten(r)) => return Ok(Attempt::Done(Ok(r))),
            Err(e) => return Ok(Attempt::Done(Err(e))),
        };
        let first_position = last.map_or(0, |p| p + 1);
        for (offset, event) in append.events.iter().enumerate() {
            let record = request::make_record(
                (first_position + offset as u64) as f64,
                &event.id.hyphenated().to_string(),
                stream,
                &event.event_type,
                (first_revision + offset as u64) as f64,
                event.data.as_str(),
                event.metadata.as_str(),
                append.created_at as f64,
            );
            // A failing request aborts the transaction; the commit below reports it.
            if let Err(e) = events.add(&record) {
                return Err(dom_error(e));
            }
        }
        match tx.commit().await {
            Ok(()) => {
                let n = append.events.len() as u64;
                Ok(Attempt::Done(Ok(AppendResult {
                    next_expected_revision: first_revision + n - 1,
                    position: first_position + n - 1,
                })))
            }
            Err(e) => {
                let error = failure(e, &raw_tx);
                if request::dom_error_name(&error) == "ConstraintError" && !look_up_ids {
                    Ok(Attempt::IdTaken)
                } else {
                    Err(dom_error(error))
                }
            }
        }
    }

    /// The event records a read selects, and whether they are in reverse (ascending) order.
    async fn read_records(
        &self,
        request: ReadRequest,
        stream: Option<&str>,
    ) -> Result<(JsValue, bool)> {
        let tx = self.transaction(EVENTS, TransactionMode::Readonly)?;
        let events = raw_tx(&tx).object_store(EVENTS).map_err(dom_error)?;
        let index = match stream {
            Some(_) => Some(events.index(BY_STREAM).map_err(dom_error)?),
            None => None,
        };
        // Keys: positions for $all, [streamId, revision] for a stream.
        let key = |n: u64| match stream {
            Some(s) => pair(s, n as f64),
            None => JsValue::from(n as f64),
        };
        let get_all = |range: &JsValue, limit: Option<u32>| match (&index, limit) {
            (Some(i), Some(l)) => i.get_all_with_key_and_limit(range, l),
            (Some(i), None) => i.get_all_with_key(range),
            (None, Some(l)) => events.get_all_with_key_and_limit(range, l),
            (None, None) => events.get_all_with_key(range),
        };
        if request.max_count == 0 {
            return Ok((js_sys::Array::new().into(), false));
        }
        let limit = u32::try_from(request.max_count).ok();
        match request.direction {
            Direction::Forwards => {
                let from = match request.from {
                    ReadFrom::Start => 0,
                    ReadFrom::At(n) => n,
                    ReadFrom::End => return Ok((js_sys::Array::new().into(), false)),
                };
                let upper = match stream {
                    Some(s) => pair(s, f64::INFINITY),
                    None => JsValue::from(f64::INFINITY),
                };
                let range = bound(&key(from), &upper)?;
                Ok((pending(get_all(&range, limit))?.result().await?, false))
            }
            Direction::Backwards => {
                let head_req = match stream {
                    Some(s) => stream_head_request(&events, s)?,
                    None => log_head_request(&events)?,
                };
                let Some(head) = cursor_number(head_req.result().await?) else {
                    return Ok((js_sys::Array::new().into(), false));
                };
                let upper = match request.from {
                    ReadFrom::Start => 0,
                    ReadFrom::End => head,
                    ReadFrom::At(n) => n.min(head),
                };
                let lower = upper + 1 - request.max_count.min(upper + 1);
                let range = bound(&key(lower), &key(upper))?;
                Ok((pending(get_all(&range, None))?.result().await?, true))
            }
        }
    }

    async fn read(&self, request: ReadRequest, stream: Option<&str>) -> Result<Vec<RecordedEvent>> {
        let (records, reversed) = self.read_records(request, stream).await?;
        let mut events = unpack(&records)?;
        if reversed {
            events.reverse();
        }
        Ok(events)
    }

    /// A read for JS callers: the contract's recorded-event objects, built in JS straight from
    /// the stored records (the payload text never crosses into wasm). `stream`: a stream read,
    /// else the global log.
    pub(crate) async fn read_js(
        &self,
        request: ReadRequest,
        stream: Option<&StreamId>,
    ) -> Result<JsValue> {
        let (records, reversed) = self
            .read_records(request, stream.map(StreamId::as_str))
            .await?;
        Ok(request::records_to_events(&records, reversed))
    }
}

impl Storage for IndexedDbStorage {
    /// Optimistic first: the decision is made with no id lookups, and the write relies on the
    /// unique `id` index. Ids are looked up (and the decision made again, atomically) only when
    /// the answer could depend on them: when the first decision is a conflict (the call may be
    /// a retry), or when the write hits a taken id (a fresh transaction then decides with them).
    async fn append(&self, append: &PreparedAppend) -> Result<AppendResult> {
        match self.append_once(append, false).await {
            Attempt::Done(r) => r,
            Attempt::IdTaken => match self.append_once(append, true).await {
                Attempt::Done(r) => r,
                Attempt::IdTaken => Err(Error::storage("event id conflict after lookup")),
            },
        }
        .inspect(|r| {
            if let Some(channel) = &self.channel {
                // A wake-up for other tabs; losing one only delays them until the next.
                let _ = channel.post_message(&(r.position as f64).into());
            }
        })
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        request: ReadRequest,
    ) -> Result<Vec<RecordedEvent>> {
        self.read(request, Some(stream_id.as_str())).await
    }

    async fn read_all(&self, request: ReadRequest) -> Result<Vec<RecordedEvent>> {
        self.read(request, None).await
    }

    async fn stream_revision(&self, stream_id: &StreamId) -> Result<Option<Revision>> {
        let tx = self.transaction(EVENTS, TransactionMode::Readonly)?;
        let events = raw_tx(&tx).object_store(EVENTS).map_err(dom_error)?;
        let head = stream_head_request(&events, stream_id.as_str())?;
        Ok(cursor_number(head.result().await?))
    }

    async fn head_position(&self) -> Result<Option<Position>> {
        let tx = self.transaction(EVENTS, TransactionMode::Readonly)?;
        let events = raw_tx(&tx).object_store(EVENTS).map_err(dom_error)?;
        Ok(cursor_number(log_head_request(&events)?.result().await?))
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
        let tx = self.transaction(CHECKPOINTS, TransactionMode::Readonly)?;
        let store = raw_tx(&tx).object_store(CHECKPOINTS).map_err(dom_error)?;
        let record = pending(store.get(&name.into()))?.result().await?;
        if record.is_undefined() {
            return Ok(None);
        }
        let position = Reflect::get(&record, &"position".into()).map_err(dom_error)?;
        Ok(position.as_f64().map(|p| p as u64))
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
        let tx = self.transaction(CHECKPOINTS, TransactionMode::Readwrite)?;
        let raw = raw_tx(&tx);
        let store = raw.object_store(CHECKPOINTS).map_err(dom_error)?;
        let record = js_sys::Object::new();
        Reflect::set(&record, &"name".into(), &name.into()).map_err(dom_error)?;
        Reflect::set(&record, &"position".into(), &(position as f64).into()).map_err(dom_error)?;
        store.put(&record).map_err(dom_error)?;
        tx.commit().await.map_err(|e| dom_error(failure(e, &raw)))
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
        indexed_db_futures::error::Error::DomException(e) => dom_error(e.into()),
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
            .map_or_else(|| other.to_string().into(), Into::into),
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
    let index: IdbIndex = events.index(BY_STREAM).map_err(dom_error)?;
    let range = bound(&pair(stream, 0.0), &pair(stream, f64::INFINITY))?;
    pending(index.open_key_cursor_with_range_and_direction(&range, IdbCursorDirection::Prev))
}

/// A key cursor on the last event of the log, or on nothing.
fn log_head_request(events: &IdbObjectStore) -> Result<Pending> {
    pending(
        events.open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev),
    )
}

/// Where each of `ids` is stored, if anywhere (all requests in flight at once).
async fn look_up(
    events: &IdbObjectStore,
    ids: &[uuid::Uuid],
) -> Result<Vec<Option<StoredLocation>>> {
    let by_id = events.index(BY_ID).map_err(dom_error)?;
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
            let field = |k: &str| Reflect::get(&record, &k.into()).ok();
            let stream = field("streamId").and_then(|v| v.as_string());
            let revision = field("revision").and_then(|v| v.as_f64());
            let position = field("position").and_then(|v| v.as_f64());
            match (stream, revision, position) {
                (Some(s), Some(r), Some(p)) => Some(StoredLocation {
                    stream_id: StreamId::trusted(&s),
                    revision: r as u64,
                    position: p as u64,
                }),
                _ => {
                    return Err(Error::storage(
                        "an event record in the database is malformed",
                    ))
                }
            }
        });
    }
    Ok(stored)
}

fn open_error(name: &str, error: indexed_db_futures::error::OpenDbError) -> Error {
    use indexed_db_futures::error::OpenDbError;
    match error {
        OpenDbError::Base(indexed_db_futures::error::Error::DomException(e)) => {
            let e: JsValue = e.into();
            if request::dom_error_name(&e) == "VersionError" {
                Error::storage(format!(
                    "database '{name}' was written by a newer evstore (its schema version is above {SCHEMA_VERSION}); \
                     this version cannot open it without risking damage"
                ))
            } else {
                dom_error(e)
            }
        }
        OpenDbError::NullFactory | OpenDbError::UnsupportedEnvironment => Error::storage(
            "IndexedDB is not available in this runtime; use { storage: \"memory\" }",
        ),
        OpenDbError::VersionZero => Error::storage("IndexedDB refused the schema version"),
        OpenDbError::Base(e) => idb_error(e),
    }
}
