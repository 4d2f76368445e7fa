//! evstore: an event store for browsers and edge workers, written in Rust.
//!
//! Append-only streams with optimistic concurrency, a dense global log, idempotent appends by
//! event id, reads both ways, and catch-up subscriptions ([`EventStore::subscribe`]), over a
//! [`Storage`]: [`MemoryStorage`] anywhere, and `IndexedDbStorage` in browsers. The JS package
//! wraps the same core.
//!
//! ```
//! use evstore::{EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent, ReadOptions};
//! # futures::executor::block_on(async {
//! let store = EventStore::new(MemoryStorage::new());
//! let placed = ProposedEvent::new("OrderPlaced", Json::from_value(&serde_json::json!({ "total": 10 }))?);
//! let r = store.append("Order-1", vec![placed], ExpectedRevision::NoStream).await?;
//! assert_eq!((r.next_expected_revision, r.position), (0, 0));
//!
//! // A second writer that still expects an empty stream loses the race:
//! let late = ProposedEvent::new("OrderPlaced", Json::null());
//! let err = store.append("Order-1", vec![late], ExpectedRevision::NoStream).await.unwrap_err();
//! assert_eq!(err.code(), "WRONG_EXPECTED_REVISION");
//!
//! let events = store.read_stream("Order-1", ReadOptions::forwards()).await?;
//! assert_eq!(&*events[0].event_type, "OrderPlaced");
//! assert_eq!(events[0].stream_id.category(), "Order");
//! # Ok::<(), evstore::Error>(())
//! # }).unwrap();
//! ```

mod append;
mod clock;
mod decision;
mod error;
mod event;
mod group;
mod json;
mod lifecycle;
mod model;
mod notify;
mod read;
mod row;
mod schema;
mod selection;
mod storage;
mod store;
mod subscription;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod bindings;

/// The README's Rust example, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use decision::{decide, Decision, StoredLocation};
pub use error::{Cause, Error, Result};
pub use event::{
    parse_event_id, NewEvent, ProposedEvent, RecordedEvent, CAUSATION_ID, CORRELATION_ID,
};
pub use json::Json;
pub use lifecycle::{LifecycleOp, StreamMetadata, DELETED_TYPE, METADATA_TYPE};
pub use model::{
    about_of, category_of, AppendResult, ExpectedRevision, Position, Revision, StreamId,
    MAX_EVENT_TYPE_CHARS, MAX_STREAM_ID_CHARS, METADATA_PREFIX,
};
pub use read::{integer_from_f64, Direction, ReadFrom, ReadOptions, ReadPage, ReadRequest};
pub use row::{decode_rows, encode_rows};
pub use schema::{stored_version, Schema, UpcastError, SCHEMA_VERSION};
pub use selection::{prefix_end, Selection, StreamPattern};
#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub use storage::DurableObjectStorage;
#[cfg(all(target_arch = "wasm32", feature = "postgres"))]
pub use storage::PostgresStorage;
pub use storage::{
    AppendKind, Appending, BoxedPage, BoxedTx, Capabilities, CommitError, Committing, Heads,
    HeadsOf, Hook, Io, Layered, LocalBoxFuture, MemoryStorage, Mode, Page, Positions,
    PreparedAppend, Primitive, Removal, Revisions, Storage, Transaction,
};
#[cfg(all(target_arch = "wasm32", feature = "indexeddb"))]
pub use storage::{Durability, IndexedDbStorage};
#[cfg(target_arch = "wasm32")]
pub use storage::{HeapHold, HeapStorage};
pub use store::{Aggregate, EventStore, StoreOptions, DEFAULT_MAX_EVENT_BYTES};
pub use subscription::{
    Delivered, EventFilter, FromPage, SubscribeFrom, SubscribeOptions, Subscription,
    SubscriptionBatch, SubscriptionMessage, Unsubscribe,
};
pub use uuid::Uuid;
