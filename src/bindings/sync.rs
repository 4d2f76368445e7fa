//! Sync in JS: the client state machine as the `SyncEngine` class that the package's JS host
//! drives over a WebSocket (pkg-template/index.js) — texts in, texts out: the host never reads or
//! writes a sync message — and `store.acceptPush(appends)`, the lower-level server call under a
//! push (`server` feature; the edge service drives `store.syncServer`, in `server.rs`).

use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::convert;
use super::error::expected_to_js;
use super::pages::events_to_js;
use super::{append_request, append_result, promise};
use crate::sync::{
    decode_server_message, encode_auth, encode_client_message, ClientMessage, Conflict, LinkState,
    Refusal, ServerFrame, ServerMessage, SyncClient, SyncStatus, PING,
};
use crate::{EventStore, ExpectedRevision, Result, Selection};
#[cfg(feature = "server")]
use {
    super::JsEventStore,
    crate::sync::wire::{decode_pushed_appends, encode_outcome},
    crate::sync::{PushOutcome, PushPolicy},
    crate::Error,
};

fn set(o: &Object, key: &str, value: impl Into<JsValue>) {
    // Defining a property on a fresh object cannot fail.
    let _ = Reflect::set(o, &key.into(), &value.into());
}

#[cfg(feature = "server")]
fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &key.into()).unwrap_or_default()
}

fn opt_number(n: Option<u64>) -> JsValue {
    n.map_or(JsValue::NULL, |n| (n as f64).into())
}

fn refusal_to_js(r: &Refusal) -> Object {
    let o = Object::new();
    set(&o, "code", r.code.as_str());
    set(&o, "message", r.message.as_str());
    o
}

fn status_to_js(s: &SyncStatus) -> JsValue {
    let o = Object::new();
    let state = match s.state {
        LinkState::Offline => "offline",
        LinkState::Connecting => "connecting",
        LinkState::Online => "online",
    };
    set(&o, "state", state);
    set(&o, "pending", s.pending as f64);
    set(&o, "conflicts", s.conflicts as f64);
    set(&o, "confirmedPosition", opt_number(s.confirmed));
    set(&o, "pushable", s.pushable as f64);
    set(&o, "caughtUp", s.caught_up);
    o.into()
}

/// A held stream for `store.sync.conflicts()` / `onConflict`. `actualRevision` is what `retry`
/// takes as `expectedRevision`: the server's revision, or `"no_stream"` when the server has no
/// events of the stream (as in `WRONG_EXPECTED_REVISION`; never `null`, which would read as "any").
/// `pending` and `theirs` are upcast by `schema`, as every read of the app is.
fn conflict_to_js(c: &Conflict, schema: &JsValue) -> Result<JsValue> {
    let o = Object::new();
    set(&o, "streamId", c.stream_id.as_str());
    set(&o, "expectedRevision", expected_to_js(c.expected));
    let actual = c
        .actual
        .map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
    set(&o, "actualRevision", expected_to_js(actual));
    set(&o, "pending", events_to_js(&c.pending, schema)?);
    set(&o, "theirs", events_to_js(&c.theirs, schema)?);
    if c.theirs_withheld {
        set(&o, "theirsWithheld", true);
    }
    if let Some((code, message)) = &c.rejection {
        let r = Refusal {
            code: code.clone(),
            message: message.clone(),
        };
        set(&o, "error", refusal_to_js(&r));
    }
    Ok(o.into())
}

/// The client sync state machine of a store opened with `sync` (driven by the package's JS).
#[wasm_bindgen(js_name = SyncEngine)]
pub struct JsSyncEngine {
    client: Rc<SyncClient>,
    /// Keeps the store's events alive while the engine is (a synced store syncs on while its
    /// socket is open, also once the app dropped the store object).
    _hold: Option<crate::HeapHold>,
    /// The store's compiled schema (`undefined`: none), for the conflicts' events.
    schema: JsValue,
    /// The tap of the store's outbox, until the host attaches it (`onPush`).
    tap: std::cell::RefCell<Option<Rc<crate::sync::Tap>>>,
}

impl JsSyncEngine {
    /// The engine of `store` (whose storage queues its appends), holding the streams of
    /// `selection` (what the store held under another selection is reconciled now); its
    /// conflicts' events are upcast by `schema`.
    pub(crate) async fn open(
        store: Rc<EventStore>,
        hold: Option<crate::HeapHold>,
        selection: Selection,
        schema: JsValue,
        tap: Option<Rc<crate::sync::Tap>>,
    ) -> Result<Self> {
        Ok(JsSyncEngine {
            _hold: hold,
            schema,
            tap: std::cell::RefCell::new(tap),
            client: Rc::new(SyncClient::open(store, selection).await?),
        })
    }
}

#[wasm_bindgen(js_class = SyncEngine)]
impl JsSyncEngine {
    /// A connection is being made.
    pub fn connecting(&self) {
        self.client.connecting();
    }

    /// The connection opened: the pull and the first push are queued.
    pub fn connected(&self) -> Promise {
        let client = self.client.clone();
        promise(async move {
            client.connected().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Calls `send()` as soon as a local append's commit queued a push (built from memory):
    /// the host sends `outgoing()` then, without waiting for the store's change notice.
    #[wasm_bindgen(js_name = onPush)]
    pub fn on_push(&self, send: js_sys::Function) {
        if let Some(tap) = self.tap.borrow_mut().take() {
            self.client.tap(
                tap,
                Rc::new(move || {
                    let _ = send.call0(&JsValue::NULL);
                }),
            );
        }
    }

    /// The connection closed.
    pub fn disconnected(&self) {
        self.client.disconnected();
    }

    /// Whether a push awaits its result.
    #[wasm_bindgen(js_name = pushInFlight)]
    pub fn push_in_flight(&self) -> bool {
        self.client.push_in_flight()
    }

    /// The messages to send now: `{ texts, push }`, the texts in order, and `push`: whether one
    /// of them is a push (whose result the host then awaits, see `pushInFlight`).
    pub fn outgoing(&self) -> JsValue {
        let messages = self.client.take_outgoing();
        let push = messages
            .iter()
            .any(|m| matches!(m, ClientMessage::Push { .. }));
        let texts: Array = messages
            .iter()
            .map(|m| JsValue::from(encode_client_message(m)))
            .collect();
        let o = Object::new();
        set(&o, "texts", texts);
        set(&o, "push", push);
        o.into()
    }

    /// Handles a text frame from the server; resolves to what the host acts on: `{ held,
    /// caughtUp, error }` — the stream ids it held (new conflicts), whether it was the end of
    /// the catch-up, and the server's error (`{ code, message }`, or `null`). A frame that
    /// cannot be read rejects with a `STORAGE_ERROR`; one of an unknown type changes nothing.
    #[wasm_bindgen(js_name = receiveText)]
    pub fn receive_text(&self, text: String) -> Promise {
        let frame = decode_server_message(&text);
        let client = self.client.clone();
        promise(async move {
            let (mut held, mut caught_up, mut error) = (Array::new(), false, JsValue::NULL);
            match frame? {
                Some(ServerFrame::Message(message)) => {
                    caught_up = matches!(message, ServerMessage::CaughtUp { .. });
                    held = client
                        .receive(message)
                        .await?
                        .iter()
                        .map(|s| JsValue::from(s.as_str()))
                        .collect();
                }
                Some(ServerFrame::Error(e)) => {
                    error = refusal_to_js(&Refusal {
                        code: e.code,
                        message: e.message,
                    })
                    .into();
                }
                // A renewal accepted, a keep-alive answered, or a frame of an unknown type.
                Some(ServerFrame::Authenticated { .. } | ServerFrame::Pong) | None => {}
            }
            let o = Object::new();
            set(&o, "held", held);
            set(&o, "caughtUp", caught_up);
            set(&o, "error", error);
            Ok(o.into())
        })
    }

    /// The keep-alive message to send on a quiet socket.
    pub fn ping(&self) -> String {
        PING.to_owned()
    }

    /// The message that renews the socket's token in place with `token`.
    pub fn auth(&self, token: String) -> String {
        encode_auth(&token)
    }

    /// Queues the next push if one can go.
    pub fn pump(&self) -> Promise {
        let client = self.client.clone();
        promise(async move {
            client.pump().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The status, with its counts read again from the store.
    pub fn refresh(&self) -> Promise {
        let client = self.client.clone();
        promise(async move { Ok(status_to_js(&client.refresh().await?)) })
    }

    /// How many queued appends are not held (reads the whole outbox).
    pub fn pushable(&self) -> Promise {
        let client = self.client.clone();
        promise(async move { Ok((client.pushable().await? as f64).into()) })
    }

    /// The status as last known.
    pub fn status(&self) -> JsValue {
        status_to_js(&self.client.status())
    }

    /// The store's change generation.
    pub fn generation(&self) -> f64 {
        self.client.generation() as f64
    }

    /// Whether every change of the store since `generation` is a write of a received frame
    /// (whose handling pushed and refreshed the status already).
    #[wasm_bindgen(js_name = receivedOnlySince)]
    pub fn received_only_since(&self, generation: f64) -> bool {
        self.client.received_only_since(generation as u64)
    }

    /// Resolves once the store may have changed since `generation`.
    pub fn changed(&self, generation: f64) -> Promise {
        let client = self.client.clone();
        promise(async move {
            client.changed(generation as u64).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Every held stream: `{ streamId, expectedRevision, actualRevision, pending, theirs, error? }`.
    pub fn conflicts(&self) -> Promise {
        let (client, schema) = (self.client.clone(), self.schema.clone());
        promise(async move {
            let conflicts = client.conflicts().await?;
            Ok(conflicts
                .iter()
                .map(|c| conflict_to_js(c, &schema))
                .collect::<Result<Array>>()?
                .into())
        })
    }

    /// Drops the held events of `streamId`.
    pub fn discard(&self, stream_id: JsValue) -> Promise {
        let stream = convert::string(&stream_id, "streamId");
        let client = self.client.clone();
        promise(async move {
            client.discard(&stream?).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Replaces the held events of `streamId` with `events` under `{ expectedRevision, causedBy }`.
    pub fn retry(&self, stream_id: JsValue, events: JsValue, options: JsValue) -> Promise {
        let request = append_request(&stream_id, &events, &options, "retry options");
        let client = self.client.clone();
        promise(async move {
            let (stream, events, expected) = request?;
            let r = client.retry(&stream, events, expected).await?;
            Ok(append_result(
                r.next_expected_revision as f64,
                r.position as f64,
            ))
        })
    }
}

#[cfg(feature = "server")]
/// The push policy of `acceptPush`'s options: `{ revealTheirs?, maxAppendEvents?, mayDelete? }`.
fn push_policy(options: &JsValue) -> Result<PushPolicy> {
    let mut policy = PushPolicy::default();
    if options.is_undefined() || options.is_null() {
        return Ok(policy);
    }
    if !options.is_object() {
        return Err(Error::invalid("acceptPush options must be an object"));
    }
    for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        let value = get(options, &key);
        match key.as_str() {
            "revealTheirs" => {
                policy.reveal_theirs = value
                    .as_bool()
                    .ok_or_else(|| Error::invalid("revealTheirs must be a boolean"))?;
            }
            "maxAppendEvents" => {
                policy.max_append_events = convert::integer(&value, "maxAppendEvents")? as usize;
            }
            "mayDelete" => {
                policy.may_delete = value
                    .as_bool()
                    .ok_or_else(|| Error::invalid("mayDelete must be a boolean"))?;
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown acceptPush option \"{other}\" (known: revealTheirs, maxAppendEvents, mayDelete)"
                )))
            }
        }
    }
    Ok(policy)
}

/// An outcome as the wire writes it (one codec), with `theirs` as recorded-event objects.
#[cfg(feature = "server")]
fn outcome_to_js(o: &PushOutcome) -> Result<JsValue> {
    let out = js_sys::JSON::parse(&encode_outcome(o))
        .map_err(|_| Error::storage("an outcome could not be read back"))?;
    if let PushOutcome::Conflict { theirs, .. } = o {
        // Wire data in stored form: the server upcasts nothing.
        set(
            out.unchecked_ref(),
            "theirs",
            events_to_js(theirs, &JsValue::UNDEFINED)?,
        );
    }
    Ok(out)
}

#[cfg(feature = "server")]
#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// The server half of sync: decides pushed appends (a push message's `appends`) in order,
    /// one transaction each, and resolves to one outcome per append (`{ result: "ok" |
    /// "already" | "conflict" | "rejected" | "blocked" | "failed", … }`). A malformed append is
    /// `rejected` (never the whole push). `options`: `{ revealTheirs }` (false when the pusher
    /// may not read: conflicts carry no events, `theirsCut: "withheld"`) and `{ maxAppendEvents }`.
    #[wasm_bindgen(js_name = acceptPush)]
    pub fn accept_push(&self, appends: JsValue, options: JsValue) -> Promise {
        // One codec for pushes: the appends as the JSON text a push message carries them in.
        let appends = js_sys::JSON::stringify(&appends)
            .ok()
            .and_then(|text| text.as_string())
            .and_then(|text| decode_pushed_appends(&text))
            .ok_or_else(|| Error::invalid("appends must be an array of JSON values"));
        let policy = push_policy(&options);
        let store = self.inner.clone();
        promise(async move {
            let outcomes = store.accept_push(appends?, policy?).await;
            let outcomes = outcomes
                .iter()
                .map(outcome_to_js)
                .collect::<Result<Array>>()?;
            Ok(outcomes.into())
        })
    }
}
