//! The storage contract suite on `DurableObjectStorage`, inside a Durable Object in real workerd:
//! each case gets the object's SQLite emptied. `cargo test` does not run this file (`test =
//! false` in Cargo.toml: it needs workerd); tests/js/edge/do-suite.test.mjs builds and runs it.
#![cfg(all(target_arch = "wasm32", feature = "durable-object"))]

#[macro_use]
mod contract;
#[macro_use]
mod husks;
mod erasure;

contract_suite!(contract::durable_object::DurableObject);

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages), case by case.
    use super::{contract, husks};
    husk_suite!(contract::durable_object::DurableObject);
}

mod raw_erasure {
    //! Nothing removed stays in any `evstore_` table (tests/erasure/mod.rs).
    use super::{contract, erasure};
    use contract::Factory;
    use evstore::{EventStore, StoreOptions};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/tests/erasure/dump.js")]
    extern "C" {
        #[wasm_bindgen(js_name = dumpDurableObject)]
        fn dump_durable_object() -> String;
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn nothing_removed_stays_in_any_table() {
        let storage = contract::durable_object::DurableObject.storage().await;
        let store = EventStore::over(storage, StoreOptions::default());
        let markers = erasure::Markers::new();
        erasure::scenario(&store, &markers).await;
        store.close();
        erasure::assert_erased(&dump_durable_object(), &markers);
    }
}
