//! Schema evolution: each event type's current version, and the steps that upcast older data.
//!
//! Stored events never change. An append by the caller stamps `metadata.$schemaVersion` with the
//! type's current version ([`Schema::stamp`]); reads deliver older events upcast to it
//! ([`Schema::upcast_event`]), and events of a newer version as stored.

use std::fmt;
use std::rc::Rc;

use crate::error::{Cause, Error, Result};
use crate::event::RecordedEvent;
use crate::json::{push_quoted, Json};
use crate::sync::wire::{integer, items, string, Fields, Raw};

/// What an upcasting step returns when it cannot upcast an event (kept as the
/// `UPCAST_FAILED` error's cause).
pub type UpcastError = Box<dyn std::error::Error>;

/// The metadata key that holds an event's schema version.
pub const SCHEMA_VERSION: &str = "$schemaVersion";

/// One step: version `v` data (and the event as stored) → version `v + 1` data.
type Step = Rc<dyn Fn(serde_json::Value, &RecordedEvent) -> Result<serde_json::Value, UpcastError>>;

#[derive(Clone)]
struct TypeSchema {
    /// The current version: declared by [`Schema::event`], else one above the highest step.
    version: u32,
    /// Whether [`Schema::event`] declared `version`.
    declared: bool,
    /// The steps, at the index of the version they start from (`None`: a host runs them, see
    /// [`Schema::host_versions`]).
    steps: Option<Vec<Option<Step>>>,
}

/// The event types whose shapes evolved: for each, its current version and the upcasting steps.
///
/// ```
/// use evstore::{EventStore, MemoryStorage, Schema};
/// let schema = Schema::new()
///     .event("ItemAdded", 2)
///     .upcast("ItemAdded", 1, |mut data, _event| {
///         data["quantity"] = 1.into();
///         Ok(data)
///     });
/// let store = EventStore::new(MemoryStorage::new()).with_schema(schema)?;
/// # Ok::<(), evstore::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Schema {
    /// By type, sorted (a few types: a sorted list keeps the wasm build small).
    types: Vec<(String, TypeSchema)>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (t, s) in &self.types {
            map.entry(t, &s.version);
        }
        map.finish()
    }
}

impl Schema {
    /// An empty schema (every event is version 1 and none is upcast).
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares `event_type`'s current `version` (≥ 1). Appended events of that type are stored
    /// with `metadata.$schemaVersion` = `version`.
    pub fn event(mut self, event_type: &str, version: u32) -> Self {
        let entry = self.entry(event_type, version);
        entry.version = version;
        entry.declared = true;
        self
    }

    /// Adds the step that turns `event_type`'s version `from` data into version `from + 1`.
    /// Without [`Schema::event`], the type's version is one above its highest step.
    pub fn upcast(
        mut self,
        event_type: &str,
        from: u32,
        step: impl Fn(serde_json::Value, &RecordedEvent) -> Result<serde_json::Value, UpcastError>
            + 'static,
    ) -> Self {
        let entry = self.entry(event_type, 0);
        if !entry.declared {
            entry.version = entry.version.max(from.saturating_add(1));
        }
        let steps = entry.steps.get_or_insert_with(Vec::new);
        let at = from as usize;
        if steps.len() <= at {
            steps.resize(at + 1, None);
        }
        steps[at] = Some(Rc::new(step));
        self
    }

    /// `event_type`'s entry, added (undeclared, at `version`, without steps) when missing.
    fn entry(&mut self, event_type: &str, version: u32) -> &mut TypeSchema {
        let at = match self.find(event_type) {
            Ok(at) => at,
            Err(at) => {
                let schema = TypeSchema {
                    version,
                    declared: false,
                    steps: Some(Vec::new()),
                };
                self.types.insert(at, (event_type.to_owned(), schema));
                at
            }
        };
        &mut self.types[at].1
    }

    /// Where `event_type` is (or would be) in the sorted list.
    fn find(&self, event_type: &str) -> std::result::Result<usize, usize> {
        self.types
            .binary_search_by(|(t, _)| t.as_str().cmp(event_type))
    }

    /// `event_type`'s entry, if any.
    fn get(&self, event_type: &str) -> Option<&TypeSchema> {
        self.find(event_type).ok().map(|at| &self.types[at].1)
    }

    /// A schema of versions only, from a host that runs the steps itself (the JS bindings):
    /// `text` is `[["ItemAdded", 3], …]`.
    pub fn host_versions(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(format!(
                "schema versions: expected [[type, version], …], got {text}"
            ))
        };
        // The wire's small JSON reader: no serde deserializer in the wasm build for this.
        let mut schema = Schema::default();
        for pair in Raw::parse(text).and_then(items).ok_or_else(bad)? {
            let pair = items(pair).filter(|p| p.len() == 2).ok_or_else(bad)?;
            let event_type = string(pair[0]).ok_or_else(bad)?;
            let version = integer(pair[1])
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(bad)?;
            let at = schema.find(&event_type).unwrap_or_else(|at| at);
            if schema.types.get(at).is_some_and(|(t, _)| *t == event_type) {
                schema.types.remove(at);
            }
            let entry = TypeSchema {
                version,
                declared: true,
                steps: None,
            };
            schema.types.insert(at, (event_type, entry));
        }
        Ok(schema)
    }

    /// Refuses a schema that could not upcast every older version: a type that is empty or
    /// starts with `$`, a version of 0, a missing step (1 … version − 1) or one at or above the
    /// version.
    pub(crate) fn validate(&self) -> Result<()> {
        for (event_type, s) in &self.types {
            if event_type.is_empty() || event_type.starts_with('$') {
                return Err(Error::invalid(format!(
                    "schema: type {event_type:?} cannot have a schema (empty, or a system type)"
                )));
            }
            if s.version == 0 || s.version > i32::MAX as u32 {
                return Err(Error::invalid(format!(
                    "schema.{event_type}.version must be an integer from 1 to 2147483647"
                )));
            }
            let Some(steps) = &s.steps else { continue };
            let has = |v: u32| steps.get(v as usize).is_some_and(Option::is_some);
            if let Some(from) = (1..s.version).find(|&v| !has(v)) {
                return Err(Error::invalid(format!(
                    "schema.{event_type}.upcast[{from}] is missing (version {} needs a step from each of 1 … {})",
                    s.version,
                    s.version - 1
                )));
            }
            let stray = (0..steps.len() as u32).filter(|&v| has(v));
            if let Some(from) = stray.into_iter().find(|&v| v == 0 || v >= s.version) {
                return Err(Error::invalid(format!(
                    "schema.{event_type}.upcast[{from}]: steps go from 1 … {} (version is {})",
                    s.version.saturating_sub(1),
                    s.version
                )));
            }
        }
        Ok(())
    }

    /// `event_type`'s current version, if the schema has an entry for it.
    pub fn version_of(&self, event_type: &str) -> Option<u32> {
        self.get(event_type).map(|s| s.version)
    }

    /// `metadata` (a validated object without `$` keys) with `$schemaVersion` first, when the
    /// schema has an entry for `event_type`.
    pub(crate) fn stamp(&self, event_type: &str, metadata: &Json) -> Option<Json> {
        let version = self.version_of(event_type)?;
        let text = metadata.as_str();
        let open = text.find('{')?;
        let rest = &text[open + 1..];
        Some(Json::trusted(if rest.trim_start().starts_with('}') {
            format!("{{\"{SCHEMA_VERSION}\":{version}}}")
        } else {
            format!("{{\"{SCHEMA_VERSION}\":{version},{rest}")
        }))
    }

    /// Upcasts `event` in place to its type's current version (data, and `$schemaVersion` set to
    /// it); an event of a newer version, or of a type without an entry, stays as stored, and so
    /// does every event under a host's schema ([`Schema::host_versions`]: the host upcasts).
    pub(crate) fn upcast_event(&self, event: &mut RecordedEvent) -> Result<()> {
        let Some(s) = self.get(&event.event_type) else {
            return Ok(());
        };
        let Some(steps) = &s.steps else {
            return Ok(());
        };
        let field = version_field(event);
        let stored = field.unwrap_or(1);
        if stored > s.version {
            return Ok(());
        }
        if stored < s.version {
            let failed = |version: u32, cause: UpcastError| Error::UpcastFailed {
                event_id: event.id.to_string(),
                event_type: event.event_type.to_string(),
                version,
                cause: Some(Cause::new(cause)),
            };
            // Data nested deeper than serde_json's value tree allows cannot be upcast here.
            let mut data: serde_json::Value = serde_json::from_str(event.data.as_str())
                .map_err(|e| failed(stored, Box::new(e)))?;
            for from in stored..s.version {
                // `with_schema` checked that every step is there.
                let step = steps.get(from as usize).and_then(Option::as_ref);
                data = match step {
                    Some(step) => step(data, event).map_err(|e| failed(from, e))?,
                    None => return Err(failed(from, format!("no step from {from}").into())),
                };
            }
            event.data = Json::from_value(&data).map_err(|e| failed(s.version - 1, Box::new(e)))?;
        }
        if field != Some(s.version) {
            event.metadata = with_version(&event.metadata, s.version);
        }
        Ok(())
    }

    /// `SCHEMA_TOO_NEW` when `event` was written by a newer app (its stored version is above
    /// its type's current version); a folding read must not fold it.
    pub(crate) fn too_new(&self, event: &RecordedEvent) -> Result<()> {
        let Some(s) = self.get(&event.event_type) else {
            return Ok(());
        };
        let stored = stored_version(event);
        if stored > s.version {
            return Err(Error::SchemaTooNew {
                stream_id: event.stream_id.as_str().to_owned(),
                event_type: event.event_type.to_string(),
                version: stored,
            });
        }
        Ok(())
    }
}

/// The version `event` was stored with: its `$schemaVersion` when that is an integer ≥ 1,
/// else 1.
pub fn stored_version(event: &RecordedEvent) -> u32 {
    version_field(event).unwrap_or(1)
}

/// `event`'s top-level `$schemaVersion`, when it is an integer ≥ 1 (one above `u32::MAX` read
/// as `u32::MAX`: newer than any schema).
fn version_field(event: &RecordedEvent) -> Option<u32> {
    if !has_version(event) {
        return None;
    }
    Fields::parse(event.metadata.as_str())
        .and_then(|f| f.integer(SCHEMA_VERSION))
        .filter(|&v| v >= 1)
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Whether `event`'s metadata may hold `$schemaVersion` (a quick look at the text; the key may
/// be written with escapes, as `\u0024schemaVersion`).
fn has_version(event: &RecordedEvent) -> bool {
    may_hold_reserved(event.metadata.as_str())
}

/// Whether JSON `text` may hold a key starting with `$`: it has a `$`, or an escape (the key
/// may be written `\u0024…`). A byte scan: cheap, and small in the wasm build.
fn may_hold_reserved(text: &str) -> bool {
    text.bytes().any(|b| b == b'$' || b == b'\\')
}

/// `metadata` (an object) with `$schemaVersion` first, set to `version`, and its other fields
/// after it as they are stored (their texts and order kept).
fn with_version(metadata: &Json, version: u32) -> Json {
    let mut out = format!("{{\"{SCHEMA_VERSION}\":{version}");
    if let Some(fields) = Fields::parse(metadata.as_str()) {
        for (key, value) in &fields.0 {
            if key != SCHEMA_VERSION {
                out.push(',');
                push_quoted(&mut out, key);
                out.push(':');
                out.push_str(value.get());
            }
        }
    }
    out.push('}');
    Json::trusted(out)
}

/// The first top-level key of `metadata` (an object) that starts with `$`: reserved for the
/// store. (A `$` in a key may be written as the escape `\u0024`.)
pub(crate) fn reserved_key(metadata: &Json) -> Option<String> {
    let text = metadata.as_str();
    if !may_hold_reserved(text) {
        return None;
    }
    Fields::parse(text)?
        .0
        .into_iter()
        .map(|(k, _)| k)
        .find(|k| k.starts_with('$'))
        .map(|k| k.into_owned())
}
