//! Read answers of the HTTP API as JSON text (`server` feature): `{"events":[…]}` written from
//! the stored rows, one crossing per page read, never a JS object per event. Internal methods
//! of the store for the edge service (edge/src/service/tenant.js), not part of the public API.
//!
//! The stored form travels, as in sync frames: the service's store has no schema, and a read
//! answer is never upcast. An answer holds at most `maxEvents` events and stops after the event
//! that takes it to `maxBytes` (each event counted as its JSON text's UTF-8 bytes plus one for
//! the comma), so one very large event still goes out, alone.

use wasm_bindgen::prelude::*;

use super::{convert, promise, JsEventStore};
use crate::sync::wire::push_event;
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

/// `{"events":[…]}` of `source` read with `options` (the first page from `options.from`, each
/// next one after the last event read), within `limits`.
async fn read_body(
    store: &EventStore,
    source: &Source,
    options: ReadOptions,
    limits: Limits,
) -> Result<String> {
    let backwards = options.direction == Direction::Backwards;
    let mut remaining = options.max_count.unwrap_or(u64::MAX).min(limits.events);
    let mut from = options.from;
    let mut out = String::from("{\"events\":[");
    let mut bytes = 0usize;
    let mut last: Option<u64> = None;
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
        let events = page.into_events()?;
        for e in &events {
            if last.is_some() {
                out.push(',');
            }
            let start = out.len();
            push_event(&mut out, e);
            bytes += out.len() - start + 1;
            last = Some(match source {
                Source::Stream(_) => e.revision,
                Source::All(_) => e.position,
            });
            remaining -= 1;
            if bytes >= limits.bytes {
                remaining = 0;
            }
            if remaining == 0 {
                break;
            }
        }
        let Some(key) = last else { break };
        if (events.len() as u64) < want {
            break;
        }
        from = Some(ReadFrom::At(if backwards {
            match key.checked_sub(1) {
                Some(next) => next,
                None => break,
            }
        } else {
            key + 1
        }));
    }
    out.push_str("]}");
    Ok(out)
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
