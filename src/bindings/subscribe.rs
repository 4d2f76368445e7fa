//! `store.subscribe(handler, options)` and the JS `Subscription`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Waker};

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::convert::{self, field};
use super::deliver_batch;
use super::error::{as_error, report_error};
use super::pages::{records, upcast_failure};
use crate::notify::YieldOnce;
use crate::{
    BoxedPage, Delivered, Error, EventFilter, EventStore, FromPage, HeapHold, Position, Result,
    StreamId, SubscribeFrom, SubscribeOptions, SubscriptionBatch, Unsubscribe,
};

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = recordsAt, catch)]
    fn records_at(
        records: &Array,
        indices: &[u32],
        out: &Array,
        schema: &JsValue,
    ) -> std::result::Result<(), JsValue>;
}

/// What a JS subscription hands out: a stored record of a page, as the storage read it (its
/// payloads never cross into wasm; the recorded-event object is built in JS on delivery).
struct JsRecord {
    position: Position,
    page: Rc<Array>,
    index: u32,
}

impl Delivered for JsRecord {
    fn position(&self) -> Position {
        self.position
    }
}

impl FromPage for JsRecord {
    /// JS upcasts when it builds the events (`recordsAt` in codec.js), so `_schema` (versions
    /// only) is not used here.
    fn select(
        page: BoxedPage,
        filter: &EventFilter,
        _schema: Option<&crate::Schema>,
    ) -> Result<(Vec<Self>, Option<Position>)> {
        let page = records(page)?;
        let positions = page.positions();
        let last = positions.last().copied();
        let heads = if filter.is_all() {
            None
        } else {
            Some(page.heads()?)
        };
        let page = Rc::new(page.0);
        let records = positions
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                heads
                    .as_ref()
                    .is_none_or(|h| h.get(*i).is_some_and(|(s, t)| filter.matches_head(s, t)))
            })
            .map(|(i, p)| JsRecord {
                position: *p,
                page: page.clone(),
                index: i as u32,
            })
            .collect();
        Ok((records, last))
    }
}

/// Records → the contract's recorded-event objects, built in JS (one run of indices per page)
/// and upcast by `schema`.
fn records_to_js(records: &[JsRecord], schema: &JsValue) -> Result<Array> {
    let out = Array::new();
    let mut start = 0;
    while start < records.len() {
        let page = &records[start].page;
        let end = records[start..]
            .iter()
            .position(|r| !Rc::ptr_eq(&r.page, page))
            .map_or(records.len(), |n| start + n);
        let indices: Vec<u32> = records[start..end].iter().map(|r| r.index).collect();
        records_at(page, &indices, &out, schema).map_err(upcast_failure)?;
        start = end;
    }
    Ok(out)
}

/// A running subscription (`Subscription` in JS); `unsubscribe()` stops it.
#[wasm_bindgen(js_name = Subscription)]
pub struct JsSubscription {
    cancelled: Rc<Cell<bool>>,
    /// `{ cancelled, pending }`, read by `deliverBatch` in JS between handler calls.
    control: Object,
    /// Set once the subscription has resolved where it starts.
    handle: Rc<RefCell<Option<Unsubscribe>>>,
}

#[wasm_bindgen(js_class = Subscription)]
impl JsSubscription {
    /// Stops delivery at once (no handler is called after this returns) and releases the
    /// subscription's resources. Idempotent.
    pub fn unsubscribe(&self) {
        self.cancelled.set(true);
        let _ = Reflect::set(&self.control, &"cancelled".into(), &JsValue::TRUE);
        if let Some(h) = self.handle.borrow().as_ref() {
            h.unsubscribe();
        }
    }
}

/// The handler and callbacks of one subscription, and the schema its events are built with.
struct Callbacks {
    handler: Function,
    /// The store's compiled schema (`undefined`: none).
    schema: JsValue,
    on_caught_up: Option<Function>,
    on_error: Option<Function>,
    on_rebase: Option<Function>,
}

impl Callbacks {
    /// Hands a failure to `onError` (always as an `Error`), or to the console.
    fn report(&self, err: JsValue) {
        let err = as_error(&err, "a subscription handler");
        match &self.on_error {
            Some(f) => {
                if let Err(e) = f.call1(&JsValue::UNDEFINED, &err) {
                    report_error("evstore: onError threw", &e);
                }
            }
            None => report_error("evstore: a subscription stopped:", &err),
        }
    }
}

/// Parses `subscribe`'s options.
type Parsed = (
    SubscribeOptions,
    Option<Function>,
    Option<Function>,
    Option<Function>,
);

fn options(value: &JsValue) -> Result<Parsed> {
    let options = convert::options_object(value, "subscribe options")?;
    let o = options.as_ref();
    convert::check_keys(
        o,
        "subscribe options",
        &[
            "after",
            "streamId",
            "category",
            "eventTypes",
            "onCaughtUp",
            "onError",
            "onRebase",
            "checkpoint",
        ],
    )?;
    let function = |key: &str| -> Result<Option<Function>> {
        field(o, key)
            .map(|f| {
                f.dyn_into::<Function>()
                    .map_err(|_| Error::invalid(format!("{key} must be a function")))
            })
            .transpose()
    };
    let from = match field(o, "after") {
        None => SubscribeFrom::Start,
        Some(v) if v.as_string().as_deref() == Some("end") => SubscribeFrom::End,
        Some(v) if v.as_f64().is_some() => SubscribeFrom::After(convert::integer(&v, "after")?),
        Some(v) => {
            return Err(Error::invalid(format!(
                "after must be a position or \"end\", got {}",
                convert::describe(&v)
            )))
        }
    };
    let stream_id = field(o, "streamId")
        .map(|v| convert::string(&v, "streamId").and_then(|s| StreamId::new(&s)))
        .transpose()?;
    let category = field(o, "category")
        .map(|v| convert::string(&v, "category"))
        .transpose()?;
    let event_types = match field(o, "eventTypes") {
        None => None,
        Some(v) => {
            let types = v
                .dyn_ref::<Array>()
                .and_then(|a| a.iter().map(|t| t.as_string()).collect::<Option<Vec<_>>>())
                .ok_or_else(|| Error::invalid("eventTypes must be an array of strings"))?;
            Some(types)
        }
    };
    let checkpoint = field(o, "checkpoint")
        .map(|v| convert::string(&v, "checkpoint"))
        .transpose()?;
    let options = SubscribeOptions {
        from,
        filter: EventFilter {
            stream_id,
            category,
            event_types,
        },
        checkpoint,
    };
    options.validate()?;
    Ok((
        options,
        function("onCaughtUp")?,
        function("onError")?,
        function("onRebase")?,
    ))
}

/// Starts a subscription for the JS `subscribe`.
pub(super) fn subscribe(
    store: &Rc<EventStore>,
    hold: Option<HeapHold>,
    handler: Function,
    options_value: &JsValue,
    schema: &JsValue,
) -> Result<JsSubscription> {
    let (options, on_caught_up, on_error, on_rebase) = options(options_value)?;
    store.check_open()?;
    let callbacks = Callbacks {
        handler,
        schema: schema.clone(),
        on_caught_up,
        on_error,
        on_rebase,
    };
    let cancelled = Rc::new(Cell::new(false));
    let handle = Rc::new(RefCell::new(None));
    let control = Object::new();
    let run = deliver(
        store.clone(),
        hold,
        options,
        callbacks,
        cancelled.clone(),
        control.clone(),
        handle.clone(),
    );
    // Poll once now: the start (e.g. the log's head for `after: "end"`) is resolved, or its read
    // issued, before `subscribe` returns, so a later append is never missed. No handler runs
    // in this poll (`deliver` yields first).
    let mut run = Box::pin(run);
    if run
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending()
    {
        wasm_bindgen_futures::spawn_local(run);
    }
    Ok(JsSubscription {
        cancelled,
        control,
        handle,
    })
}

async fn deliver(
    store: Rc<EventStore>,
    hold: Option<HeapHold>,
    options: SubscribeOptions,
    callbacks: Callbacks,
    cancelled: Rc<Cell<bool>>,
    control: Object,
    handle: Rc<RefCell<Option<Unsubscribe>>>,
) {
    // A running subscription keeps the store's events alive, also once nothing else holds the
    // store object.
    let _hold = hold;
    // With a checkpoint, each handled event is recorded before the next is delivered.
    let one_at_a_time = options.checkpoint.is_some();
    let subscribed = store.subscribe_as::<JsRecord>(options).await;
    // Keeps handlers out of the synchronous first poll in `subscribe`.
    YieldOnce::new().await;
    let mut sub = match subscribed {
        Ok(sub) => sub,
        Err(e) => return callbacks.report(e.into()),
    };
    *handle.borrow_mut() = Some(sub.unsubscriber());
    if cancelled.get() {
        return;
    }
    while let Some(batch) = sub.next_batch().await {
        if cancelled.get() {
            return;
        }
        let events = match batch {
            Ok(SubscriptionBatch::Events(events)) => events,
            Ok(SubscriptionBatch::CaughtUp) => {
                if let Some(f) = &callbacks.on_caught_up {
                    if let Err(e) = f.call0(&JsValue::UNDEFINED) {
                        return callbacks.report(e);
                    }
                }
                continue;
            }
            Ok(SubscriptionBatch::Rebase { after }) => {
                // A synced store rewrote events after `after` that this subscription delivered:
                // the handler is told (and may return a promise), then they come again.
                if let Some(f) = &callbacks.on_rebase {
                    let info = Object::new();
                    let after = after.map_or(JsValue::NULL, |p| (p as f64).into());
                    let _ = Reflect::set(&info, &"after".into(), &after);
                    match f.call1(&JsValue::UNDEFINED, &info) {
                        Ok(r) => {
                            if let Err(e) = JsFuture::from(Promise::resolve(&r)).await {
                                return callbacks.report(e);
                            }
                        }
                        Err(e) => return callbacks.report(e),
                    }
                }
                continue;
            }
            Err(Error::Closed) => return,
            Err(e) => return callbacks.report(e.into()),
        };
        // An upcaster that fails stops the subscription (`UPCAST_FAILED` to `onError`).
        let objects = match records_to_js(&events, &callbacks.schema) {
            Ok(objects) => objects,
            Err(e) => return callbacks.report(e.into()),
        };
        let n = objects.length();
        let mut i = 0;
        while i < n {
            let to = if one_at_a_time { i + 1 } else { n };
            match deliver_batch(&objects, i, to, &callbacks.handler, &control) {
                Err(e) => return callbacks.report(e),
                Ok(-2) => return,
                Ok(-1) => i = to,
                Ok(k) => {
                    let pending = Reflect::get(&control, &"pending".into()).unwrap_or_default();
                    let _ = Reflect::set(&control, &"pending".into(), &JsValue::UNDEFINED);
                    if let Err(e) = JsFuture::from(Promise::resolve(&pending)).await {
                        return callbacks.report(e);
                    }
                    i = k as u32 + 1;
                }
            }
            if cancelled.get() {
                return;
            }
            match sub.handled(events[i as usize - 1].position()).await {
                Ok(()) | Err(Error::Closed) => {} // closed: the loop ends quietly below
                Err(e) => return callbacks.report(e.into()),
            }
        }
    }
}

/// Parses `aggregateStream`'s options: `initialState` and `evolve`, both functions.
pub(super) fn aggregate_options(value: &JsValue) -> Result<(Function, Function)> {
    let options = convert::options_object(value, "aggregateStream options")?;
    convert::check_keys(
        options.as_ref(),
        "aggregateStream options",
        &["initialState", "evolve"],
    )?;
    let get = |key: &str| -> Result<Function> {
        field(options.as_ref(), key)
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| Error::invalid(format!("aggregateStream needs {key} as a function")))
    };
    Ok((get("initialState")?, get("evolve")?))
}
