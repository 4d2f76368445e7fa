//! Read answers of the HTTP API as JSON text (`server` feature): `{"events":[…]}` written from
//! the stored records where they are, in JS (./bodies.js), a few crossings per page read, never a
//! JS object per event and no payload copied into wasm. Internal methods of the store for the edge
//! service (edge/src/service/tenant.js), not part of the public API.
//!
//! The stored form travels, as in sync frames: the service's store has no schema, and a read
//! answer is never upcast. An answer holds at most `maxEvents` events and stops after the event
//! that takes it to `maxBytes` (each event counted as its JSON text's UTF-8 bytes plus one for
//! the comma), so one very large event still goes out, alone.

use wasm_bindgen::prelude::*;

use super::pages::records;
use super::{convert, promise, JsEventStore};
use crate::{Direction, Error, EventStore, ReadFrom, ReadOptions, Result, Selection};

/// Events read per page: a byte-capped answer reads little past its cap.
const CHUNK: u64 = 250;

/// What a read answer reads: a stream, or the log (restricted to a selection's streams).
enum Source {
    Stream(String),
    All(Option<Selection>),
}

/// The bounds of one answer.
#[derive(Clone, Copy)]
struct Limits {
    events: u64,
    bytes: usize,
}

impl Limits {
    fn of(max_events: f64, max_bytes: f64) -> Result<Limits> {
        let bad = || Error::invalid("read limits must be non-negative integers");
        Ok(Limits {
            events: crate::integer_from_f64(max_events).ok_or_else(bad)?,
            bytes: crate::integer_from_f64(max_bytes).ok_or_else(bad)? as usize,
        })
    }
}

#[wasm_bindgen(module = "/src/bindings/bodies.js")]
extern "C" {
    #[wasm_bindgen(js_name = bodyStart)]
    fn body_start(max_events: f64, max_bytes: f64) -> JsValue;
    #[wasm_bindgen(js_name = bodyWrite)]
    fn body_write(body: &JsValue, records: &js_sys::Array, reverse: bool, key: &str) -> f64;
    #[wasm_bindgen(js_name = bodyLast)]
    fn body_last(body: &JsValue) -> f64;
    #[wasm_bindgen(js_name = bodyText)]
    fn body_text(body: &JsValue) -> String;
}

/// `{"events":[…]}` of `source` read with `options` (the first page from `options.from`, each
/// next one after the last event read), within `limits`: each page's stored records are written
/// by the JS half (./bodies.js) where they are.
async fn read_body(
    store: &EventStore,
    source: &Source,
    options: ReadOptions,
    limits: Limits,
) -> Result<String> {
    let backwards = options.direction == Direction::Backwards;
    let key = match source {
        Source::Stream(_) => "revision",
        Source::All(_) => "position",
    };
    let mut remaining = options.max_count.unwrap_or(u64::MAX).min(limits.events);
    let body = body_start(remaining as f64, limits.bytes as f64);
    let mut from = options.from;
    while remaining > 0 {
        let want = remaining.min(CHUNK);
        let page_options = ReadOptions {
            from,
            direction: options.direction,
            max_count: Some(want),
        };
        let page = match source {
            Source::Stream(id) => store.read_stream_page(id, page_options).await?,
            Source::All(None) => store.read_all_page(page_options).await?,
            Source::All(Some(s)) => store.read_all_selected_page(s, page_options).await?,
        };
        let reversed = page.reversed;
        let Some(page) = page.page else { break };
        let records = records(page)?;
        let read = records.0.length() as u64;
        if read == 0 {
            break;
        }
        remaining = body_write(&body, &records.0, reversed, key) as u64;
        if read < want {
            break;
        }
        let last = body_last(&body) as u64;
        from = Some(ReadFrom::At(if backwards {
            match last.checked_sub(1) {
                Some(next) => next,
                None => break,
            }
        } else {
            last + 1
        }));
    }
    Ok(body_text(&body))
}

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// Internal (the edge service's HTTP reads): `readStream(streamId, options)` as the JSON
    /// text `{"events":[…]}` of the stored events, at most `maxEvents` of them, up to the one
    /// that takes the text to `maxBytes`.
    #[wasm_bindgen(js_name = readStreamBody, skip_typescript)]
    pub fn read_stream_body(
        &self,
        stream_id: JsValue,
        options: JsValue,
        max_events: f64,
        max_bytes: f64,
    ) -> js_sys::Promise {
        let request = convert::string(&stream_id, "streamId").and_then(|s| {
            let options = convert::read_options(&options, "fromRevision")?;
            Ok((s, options, Limits::of(max_events, max_bytes)?))
        });
        let store = self.inner.clone();
        promise(async move {
            let (stream_id, options, limits) = request?;
            let body = read_body(&store, &Source::Stream(stream_id), options, limits).await?;
            Ok(body.into())
        })
    }

    /// Internal (the edge service's HTTP reads): `readAll(options)` (with `streams`: only those
    /// streams' events, at their log positions) as the JSON text `{"events":[…]}` of the stored
    /// events, at most `maxEvents` of them, up to the one that takes the text to `maxBytes`.
    #[wasm_bindgen(js_name = readAllBody, skip_typescript)]
    pub fn read_all_body(
        &self,
        options: JsValue,
        max_events: f64,
        max_bytes: f64,
    ) -> js_sys::Promise {
        let request = convert::read_all_options(&options).and_then(|(options, streams)| {
            Ok((options, streams, Limits::of(max_events, max_bytes)?))
        });
        let store = self.inner.clone();
        promise(async move {
            let (options, streams, limits) = request?;
            let body = read_body(&store, &Source::All(streams), options, limits).await?;
            Ok(body.into())
        })
    }
}
