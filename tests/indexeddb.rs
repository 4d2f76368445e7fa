//! The storage contract suite on `IndexedDbStorage`, in headless Chromium's window: each case
//! gets a fresh database.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;
#[macro_use]
mod husks;
mod erasure;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

contract_suite!(contract::indexeddb::IndexedDb);

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages), case by case.
    use super::{contract, husks};
    husk_suite!(contract::indexeddb::IndexedDb);
}

mod raw_erasure {
    //! Nothing removed stays in any object store (tests/erasure/mod.rs).
    use super::erasure;
    use evstore::{Durability, EventStore, IndexedDbStorage, Uuid};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/tests/erasure/dump.js")]
    extern "C" {
        #[wasm_bindgen(js_name = dumpIndexedDb, catch)]
        async fn dump_indexed_db(name: &str) -> Result<JsValue, JsValue>;
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn nothing_removed_stays_in_any_object_store() {
        let name = format!("evstore-erasure-{}", Uuid::now_v7());
        let storage = IndexedDbStorage::open(&name, Durability::Default)
            .await
            .unwrap();
        let store = EventStore::new(storage);
        let markers = erasure::Markers::new();
        erasure::scenario(&store, &markers).await;
        store.close();
        let dump = dump_indexed_db(&name).await.unwrap().as_string().unwrap();
        erasure::assert_erased(&dump, &markers);
    }
}
