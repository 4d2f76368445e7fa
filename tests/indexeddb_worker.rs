//! The storage contract suite on `IndexedDbStorage` inside a dedicated Worker of headless
//! Chromium (IndexedDB, BroadcastChannel and timers as a worker has them).
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

contract_suite!(contract::indexeddb::IndexedDb);
