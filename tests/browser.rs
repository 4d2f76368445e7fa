//! The storage contract suite on `MemoryStorage` inside headless Chromium (wasm32), so the
//! in-memory store is proven in the browser as well as in Node and natively.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

contract_suite!(contract::Memory);
