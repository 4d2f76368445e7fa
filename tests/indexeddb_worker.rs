//! The storage contract suite on `IndexedDbStorage` inside a dedicated Worker of headless
//! Chromium (IndexedDB, BroadcastChannel and timers as a worker has them).
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;
#[macro_use]
mod husks;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

contract_suite!(contract::indexeddb::IndexedDb);

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages, prefetched meta) in a worker.
    use super::{contract, husks};
    husk_suite!(contract::indexeddb::IndexedDb);
}
