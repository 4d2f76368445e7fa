//! The database schema, in one place: object stores, indexes, the version, and the upgrade path.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbIndexParameters, IdbObjectStoreParameters};

/// The schema version this evstore writes. A database at a higher version was written by a newer
/// evstore and is refused (`STORAGE_ERROR`) rather than damaged.
pub(super) const SCHEMA_VERSION: u32 = 4;

/// One record per event, keyed by its global `position`.
pub(super) const EVENTS: &str = "events";
/// Index `[streamId, revision]` (unique): stream reads and the stream head.
pub(super) const BY_STREAM: &str = "stream";
/// Index `id` (unique): idempotency lookups, and the guard against duplicate ids.
pub(super) const BY_ID: &str = "id";
/// Checkpoints of named subscriptions, `{ name, position }`, in databases created before
/// version 3 (since then checkpoints live in the meta area; see `IndexedDbStorage::open`).
pub(super) const CHECKPOINTS: &str = "checkpoints";
/// The meta area of the storage seam: JSON texts under string keys (since version 2).
pub(super) const META: &str = "meta";

/// Brings a database from `old_version` to [`SCHEMA_VERSION`], inside the `versionchange`
/// transaction. Each step upgrades one version, so any older database walks up step by step.
///
/// Version 3 moved checkpoints into the meta area: a new database has no checkpoint store, and
/// one created earlier has its checkpoints moved by `IndexedDbStorage::open` right after this
/// (a data move needs requests, which this synchronous step cannot await); the version bump
/// keeps an older evstore, which would look for the old store, from opening it.
///
/// Version 4 (stream lifecycle) changes no structure: a removed event's record is replaced, under
/// its key, by a husk `{ position, id, streamId, revision, removed: 1 }`. The bump keeps an older
/// evstore, which would read husks as events, from opening the database (it refuses a newer
/// schema).
pub(super) fn upgrade(db: &IdbDatabase, old_version: u32) -> Result<(), JsValue> {
    if old_version < 1 {
        let key = |path: &str| {
            let p = IdbObjectStoreParameters::new();
            p.set_key_path(&JsValue::from_str(path));
            p
        };
        let events = db.create_object_store_with_optional_parameters(EVENTS, &key("position"))?;
        let unique = IdbIndexParameters::new();
        unique.set_unique(true);
        let pair = |a: &str, b: &str| Array::of2(&a.into(), &b.into());
        events.create_index_with_str_sequence_and_optional_parameters(
            BY_STREAM,
            &pair("streamId", "revision"),
            &unique,
        )?;
        events.create_index_with_str_and_optional_parameters(BY_ID, "id", &unique)?;
    }
    if old_version < 2 {
        db.create_object_store(META)?;
    }
    Ok(())
}
