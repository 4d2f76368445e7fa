//! The storage contract suite on `IndexedDbStorage`, in headless Chromium: each case gets a
//! fresh database.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;

use evstore::{Durability, EventStore, IndexedDbStorage, StoreOptions};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

struct IndexedDb;

impl contract::Factory for IndexedDb {
    type S = IndexedDbStorage;
    async fn open(&self, options: StoreOptions) -> EventStore<IndexedDbStorage> {
        let name = format!("evstore-contract-{}", uuid::Uuid::now_v7());
        let storage = IndexedDbStorage::open(&name, Durability::Default)
            .await
            .unwrap();
        EventStore::with_options(storage, options)
    }
}

contract_suite!(IndexedDb);
