//! The storage contract suite on `DurableObjectStorage`, inside a Durable Object in real workerd:
//! each case gets the object's SQLite emptied. `cargo test` does not run this file (`test =
//! false` in Cargo.toml: it needs workerd); tests/js/edge/do-suite.test.mjs builds and runs it.
#![cfg(all(target_arch = "wasm32", feature = "durable-object"))]

#[macro_use]
mod contract;
#[macro_use]
mod husks;

contract_suite!(contract::durable_object::DurableObject);

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages), case by case.
    use super::{contract, husks};
    husk_suite!(contract::durable_object::DurableObject);
}
