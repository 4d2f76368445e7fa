//! The storage contract suite on `HeapStorage`, the memory storage of the JS bindings (events on
//! the JS heap), in Node; and again behind the sync outbox hook.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod contract;
#[macro_use]
mod husks;

contract_suite!(contract::Heap);

#[cfg(feature = "sync")]
mod outboxed {
    //! The same suite with the sync outbox hook in front of the storage.
    use super::contract;
    contract_suite!(contract::OutboxedHeap);
}

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages), case by case.
    use super::{contract, husks};
    husk_suite!(contract::Heap);
}
