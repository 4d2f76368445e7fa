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
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// `dumpIndexedDb(name)` of tests/erasure/dump.js, imported from a blob: URL at run time rather
    /// than as a module snippet of the test page: one more file for the page to fetch from
    /// wasm-bindgen-test-runner's server at load makes seven requests, and the seventh (past
    /// Chromium's six connections per host) can stall until the page-load timeout.
    async fn dump_indexed_db(name: &str) -> Result<JsValue, JsValue> {
        let import = js_sys::eval(
            "(source) => import(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })))",
        )?;
        let source = JsValue::from_str(include_str!("erasure/dump.js"));
        let module = import
            .unchecked_into::<js_sys::Function>()
            .call1(&JsValue::NULL, &source)?;
        let module = JsFuture::from(module.unchecked_into::<js_sys::Promise>()).await?;
        let dump = js_sys::Reflect::get(&module, &"dumpIndexedDb".into())?;
        let answer = dump
            .unchecked_into::<js_sys::Function>()
            .call1(&JsValue::NULL, &name.into())?;
        JsFuture::from(answer.unchecked_into::<js_sys::Promise>()).await
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
