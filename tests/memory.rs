//! The storage contract suite on `MemoryStorage` (natively, and on wasm32 in Node), plus a
//! property test of random appends and reads against a simple reference model.

#[macro_use]
mod contract;

contract_suite!(contract::Memory);

mod grouping {
    //! The same suite with group commit on.
    use super::contract;
    contract_suite!(contract::GroupingMemory);
}

#[cfg(feature = "sync")]
mod outboxed {
    //! The same suite with the sync outbox hook in front of the storage.
    use super::contract;
    contract_suite!(contract::OutboxedMemory);
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    //! proptest drives the shared model runner with shrinking sequences.

    use super::contract::model::{check_ops, clock, Expected, Op, SELECTIONS};
    use evstore::{EventStore, MemoryStorage, StoreOptions};
    use futures::executor::block_on;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = Op> {
        let expected = prop_oneof![
            Just(Expected::Any),
            Just(Expected::NoStream),
            Just(Expected::StreamExists),
            (0u8..6).prop_map(Expected::Exact),
        ];
        let opt = |n: u8| prop::option::of(0..n);
        prop_oneof![
            8 => (0u8..3, prop::collection::vec(opt(12), 1..4), expected.clone())
                .prop_map(|(stream, ids, expected)| Op::Append { stream, ids, expected }),
            2 => (0u8..3, any::<bool>(), opt(8), opt(5))
                .prop_map(|(stream, backwards, from, max)| Op::ReadStream { stream, backwards, from, max }),
            2 => (any::<bool>(), opt(20), opt(8))
                .prop_map(|(backwards, from, max)| Op::ReadAll { backwards, from, max }),
            2 => (0..SELECTIONS, any::<bool>(), opt(20), opt(8))
                .prop_map(|(selection, backwards, from, max)| Op::ReadSelected { selection, backwards, from, max }),
            1 => (0u8..3, opt(3), opt(4), opt(6), expected.clone())
                .prop_map(|(stream, max_count, max_age, truncate_before, expected)| Op::SetMetadata { stream, max_count, max_age, truncate_before, expected }),
            1 => (0u8..4).prop_map(|seconds| Op::Advance { seconds }),
            1 => (0u8..3, expected.clone())
                .prop_map(|(stream, expected)| Op::Delete { stream, expected }),
            1 => (0u8..3, expected.clone())
                .prop_map(|(stream, expected)| Op::Tombstone { stream, expected }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn memory_storage_matches_the_model(ops in prop::collection::vec(op(), 1..40)) {
            let options = StoreOptions { now: clock, ..StoreOptions::default() };
            let store = EventStore::with_options(MemoryStorage::new(), options);
            let outcome = block_on(check_ops(&store, &ops));
            prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod reads {
    //! How much of the log subscriptions read: a counting storage around `MemoryStorage`.

    use std::rc::Rc;

    use super::contract::decorate::{layered, CountReads};
    use evstore::{
        EventFilter, EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent,
        StoreOptions, StreamId, SubscribeOptions, SubscriptionMessage,
    };
    use futures::executor::block_on;

    #[test]
    fn a_filtered_subscription_reads_only_what_is_new_on_each_wake_up() {
        block_on(async {
            let (storage, counted) = layered(Rc::new(MemoryStorage::new()), CountReads::default());
            let store = Rc::new(EventStore::over(storage, StoreOptions::default()));
            let noise: Vec<ProposedEvent> = (0..5000)
                .map(|_| ProposedEvent::new("Noise", Json::null()))
                .collect();
            store
                .append("Noise", noise, ExpectedRevision::Any)
                .await
                .unwrap();
            let filter = EventFilter {
                stream_id: Some(StreamId::new("Order-1").unwrap()),
                ..Default::default()
            };
            let mut sub = store
                .subscribe(SubscribeOptions {
                    filter,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(matches!(
                sub.next().await,
                Some(Ok(SubscriptionMessage::CaughtUp))
            ));
            let after_catch_up = counted.events.get();
            assert!(
                (5000..5100).contains(&after_catch_up),
                "catch-up reads the log once ({after_catch_up})"
            );
            for i in 0..20 {
                store
                    .append(
                        "Noise",
                        vec![ProposedEvent::new("Noise", Json::null())],
                        ExpectedRevision::Any,
                    )
                    .await
                    .unwrap();
                store
                    .append(
                        "Order-1",
                        vec![ProposedEvent::new("Placed", Json::null())],
                        ExpectedRevision::Any,
                    )
                    .await
                    .unwrap();
                match sub.next().await {
                    Some(Ok(SubscriptionMessage::Event(e))) => assert_eq!(e.position, 5001 + 2 * i),
                    other => panic!("expected the Order-1 event, got {other:?}"),
                }
            }
            let live = counted.events.get() - after_catch_up;
            assert!(
                live <= 40,
                "20 wake-ups read {live} events: only the new ones, not the log again"
            );
        });
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod group_commit {
    //! Appends issued together share one transaction where the storage groups them.

    use std::rc::Rc;

    use super::contract::decorate::{layered, Grouping};
    use evstore::{EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent, StoreOptions};
    use futures::executor::block_on;

    #[test]
    fn appends_issued_together_share_one_transaction() {
        let (storage, grouping) = layered(Rc::new(MemoryStorage::new()), Grouping::default());
        let store = EventStore::over(storage, StoreOptions::default());
        let begun = || grouping.writes.get();
        let before = begun();
        let streams: Vec<String> = (0..10).map(|i| format!("s-{i}")).collect();
        let calls = streams.iter().map(|s| {
            store.append(
                s,
                vec![ProposedEvent::new("E", Json::null())],
                ExpectedRevision::NoStream,
            )
        });
        let results = block_on(futures::future::join_all(calls));
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(begun() - before, 1, "one transaction for the ten appends");
        // One at a time, each append is its own transaction.
        let before = begun();
        for s in &streams {
            block_on(store.append(
                s,
                vec![ProposedEvent::new("E", Json::null())],
                ExpectedRevision::Exact(0),
            ))
            .unwrap();
        }
        assert_eq!(begun() - before, 10);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod erasure {
    //! What is removed is gone from memory: a raw dump of the storage (every stored text: events,
    //! husks, meta records) holds no trace of it.

    use std::rc::Rc;

    use super::contract::decorate::{layered, Faults};
    use evstore::{
        EventStore, ExpectedRevision, Json, MemoryStorage, Primitive, ProposedEvent, ReadOptions,
        StoreOptions, StreamMetadata,
    };
    use futures::executor::block_on;

    const MARKER: &str = "ERASE-ME-7f3c";

    fn marked(n: u64) -> ProposedEvent {
        let data = Json::from_value(&serde_json::json!({ "secret": MARKER, "n": n })).unwrap();
        let metadata = Json::from_value(&serde_json::json!({ "note": MARKER })).unwrap();
        ProposedEvent::new("Marked", data).with_metadata(metadata)
    }

    fn custom() -> StreamMetadata {
        StreamMetadata {
            custom: Some(Json::from_value(&serde_json::json!({ "owner": MARKER })).unwrap()),
            ..StreamMetadata::default()
        }
    }

    #[test]
    fn deletes_tombstones_and_truncation_leave_no_trace() {
        block_on(async {
            let memory = Rc::new(MemoryStorage::new());
            let store = EventStore::over(memory.clone(), StoreOptions::default());
            let any = ExpectedRevision::Any;
            for s in ["soft", "hard", "cut"] {
                store
                    .append(s, (0..3).map(marked).collect(), any)
                    .await
                    .unwrap();
                store.set_stream_metadata(s, custom(), any).await.unwrap();
            }
            assert!(memory.raw_dump().contains(MARKER));
            store.delete_stream("soft", any).await.unwrap();
            store.tombstone_stream("hard", any).await.unwrap();
            let cut = StreamMetadata {
                truncate_before: Some(3),
                ..StreamMetadata::default()
            };
            store.set_stream_metadata("cut", cut, any).await.unwrap();
            let dump = memory.raw_dump();
            // The soft delete keeps the custom metadata (it is the stream's metadata still).
            let traces = dump.lines().filter(|l| l.contains(MARKER)).count();
            assert_eq!(
                traces, 2,
                "only the soft-deleted stream's metadata:\n{dump}"
            );
            store
                .set_stream_metadata("soft", StreamMetadata::default(), any)
                .await
                .unwrap();
            assert!(!memory.raw_dump().contains(MARKER), "{}", memory.raw_dump());
            assert_eq!(
                memory.live_len(),
                3,
                "two metadata events and the tombstone"
            );
        });
    }

    #[test]
    fn removals_of_a_failed_transaction_are_undone() {
        block_on(async {
            let memory = Rc::new(MemoryStorage::new());
            let (storage, faults) = layered(memory.clone(), Faults::default());
            let store = EventStore::over(storage, StoreOptions::default());
            let any = ExpectedRevision::Any;
            store
                .append("x", (0..3).map(marked).collect(), any)
                .await
                .unwrap();
            store.set_stream_metadata("x", custom(), any).await.unwrap();
            let before = memory.raw_dump();
            faults.fail_every(Primitive::Commit);
            let err = store.tombstone_stream("x", any).await.unwrap_err();
            assert_eq!(err.code(), "STORAGE_ERROR");
            faults.heal();
            assert_eq!(memory.raw_dump(), before);
            let events = store
                .read_stream("x", ReadOptions::forwards())
                .await
                .unwrap();
            assert_eq!(events.len(), 3);
            assert!(events[2].data.as_str().contains(MARKER));
            store.tombstone_stream("x", any).await.unwrap();
            assert!(!memory.raw_dump().contains(MARKER));
        });
    }
}
