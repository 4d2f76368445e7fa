//! The IndexedDB factory of the contract suite: a fresh database per case.

use evstore::{Durability, IndexedDbStorage};

/// Fresh `IndexedDbStorage` databases.
#[allow(dead_code)] // not every test crate runs the suite on IndexedDB
pub struct IndexedDb;

impl super::Factory for IndexedDb {
    type S = IndexedDbStorage;
    async fn storage(&self) -> IndexedDbStorage {
        let name = format!("evstore-contract-{}", uuid::Uuid::now_v7());
        IndexedDbStorage::open(&name, Durability::Default)
            .await
            .unwrap()
    }
}
