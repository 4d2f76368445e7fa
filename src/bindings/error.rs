//! [`Error`] → a real JS `Error` with `name: "EventStoreError"`, `code` and the contract's fields.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::{Error, ExpectedRevision};

/// The JS error for `err`: `name`, `code`, `message` and the code's extra fields.
pub(crate) fn to_js(err: &Error) -> JsValue {
    let e = js_sys::Error::new(&err.to_string());
    e.set_name("EventStoreError");
    set(&e, "code", err.code().into());
    match err {
        Error::WrongExpectedRevision {
            stream_id,
            expected,
            actual,
        } => {
            set(&e, "streamId", stream_id.into());
            set(&e, "expectedRevision", expected_to_js(*expected));
            let actual = actual.map_or_else(|| "no_stream".into(), |r| (r as f64).into());
            set(&e, "actualRevision", actual);
        }
        Error::DuplicateEventId { event_id } => set(&e, "eventId", event_id.into()),
        Error::EventTooLarge {
            event_index,
            size,
            max,
        } => {
            set(&e, "eventIndex", (*event_index as f64).into());
            set(&e, "size", (*size as f64).into());
            set(&e, "maxEventBytes", (*max as f64).into());
        }
        Error::Storage { cause } => {
            let c = js_sys::Error::new(cause);
            set(&e, "cause", c.into());
        }
        _ => {}
    }
    e.into()
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

fn set(target: &Object, key: &str, value: JsValue) {
    // Defining a property on a fresh Error cannot fail.
    let _ = Reflect::set(target, &key.into(), &value);
}
