//! The Durable Object factory of the contract suite: the storage of the Durable Object that runs
//! the suite (in workerd, see tests/js/edge/do-suite.test.mjs), emptied for each case.

use std::rc::Rc;

use evstore::{DurableObjectStorage, Storage};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/contract/durable_object.js")]
extern "C" {
    /// The running object's `ctx.storage` with evstore's tables dropped.
    #[wasm_bindgen(js_name = emptiedStorage, catch)]
    #[allow(dead_code)] // tests/durable_object.rs only
    fn emptied_storage() -> Result<JsValue, JsValue>;
}

/// `DurableObjectStorage` over the running object's SQLite, empty: `open` creates its tables
/// again.
#[allow(dead_code)] // tests/durable_object.rs only
pub struct DurableObject;

impl super::Factory for DurableObject {
    async fn storage(&self) -> Rc<dyn Storage> {
        let storage = emptied_storage().expect("the Durable Object's storage");
        Rc::new(DurableObjectStorage::open(storage).unwrap())
    }
}
