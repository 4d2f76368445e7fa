//! What the JS-hosted storages (memory on the JS heap, IndexedDB, Durable Object) share: their
//! read page — stored records as JS objects, turned into events through the row codec — the
//! answers of their synchronous hosts, and the mapping of a JS error to the contract's error
//! with the JS error kept as its cause.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use super::{BoxedPage, Page};
use crate::row::Reader;
use crate::{decode_rows, Cause, Error, RecordedEvent, Result, Revision, StoredLocation, StreamId};

/// A revision or position from a host, where `-1` means none.
pub(crate) fn present(n: f64) -> Option<u64> {
    (n >= 0.0).then_some(n as u64)
}

/// Event ids as the JS strings hosts key them by.
pub(crate) fn id_keys(ids: &[uuid::Uuid]) -> Array {
    ids.iter()
        .map(|id| JsValue::from(id.hyphenated().to_string()))
        .collect()
}

/// An inclusive range of revisions or positions as a host's two numbers.
pub(crate) fn bounds(range: &std::ops::RangeInclusive<u64>) -> (f64, f64) {
    (*range.start() as f64, *range.end() as f64)
}

/// A host's answer to `locate`: per id `[streamId, revision, position, removed]`, or `null`.
pub(crate) fn locations(found: &Array) -> Result<Vec<Option<StoredLocation>>> {
    found
        .iter()
        .map(|entry| {
            if entry.is_null() {
                return Ok(None);
            }
            let entry: Array = entry.unchecked_into();
            match (
                entry.get(0).as_string(),
                entry.get(1).as_f64(),
                entry.get(2).as_f64(),
                entry.get(3).as_bool(),
            ) {
                (Some(s), Some(r), Some(p), Some(removed)) => Ok(Some(StoredLocation {
                    stream_id: StreamId::trusted(&s),
                    revision: r as u64,
                    position: p as u64,
                    removed,
                })),
                _ => Err(Error::storage("a stored event row is malformed")),
            }
        })
        .collect()
}

#[wasm_bindgen(module = "/src/storage/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeRecord)]
    #[allow(clippy::too_many_arguments)]
    fn make_record(
        position: f64,
        id: &str,
        stream_id: &str,
        event_type: &str,
        revision: f64,
        data: &str,
        metadata: &str,
        created_at: f64,
    ) -> JsValue;
}

/// `event` as a stored record: the row codec's fields by name, payloads as JSON text.
pub(crate) fn record(event: &RecordedEvent) -> JsValue {
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    make_record(
        event.position as f64,
        event.id.hyphenated().encode_lower(&mut id),
        event.stream_id.as_str(),
        &event.event_type,
        event.revision as f64,
        event.data.as_str(),
        event.metadata.as_str(),
        event.created_at as f64,
    )
}

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = recordsToRows)]
    fn records_to_rows(records: &Array) -> String;
    #[wasm_bindgen(js_name = recordsToEvents, catch)]
    fn records_to_events(
        records: &Array,
        reverse: bool,
        schema: &JsValue,
    ) -> std::result::Result<JsValue, JsValue>;
}

/// Stored records (objects with the row codec's fields), ascending.
#[derive(Debug, Clone)]
pub struct Records(pub(crate) Array);

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = recordPositions)]
    fn record_positions(records: &Array) -> Vec<f64>;
    #[wasm_bindgen(js_name = recordHeads)]
    fn record_heads(records: &Array) -> String;
    #[wasm_bindgen(js_name = recordLifeHeads)]
    fn record_life_heads(records: &Array) -> String;
    #[wasm_bindgen(js_name = recordsKept)]
    fn records_kept(records: &Array, keep: &[u8]) -> Array;
}

impl Records {
    /// The records' positions.
    pub(crate) fn positions(&self) -> Vec<u64> {
        record_positions(&self.0)
            .into_iter()
            .map(|p| p as u64)
            .collect()
    }

    /// The records' stream ids and types (what a subscription's filter reads), without their
    /// payloads. A malformed record is a `STORAGE_ERROR`.
    pub(crate) fn heads(&self) -> Result<Vec<(String, String)>> {
        let text = record_heads(&self.0);
        let corrupt = || Error::storage("a stored event record is malformed");
        let mut r = Reader::new(&text);
        let mut heads = Vec::new();
        r.expect(b'[').ok_or_else(corrupt)?;
        if r.eat(b']') {
            return Ok(heads);
        }
        loop {
            r.expect(b'[').ok_or_else(corrupt)?;
            let stream = r.string().ok_or_else(corrupt)?.into_owned();
            let event_type = r.next_string().ok_or_else(corrupt)?.into_owned();
            r.expect(b']').ok_or_else(corrupt)?;
            heads.push((stream, event_type));
            if r.eat(b']') {
                return Ok(heads);
            }
            r.expect(b',').ok_or_else(corrupt)?;
        }
    }

    /// The contract's recorded-event objects, built in JS straight from the records (payload
    /// text never crosses into wasm); descending when `reverse`; upcast by `schema` (the
    /// compiled JS schema, or `undefined` for the stored form). What the builder throws is
    /// returned as it was thrown (see `bindings::pages::upcast_failure`).
    pub fn to_js_events(&self, reverse: bool, schema: &JsValue) -> Result<JsValue, JsValue> {
        records_to_events(&self.0, reverse, schema)
    }
}

impl Records {
    /// `records` as a page of the storage seam.
    pub(crate) fn boxed(records: Array) -> BoxedPage {
        Box::new(Records(records))
    }
}

impl Page for Records {
    fn len(&self) -> usize {
        self.0.length() as usize
    }

    /// Concatenates the records of `other`, which must be [`Records`] too.
    fn append(&mut self, other: BoxedPage) -> Result<()> {
        match other.into_any().downcast::<Records>() {
            Ok(other) => {
                if self.0.length() == 0 {
                    self.0 = other.0;
                } else if other.0.length() > 0 {
                    self.0 = self.0.concat(&other.0);
                }
                Ok(())
            }
            Err(_) => Err(Error::storage(
                "a page of stored records was joined with a page of another kind",
            )),
        }
    }

    fn keep(&mut self, range: std::ops::Range<usize>) {
        let len = self.0.length() as usize;
        if range.start == 0 && range.end >= len {
            return;
        }
        self.0 = self.0.slice(range.start as u32, range.end.min(len) as u32);
    }

    /// One crossing out (stream ids, revisions and createdAt as JSON text, no payloads) and one
    /// back (a byte per record). A record whose head is malformed is kept (its read then fails
    /// with `STORAGE_ERROR`, as any malformed record does).
    fn position(&self, index: usize) -> Option<u64> {
        let record = self.0.get(u32::try_from(index).ok()?);
        Reflect::get(&record, &"position".into())
            .ok()?
            .as_f64()
            .map(|p| p as u64)
    }

    fn retain_heads(&mut self, keep: &mut dyn FnMut(&str, Revision, u64) -> bool) {
        let len = self.0.length() as usize;
        if len == 0 {
            return;
        }
        let text = record_life_heads(&self.0);
        let mut mask = vec![1u8; len];
        let mut r = Reader::new(&text);
        let mut parse = |mask: &mut [u8]| -> Option<()> {
            r.expect(b'[')?;
            for (i, slot) in mask.iter_mut().enumerate() {
                if i > 0 {
                    r.expect(b',')?;
                }
                r.expect(b'[')?;
                let stream = r.string()?;
                let revision = r.next_integer()?;
                let created_at = r.next_integer()?;
                r.expect(b']')?;
                *slot = u8::from(keep(&stream, revision, created_at));
            }
            r.expect(b']')
        };
        if parse(&mut mask).is_none() {
            mask.iter_mut().for_each(|m| *m = 1);
        }
        if mask.iter().all(|&m| m == 1) {
            return;
        }
        self.0 = records_kept(&self.0, &mask);
    }

    fn into_events(self: Box<Self>) -> Result<Vec<RecordedEvent>> {
        decode_rows(&records_to_rows(&self.0))
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// The value a transaction staged for `key` in `staged` (its `[key, value | null]` meta writes,
/// in order; the last one wins): `Some(None)` when it staged a removal, `None` when it staged
/// nothing for `key`.
#[cfg(any(feature = "durable-object", feature = "postgres"))]
pub(crate) fn staged_meta(staged: &Array, key: &str) -> Option<Option<crate::Json>> {
    use crate::Json;
    staged.iter().rev().find_map(|entry| {
        let entry: Array = entry.unchecked_into();
        (entry.get(0).as_string().as_deref() == Some(key))
            .then(|| entry.get(1).as_string().map(Json::trusted))
    })
}

/// The meta entries under `prefix`: the stored `rows` (`[key, value]`, in key order: a binary
/// collation, the order of Rust strings), then the `staged` writes of the transaction over them,
/// kept in key order in a sorted vector (no `BTreeMap` instantiation in the wasm for this).
#[cfg(any(feature = "durable-object", feature = "postgres"))]
pub(crate) fn merge_meta(rows: &Array, staged: &Array, prefix: &str) -> Vec<(String, crate::Json)> {
    use crate::Json;
    let mut entries: Vec<(String, Option<Json>)> = rows
        .iter()
        .filter_map(|row| {
            let row: Array = row.unchecked_into();
            Some((
                row.get(0).as_string()?,
                Some(Json::trusted(row.get(1).as_string()?)),
            ))
        })
        .collect();
    for entry in staged.iter() {
        let entry: Array = entry.unchecked_into();
        if let Some(key) = entry.get(0).as_string().filter(|k| k.starts_with(prefix)) {
            let value = entry.get(1).as_string().map(Json::trusted);
            match entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
                Ok(i) => entries[i].1 = value,
                Err(i) => entries.insert(i, (key, value)),
            }
        }
    }
    entries
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

/// The `name` of a JS error (a `DOMException`'s name), `""` for anything else.
pub(crate) fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// A JS error (or any thrown value) as the contract's error, keeping it as the cause:
/// `QuotaExceededError` is `QUOTA_EXCEEDED`, anything else `STORAGE_ERROR`.
pub(crate) fn js_error(error: JsValue) -> Error {
    let name = error_name(&error);
    let message = Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "a JS value was thrown".to_owned());
    let cause = Some(Cause::new(error));
    if name == "QuotaExceededError" {
        Error::QuotaExceeded { message, cause }
    } else if name.is_empty() {
        Error::Storage { message, cause }
    } else {
        Error::Storage {
            message: format!("{name}: {message}"),
            cause,
        }
    }
}
