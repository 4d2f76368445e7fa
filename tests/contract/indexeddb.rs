//! The IndexedDB factory of the contract suite: a fresh database per case.

use std::rc::Rc;

use evstore::{Durability, IndexedDbStorage, Storage};

/// Fresh `IndexedDbStorage` databases.
#[allow(dead_code)] // not every test crate runs the suite on IndexedDB
pub struct IndexedDb;

impl super::Factory for IndexedDb {
    async fn storage(&self) -> Rc<dyn Storage> {
        let name = format!("evstore-contract-{}", uuid::Uuid::now_v7());
        Rc::new(
            IndexedDbStorage::open(&name, Durability::Default)
                .await
                .unwrap(),
        )
    }
}
