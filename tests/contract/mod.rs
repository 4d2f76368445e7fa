//! The storage contract suite: every point of the contract that a storage affects, written once,
//! generic over a [`Factory`], and run against every storage (natively on `MemoryStorage`, in
//! headless Chromium on `IndexedDbStorage`, in workerd on `DurableObjectStorage`). A case that
//! needs a capability of the storage seam declares it (`[requires: truncates]`) and is skipped,
//! saying so, where the storage lacks it. `contract_suite!(factory)` expands to one test per
//! case. Every case must be listed there: an unlisted case is dead code, and the build fails.
#![deny(dead_code)]

pub mod decorate;
#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub mod durable_object;
#[cfg(all(target_arch = "wasm32", feature = "indexeddb"))]
pub mod indexeddb;
pub mod lifecycle;
pub mod model;
pub mod selected;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use decorate::{layered, Faults, Recorder};
#[cfg(feature = "sync")]
use evstore::sync::Outbox;
use evstore::{
    Capabilities, Error, EventFilter, EventStore, ExpectedRevision, Json, Layered, Mode, Primitive,
    ProposedEvent, ReadFrom, ReadOptions, RecordedEvent, Storage, StoreOptions, StreamId,
    SubscribeFrom, SubscribeOptions, Subscription, SubscriptionMessage, Uuid,
};
pub use lifecycle::*;
pub use selected::*;

/// Opens a fresh, empty storage for one test case.
#[allow(async_fn_in_trait)]
pub trait Factory {
    /// A new empty storage.
    async fn storage(&self) -> Rc<dyn Storage>;
    /// A new empty store with `options`.
    async fn open(&self, options: StoreOptions) -> EventStore {
        EventStore::over(self.storage().await, options)
    }
}

/// Fresh `MemoryStorage` stores.
#[allow(dead_code)] // not every test crate runs the suite on memory
pub struct Memory;

impl Factory for Memory {
    async fn storage(&self) -> Rc<dyn Storage> {
        Rc::new(evstore::MemoryStorage::new())
    }
}

/// Memory with group commit turned on (as IndexedDB has it): the same contract holds.
#[allow(dead_code)] // tests/memory.rs only
pub struct GroupingMemory;

impl Factory for GroupingMemory {
    async fn storage(&self) -> Rc<dyn Storage> {
        Rc::new(Layered::new(
            evstore::MemoryStorage::new(),
            decorate::Grouping::default(),
        ))
    }
}

/// Memory behind the sync outbox hook: every contract case holds on a synced store too (the
/// outbox writes in each append's transaction and changes nothing else).
#[cfg(feature = "sync")]
#[allow(dead_code)] // tests/memory.rs only
pub struct OutboxedMemory;

#[cfg(feature = "sync")]
impl Factory for OutboxedMemory {
    async fn storage(&self) -> Rc<dyn Storage> {
        Rc::new(Layered::new(evstore::MemoryStorage::new(), Outbox))
    }
}

/// Fresh `HeapStorage` stores (the JS bindings' memory storage; wasm32 only).
#[cfg(target_arch = "wasm32")]
#[allow(dead_code)] // tests/heap.rs only
pub struct Heap;

#[cfg(target_arch = "wasm32")]
impl Factory for Heap {
    async fn storage(&self) -> Rc<dyn Storage> {
        Rc::new(evstore::HeapStorage::new())
    }
}

/// `HeapStorage` behind the sync outbox hook (wasm32 only).
#[cfg(all(target_arch = "wasm32", feature = "sync"))]
#[allow(dead_code)] // tests/heap.rs only
pub struct OutboxedHeap;

#[cfg(all(target_arch = "wasm32", feature = "sync"))]
impl Factory for OutboxedHeap {
    async fn storage(&self) -> Rc<dyn Storage> {
        Rc::new(Layered::new(evstore::HeapStorage::new(), Outbox))
    }
}

/// Expands to one test per contract case for the factory expression `$factory`.
#[macro_export]
macro_rules! contract_suite {
    ($factory:expr) => {
        $crate::contract_suite!(@cases $factory;
            append_to_a_new_stream, expected_revision_rules, wrong_expected_revision_fields,
            batches_are_contiguous_and_positions_dense, failed_appends_write_nothing,
            empty_and_invalid_appends, stream_id_limits, event_type_limit, event_size_limit,
            retry_is_idempotent_even_after_the_stream_moved_on, duplicate_ids_are_rejected,
            appends_issued_together_are_decided_each_on_their_own,
            ids_are_lowercase_and_generated_ids_are_v7, reads_forwards_and_backwards,
            read_all_forwards_and_backwards, payloads_round_trip, stream_revision_and_category,
            aggregate_folds_the_stream, closed_store_rejects_every_call,
            subscription_catches_up_then_stays_live, subscription_starts_after_a_position_or_at_the_end,
            subscription_filters, subscription_checkpoint_resumes, subscription_waits_and_unsubscribes,
            subscription_ends_when_the_store_closes, subscription_as_a_stream,
            random_sequences_match_the_model, faults_write_nothing_and_leave_the_store_usable,
            faults_on_the_retry_path_write_nothing, failed_checkpoint_write_is_reported_and_not_recorded,
            decorators_write_in_the_append_transaction,
            transactions_read_their_writes_and_roll_back [requires: reads_own_writes, truncates],
            truncating_the_log_forgets_the_tail [requires: truncates],
            stream_metadata_is_set_and_read_with_its_revision, system_stream_ids_are_refused,
            truncate_before_hides_and_removes, max_count_removes_at_once_and_on_each_append,
            max_age_hides_at_read_time_and_removes_later,
            soft_delete_reads_as_empty_and_revisions_continue, tombstone_refuses_every_later_call,
            positions_are_never_reused, reads_skip_a_big_hole_both_ways,
            subscriptions_cross_a_hole_larger_than_a_page,
            filtered_subscriptions_get_lifecycle_events,
            lifecycle_calls_and_appends_issued_together, storages_hold_holes_and_husks,
            selected_reads_follow_the_log, selected_reads_report_how_far_they_looked,
            selected_reads_skip_big_holes_both_ways, selected_reads_hide_what_retention_hides);
    };
    (@cases $factory:expr; $($case:ident $([requires: $($capability:ident),+])?),* $(,)?) => {
        $(
            #[cfg(not(target_arch = "wasm32"))]
            #[test]
            fn $case() {
                futures::executor::block_on($crate::contract_suite!(@run $factory, $case $(, $($capability),+)?));
            }
            #[cfg(target_arch = "wasm32")]
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                $crate::contract_suite!(@run $factory, $case $(, $($capability),+)?).await;
            }
        )*
    };
    // Runs the case where the storage has every capability it requires, else says why not.
    (@run $factory:expr, $case:ident $(, $capability:ident)*) => {
        async {
            let factory = $factory;
            if contract::supports(&factory, stringify!($case), &[
                $((stringify!($capability), |c: evstore::Capabilities| c.$capability)),*
            ]).await {
                contract::$case(&factory).await;
            }
        }
    };
}

/// A capability of the storage seam a case requires: its name and how to read it.
pub type Requirement = (&'static str, fn(Capabilities) -> bool);

/// Whether `f`'s storages have every capability in `requires`; when one lacks some, the case is
/// skipped and says so on stderr (natively, past the test harness's capture) or the console.
/// Checks, for every case, the rule between capabilities: group commit needs transactions that
/// read their own writes.
pub async fn supports<F: Factory>(f: &F, case: &str, requires: &[Requirement]) -> bool {
    let storage = f.storage().await;
    let capabilities = storage.capabilities();
    assert!(
        !capabilities.groups_appends || capabilities.reads_own_writes,
        "a storage that groups appends must read its own writes"
    );
    let lacks: Vec<&str> = requires
        .iter()
        .filter(|(_, has)| !has(capabilities))
        .map(|(name, _)| *name)
        .collect();
    storage.close();
    if lacks.is_empty() {
        return true;
    }
    let line = format!("skipped {case}: the storage lacks {}", lacks.join(", "));
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
    false
}

async fn open<F: Factory>(f: &F) -> EventStore {
    f.open(StoreOptions::default()).await
}

pub fn ev(event_type: &str, data: serde_json::Value) -> ProposedEvent {
    ProposedEvent::new(event_type, Json::from_value(&data).unwrap())
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_a8e4_7b3c_7d2e_8f00_0000_0000_0000 | n)
}

fn with_id(n: u128) -> ProposedEvent {
    ev("E", serde_json::json!({ "n": n as u64 })).with_id(id(n))
}

async fn all(store: &EventStore) -> Vec<RecordedEvent> {
    store.read_all(ReadOptions::forwards()).await.unwrap()
}

fn revisions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.revision).collect()
}

fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

pub async fn append_to_a_new_stream<F: Factory>(f: &F) {
    let store = open(f).await;
    let r = store
        .append(
            "Order-1",
            vec![ev("OrderPlaced", serde_json::json!({ "total": 10 }))],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (0, 0));
    let events = store
        .read_stream("Order-1", ReadOptions::forwards())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.stream_id.as_str(), &*e.event_type, e.revision, e.position),
        ("Order-1", "OrderPlaced", 0, 0)
    );
    assert_eq!(e.data.as_str(), r#"{"total":10}"#);
    assert_eq!(e.metadata.as_str(), "{}");
}

pub async fn expected_revision_rules<F: Factory>(f: &F) {
    let store = open(f).await;
    let s = "Cart-1";
    let append = |e: ExpectedRevision| store.append(s, vec![ev("E", serde_json::json!(null))], e);
    assert_eq!(
        append(ExpectedRevision::StreamExists)
            .await
            .unwrap_err()
            .code(),
        "WRONG_EXPECTED_REVISION"
    );
    assert_eq!(
        append(ExpectedRevision::Exact(0)).await.unwrap_err().code(),
        "WRONG_EXPECTED_REVISION"
    );
    assert_eq!(
        append(ExpectedRevision::NoStream)
            .await
            .unwrap()
            .next_expected_revision,
        0
    );
    assert_eq!(
        append(ExpectedRevision::NoStream).await.unwrap_err().code(),
        "WRONG_EXPECTED_REVISION"
    );
    assert_eq!(
        append(ExpectedRevision::StreamExists)
            .await
            .unwrap()
            .next_expected_revision,
        1
    );
    assert_eq!(
        append(ExpectedRevision::Exact(1))
            .await
            .unwrap()
            .next_expected_revision,
        2
    );
    assert_eq!(
        append(ExpectedRevision::Exact(1)).await.unwrap_err().code(),
        "WRONG_EXPECTED_REVISION"
    );
    assert_eq!(
        append(ExpectedRevision::Exact(3)).await.unwrap_err().code(),
        "WRONG_EXPECTED_REVISION"
    );
    assert_eq!(
        append(ExpectedRevision::Any)
            .await
            .unwrap()
            .next_expected_revision,
        3
    );
    assert_eq!(store.stream_revision(s).await.unwrap(), Some(3));
}

pub async fn wrong_expected_revision_fields<F: Factory>(f: &F) {
    let store = open(f).await;
    let err = store
        .append("s", vec![with_id(1)], ExpectedRevision::Exact(4))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::WrongExpectedRevision {
            stream_id: "s".into(),
            expected: ExpectedRevision::Exact(4),
            actual: None
        }
    );
    store
        .append("s", vec![with_id(1), with_id(2)], ExpectedRevision::Any)
        .await
        .unwrap();
    let err = store
        .append("s", vec![with_id(3)], ExpectedRevision::NoStream)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::WrongExpectedRevision {
            stream_id: "s".into(),
            expected: ExpectedRevision::NoStream,
            actual: Some(1)
        }
    );
}

pub async fn batches_are_contiguous_and_positions_dense<F: Factory>(f: &F) {
    let store = open(f).await;
    let batch = |n: usize| {
        (0..n)
            .map(|i| ev("E", serde_json::json!(i)))
            .collect::<Vec<_>>()
    };
    let r = store
        .append("a", batch(3), ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (2, 2));
    let r = store
        .append("b", batch(2), ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (1, 4));
    let r = store
        .append("a", batch(2), ExpectedRevision::Exact(2))
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (4, 6));
    let log = all(&store).await;
    assert_eq!(positions(&log), (0..7).collect::<Vec<_>>());
    let a = store
        .read_stream("a", ReadOptions::forwards())
        .await
        .unwrap();
    assert_eq!(revisions(&a), vec![0, 1, 2, 3, 4]);
    assert_eq!(positions(&a), vec![0, 1, 2, 5, 6]);
    let data: Vec<&str> = a.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["0", "1", "2", "0", "1"]);
}

pub async fn failed_appends_write_nothing<F: Factory>(f: &F) {
    let store = f
        .open(StoreOptions {
            max_event_bytes: 64,
            ..StoreOptions::default()
        })
        .await;
    store
        .append("s", vec![with_id(1)], ExpectedRevision::NoStream)
        .await
        .unwrap();
    let before = all(&store).await;
    let big = ev("E", serde_json::json!("x".repeat(100)));
    let bad_type = ev("", serde_json::json!(1));
    let bad_meta = ev("E", serde_json::json!(1)).with_metadata(Json::parse("[1]").unwrap());
    let failures: Vec<(Vec<ProposedEvent>, ExpectedRevision, &str)> = vec![
        (
            vec![with_id(2), with_id(3)],
            ExpectedRevision::NoStream,
            "WRONG_EXPECTED_REVISION",
        ),
        (
            vec![with_id(4), with_id(1)],
            ExpectedRevision::Any,
            "DUPLICATE_EVENT_ID",
        ),
        (
            vec![with_id(5), with_id(5)],
            ExpectedRevision::Any,
            "DUPLICATE_EVENT_ID",
        ),
        (
            vec![with_id(6), big],
            ExpectedRevision::Any,
            "EVENT_TOO_LARGE",
        ),
        (
            vec![with_id(7), bad_type],
            ExpectedRevision::Any,
            "INVALID_ARGUMENT",
        ),
        (
            vec![with_id(8), bad_meta],
            ExpectedRevision::Any,
            "INVALID_ARGUMENT",
        ),
    ];
    for (events, expected, code) in failures {
        assert_eq!(
            store
                .append("s", events, expected)
                .await
                .unwrap_err()
                .code(),
            code
        );
    }
    assert_eq!(all(&store).await, before);
    assert_eq!(store.stream_revision("s").await.unwrap(), Some(0));
    // The ids of failed calls were not consumed: they append fine now.
    let r = store
        .append(
            "s",
            vec![with_id(2), with_id(4), with_id(5)],
            ExpectedRevision::Exact(0),
        )
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (3, 3));
}

pub async fn empty_and_invalid_appends<F: Factory>(f: &F) {
    let store = open(f).await;
    let err = store
        .append("s", vec![], ExpectedRevision::Any)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    let err = store
        .append(
            "s",
            vec![ev("", serde_json::json!(1))],
            ExpectedRevision::Any,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("events[0].type"), "{err}");
    let meta = ev("E", serde_json::json!(1)).with_metadata(Json::parse("\"x\"").unwrap());
    let err = store
        .append("s", vec![with_id(1), meta], ExpectedRevision::Any)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("events[1].metadata"), "{err}");
    assert!(all(&store).await.is_empty());
}

pub async fn stream_id_limits<F: Factory>(f: &F) {
    let store = open(f).await;
    let ok = "é".repeat(256);
    for bad in ["", "$all", "$ce-Order", &"a".repeat(257)] {
        let err = store
            .append(bad, vec![with_id(1)], ExpectedRevision::Any)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{bad:?}");
        assert_eq!(
            store
                .read_stream(bad, ReadOptions::forwards())
                .await
                .unwrap_err()
                .code(),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            store.stream_revision(bad).await.unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }
    store
        .append(&ok, vec![with_id(1)], ExpectedRevision::Any)
        .await
        .unwrap();
    store
        .append("a$b", vec![with_id(2)], ExpectedRevision::Any)
        .await
        .unwrap();
    assert_eq!(store.stream_revision(&ok).await.unwrap(), Some(0));
}

pub async fn event_type_limit<F: Factory>(f: &F) {
    let store = open(f).await;
    for long in ["T".repeat(257), "x".repeat(2 * 1024 * 1024)] {
        let err = store
            .append(
                "s",
                vec![ev(&long, serde_json::json!(1))],
                ExpectedRevision::Any,
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
        assert!(err.to_string().contains("256 characters"), "{err}");
    }
    assert_eq!(store.stream_revision("s").await.unwrap(), None);
    let ok = "é".repeat(256);
    store
        .append(
            "s",
            vec![ev(&ok, serde_json::json!(1))],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
}

pub async fn event_size_limit<F: Factory>(f: &F) {
    let store = f
        .open(StoreOptions {
            max_event_bytes: 20,
            ..StoreOptions::default()
        })
        .await;
    // data `"123456789012345678"` (20 bytes) + metadata `{}` (2 bytes) = 22 > 20
    let over = ev("E", serde_json::json!("123456789012345678"));
    let err = store
        .append("s", vec![with_id(1), over], ExpectedRevision::Any)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::EventTooLarge {
                event_index: 1,
                size: 22,
                max: 20
            }
        ),
        "{err:?}"
    );
    let exact = ev("E", serde_json::json!("1234567890123456")); // 18 + 2 = 20
    store
        .append("s", vec![exact], ExpectedRevision::Any)
        .await
        .unwrap();
}

pub async fn retry_is_idempotent_even_after_the_stream_moved_on<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append("other", vec![with_id(100)], ExpectedRevision::Any)
        .await
        .unwrap();
    let call = || vec![with_id(1), with_id(2)];
    let first = store
        .append("s", call(), ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!((first.next_expected_revision, first.position), (1, 2));
    let again = store
        .append("s", call(), ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!(again, first);
    // Another writer moves the stream on; the retry still answers with the original result.
    store
        .append("s", vec![with_id(3)], ExpectedRevision::Exact(1))
        .await
        .unwrap();
    store
        .append("other", vec![with_id(101)], ExpectedRevision::Any)
        .await
        .unwrap();
    for expected in [
        ExpectedRevision::NoStream,
        ExpectedRevision::Exact(7),
        ExpectedRevision::Any,
    ] {
        assert_eq!(store.append("s", call(), expected).await.unwrap(), first);
    }
    // A retry of a later call in the middle of the stream.
    let r = store
        .append("s", vec![with_id(3)], ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (2, 3));
    // A suffix of a call is also stored contiguously in this stream.
    let r = store
        .append(
            "s",
            vec![with_id(2), with_id(3)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (2, 3));
    assert_eq!(all(&store).await.len(), 5);
}

/// Appends issued together (a group commit where the storage groups them) are decided each on
/// its own, in call order, as if awaited one by one: one's refusal never changes another's
/// result, and a duplicate id in the group falls back to deciding each alone.
pub async fn appends_issued_together_are_decided_each_on_their_own<F: Factory>(f: &F) {
    use ExpectedRevision::{Any, Exact, NoStream};
    let store = open(f).await;
    store.append("s", vec![with_id(1)], NoStream).await.unwrap();
    for round in 0..2 {
        let base = 100 * (round + 1);
        // Round 1 has an id stored elsewhere in the group (a unique index refuses it at once).
        let foreign = if round == 0 { id(base + 50) } else { id(1) };
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let calls = vec![
            store.append(&a, vec![with_id(base)], NoStream),
            store.append("s", vec![with_id(base + 1)], NoStream),
            store.append(
                &b,
                vec![ev("E", serde_json::json!(0)).with_id(foreign)],
                Any,
            ),
            store.append(&a, vec![with_id(base + 2)], Exact(0)),
            store.append("s", vec![with_id(1)], NoStream),
            store.append("c", vec![with_id(base + 3), with_id(base + 3)], Any),
            store.append(&a, vec![with_id(base + 4)], Exact(1)),
        ];
        let results = futures_util::future::join_all(calls).await;
        let codes: Vec<&str> = results
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "ok"))
            .collect();
        let third = if round == 0 {
            "ok"
        } else {
            "DUPLICATE_EVENT_ID"
        };
        assert_eq!(
            codes,
            [
                "ok",
                "WRONG_EXPECTED_REVISION",
                third,
                "ok",
                "ok",
                "DUPLICATE_EVENT_ID",
                "ok"
            ],
            "round {round}"
        );
        assert_eq!(
            results[4].as_ref().unwrap().position,
            0,
            "the retry answers the stored append"
        );
        let revisions: Vec<u64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.next_expected_revision))
            .collect();
        let expected: &[u64] = if round == 0 {
            &[0, 0, 1, 0, 2]
        } else {
            &[0, 1, 0, 2]
        };
        assert_eq!(revisions, expected, "round {round}");
    }
    let log = all(&store).await;
    assert!(
        log.iter().enumerate().all(|(i, e)| e.position == i as u64),
        "dense"
    );
    assert_eq!(log.len(), 1 + 4 + 3);
}

pub async fn duplicate_ids_are_rejected<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append(
            "s",
            vec![with_id(1), with_id(2), with_id(3)],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    store
        .append("t", vec![with_id(9)], ExpectedRevision::Any)
        .await
        .unwrap();
    let dup = |events: Vec<ProposedEvent>| async {
        store
            .append("s", events, ExpectedRevision::Any)
            .await
            .unwrap_err()
    };
    let expect = |n: u128| Error::DuplicateEventId {
        event_id: id(n).to_string(),
    };
    assert_eq!(
        dup(vec![with_id(1), with_id(4)]).await,
        expect(1),
        "partial"
    );
    assert_eq!(
        dup(vec![with_id(4), with_id(2)]).await,
        expect(2),
        "partial, stored one last"
    );
    assert_eq!(
        dup(vec![with_id(2), with_id(1)]).await,
        expect(2),
        "reordered"
    );
    assert_eq!(
        dup(vec![with_id(1), with_id(3)]).await,
        expect(1),
        "not contiguous"
    );
    assert_eq!(
        dup(vec![with_id(9)]).await,
        expect(9),
        "stored in another stream"
    );
    assert_eq!(
        dup(vec![with_id(5), with_id(6), with_id(5)]).await,
        expect(5),
        "repeated in the call"
    );
    assert_eq!(
        dup(vec![with_id(1), with_id(1)]).await,
        expect(1),
        "repeated stored id"
    );
    assert_eq!(all(&store).await.len(), 4);
}

pub async fn ids_are_lowercase_and_generated_ids_are_v7<F: Factory>(f: &F) {
    let store = open(f).await;
    let supplied = evstore::parse_event_id("0190A8E4-7B3C-7D2E-8F00-0000000000AB").unwrap();
    store
        .append(
            "s",
            vec![ev("E", serde_json::json!(1)).with_id(supplied)],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    store
        .append(
            "s",
            (0..50).map(|i| ev("E", serde_json::json!(i))).collect(),
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    let events = all(&store).await;
    assert_eq!(
        events[0].id.to_string(),
        "0190a8e4-7b3c-7d2e-8f00-0000000000ab"
    );
    let generated: std::collections::HashSet<Uuid> = events[1..].iter().map(|e| e.id).collect();
    assert_eq!(generated.len(), 50);
    assert!(events[1..].iter().all(|e| e.id.get_version_num() == 7));
}

pub async fn reads_forwards_and_backwards<F: Factory>(f: &F) {
    let store = open(f).await;
    assert!(store
        .read_stream("s", ReadOptions::forwards())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .read_stream("s", ReadOptions::backwards())
        .await
        .unwrap()
        .is_empty());
    store
        .append("x", vec![with_id(99)], ExpectedRevision::Any)
        .await
        .unwrap();
    store
        .append(
            "s",
            (0..5).map(|i| ev("E", serde_json::json!(i))).collect(),
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    let store = &store;
    let read = |o: ReadOptions| async move { revisions(&store.read_stream("s", o).await.unwrap()) };
    let fwd = ReadOptions::forwards();
    let back = ReadOptions::backwards();
    assert_eq!(read(fwd).await, [0, 1, 2, 3, 4]);
    assert_eq!(read(fwd.from(ReadFrom::At(2))).await, [2, 3, 4]);
    assert_eq!(read(fwd.from(ReadFrom::At(2)).max_count(2)).await, [2, 3]);
    assert_eq!(read(fwd.from(ReadFrom::At(5))).await, Vec::<u64>::new());
    assert_eq!(read(fwd.from(ReadFrom::End)).await, Vec::<u64>::new());
    assert_eq!(read(fwd.max_count(0)).await, Vec::<u64>::new());
    assert_eq!(read(back).await, [4, 3, 2, 1, 0]);
    assert_eq!(read(back.max_count(2)).await, [4, 3]);
    assert_eq!(read(back.from(ReadFrom::At(2))).await, [2, 1, 0]);
    assert_eq!(read(back.from(ReadFrom::At(50)).max_count(1)).await, [4]);
    assert_eq!(read(back.from(ReadFrom::Start)).await, [0]);
    assert_eq!(
        positions(&store.read_stream("s", fwd.max_count(2)).await.unwrap()),
        [1, 2]
    );
}

pub async fn read_all_forwards_and_backwards<F: Factory>(f: &F) {
    let store = open(f).await;
    assert!(all(&store).await.is_empty());
    assert!(store
        .read_all(ReadOptions::backwards())
        .await
        .unwrap()
        .is_empty());
    for (i, s) in ["a", "b", "a", "c", "b"].iter().enumerate() {
        store
            .append(
                s,
                vec![ev("E", serde_json::json!(i))],
                ExpectedRevision::Any,
            )
            .await
            .unwrap();
    }
    let store = &store;
    let read = |o: ReadOptions| async move { positions(&store.read_all(o).await.unwrap()) };
    assert_eq!(read(ReadOptions::forwards()).await, [0, 1, 2, 3, 4]);
    assert_eq!(
        read(ReadOptions::forwards().from(ReadFrom::At(3))).await,
        [3, 4]
    );
    assert_eq!(
        read(ReadOptions::forwards().from(ReadFrom::At(1)).max_count(2)).await,
        [1, 2]
    );
    assert_eq!(
        read(ReadOptions::forwards().from(ReadFrom::End)).await,
        Vec::<u64>::new()
    );
    assert_eq!(read(ReadOptions::backwards()).await, [4, 3, 2, 1, 0]);
    assert_eq!(
        read(ReadOptions::backwards().from(ReadFrom::At(2)).max_count(2)).await,
        [2, 1]
    );
    let log = all(store).await;
    let streams: Vec<&str> = log.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["a", "b", "a", "c", "b"]);
    assert_eq!(revisions(&log), [0, 0, 1, 0, 1]);
}

pub async fn payloads_round_trip<F: Factory>(f: &F) {
    let store = open(f).await;
    let data = serde_json::json!({ "s": "ünïcödé \"quoted\" \\ \n", "n": [1, 2.5, -3], "o": { "deep": [null, true] } });
    let meta =
        Json::from_value(&serde_json::json!({ "correlationId": "c-1", "causationId": "c-0" }))
            .unwrap();
    let before = evstore_now();
    store
        .append(
            "s",
            vec![
                ev("Typed \"quote\"", data.clone()).with_metadata(meta.clone()),
                ProposedEvent::new("Null", Json::null()),
            ],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    let after = evstore_now();
    let events = all(&store).await;
    assert_eq!(
        events[0].data.to_value::<serde_json::Value>().unwrap(),
        data
    );
    assert_eq!(events[0].metadata, meta);
    assert_eq!(&*events[0].event_type, "Typed \"quote\"");
    assert_eq!(events[1].data.as_str(), "null");
    assert_eq!(events[1].metadata.as_str(), "{}");
    assert!(
        events
            .iter()
            .all(|e| (before..=after).contains(&e.created_at)),
        "{} {before} {after}",
        events[0].created_at
    );
}

fn evstore_now() -> u64 {
    let (s, n) = uuid::Timestamp::now(uuid::NoContext).to_unix();
    s * 1000 + u64::from(n) / 1_000_000
}

pub async fn stream_revision_and_category<F: Factory>(f: &F) {
    let store = open(f).await;
    assert_eq!(store.stream_revision("Order-7f3c-1").await.unwrap(), None);
    store
        .append(
            "Order-7f3c-1",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    assert_eq!(
        store.stream_revision("Order-7f3c-1").await.unwrap(),
        Some(1)
    );
    let e = &all(&store).await[0];
    assert_eq!(e.stream_id.category(), "Order");
    assert_eq!(evstore::category_of("NoDash"), "NoDash");
}

pub async fn aggregate_folds_the_stream<F: Factory>(f: &F) {
    let store = open(f).await;
    let fold = |total: u64, e: &RecordedEvent| -> Result<u64, Error> {
        Ok(total + e.data.to_value::<u64>()?)
    };
    let empty = store.aggregate_stream("Order-1", 0, fold).await.unwrap();
    assert_eq!((empty.state, empty.revision), (0, None));
    for n in [10, 20, 12] {
        store
            .append(
                "Order-1",
                vec![ev("Added", serde_json::json!(n))],
                ExpectedRevision::Any,
            )
            .await
            .unwrap();
    }
    store
        .append(
            "Order-2",
            vec![ev("Added", serde_json::json!(1000))],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    let agg = store.aggregate_stream("Order-1", 0, fold).await.unwrap();
    assert_eq!((agg.state, agg.revision), (42, Some(2)));
    let next = store
        .append(
            "Order-1",
            vec![ev("Added", serde_json::json!(1))],
            ExpectedRevision::Exact(agg.revision.unwrap()),
        )
        .await;
    assert!(next.is_ok());
}

pub async fn closed_store_rejects_every_call<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append("s", vec![with_id(1)], ExpectedRevision::Any)
        .await
        .unwrap();
    store.close();
    assert!(store.is_closed());
    store.close();
    assert_eq!(
        store
            .append("s", vec![with_id(2)], ExpectedRevision::Any)
            .await
            .unwrap_err(),
        Error::Closed
    );
    assert_eq!(
        store
            .read_stream("s", ReadOptions::forwards())
            .await
            .unwrap_err()
            .code(),
        "CLOSED"
    );
    assert_eq!(
        store
            .read_all(ReadOptions::forwards())
            .await
            .unwrap_err()
            .code(),
        "CLOSED"
    );
    assert_eq!(
        store.stream_revision("s").await.unwrap_err().code(),
        "CLOSED"
    );
}

/// Yields to the other futures of a `join` a few times.
struct Yield(u8);
impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

async fn open_rc<F: Factory>(f: &F) -> Rc<EventStore> {
    Rc::new(open(f).await)
}

async fn append_n(store: &EventStore, stream: &str, n: u64) {
    for i in 0..n {
        store
            .append(
                stream,
                vec![ev("E", serde_json::json!(i))],
                ExpectedRevision::Any,
            )
            .await
            .unwrap();
    }
}

/// The next message as `Some(position)` for an event, `None` for `CaughtUp`.
async fn next_position(sub: &mut Subscription) -> Option<u64> {
    match sub
        .next()
        .await
        .expect("subscription ended")
        .expect("subscription failed")
    {
        SubscriptionMessage::Event(e) => Some(e.position),
        SubscriptionMessage::CaughtUp => None,
        other => panic!("an unsynced store never rebases: {other:?}"),
    }
}

pub async fn subscription_catches_up_then_stays_live<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    append_n(&store, "a", 3).await;
    let mut sub = store.subscribe(SubscribeOptions::default()).await.unwrap();
    for p in 0..3 {
        assert_eq!(next_position(&mut sub).await, Some(p));
    }
    assert_eq!(
        next_position(&mut sub).await,
        None,
        "caught up after the backlog"
    );
    append_n(&store, "b", 2).await;
    assert_eq!(next_position(&mut sub).await, Some(3));
    assert_eq!(next_position(&mut sub).await, Some(4));
    // Appended while the subscriber is behind: delivered in order, CaughtUp is not repeated.
    append_n(&store, "a", 1100).await;
    for p in 5..1105 {
        assert_eq!(next_position(&mut sub).await, Some(p));
    }
}

pub async fn subscription_starts_after_a_position_or_at_the_end<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    append_n(&store, "a", 4).await;
    let mut after = store
        .subscribe(SubscribeOptions {
            from: SubscribeFrom::After(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut end = store
        .subscribe(SubscribeOptions {
            from: SubscribeFrom::End,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next_position(&mut after).await, Some(2));
    assert_eq!(next_position(&mut after).await, Some(3));
    assert_eq!(next_position(&mut after).await, None);
    assert_eq!(next_position(&mut end).await, None, "nothing to catch up");
    append_n(&store, "a", 1).await;
    assert_eq!(next_position(&mut end).await, Some(4));
    assert_eq!(next_position(&mut after).await, Some(4));
    let mut past = store
        .subscribe(SubscribeOptions {
            from: SubscribeFrom::After(99),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next_position(&mut past).await, None);
}

pub async fn subscription_filters<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    for (stream, t) in [
        ("Order-1", "Placed"),
        ("Cart-1", "Added"),
        ("Order-2", "Placed"),
        ("Order-1", "Shipped"),
        ("Orders", "Placed"),
    ] {
        store
            .append(
                stream,
                vec![ev(t, serde_json::json!(null))],
                ExpectedRevision::Any,
            )
            .await
            .unwrap();
    }
    let collect = |filter: EventFilter| {
        let store = store.clone();
        async move {
            let mut sub = store
                .subscribe(SubscribeOptions {
                    filter,
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut out = vec![];
            while let Some(p) = next_position(&mut sub).await {
                out.push(p);
            }
            out
        }
    };
    let stream = StreamId::new("Order-1").unwrap();
    assert_eq!(
        collect(EventFilter {
            stream_id: Some(stream.clone()),
            ..Default::default()
        })
        .await,
        [0, 3]
    );
    assert_eq!(
        collect(EventFilter {
            category: Some("Order".into()),
            ..Default::default()
        })
        .await,
        [0, 2, 3]
    );
    assert_eq!(
        collect(EventFilter {
            event_types: Some(vec!["Placed".into()]),
            ..Default::default()
        })
        .await,
        [0, 2, 4]
    );
    let both = EventFilter {
        category: Some("Order".into()),
        event_types: Some(vec!["Placed".into(), "Added".into()]),
        ..Default::default()
    };
    assert_eq!(collect(both).await, [0, 2]);
    // A selective filter over a log longer than one read: only the matches, in order.
    append_n(&store, "Noise", 1200).await;
    store
        .append(
            "Order-1",
            vec![ev("Late", serde_json::json!(null))],
            ExpectedRevision::Any,
        )
        .await
        .unwrap();
    assert_eq!(
        collect(EventFilter {
            stream_id: Some(stream),
            ..Default::default()
        })
        .await,
        [0, 3, 1205]
    );
}

pub async fn subscription_checkpoint_resumes<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    append_n(&store, "a", 5).await;
    let named = |from| SubscribeOptions {
        from,
        checkpoint: Some("projection-x".into()),
        ..Default::default()
    };
    let mut sub = store
        .subscribe(named(SubscribeFrom::After(0)))
        .await
        .unwrap();
    assert_eq!(
        next_position(&mut sub).await,
        Some(1),
        "`after` applies while nothing is recorded"
    );
    assert_eq!(next_position(&mut sub).await, Some(2));
    sub.handled(2).await.unwrap();
    drop(sub);
    // Resumes after the last handled event; `after` is ignored now.
    let mut sub = store.subscribe(named(SubscribeFrom::Start)).await.unwrap();
    assert_eq!(next_position(&mut sub).await, Some(3));
    assert_eq!(
        next_position(&mut sub).await,
        Some(4),
        "asking for the next records the previous"
    );
    drop(sub);
    let mut sub = store.subscribe(named(SubscribeFrom::Start)).await.unwrap();
    assert_eq!(
        next_position(&mut sub).await,
        Some(4),
        "4 was handed out but not handled: delivered again"
    );
    // Other names and unnamed subscriptions are independent.
    let mut other = store
        .subscribe(SubscribeOptions {
            checkpoint: Some("other".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next_position(&mut other).await, Some(0));
    let empty = store
        .subscribe(SubscribeOptions {
            checkpoint: Some(String::new()),
            ..Default::default()
        })
        .await;
    assert!(matches!(empty, Err(Error::InvalidArgument { .. })));
}

pub async fn subscription_waits_and_unsubscribes<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    let mut sub = store.subscribe(SubscribeOptions::default()).await.unwrap();
    assert_eq!(next_position(&mut sub).await, None);
    // The subscriber waits; a writer appends later; the subscriber wakes with the event.
    let writer = async {
        Yield(3).await;
        append_n(&store, "a", 1).await;
    };
    let (got, ()) = futures::join!(next_position(&mut sub), writer);
    assert_eq!(got, Some(0));
    // A waiting subscriber is released by unsubscribe.
    let stop = sub.unsubscriber();
    let canceller = async {
        Yield(3).await;
        stop.unsubscribe();
    };
    let (ended, ()) = futures::join!(sub.next(), canceller);
    assert!(ended.is_none(), "next() returns None once unsubscribed");
    assert!(stop.is_cancelled());
    append_n(&store, "a", 1).await;
    assert!(sub.next().await.is_none(), "nothing after unsubscribe");
}

pub async fn subscription_ends_when_the_store_closes<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    let mut sub = store.subscribe(SubscribeOptions::default()).await.unwrap();
    assert_eq!(next_position(&mut sub).await, None);
    let closer = async {
        Yield(3).await;
        store.close();
    };
    let (ended, ()) = futures::join!(sub.next(), closer);
    assert_eq!(
        ended.map(|r| r.map(|_| ()).unwrap_err()),
        Some(Error::Closed)
    );
    assert!(matches!(
        store.subscribe(SubscribeOptions::default()).await,
        Err(Error::Closed)
    ));
}

pub async fn subscription_as_a_stream<F: Factory>(f: &F) {
    use futures::StreamExt;
    let store = open_rc(f).await;
    append_n(&store, "a", 3).await;
    let sub = store.subscribe(SubscribeOptions::default()).await.unwrap();
    let stop = sub.unsubscriber();
    let mut stream = Box::pin(sub.into_stream());
    let mut got = vec![];
    while let Some(message) = stream.next().await {
        match message.unwrap() {
            SubscriptionMessage::Event(e) => got.push(e.position),
            SubscriptionMessage::CaughtUp => break,
            other => panic!("an unsynced store never rebases: {other:?}"),
        }
    }
    assert_eq!(got, [0, 1, 2]);
    append_n(&store, "a", 1).await;
    assert!(
        matches!(stream.next().await, Some(Ok(SubscriptionMessage::Event(e))) if e.position == 3)
    );
    stop.unsubscribe();
    assert!(
        stream.next().await.is_none(),
        "the stream ends when unsubscribed"
    );
}

/// Seeded random sequences of appends and reads, each on a fresh store, against the model.
pub async fn random_sequences_match_the_model<F: Factory>(f: &F) {
    for seed in 0..12 {
        let store = f
            .open(StoreOptions {
                now: model::clock,
                ..StoreOptions::default()
            })
            .await;
        if let Err(disagreement) = model::check_ops(&store, &model::random_ops(seed, 40)).await {
            panic!("seed {seed}: {disagreement}");
        }
    }
}

/// A store over `f`'s storage with a fault injector around it, and the injector.
async fn faulty<F: Factory>(f: &F) -> (EventStore, Rc<Faults>) {
    let (storage, faults) = layered(f.storage().await, Faults::default());
    (EventStore::over(storage, StoreOptions::default()), faults)
}

/// Fails each primitive call of an append in turn (the nth, for every n until the append needs
/// fewer calls): each failure is a `STORAGE_ERROR` that wrote nothing, and the same call then
/// succeeds once the storage heals (its ids were not consumed).
pub async fn faults_write_nothing_and_leave_the_store_usable<F: Factory>(f: &F) {
    let (store, faults) = faulty(f).await;
    store
        .append("s", vec![with_id(1)], ExpectedRevision::NoStream)
        .await
        .unwrap();
    let mut n = 0;
    loop {
        let before = all(&store).await;
        faults.fail_nth(n);
        let injected = faults.injected.get();
        let call = vec![with_id(10 + n as u128 * 2), with_id(11 + n as u128 * 2)];
        let expected = ExpectedRevision::Exact(before.len() as u64 - 1);
        let result = store.append("s", call.clone(), expected).await;
        faults.heal();
        if faults.injected.get() == injected {
            result.unwrap();
            assert!(
                n >= 4,
                "an append takes a transaction, heads, put and commit"
            );
            break;
        }
        let err = result.unwrap_err();
        assert_eq!(err.code(), "STORAGE_ERROR", "fault at call {n}");
        assert_eq!(all(&store).await, before, "fault at call {n} wrote nothing");
        let r = store.append("s", call, expected).await.unwrap();
        assert_eq!(
            r.position,
            before.len() as u64 + 1,
            "usable after a fault at call {n}"
        );
        n += 1;
    }
    // A commit that fails every time leaves nothing behind either.
    let before = all(&store).await;
    faults.fail_every(Primitive::Commit);
    let err = store
        .append("s", vec![with_id(900)], ExpectedRevision::Any)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "STORAGE_ERROR");
    faults.heal();
    assert_eq!(all(&store).await, before);
    assert_eq!(
        store.stream_revision("s").await.unwrap(),
        Some(before.len() as u64 - 1)
    );
}

/// Faults on the path that looks ids up (a retry of a call written before the stream moved on)
/// and on reads: errors, nothing written, and the retry still answers as a retry afterwards.
pub async fn faults_on_the_retry_path_write_nothing<F: Factory>(f: &F) {
    let (store, faults) = faulty(f).await;
    let first = store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    store
        .append("s", vec![with_id(3)], ExpectedRevision::Any)
        .await
        .unwrap();
    let before = all(&store).await;
    faults.fail_every(Primitive::Locate);
    let err = store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "STORAGE_ERROR");
    faults.heal();
    faults.fail_every(Primitive::ReadLog);
    assert_eq!(
        store
            .read_all(ReadOptions::forwards())
            .await
            .unwrap_err()
            .code(),
        "STORAGE_ERROR"
    );
    faults.heal();
    faults.fail_every(Primitive::StreamHead);
    assert_eq!(
        store.stream_revision("s").await.unwrap_err().code(),
        "STORAGE_ERROR"
    );
    faults.heal();
    assert_eq!(all(&store).await, before);
    let retry = store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    assert_eq!(retry, first, "still recognised as a retry");
}

/// A checkpoint write that fails ends the subscription with the error, and the checkpoint keeps
/// its previous value: a new subscription redelivers the event.
pub async fn failed_checkpoint_write_is_reported_and_not_recorded<F: Factory>(f: &F) {
    let (store, faults) = faulty(f).await;
    let store = Rc::new(store);
    append_n(&store, "a", 3).await;
    let named = || SubscribeOptions {
        checkpoint: Some("projection".into()),
        ..Default::default()
    };
    let mut sub = store.subscribe(named()).await.unwrap();
    assert_eq!(next_position(&mut sub).await, Some(0));
    sub.handled(0).await.unwrap();
    assert_eq!(next_position(&mut sub).await, Some(1));
    faults.fail_every(Primitive::PutMeta);
    let err = sub.next().await.expect("an answer").unwrap_err();
    assert_eq!(err.code(), "STORAGE_ERROR");
    faults.heal();
    drop(sub);
    let mut sub = store.subscribe(named()).await.unwrap();
    assert_eq!(
        next_position(&mut sub).await,
        Some(1),
        "1 was not recorded: delivered again"
    );
}

/// A hook's own writes share the append's transaction: they commit with the events, and
/// not at all when the append writes nothing (refused, a retry) or its commit fails.
pub async fn decorators_write_in_the_append_transaction<F: Factory>(f: &F) {
    let (faulty, faults) = layered(f.storage().await, Faults::default());
    let (storage, recorder) = layered(faulty, Recorder::default());
    let store = EventStore::over(storage, StoreOptions::default());
    let r = store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    store
        .append("s", vec![with_id(3)], ExpectedRevision::NoStream)
        .await
        .unwrap_err();
    faults.fail_every(Primitive::Commit);
    store
        .append("t", vec![with_id(4)], ExpectedRevision::Any)
        .await
        .unwrap_err();
    faults.heal();
    let mut tx = store.storage().begin(Mode::Read).await.unwrap();
    assert_eq!(
        tx.get_meta(&Recorder::key(2)).await.unwrap(),
        None,
        "the failed commit's record was rolled back with its events"
    );
    drop(tx);
    let t = store
        .append("t", vec![with_id(5)], ExpectedRevision::Any)
        .await
        .unwrap();
    let keys = recorder.keys.borrow().clone();
    assert_eq!(
        keys,
        [Recorder::key(1), Recorder::key(2), Recorder::key(2)],
        "written for each put: the first append, the failed commit, the last append"
    );
    let mut tx = store.storage().begin(Mode::Read).await.unwrap();
    let first = tx.get_meta(&Recorder::key(r.position)).await.unwrap();
    let first: serde_json::Value = first.expect("recorded").to_value().unwrap();
    assert_eq!(first["stream"], "s");
    assert_eq!(first["expected"], "no_stream");
    assert_eq!(first["ids"][1], id(2).to_string());
    let last: serde_json::Value = tx
        .get_meta(&Recorder::key(t.position))
        .await
        .unwrap()
        .expect("recorded")
        .to_value()
        .unwrap();
    assert_eq!(last["ids"][0], id(5).to_string());
    assert_eq!(tx.get_meta("append/none").await.unwrap(), None);
}

/// A transaction sees its own writes (events, truncation, meta); dropping it uncommitted takes
/// them all back; the meta area scans by prefix in key order.
pub async fn transactions_read_their_writes_and_roll_back<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    let before = all(&store).await;
    let storage = store.storage();
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    let extra = RecordedEvent {
        position: 2,
        revision: 0,
        stream_id: StreamId::new("t").unwrap(),
        id: id(3),
        ..before[0].clone()
    };
    tx.put(std::slice::from_ref(&extra)).await.unwrap();
    tx.put_meta("m/b", Some(&Json::parse("2").unwrap()))
        .await
        .unwrap();
    tx.put_meta("m/a", Some(&Json::parse("1").unwrap()))
        .await
        .unwrap();
    tx.put_meta("n/c", Some(&Json::parse("3").unwrap()))
        .await
        .unwrap();
    assert_eq!(tx.log_head().await.unwrap(), Some(2));
    assert_eq!(
        tx.stream_head(&StreamId::new("t").unwrap()).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        tx.locate(&[id(3)]).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .position,
        2
    );
    let scanned: Vec<(String, String)> = tx
        .scan_meta("m/")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.as_str().to_owned()))
        .collect();
    assert_eq!(
        scanned,
        [("m/a".into(), "1".into()), ("m/b".into(), "2".into())]
    );
    tx.truncate_log(1).await.unwrap();
    assert_eq!(tx.log_head().await.unwrap(), Some(0));
    assert_eq!(tx.locate(&[id(2), id(3)]).await.unwrap(), vec![None, None]);
    drop(tx);
    assert_eq!(
        all(&store).await,
        before,
        "the dropped transaction wrote nothing"
    );
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    assert_eq!(tx.scan_meta("m/").await.unwrap(), vec![]);
    assert_eq!(
        tx.stream_head(&StreamId::new("s").unwrap()).await.unwrap(),
        Some(1)
    );
    drop(tx);
    // The store goes on as if nothing happened.
    let r = store
        .append("t", vec![with_id(3)], ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (0, 2));
}

/// Truncating the log forgets the tail: its events, their ids, their revisions; appends then
/// continue densely from the truncation point.
pub async fn truncating_the_log_forgets_the_tail<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append(
            "s",
            vec![with_id(1), with_id(2)],
            ExpectedRevision::NoStream,
        )
        .await
        .unwrap();
    store
        .append("t", vec![with_id(3)], ExpectedRevision::NoStream)
        .await
        .unwrap();
    store
        .append("s", vec![with_id(4)], ExpectedRevision::Exact(1))
        .await
        .unwrap();
    let mut tx = store.storage().begin(Mode::Write).await.unwrap();
    tx.truncate_log(1).await.unwrap();
    tx.commit().await.unwrap();
    let log = all(&store).await;
    assert_eq!(positions(&log), [0]);
    assert_eq!(store.stream_revision("s").await.unwrap(), Some(0));
    assert_eq!(store.stream_revision("t").await.unwrap(), None);
    let r = store
        .append("t", vec![with_id(3)], ExpectedRevision::NoStream)
        .await
        .unwrap();
    assert_eq!(
        (r.next_expected_revision, r.position),
        (0, 1),
        "id 3 is free again"
    );
    let r = store
        .append("s", vec![with_id(2)], ExpectedRevision::Exact(0))
        .await
        .unwrap();
    assert_eq!((r.next_expected_revision, r.position), (1, 2));
    assert_eq!(
        store
            .read_stream("s", ReadOptions::backwards())
            .await
            .unwrap()
            .iter()
            .map(|e| (e.revision, e.position))
            .collect::<Vec<_>>(),
        [(1, 2), (0, 0)]
    );
}
