//! The storage contract suite on `IndexedDbStorage`, in headless Chromium's window: each case
//! gets a fresh database.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;
#[macro_use]
mod husks;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

contract_suite!(contract::indexeddb::IndexedDb);

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages), case by case.
    use super::{contract, husks};
    husk_suite!(contract::indexeddb::IndexedDb);
}
