//! Stream lifecycle: retention (`maxCount`, `maxAge`, `truncateBefore`), soft deletes and
//! tombstones — the rules, as pure functions next to [`decide`](crate::decide), and the one
//! function that applies a lifecycle event inside a transaction.
//!
//! A lifecycle call is an append of one system event through the one append algorithm: a
//! metadata change (a soft delete included) is a `$metadata` event in the stream `$$X`, a
//! tombstone a `$streamDeleted` event in `X`. The state of each stream is a meta record
//! `lifecycle/s/{X}` ([`StreamLife`]), read by appends and stream reads in their own
//! transaction. What a change hides is removed at once, in the same transaction: the events
//! become husks (see [`Removal`](crate::Removal)).

use std::collections::HashSet;

use uuid::Uuid;

use crate::decision::{already_written, first_repeated, Decision, StoredLocation};
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::json::Json;
use crate::model::{about_of, AppendResult, ExpectedRevision, Position, Revision, StreamId};
use crate::storage::{Removal, Transaction};
use crate::sync::wire::{self as wire, Fields, Raw};

/// The type of the event that records a metadata change (a soft delete included), in `$$X`.
pub const METADATA_TYPE: &str = "$metadata";

/// The type of the event that records a tombstone (a hard delete), in `X`.
pub const DELETED_TYPE: &str = "$streamDeleted";

/// The meta-area prefix of the streams' lifecycle records.
pub(crate) const LIFE_PREFIX: &str = "lifecycle/s/";

/// The meta key of the lifecycle record of `stream`.
pub(crate) fn life_key(stream: &str) -> String {
    format!("{LIFE_PREFIX}{stream}")
}

/// A stream's metadata: its retention rules and the caller's own data. Setting it replaces the
/// whole metadata.
///
/// ```
/// use evstore::{Json, StreamMetadata};
/// let m = StreamMetadata::from_json(&Json::parse(r#"{"maxCount":3,"custom":{"owner":"u42"}}"#)?)?;
/// assert_eq!(m.max_count, Some(3));
/// assert_eq!(m.to_json().as_str(), r#"{"maxCount":3,"custom":{"owner":"u42"}}"#);
/// assert!(StreamMetadata::from_json(&Json::parse(r#"{"maxCount":0}"#)?).is_err());
/// # Ok::<(), evstore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamMetadata {
    /// Keep only the newest `max_count` events (at least 1).
    pub max_count: Option<u64>,
    /// Keep only events created less than `max_age` seconds ago (at least 1).
    pub max_age: Option<u64>,
    /// Remove the events below this revision.
    pub truncate_before: Option<Revision>,
    /// The caller's own data: a JSON object.
    pub custom: Option<Json>,
}

impl StreamMetadata {
    /// Parses the contract's metadata object (`maxCount`, `maxAge`, `truncateBefore`,
    /// `custom`). `INVALID_ARGUMENT`, naming the field, for anything else: an unknown key,
    /// `maxCount`/`maxAge` not an integer >= 1, `truncateBefore` not an integer >= 0, `custom`
    /// not a plain object.
    pub fn from_json(json: &Json) -> Result<Self> {
        let fields = Raw::parse(json.as_str())
            .and_then(Fields::of)
            .ok_or_else(|| Error::invalid("metadata must be a JSON object"))?;
        let mut metadata = StreamMetadata::default();
        for (key, value) in &fields.0 {
            match key.as_ref() {
                "maxCount" => metadata.max_count = Some(integer(key, *value, 1)?),
                "maxAge" => metadata.max_age = Some(integer(key, *value, 1)?),
                "truncateBefore" => metadata.truncate_before = Some(integer(key, *value, 0)?),
                "custom" => {
                    if Fields::of(*value).is_none() {
                        return Err(Error::invalid("metadata.custom must be a plain object"));
                    }
                    metadata.custom = Some(Json::trusted(value.get().to_owned()));
                }
                other => {
                    return Err(Error::invalid(format!(
                        "metadata has an unknown key '{other}' (known: maxCount, maxAge, truncateBefore, custom)"
                    )))
                }
            }
        }
        Ok(metadata)
    }

    /// The contract's metadata object; absent fields are omitted.
    pub fn to_json(&self) -> Json {
        let mut parts = Vec::new();
        if let Some(n) = self.max_count {
            parts.push(format!("\"maxCount\":{n}"));
        }
        if let Some(n) = self.max_age {
            parts.push(format!("\"maxAge\":{n}"));
        }
        if let Some(n) = self.truncate_before {
            parts.push(format!("\"truncateBefore\":{n}"));
        }
        if let Some(custom) = &self.custom {
            parts.push(format!("\"custom\":{}", custom.as_str()));
        }
        Json::trusted(format!("{{{}}}", parts.join(",")))
    }

    /// Whether the metadata has a rule that keeps removing events as the stream grows or as
    /// time passes (`maxCount`, `maxAge`).
    pub fn retains(&self) -> bool {
        self.max_count.is_some() || self.max_age.is_some()
    }
}

/// `value` as an integer >= `min`, or an error naming `key`.
fn integer(key: &str, value: Raw<'_>, min: u64) -> Result<u64> {
    match wire::integer(value) {
        Some(n) if n >= min => Ok(n),
        _ => Err(Error::invalid(format!(
            "metadata.{key} must be an integer >= {min}"
        ))),
    }
}

/// A lifecycle call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleOp {
    /// Replace the stream's metadata.
    SetMetadata(StreamMetadata),
    /// Soft delete: `truncateBefore` becomes the stream's last revision + 1.
    Delete,
    /// Hard delete: every later call on the stream fails with `STREAM_DELETED`.
    Tombstone,
}

/// The lifecycle record of a stream `X`, under `lifecycle/s/{X}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StreamLife {
    /// The revision of the latest `$metadata` event in `$$X`, `None` when never set.
    pub metadata_revision: Option<Revision>,
    /// The current metadata (empty once tombstoned: no old custom data stays).
    pub metadata: StreamMetadata,
    /// Whether `X` is tombstoned.
    pub tombstoned: bool,
    /// Every revision of `X` below this one is removed physically.
    pub floor: Revision,
}

impl StreamLife {
    /// Reads a stored record: `[metadataRevision|null, metadata|null, tombstoned 0|1, floor]`.
    pub fn decode(json: &Json) -> Result<Self> {
        let corrupt = || Error::storage(format!("a stream lifecycle record is malformed: {json}"));
        let parts = Raw::parse(json.as_str())
            .and_then(wire::items)
            .ok_or_else(corrupt)?;
        let [revision, metadata, tombstoned, floor] = parts.as_slice() else {
            return Err(corrupt());
        };
        let metadata = if wire::is_null(*metadata) {
            StreamMetadata::default()
        } else {
            StreamMetadata::from_json(&Json::trusted(metadata.get().to_owned()))
                .map_err(|_| corrupt())?
        };
        let number = |raw: &Raw<'_>| wire::integer(*raw).ok_or_else(corrupt);
        Ok(StreamLife {
            metadata_revision: match wire::is_null(*revision) {
                true => None,
                false => Some(number(revision)?),
            },
            metadata,
            tombstoned: number(tombstoned)? == 1,
            floor: number(floor)?,
        })
    }

    /// The stored form of the record.
    pub fn encode(&self) -> Json {
        let revision = self
            .metadata_revision
            .map_or_else(|| "null".to_owned(), |r| r.to_string());
        let metadata = if self.metadata_revision.is_some() && !self.tombstoned {
            self.metadata.to_json().as_str().to_owned()
        } else {
            "null".to_owned()
        };
        Json::trusted(format!(
            "[{revision},{metadata},{},{}]",
            u8::from(self.tombstoned),
            self.floor
        ))
    }
}

/// Reads the lifecycle record of `stream` in `tx`.
pub(crate) async fn read_life(
    tx: &mut dyn Transaction,
    stream: &StreamId,
) -> Result<Option<StreamLife>> {
    match tx.get_meta(&life_key(stream.as_str())).await? {
        Some(json) => Ok(Some(StreamLife::decode(&json)?)),
        None => Ok(None),
    }
}

/// The visible head of stream `x` in `tx` (`None` when it has no events or was
/// soft-deleted); `STREAM_DELETED` when tombstoned.
pub(crate) async fn visible_head(
    tx: &mut dyn Transaction,
    x: &StreamId,
) -> Result<Option<Revision>> {
    tx.prefetch_meta(&[&life_key(x.as_str())]);
    let life = read_life(tx, x).await?;
    if life.as_ref().is_some_and(|l| l.tombstoned) {
        return Err(StreamView::deleted(x));
    }
    let stored_head = tx.stream_head(x).await?;
    Ok(StreamView {
        stored_head,
        life: life.as_ref(),
    }
    .visible_head())
}

/// What a decision sees of a stream: its stored head (removed events count) and its record.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamView<'a> {
    /// The last revision stored (removed events included), `None` when none.
    pub stored_head: Option<Revision>,
    /// The stream's lifecycle record, if any.
    pub life: Option<&'a StreamLife>,
}

impl StreamView<'_> {
    fn metadata(&self) -> Option<&StreamMetadata> {
        self.life.map(|l| &l.metadata)
    }

    /// Whether the stream is tombstoned.
    pub fn tombstoned(&self) -> bool {
        self.life.is_some_and(|l| l.tombstoned)
    }

    /// The last revision the stream ever had: `max(stored_head, truncate_before - 1)` (a
    /// device may never have received what was removed).
    pub fn last(&self) -> Option<Revision> {
        let truncated = self
            .metadata()
            .and_then(|m| m.truncate_before)
            .and_then(|t| t.checked_sub(1));
        self.stored_head.max(truncated)
    }

    /// What expected checks, `stream_revision` and `aggregate_stream` see: `None` when
    /// soft-deleted (`truncate_before` past the last revision), else [`last`](Self::last).
    /// `maxCount` and `maxAge` keep it.
    pub fn visible_head(&self) -> Option<Revision> {
        let last = self.last()?;
        match self.metadata().and_then(|m| m.truncate_before) {
            Some(t) if t > last => None,
            _ => Some(last),
        }
    }

    /// The revision of the next event: revisions continue after a delete.
    pub fn next_revision(&self) -> Revision {
        self.last().map_or(0, |r| r + 1)
    }

    /// Whether the event at revision `r`, created at `t` (ms), is hidden at `now` (ms) by a
    /// tombstone, `truncateBefore`, `maxCount` or `maxAge`.
    pub fn hides(&self, r: Revision, t: u64, now: u64) -> bool {
        let Some(life) = self.life else {
            return false;
        };
        if life.tombstoned || r < life.floor {
            return true;
        }
        hidden_by(&life.metadata, self.last(), r, t, now)
    }

    /// The error of a call on a tombstoned stream.
    fn deleted(stream: &StreamId) -> Error {
        Error::StreamDeleted {
            stream_id: stream.to_string(),
        }
    }
}

/// Whether `metadata` hides revision `r` created at `t` at `now`, in a stream whose last
/// revision is `last` (`None`: unknown, `maxCount` is not applied).
pub(crate) fn hidden_by(
    metadata: &StreamMetadata,
    last: Option<Revision>,
    r: Revision,
    t: u64,
    now: u64,
) -> bool {
    metadata.truncate_before.is_some_and(|tb| r < tb)
        || metadata
            .max_count
            .zip(last)
            .is_some_and(|(n, last)| r.saturating_add(n) <= last)
        || metadata.max_age.is_some_and(|age| aged(t, age, now))
}

/// Whether an event created at `t` (ms) is older than `max_age` seconds at `now` (ms).
fn aged(t: u64, max_age: u64, now: u64) -> bool {
    t.saturating_add(max_age.saturating_mul(1000)) < now
}

/// [`decide`](crate::decide) with the stream's lifecycle state. In order:
/// 1. an id repeated within the call is `DUPLICATE_EVENT_ID`;
/// 2. every id stored in this stream, in order, contiguous (removed or not): already written,
///    even when the stream is tombstoned now (a retry only reports what happened);
/// 3. any other stored id is `DUPLICATE_EVENT_ID`;
/// 4. a tombstoned stream is `STREAM_DELETED`;
/// 5. `expected` must hold for the visible head, else `WRONG_EXPECTED_REVISION`;
/// 6. write from the next revision (revisions continue after a soft delete).
pub(crate) fn decide_in(
    stream_id: &StreamId,
    view: &StreamView<'_>,
    expected: ExpectedRevision,
    ids: &[Uuid],
    stored: &[Option<StoredLocation>],
) -> Result<Decision> {
    debug_assert_eq!(ids.len(), stored.len());
    if let Some(id) = first_repeated(ids) {
        return Err(Error::DuplicateEventId {
            event_id: id.to_string(),
        });
    }
    if let Some(result) = already_written(stream_id, stored) {
        return Ok(Decision::AlreadyWritten(result));
    }
    if let Some(i) = stored.iter().position(Option::is_some) {
        return Err(Error::DuplicateEventId {
            event_id: ids[i].to_string(),
        });
    }
    if view.tombstoned() {
        return Err(StreamView::deleted(stream_id));
    }
    let head = view.visible_head();
    if !expected.holds_for(head) {
        return Err(Error::WrongExpectedRevision {
            stream_id: stream_id.to_string(),
            expected,
            actual: head,
        });
    }
    Ok(Decision::Write {
        first_revision: view.next_revision(),
    })
}

/// The system event a lifecycle call writes (numbered in the log by the append algorithm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LifecycleWrite {
    /// `$$X` for a metadata change, `X` for a tombstone.
    pub stream: StreamId,
    /// Its revision there.
    pub revision: Revision,
    /// [`METADATA_TYPE`] or [`DELETED_TYPE`].
    pub event_type: &'static str,
    /// The new metadata, or `{}`.
    pub data: Json,
    /// Every revision of `X` below this one is already removed (the record's floor): carried
    /// in the event's metadata, so that a device that never received an earlier `$metadata`
    /// (superseded, and removed on the server) still removes what it removed.
    pub removed_before: Revision,
}

impl LifecycleWrite {
    /// The event, recorded at `position`.
    pub fn recorded(&self, id: Uuid, position: Position, created_at: u64) -> RecordedEvent {
        RecordedEvent {
            id,
            stream_id: self.stream.clone(),
            event_type: self.event_type.into(),
            revision: self.revision,
            position,
            data: self.data.clone(),
            metadata: match self.removed_before {
                0 => Json::empty_object(),
                n => Json::trusted(format!("{{\"{REMOVED_BEFORE}\":{n}}}")),
            },
            created_at,
        }
    }
}

/// The key of a `$metadata` event's metadata that carries [`LifecycleWrite::removed_before`].
const REMOVED_BEFORE: &str = "removedBefore";

/// The revision below which a lifecycle `event` says its stream's events are removed already.
pub(crate) fn removed_before(event: &RecordedEvent) -> Revision {
    Fields::parse(event.metadata.as_str())
        .and_then(|f| f.integer(REMOVED_BEFORE))
        .unwrap_or(0)
}

/// What a lifecycle call does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LifecycleDecision {
    /// Write this event.
    Write(LifecycleWrite),
    /// The call was already made (its event id is stored where it belongs): nothing to do.
    AlreadyWritten(AppendResult),
}

/// Decides a lifecycle call `op` on stream `x` (seen as `view`), whose metadata stream `$$X`
/// has the stored head `meta_head`, under `expected`, with the call's event `id`, stored at
/// `stored` if anywhere. Idempotency, duplicates and tombstones as [`decide_in`]; then
/// `expected` is checked against `meta_head` for a metadata change (the metadata revision),
/// against the visible head of `x` for the deletes.
pub(crate) fn decide_lifecycle(
    x: &StreamId,
    view: &StreamView<'_>,
    meta_head: Option<Revision>,
    op: &LifecycleOp,
    expected: ExpectedRevision,
    id: Uuid,
    stored: Option<&StoredLocation>,
) -> Result<LifecycleDecision> {
    let target = match op {
        LifecycleOp::Tombstone => x.clone(),
        _ => x.metadata_stream(),
    };
    if let Some(at) = stored {
        if at.stream_id == target {
            return Ok(LifecycleDecision::AlreadyWritten(AppendResult {
                next_expected_revision: at.revision,
                position: at.position,
            }));
        }
        return Err(Error::DuplicateEventId {
            event_id: id.to_string(),
        });
    }
    if view.tombstoned() {
        return Err(StreamView::deleted(x));
    }
    let actual = match op {
        LifecycleOp::SetMetadata(_) => meta_head,
        _ => view.visible_head(),
    };
    if !expected.holds_for(actual) {
        return Err(Error::WrongExpectedRevision {
            stream_id: x.to_string(),
            expected,
            actual,
        });
    }
    let next_meta = meta_head.map_or(0, |r| r + 1);
    let removed_before = view.life.map_or(0, |l| l.floor);
    let write = match op {
        LifecycleOp::SetMetadata(m) => LifecycleWrite {
            stream: target,
            revision: next_meta,
            event_type: METADATA_TYPE,
            data: m.to_json(),
            removed_before,
        },
        LifecycleOp::Delete => {
            let mut m = view.metadata().cloned().unwrap_or_default();
            m.truncate_before = Some(view.next_revision());
            LifecycleWrite {
                stream: target,
                revision: next_meta,
                event_type: METADATA_TYPE,
                data: m.to_json(),
                removed_before,
            }
        }
        LifecycleOp::Tombstone => LifecycleWrite {
            stream: target,
            revision: view.next_revision(),
            event_type: DELETED_TYPE,
            data: Json::empty_object(),
            removed_before: 0,
        },
    };
    Ok(LifecycleDecision::Write(write))
}

/// Whether `event` is a lifecycle event (`$metadata` in `$$X`, `$streamDeleted` in `X`): a
/// synced device's ingest calls [`apply`] for these.
#[allow(dead_code)] // for sync's ingest
pub(crate) fn is_lifecycle(event: &RecordedEvent) -> bool {
    match &*event.event_type {
        METADATA_TYPE => event.stream_id.is_system(),
        DELETED_TYPE => true,
        _ => false,
    }
}

/// The record after lifecycle `event` (about the stream whose record was `before`).
pub(crate) fn next_life(before: Option<&StreamLife>, event: &RecordedEvent) -> Result<StreamLife> {
    let before = before.cloned().unwrap_or_default();
    match &*event.event_type {
        METADATA_TYPE => Ok(StreamLife {
            metadata_revision: Some(event.revision),
            metadata: StreamMetadata::from_json(&event.data)?,
            ..before
        }),
        DELETED_TYPE => Ok(StreamLife {
            metadata: StreamMetadata::default(),
            tombstoned: true,
            ..before
        }),
        other => Err(Error::invalid(format!(
            "an event of type '{other}' is not a lifecycle event"
        ))),
    }
}

/// The removals the retention rules of `life` imply for stream `x`, whose stored head is
/// `head`, at `now`, limited to positions <= `through` when given; and the record's new
/// `floor`. A tombstoned stream loses every revision below its head (the tombstone).
pub(crate) fn retention(
    x: &StreamId,
    head: Option<Revision>,
    life: &StreamLife,
    at_least: Revision,
    now: u64,
    through: Option<Position>,
) -> (Vec<Removal>, Revision) {
    let view = StreamView {
        stored_head: head,
        life: Some(life),
    };
    let Some(last) = view.last() else {
        return (Vec::new(), life.floor);
    };
    let m = &life.metadata;
    // Never past the stored head: a revision not written yet is not removed (a truncateBefore
    // past the end hides revisions that may never exist, if the metadata changes again).
    let stored_end = head.map_or(0, |h| h + 1);
    let floor = if life.tombstoned {
        head.unwrap_or(0)
    } else {
        let by_count = m.max_count.map_or(0, |n| (last + 1).saturating_sub(n));
        life.floor
            .max(m.truncate_before.unwrap_or(0))
            .max(by_count)
            .max(at_least)
            .min(stored_end.max(life.floor))
    };
    let mut removals = Vec::new();
    if floor > life.floor {
        removals.push(Removal {
            stream: x.clone(),
            revisions: life.floor..=floor - 1,
            created_before: None,
            through,
        });
    }
    if let (Some(age), false) = (m.max_age, life.tombstoned) {
        let cutoff = now.saturating_sub(age.saturating_mul(1000));
        if cutoff > 0 && floor <= last {
            removals.push(Removal {
                stream: x.clone(),
                revisions: floor..=last,
                created_before: Some(cutoff),
                through,
            });
        }
    }
    // Where removals stop at `through` (a synced device's pending events are still to be
    // pushed), the floor stays: what is not removed yet is removed by a later pass. A tombstone's
    // floor is its revision either way (nothing below it is ever visible again).
    let floor = if through.is_some() && !life.tombstoned {
        life.floor
    } else {
        floor
    };
    (removals, floor)
}

/// What lifecycle `event` changes: the new record of the stream it is about, and the
/// removals — what the new state hides of `X` (its head is `x_head`, the event included), and
/// the superseded `$metadata` events of `$$X` (all of them for a tombstone).
pub(crate) fn plan(
    before: Option<&StreamLife>,
    x_head: Option<Revision>,
    event: &RecordedEvent,
    now: u64,
    through: Option<Position>,
) -> Result<(StreamLife, Vec<Removal>)> {
    let x = StreamId::trusted(about_of(event.stream_id.as_str()));
    let mut life = next_life(before, event)?;
    let mut removals = Vec::new();
    let superseded = match &*event.event_type {
        METADATA_TYPE => event.revision.checked_sub(1),
        _ => life.metadata_revision,
    };
    if let Some(upto) = superseded {
        removals.push(Removal {
            stream: x.metadata_stream(),
            revisions: 0..=upto,
            created_before: None,
            through,
        });
    }
    let (of_x, floor) = retention(&x, x_head, &life, removed_before(event), now, through);
    removals.extend(of_x);
    life.floor = floor;
    Ok((life, removals))
}

/// Writes what [`plan`] decided: the removals, then the record.
pub(crate) async fn execute(
    tx: &mut dyn Transaction,
    x: &str,
    life: &StreamLife,
    removals: &[Removal],
) -> Result<()> {
    for removal in removals {
        tx.remove(removal).await?;
    }
    tx.put_meta(&life_key(x), Some(&life.encode())).await
}

/// Applies lifecycle `event`, already put, in `tx`: reads the record of the stream it is
/// about, writes the new one, and removes what the new state hides (at positions <= `through`
/// when given: a synced device's confirmed prefix). The append algorithm and a synced
/// device's ingest both come here.
#[allow(dead_code)] // for sync's ingest
pub(crate) async fn apply(
    tx: &mut dyn Transaction,
    event: &RecordedEvent,
    now: u64,
    through: Option<Position>,
) -> Result<()> {
    let x = StreamId::trusted(about_of(event.stream_id.as_str()));
    let before = read_life(tx, &x).await?;
    let x_head = tx.stream_head(&x).await?;
    let (life, removals) = plan(before.as_ref(), x_head, event, now, through)?;
    execute(tx, x.as_str(), &life, &removals).await
}

/// Applies the retention rules of stream `x` in `tx` (the open-time sweep; a synced device's
/// ingest of ordinary events). Writes nothing when nothing is due.
pub(crate) async fn enforce(
    tx: &mut dyn Transaction,
    x: &StreamId,
    life: &StreamLife,
    now: u64,
    through: Option<Position>,
) -> Result<()> {
    let head = tx.stream_head(x).await?;
    let (removals, floor) = retention(x, head, life, 0, now, through);
    for removal in &removals {
        tx.remove(removal).await?;
    }
    if floor != life.floor {
        let life = StreamLife {
            floor,
            ..life.clone()
        };
        tx.put_meta(&life_key(x.as_str()), Some(&life.encode()))
            .await?;
    }
    Ok(())
}

/// The registry of streams whose records hide events at read time (`maxAge`, `maxCount`):
/// readAll and subscriptions filter their pages by it, only while it is not empty.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Loaded from the storage (at least once).
    pub loaded: bool,
    /// The store has an outbox: its pending events are hidden at read time until removed.
    pub pending: bool,
    /// The records of streams with `maxAge` or `maxCount` (every record, when `pending`).
    pub streams: std::collections::HashMap<StreamId, StreamLife>,
    /// Streams whose records changed since (a local lifecycle call): re-read before the next
    /// filtered read.
    pub stale: Vec<StreamId>,
}

impl Registry {
    /// Loads the registry from `tx`: the streams with `maxAge` or `maxCount`; on a store with
    /// an outbox (whose pending events are removed only once the server confirms them), every
    /// stream with a lifecycle record.
    pub async fn load(tx: &mut dyn Transaction) -> Result<Self> {
        let pending = tx.get_meta(crate::sync::STATE_KEY).await?.is_some();
        let mut streams = std::collections::HashMap::new();
        for (key, value) in tx.scan_meta(LIFE_PREFIX).await? {
            let life = StreamLife::decode(&value)?;
            if Self::holds(pending, &life) {
                streams.insert(StreamId::trusted(&key[LIFE_PREFIX.len()..]), life);
            }
        }
        Ok(Registry {
            loaded: true,
            pending,
            streams,
            stale: Vec::new(),
        })
    }

    /// Whether a registry holds a stream with record `life`.
    fn holds(pending: bool, life: &StreamLife) -> bool {
        pending || (life.metadata.retains() && !life.tombstoned)
    }

    /// Brings the registry up to date in `tx`: loads it when never loaded (or when the store
    /// got an outbox since), else re-reads the records of its stale streams only.
    pub async fn refresh(
        registry: &std::cell::RefCell<Self>,
        tx: &mut dyn Transaction,
    ) -> Result<()> {
        let (loaded, pending, stale) = {
            let mut r = registry.borrow_mut();
            (r.loaded, r.pending, std::mem::take(&mut r.stale))
        };
        if loaded && stale.is_empty() {
            return Ok(());
        }
        let pending_now = tx.get_meta(crate::sync::STATE_KEY).await?.is_some();
        if !loaded || pending_now != pending {
            let fresh = Self::load(tx).await?;
            *registry.borrow_mut() = fresh;
            return Ok(());
        }
        let mut lives = Vec::with_capacity(stale.len());
        for x in stale {
            let life = read_life(tx, &x).await?;
            lives.push((x, life));
        }
        let mut r = registry.borrow_mut();
        for (x, life) in lives {
            match life {
                Some(life) if Self::holds(pending, &life) => {
                    r.streams.insert(x, life);
                }
                _ => {
                    r.streams.remove(&x);
                }
            }
        }
        Ok(())
    }

    /// Marks the record of `x` as changed (by a local lifecycle call).
    pub fn changed(&mut self, x: &StreamId) {
        if self.loaded && !self.stale.contains(x) {
            self.stale.push(x.clone());
        }
    }

    /// Loads the registry in a read transaction of `storage`.
    pub async fn reloaded(storage: &dyn crate::storage::Storage) -> Result<Self> {
        let mut tx = storage.begin(crate::storage::Mode::Read).await?;
        Self::load(&mut *tx).await
    }

    /// The streams whose `maxCount` the reads apply (with their heads): on a store with an
    /// outbox only (elsewhere `maxCount` is applied physically by every append).
    pub fn counted(&self) -> Vec<StreamId> {
        if !self.pending {
            return Vec::new();
        }
        self.streams
            .iter()
            .filter(|(_, life)| life.metadata.max_count.is_some())
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Whether the event of `stream` at revision `r`, created at `t`, is hidden at `now`: by
    /// the stream's rules (`maxCount` only with the stream's stored `head`), or, in a metadata
    /// stream `$$X`, superseded or tombstoned.
    pub fn hides(
        &self,
        stream: &str,
        r: Revision,
        t: u64,
        now: u64,
        head: Option<Option<Revision>>,
    ) -> bool {
        if let Some(x) = stream.strip_prefix(crate::model::METADATA_PREFIX) {
            return self.streams.get(x).is_some_and(|life| {
                life.tombstoned || life.metadata_revision.is_some_and(|m| r < m)
            });
        }
        self.streams.get(stream).is_some_and(|life| {
            let last = head.and_then(|stored_head| {
                StreamView {
                    stored_head,
                    life: Some(life),
                }
                .last()
            });
            r < life.floor || hidden_by(&life.metadata, last, r, t, now)
        })
    }
}

/// The streams of a list, each once (keeps the first occurrence's order).
pub(crate) fn distinct(streams: impl IntoIterator<Item = StreamId>) -> Vec<StreamId> {
    let mut seen = HashSet::new();
    streams
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> StreamId {
        StreamId::new(s).unwrap()
    }
    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    fn meta(text: &str) -> Result<StreamMetadata> {
        StreamMetadata::from_json(&Json::parse(text).unwrap())
    }
    fn at(stream: &StreamId, revision: Revision, position: Position) -> StoredLocation {
        StoredLocation {
            stream_id: stream.clone(),
            revision,
            position,
            removed: true,
        }
    }
    fn life(m: &str, tombstoned: bool, floor: Revision) -> StreamLife {
        StreamLife {
            metadata_revision: Some(0),
            metadata: meta(m).unwrap(),
            tombstoned,
            floor,
        }
    }
    fn view(head: Option<Revision>, life: &StreamLife) -> StreamView<'_> {
        StreamView {
            stored_head: head,
            life: Some(life),
        }
    }

    #[test]
    fn metadata_parses_the_contract_keys_and_names_bad_fields() {
        let m =
            meta(r#"{"maxCount":100,"maxAge":86400,"truncateBefore":10,"custom":{"owner":"u42"}}"#)
                .unwrap();
        assert_eq!(m.max_count, Some(100));
        assert_eq!(m.max_age, Some(86400));
        assert_eq!(m.truncate_before, Some(10));
        assert_eq!(m.custom.as_ref().unwrap().as_str(), r#"{"owner":"u42"}"#);
        assert_eq!(meta(&m.to_json().to_string()).unwrap(), m);
        assert_eq!(meta("{}").unwrap(), StreamMetadata::default());
        assert_eq!(StreamMetadata::default().to_json().as_str(), "{}");
        assert_eq!(meta(r#"{"maxCount":5.0}"#).unwrap().max_count, Some(5));
        assert_eq!(
            meta(r#"{"truncateBefore":0}"#).unwrap().truncate_before,
            Some(0)
        );
        for (text, field) in [
            (r#"{"maxCount":0}"#, "maxCount"),
            (r#"{"maxCount":1.5}"#, "maxCount"),
            (r#"{"maxAge":"1"}"#, "maxAge"),
            (r#"{"maxAge":null}"#, "maxAge"),
            (r#"{"truncateBefore":-1}"#, "truncateBefore"),
            (r#"{"custom":[1]}"#, "custom"),
            (r#"{"custom":"x"}"#, "custom"),
            (r#"{"maxcount":1}"#, "maxcount"),
            ("[]", "object"),
        ] {
            let err = meta(text).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{text}");
            assert!(err.to_string().contains(field), "{text}: {err}");
        }
    }

    #[test]
    fn records_round_trip_and_tombstones_keep_no_metadata() {
        let l = life(r#"{"maxCount":2,"custom":{"a":1}}"#, false, 3);
        assert_eq!(StreamLife::decode(&l.encode()).unwrap(), l);
        let t = StreamLife {
            metadata: StreamMetadata::default(),
            tombstoned: true,
            ..l.clone()
        };
        assert!(!t.encode().as_str().contains("custom"));
        assert_eq!(StreamLife::decode(&t.encode()).unwrap(), t);
        assert_eq!(
            StreamLife::decode(&StreamLife::default().encode()).unwrap(),
            StreamLife::default()
        );
        assert_eq!(
            StreamLife::decode(&Json::parse("[1,2]").unwrap())
                .unwrap_err()
                .code(),
            "STORAGE_ERROR"
        );
    }

    #[test]
    fn views_see_soft_deletes_and_continue_revisions() {
        let deleted = life(r#"{"truncateBefore":5}"#, false, 5);
        let v = view(Some(4), &deleted);
        assert_eq!(
            (v.last(), v.visible_head(), v.next_revision()),
            (Some(4), None, 5)
        );
        // A device that never received the removed events still numbers after them.
        let v = view(None, &deleted);
        assert_eq!(
            (v.last(), v.visible_head(), v.next_revision()),
            (Some(4), None, 5)
        );
        let v = view(Some(6), &deleted);
        assert_eq!(
            (v.last(), v.visible_head(), v.next_revision()),
            (Some(6), Some(6), 7)
        );
        assert!(v.hides(4, 0, 0) && !v.hides(5, 0, 0));
        let empty = life(r#"{"truncateBefore":0}"#, false, 0);
        let v = view(None, &empty);
        assert_eq!(
            (v.last(), v.visible_head(), v.next_revision()),
            (None, None, 0)
        );
        // maxCount and maxAge keep the head.
        let kept = life(r#"{"maxCount":2,"maxAge":10}"#, false, 0);
        let v = view(Some(9), &kept);
        assert_eq!(v.visible_head(), Some(9));
        assert!(v.hides(7, 50_000, 50_000) && !v.hides(8, 50_000, 50_000));
        assert!(v.hides(9, 1_000, 11_001) && !v.hides(9, 1_000, 11_000));
        let t = life("{}", true, 0);
        assert!(view(Some(3), &t).hides(3, 0, 0));
    }

    #[test]
    fn appends_to_deleted_streams() {
        let s = sid("s");
        let new = [None];
        let ids = [id(1)];
        let deleted = life(r#"{"truncateBefore":5}"#, false, 5);
        let d = decide_in(
            &s,
            &view(Some(4), &deleted),
            ExpectedRevision::NoStream,
            &ids,
            &new,
        );
        assert_eq!(d, Ok(Decision::Write { first_revision: 5 }));
        let err = decide_in(
            &s,
            &view(Some(4), &deleted),
            ExpectedRevision::Exact(4),
            &ids,
            &new,
        );
        assert_eq!(
            err,
            Err(Error::WrongExpectedRevision {
                stream_id: "s".into(),
                expected: ExpectedRevision::Exact(4),
                actual: None
            })
        );
        let tomb = life("{}", true, 5);
        let err = decide_in(&s, &view(Some(5), &tomb), ExpectedRevision::Any, &ids, &new);
        assert_eq!(
            err,
            Err(Error::StreamDeleted {
                stream_id: "s".into()
            })
        );
        // A retry of an append made before the tombstone (its events removed) only reports.
        let stored = [Some(at(&s, 2, 7))];
        let d = decide_in(
            &s,
            &view(Some(5), &tomb),
            ExpectedRevision::NoStream,
            &ids,
            &stored,
        );
        assert_eq!(
            d,
            Ok(Decision::AlreadyWritten(AppendResult {
                next_expected_revision: 2,
                position: 7
            }))
        );
        // A removed event's id used again elsewhere is a duplicate.
        let stored = [Some(at(&sid("t"), 0, 0))];
        let err = decide_in(
            &s,
            &view(Some(5), &tomb),
            ExpectedRevision::Any,
            &ids,
            &stored,
        );
        assert_eq!(err.unwrap_err().code(), "DUPLICATE_EVENT_ID");
    }

    fn written(d: Result<LifecycleDecision>) -> LifecycleWrite {
        match d {
            Ok(LifecycleDecision::Write(w)) => w,
            other => panic!("not a write: {other:?}"),
        }
    }

    #[test]
    fn lifecycle_calls_check_their_revisions_and_build_their_event() {
        let x = sid("Order-1");
        let none = StreamView::default();
        let m = meta(r#"{"maxCount":3}"#).unwrap();
        let set = LifecycleOp::SetMetadata(m.clone());
        let w = written(decide_lifecycle(
            &x,
            &none,
            None,
            &set,
            ExpectedRevision::NoStream,
            id(9),
            None,
        ));
        assert_eq!(w.stream.as_str(), "$$Order-1");
        assert_eq!((w.revision, w.event_type), (0, METADATA_TYPE));
        assert_eq!(w.data, m.to_json());
        let w = written(decide_lifecycle(
            &x,
            &none,
            Some(0),
            &set,
            ExpectedRevision::Exact(0),
            id(9),
            None,
        ));
        assert_eq!(w.revision, 1);
        let err = decide_lifecycle(
            &x,
            &none,
            Some(1),
            &set,
            ExpectedRevision::Exact(0),
            id(9),
            None,
        );
        assert_eq!(
            err,
            Err(Error::WrongExpectedRevision {
                stream_id: "Order-1".into(),
                expected: ExpectedRevision::Exact(0),
                actual: Some(1)
            })
        );
        // A delete keeps the metadata and truncates before the next revision.
        let l = life(r#"{"maxCount":3,"custom":{"k":1}}"#, false, 0);
        let v = view(Some(7), &l);
        let w = written(decide_lifecycle(
            &x,
            &v,
            Some(0),
            &LifecycleOp::Delete,
            ExpectedRevision::Exact(7),
            id(9),
            None,
        ));
        assert_eq!((w.stream.as_str(), w.revision), ("$$Order-1", 1));
        assert_eq!(
            meta(w.data.as_str()).unwrap(),
            meta(r#"{"maxCount":3,"truncateBefore":8,"custom":{"k":1}}"#).unwrap()
        );
        let err = decide_lifecycle(
            &x,
            &v,
            Some(0),
            &LifecycleOp::Delete,
            ExpectedRevision::NoStream,
            id(9),
            None,
        );
        assert_eq!(err.unwrap_err().code(), "WRONG_EXPECTED_REVISION");
        let w = written(decide_lifecycle(
            &x,
            &none,
            None,
            &LifecycleOp::Delete,
            ExpectedRevision::Any,
            id(9),
            None,
        ));
        assert_eq!(meta(w.data.as_str()).unwrap().truncate_before, Some(0));
        // A tombstone is the next revision of X.
        let w = written(decide_lifecycle(
            &x,
            &v,
            Some(0),
            &LifecycleOp::Tombstone,
            ExpectedRevision::Any,
            id(9),
            None,
        ));
        assert_eq!(
            (w.stream.as_str(), w.revision, w.event_type),
            ("Order-1", 8, DELETED_TYPE)
        );
        assert_eq!(w.data.as_str(), "{}");
        // Retries by id; the id elsewhere is a duplicate; tombstoned refuses.
        let mine = at(&x.metadata_stream(), 1, 12);
        let d = decide_lifecycle(
            &x,
            &v,
            Some(1),
            &LifecycleOp::Delete,
            ExpectedRevision::Exact(0),
            id(9),
            Some(&mine),
        );
        assert_eq!(
            d,
            Ok(LifecycleDecision::AlreadyWritten(AppendResult {
                next_expected_revision: 1,
                position: 12
            }))
        );
        let d = decide_lifecycle(
            &x,
            &v,
            Some(1),
            &LifecycleOp::Tombstone,
            ExpectedRevision::Any,
            id(9),
            Some(&mine),
        );
        assert_eq!(d.unwrap_err().code(), "DUPLICATE_EVENT_ID");
        let t = life("{}", true, 8);
        let d = decide_lifecycle(
            &x,
            &view(Some(8), &t),
            None,
            &set,
            ExpectedRevision::Any,
            id(10),
            None,
        );
        assert_eq!(d.unwrap_err().code(), "STREAM_DELETED");
    }

    #[test]
    fn retention_removes_what_the_rules_hide_once() {
        let x = sid("x");
        let l = life(r#"{"maxCount":3}"#, false, 2);
        let (r, floor) = retention(&x, Some(9), &l, 0, 0, None);
        assert_eq!(floor, 7);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].revisions.clone(), r[0].created_before), (2..=6, None));
        // Nothing new to remove.
        let l = life(r#"{"maxCount":3}"#, false, 7);
        assert_eq!(retention(&x, Some(9), &l, 0, 0, None), (Vec::new(), 7));
        // truncateBefore, and a synced device keeps its floor (the removal stops at `through`).
        let l = life(r#"{"truncateBefore":4}"#, false, 0);
        let (r, floor) = retention(&x, Some(9), &l, 0, 0, Some(20));
        assert_eq!(
            (r[0].revisions.clone(), r[0].through, floor),
            (0..=3, Some(20), 0)
        );
        // maxAge: events created before now - maxAge.
        let l = life(r#"{"maxAge":10}"#, false, 0);
        let (r, floor) = retention(&x, Some(9), &l, 0, 60_000, None);
        assert_eq!(floor, 0);
        assert_eq!(
            (r[0].revisions.clone(), r[0].created_before),
            (0..=9, Some(50_000))
        );
        // A tombstone at revision 9 removes everything below it.
        let t = life("{}", true, 0);
        let (r, floor) = retention(&x, Some(9), &t, 0, 0, None);
        assert_eq!((r[0].revisions.clone(), floor), (0..=8, 9));
        assert_eq!(
            retention(&x, None, &StreamLife::default(), 0, 0, None),
            (Vec::new(), 0)
        );
    }

    fn event(stream: &str, event_type: &str, revision: Revision, data: &str) -> RecordedEvent {
        RecordedEvent {
            id: id(1),
            stream_id: StreamId::trusted(stream),
            event_type: event_type.into(),
            revision,
            position: 100,
            data: Json::parse(data).unwrap(),
            metadata: Json::empty_object(),
            created_at: 0,
        }
    }

    #[test]
    fn plans_supersede_old_metadata_and_tombstones_remove_everything() {
        let before = life(r#"{"custom":{"secret":1}}"#, false, 0);
        let e = event("$$x", METADATA_TYPE, 3, r#"{"truncateBefore":2}"#);
        let (after, removals) = plan(Some(&before), Some(5), &e, 0, None).unwrap();
        assert_eq!(after.metadata_revision, Some(3));
        assert_eq!(after.metadata.truncate_before, Some(2));
        assert_eq!(after.floor, 2);
        let streams: Vec<_> = removals
            .iter()
            .map(|r| (r.stream.as_str(), r.revisions.clone()))
            .collect();
        assert_eq!(streams, [("$$x", 0..=2), ("x", 0..=1)]);
        let e = event("x", DELETED_TYPE, 6, "{}");
        let (after, removals) = plan(Some(&before), Some(6), &e, 0, None).unwrap();
        assert!(after.tombstoned);
        assert_eq!(after.metadata, StreamMetadata::default());
        let streams: Vec<_> = removals
            .iter()
            .map(|r| (r.stream.as_str(), r.revisions.clone()))
            .collect();
        assert_eq!(streams, [("$$x", 0..=0), ("x", 0..=5)]);
        // The first metadata of a stream supersedes nothing.
        let e = event("$$x", METADATA_TYPE, 0, "{}");
        let (_, removals) = plan(None, None, &e, 0, None).unwrap();
        assert!(removals.is_empty());
        assert!(plan(None, None, &event("x", "Other", 0, "{}"), 0, None).is_err());
    }

    #[test]
    fn the_registry_hides_what_the_records_say() {
        let mut streams = std::collections::HashMap::new();
        streams.insert(sid("aged"), life(r#"{"maxAge":10}"#, false, 0));
        streams.insert(
            sid("counted"),
            StreamLife {
                metadata_revision: Some(2),
                ..life(r#"{"maxCount":2}"#, false, 1)
            },
        );
        streams.insert(
            sid("gone"),
            StreamLife {
                metadata_revision: Some(3),
                ..life("{}", true, 7)
            },
        );
        let registry = Registry {
            loaded: true,
            pending: true,
            streams,
            stale: Vec::new(),
        };
        assert_eq!(registry.counted(), [sid("counted")]);
        let hides = |s: &str, r, t, head| registry.hides(s, r, t, 50_000, head);
        assert!(hides("aged", 5, 39_000, None) && !hides("aged", 5, 40_000, None));
        // maxCount only with the head; the floor always.
        assert!(hides("counted", 0, 0, None));
        assert!(!hides("counted", 3, 0, None));
        assert!(hides("counted", 3, 0, Some(Some(5))) && !hides("counted", 4, 0, Some(Some(5))));
        // A tombstone hides everything below it, and every metadata event.
        assert!(hides("gone", 6, 0, None) && !hides("gone", 7, 0, None));
        assert!(hides("$$gone", 3, 0, None));
        // Superseded metadata events are hidden, the current one is not.
        assert!(!hides("$$aged", 0, 0, None));
        assert!(hides("$$counted", 1, 0, None) && !hides("$$counted", 2, 0, None));
        assert!(!hides("other", 0, 0, None) && !hides("$$other", 0, 0, None));
        let unsynced = Registry {
            pending: false,
            ..Registry::default()
        };
        assert!(unsynced.counted().is_empty());
    }
}
