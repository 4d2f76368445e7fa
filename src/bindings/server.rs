//! The server half of sync in JS (`server` feature): `store.syncServer(epoch, maxAppendEvents)`,
//! a `SyncServer`, which a host (the edge service's Durable Object) drives with text only: it
//! reads each client message with `SyncServer.decode(text)`, serves it on the socket's state,
//! and sends the texts it gets back. The socket's state is the host's object `{ cursor, live,
//! selected, scopes, streams }` (the WebSocket attachment): `cursor` (-1: nothing sent), `live`
//! and `selected` (the feed's streams) are updated in place; `scopes` and `streams` (the token's
//! patterns, `null`: every stream) say what the token allows.

use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::{promise, JsEventStore};
use crate::sync::{
    decode_client_message, Access, ClientFrame, ErrorFrame, Feed, Served, SyncServer,
};
use crate::{Error, Selection};

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &key.into()).unwrap_or_default()
}

fn set(o: &JsValue, key: &str, value: impl Into<JsValue>) {
    // Setting a property on the host's plain object cannot fail.
    let _ = Reflect::set(o, &key.into(), &value.into());
}

/// The selection in `state[key]`: an array of stream patterns, or (absent, `null`) every
/// stream. Anything else selects nothing: the host's state is never read as more than it says.
fn selection_of(state: &JsValue, key: &str) -> Selection {
    let value = get(state, key);
    if value.is_null() || value.is_undefined() {
        return Selection::all();
    }
    super::convert::selection(&value, key).unwrap_or_else(|_| Selection::none())
}

/// The feed in `state`: `cursor` (-1 or absent: nothing sent), `live` and `selected` (the
/// streams the socket's pull selected, within its token's).
fn feed_of(state: &JsValue) -> Feed {
    Feed {
        cursor: get(state, "cursor")
            .as_f64()
            .and_then(crate::integer_from_f64),
        live: get(state, "live").as_bool().unwrap_or(false),
        selection: selection_of(state, "selected"),
    }
}

/// Writes `feed` back into `state`; `selected` is `null` when the feed serves every stream the
/// token allows (`token`), so that the attachment holds the patterns once.
fn store_feed(state: &JsValue, feed: Feed, token: &Selection) {
    set(state, "cursor", feed.cursor.map_or(-1.0, |c| c as f64));
    set(state, "live", feed.live);
    if feed.selection.is_all() || feed.selection == *token {
        set(state, "selected", JsValue::NULL);
        return;
    }
    let selected: Array = feed
        .selection
        .to_strings()
        .into_iter()
        .map(JsValue::from)
        .collect();
    set(state, "selected", selected);
}

/// Whether `state.scopes` holds `scope`.
fn has_scope(state: &JsValue, scope: &str) -> bool {
    get(state, "scopes")
        .dyn_into::<Array>()
        .is_ok_and(|scopes| scopes.includes(&scope.into(), 0))
}

/// What the socket `state`'s token allows: its `scopes` and `streams`.
fn access_of(state: &JsValue, expired: bool) -> Access {
    Access {
        read: has_scope(state, "read"),
        append: has_scope(state, "append"),
        delete: has_scope(state, "delete"),
        expired,
        streams: selection_of(state, "streams"),
    }
}

/// A client message, read (`SyncServer.decode`), to serve once.
#[wasm_bindgen(js_name = SyncMessage)]
pub struct JsSyncMessage {
    frame: Option<Result<ClientFrame, ErrorFrame>>,
}

#[wasm_bindgen(js_class = SyncMessage)]
impl JsSyncMessage {
    /// Whether the message is a `pull` (a host that keeps one pull per socket counts it).
    #[wasm_bindgen(getter, js_name = isPull)]
    pub fn is_pull(&self) -> bool {
        matches!(&self.frame, Some(Ok(f)) if f.is_pull())
    }
}

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// The server half of sync over this store, whose log is `epoch`; a pushed append holds at
    /// most `maxAppendEvents` events. (A method of the store: a memory store's events are held
    /// for the server from here on.)
    #[wasm_bindgen(js_name = syncServer)]
    pub fn sync_server(
        &self,
        epoch: String,
        max_append_events: f64,
    ) -> Result<JsSyncServer, JsValue> {
        let max = crate::integer_from_f64(max_append_events)
            .ok_or_else(|| Error::invalid("maxAppendEvents must be a non-negative integer"))?;
        Ok(JsSyncServer {
            _hold: self.heap.as_ref().map(|h| h.hold()),
            inner: Rc::new(SyncServer::new(self.inner.clone(), epoch, max as usize)),
        })
    }
}

/// The server half of sync over one store (`store.syncServer(epoch, maxAppendEvents)`), driven
/// by the edge service.
#[wasm_bindgen(js_name = SyncServer)]
pub struct JsSyncServer {
    inner: Rc<SyncServer>,
    /// Keeps a memory store's events reachable for the server's calls (which run outside the
    /// store object's own methods), as long as the server lives.
    _hold: Option<crate::HeapHold>,
}

#[wasm_bindgen(js_class = SyncServer)]
impl JsSyncServer {
    /// Reads one WebSocket message (a string; anything else is refused when served).
    pub fn decode(data: &JsValue) -> JsSyncMessage {
        let frame = match data.as_string() {
            Some(text) => decode_client_message(&text),
            None => Err(ErrorFrame::invalid(
                "binary messages are not part of the protocol",
            )),
        };
        JsSyncMessage { frame: Some(frame) }
    }

    /// Serves `message` on the socket `state` (`{ cursor, live, selected, scopes, streams }`,
    /// updated in place);
    /// `expired`: the socket's token has expired. Resolves to what the host does:
    /// `{ action: "reply", frame }` (send it), `{ action: "pull" }` (send `nextFrame` until
    /// null), `{ action: "pushed", frame }` (publish to every live socket, then send it),
    /// `{ action: "auth", token }` (verify it; answer `SyncServer.authenticated(exp)`), or
    /// `{ action: "close", frame, code, reason }` (send it, then close).
    pub fn serve(
        &self,
        message: &mut JsSyncMessage,
        state: JsValue,
        expired: bool,
    ) -> js_sys::Promise {
        let frame = message.frame.take();
        let server = self.inner.clone();
        promise(async move {
            let frame = frame.ok_or_else(|| Error::invalid("this message was served already"))?;
            let access = access_of(&state, expired);
            let mut feed = feed_of(&state);
            let served = server.serve_frame(&mut feed, frame, &access).await;
            store_feed(&state, feed, &access.streams);
            let out = Object::new();
            let (action, frame) = match served {
                Served::Reply(frame) => ("reply", Some(frame)),
                Served::Pull => ("pull", None),
                Served::Pushed(frame) => ("pushed", Some(frame)),
                Served::Auth(token) => {
                    set(&out, "token", token.map_or(JsValue::NULL, JsValue::from));
                    ("auth", None)
                }
                Served::Close {
                    code,
                    frame,
                    reason,
                } => {
                    set(&out, "code", code);
                    set(&out, "reason", reason);
                    ("close", Some(frame))
                }
            };
            set(&out, "action", action);
            if let Some(frame) = frame {
                set(&out, "frame", frame);
            }
            Ok(out.into())
        })
    }

    /// The next frame of the socket `state` (updated in place), or null when there is nothing
    /// to send: events of its selected streams (within the token's) after its cursor, then —
    /// while catching up — `caughtUp`. A live socket whose token lost the `read` scope gets a
    /// `FORBIDDEN` frame and stops being live. A host that passes a state with a `more` key gets
    /// it set: false when another call would give nothing now (a live socket has the log up to its
    /// head), so it can stop there; other states are left as they were.
    #[wasm_bindgen(js_name = nextFrame)]
    pub fn next_frame(&self, state: JsValue) -> js_sys::Promise {
        let server = self.inner.clone();
        promise(async move {
            let mut feed = feed_of(&state);
            let access = access_of(&state, false);
            let (frame, more) = server.next_frame_more(&mut feed, &access).await?;
            store_feed(&state, feed, &access.streams);
            if js_sys::Reflect::has(&state, &"more".into()).unwrap_or(false) {
                set(&state, "more", more);
            }
            Ok(frame.map_or(JsValue::NULL, JsValue::from))
        })
    }

    /// The answer to an accepted token renewal (`exp`: the token's expiry, in seconds).
    pub fn authenticated(exp: f64) -> String {
        // JS writes the number, as JSON.stringify does: no float formatting in the wasm.
        let text = js_sys::Number::from(exp)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default();
        SyncServer::authenticated(&text)
    }

    /// An error frame of the host's own: `{"type":"error","error":{code,message,limit?}}`.
    #[wasm_bindgen(js_name = errorFrame)]
    pub fn error_frame(code: &str, message: &str, limit: Option<f64>) -> String {
        SyncServer::error_frame(ErrorFrame {
            limit: limit.and_then(crate::integer_from_f64),
            ..ErrorFrame::new(code, message)
        })
    }

    /// The message of the error frame sent when serving a message failed.
    #[wasm_bindgen(getter = FAILED)]
    pub fn failed() -> String {
        crate::sync::FAILED.to_owned()
    }
}
