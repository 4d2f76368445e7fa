//! [`Error`] → a JS `EventStoreError` (the class in `src/codec.js`) with `code` and the contract's
//! fields, in one place: `impl From<Error> for JsValue`.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::{Error, ExpectedRevision};

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(message: &str, code: &str, fields: &Object) -> JsValue;
    /// `value` as an `Error` (a thrown non-`Error` becomes the `cause` of a new one).
    #[wasm_bindgen(js_name = asError)]
    pub(crate) fn as_error(value: &JsValue, what: &str) -> JsValue;
    /// `console.error(message, error)`.
    #[wasm_bindgen(js_name = reportError)]
    pub(crate) fn report_error(message: &str, error: &JsValue);
}

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        let fields = Object::new();
        let set = |key: &str, value: JsValue| {
            // Defining a property on a fresh object cannot fail.
            let _ = Reflect::set(&fields, &key.into(), &value);
        };
        match &err {
            Error::WrongExpectedRevision {
                stream_id,
                expected,
                actual,
            } => {
                set("streamId", stream_id.into());
                set("expectedRevision", expected_to_js(*expected));
                let actual = actual.map_or_else(|| "no_stream".into(), |r| (r as f64).into());
                set("actualRevision", actual);
            }
            Error::DuplicateEventId { event_id } => set("eventId", event_id.into()),
            Error::StreamDeleted { stream_id } => set("streamId", stream_id.into()),
            Error::EventTooLarge {
                event_index,
                size,
                max,
            } => {
                set("eventIndex", (*event_index as f64).into());
                set("size", (*size as f64).into());
                set("maxEventBytes", (*max as f64).into());
            }
            Error::Storage { message, cause } | Error::QuotaExceeded { message, cause } => {
                // The storage's own error object when it reported one, else an Error saying what.
                let cause = cause
                    .as_ref()
                    .and_then(|c| c.downcast_ref::<JsValue>().cloned())
                    .unwrap_or_else(|| js_sys::Error::new(message).into());
                set("cause", cause);
            }
            Error::SchemaTooNew {
                stream_id,
                event_type,
                version,
            } => {
                set("streamId", stream_id.into());
                set("type", event_type.into());
                set("version", (*version).into());
            }
            Error::UpcastFailed {
                event_id,
                event_type,
                version,
                cause,
            } => {
                set("eventId", event_id.into());
                set("type", event_type.into());
                set("version", (*version).into());
                // The value the JS upcaster threw, itself (a Rust step's error, as its text).
                let cause = cause.as_ref().map_or(JsValue::UNDEFINED, |c| {
                    c.downcast_ref::<JsValue>().cloned().unwrap_or_else(|| {
                        c.downcast_ref::<crate::UpcastError>()
                            .map_or(JsValue::UNDEFINED, |e| {
                                js_sys::Error::new(&e.to_string()).into()
                            })
                    })
                });
                set("cause", cause);
            }
            _ => {}
        }
        make_error(&err.to_string(), err.code(), &fields)
    }
}

/// `ExpectedRevision` as the contract spells it in JS.
pub(crate) fn expected_to_js(expected: ExpectedRevision) -> JsValue {
    match expected {
        ExpectedRevision::Any => "any".into(),
        ExpectedRevision::NoStream => "no_stream".into(),
        ExpectedRevision::StreamExists => "stream_exists".into(),
        ExpectedRevision::Exact(n) => (n as f64).into(),
    }
}
