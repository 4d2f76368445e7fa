//! The storage contract suite on `MemoryStorage` (natively, and on wasm32 in Node), plus a
//! property test of random appends and reads against a simple reference model.

#[macro_use]
mod contract;

contract_suite!(contract::Memory);

#[cfg(not(target_arch = "wasm32"))]
mod model {
    //! A reference model: a list of (stream, id) in commit order; every rule spelled out naively.

    use evstore::{
        AppendResult, Error, EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent,
        ReadFrom, ReadOptions, Uuid,
    };
    use futures::executor::block_on;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Append {
            stream: u8,
            ids: Vec<Option<u8>>,
            expected: Expected,
        },
        ReadStream {
            stream: u8,
            backwards: bool,
            from: Option<u8>,
            max: Option<u8>,
        },
        ReadAll {
            backwards: bool,
            from: Option<u8>,
            max: Option<u8>,
        },
    }

    #[derive(Debug, Clone, Copy)]
    enum Expected {
        Any,
        NoStream,
        StreamExists,
        Exact(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let expected = prop_oneof![
            Just(Expected::Any),
            Just(Expected::NoStream),
            Just(Expected::StreamExists),
            (0u8..6).prop_map(Expected::Exact),
        ];
        let opt = |n: u8| prop::option::of(0..n);
        prop_oneof![
            4 => (0u8..3, prop::collection::vec(opt(12), 0..4), expected)
                .prop_map(|(stream, ids, expected)| Op::Append { stream, ids, expected }),
            1 => (0u8..3, any::<bool>(), opt(8), opt(5))
                .prop_map(|(stream, backwards, from, max)| Op::ReadStream { stream, backwards, from, max }),
            1 => (any::<bool>(), opt(20), opt(8)).prop_map(|(backwards, from, max)| Op::ReadAll { backwards, from, max }),
        ]
    }

    /// The model: every event as (stream, id, data), in position order.
    #[derive(Default)]
    struct Model {
        log: Vec<(u8, Uuid, u64)>,
    }

    impl Model {
        fn stream(&self, s: u8) -> Vec<(u64, (u8, Uuid, u64))> {
            self.log
                .iter()
                .enumerate()
                .filter(|(_, e)| e.0 == s)
                .map(|(p, e)| (p as u64, *e))
                .collect()
        }

        fn append(
            &mut self,
            s: u8,
            ids: &[Uuid],
            expected: Expected,
            data: u64,
        ) -> Result<AppendResult, &'static str> {
            if ids.is_empty() {
                return Err("INVALID_ARGUMENT");
            }
            let mut seen = std::collections::HashSet::new();
            if !ids.iter().all(|id| seen.insert(*id)) {
                return Err("DUPLICATE_EVENT_ID");
            }
            let stream = self.stream(s);
            // retry: the ids are a contiguous run of this stream, in order
            if let Some(start) = stream.iter().position(|(_, e)| e.1 == ids[0]) {
                let run = &stream[start..];
                if run.len() >= ids.len() && run.iter().zip(ids).all(|((_, e), id)| e.1 == *id) {
                    let (pos, _) = run[ids.len() - 1];
                    return Ok(AppendResult {
                        next_expected_revision: (start + ids.len() - 1) as u64,
                        position: pos,
                    });
                }
            }
            if self.log.iter().any(|e| ids.contains(&e.1)) {
                return Err("DUPLICATE_EVENT_ID");
            }
            let head = stream.len() as i64 - 1;
            let ok = match expected {
                Expected::Any => true,
                Expected::NoStream => head == -1,
                Expected::StreamExists => head >= 0,
                Expected::Exact(n) => head == n as i64,
            };
            if !ok {
                return Err("WRONG_EXPECTED_REVISION");
            }
            for id in ids {
                self.log.push((s, *id, data));
            }
            Ok(AppendResult {
                next_expected_revision: (head + ids.len() as i64) as u64,
                position: self.log.len() as u64 - 1,
            })
        }
    }

    fn select<T: Clone>(items: &[T], backwards: bool, from: Option<u8>, max: Option<u8>) -> Vec<T> {
        let max = max.map_or(usize::MAX, usize::from);
        if backwards {
            let start = from.map_or(items.len() as i64 - 1, |f| {
                (f as i64).min(items.len() as i64 - 1)
            });
            (0..=start)
                .rev()
                .take(max)
                .map(|i| items[i as usize].clone())
                .collect()
        } else {
            let start = from.map_or(0, usize::from);
            items.iter().skip(start).take(max).cloned().collect()
        }
    }

    fn options(backwards: bool, from: Option<u8>, max: Option<u8>) -> ReadOptions {
        let mut o = if backwards {
            ReadOptions::backwards()
        } else {
            ReadOptions::forwards()
        };
        if let Some(f) = from {
            o = o.from(ReadFrom::At(f.into()));
        }
        if let Some(m) = max {
            o = o.max_count(m.into());
        }
        o
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn memory_storage_matches_the_model(ops in prop::collection::vec(op(), 1..40)) {
            let store = EventStore::new(MemoryStorage::new());
            let mut model = Model::default();
            let mut fresh = 1000u128;
            for (step, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Append { stream, ids, expected } => {
                        let ids: Vec<Uuid> = ids.into_iter().map(|i| Uuid::from_u128(i.map_or_else(|| { fresh += 1; fresh }, u128::from))).collect();
                        let events: Vec<ProposedEvent> = ids.iter().map(|id| ProposedEvent::new("E", Json::from_value(&step).unwrap()).with_id(*id)).collect();
                        let exp = match expected {
                            Expected::Any => ExpectedRevision::Any,
                            Expected::NoStream => ExpectedRevision::NoStream,
                            Expected::StreamExists => ExpectedRevision::StreamExists,
                            Expected::Exact(n) => ExpectedRevision::Exact(n.into()),
                        };
                        let got = block_on(store.append(&format!("s-{stream}"), events, exp)).map_err(|e: Error| e.code());
                        prop_assert_eq!(got, model.append(stream, &ids, expected, step as u64));
                    }
                    Op::ReadStream { stream, backwards, from, max } => {
                        let got = block_on(store.read_stream(&format!("s-{stream}"), options(backwards, from, max))).unwrap();
                        let want = select(&model.stream(stream), backwards, from, max);
                        let got: Vec<(u64, u64, Uuid)> = got.iter().map(|e| (e.revision, e.position, e.id)).collect();
                        let all = model.stream(stream);
                        let want: Vec<(u64, u64, Uuid)> = want.iter().map(|(p, e)| (all.iter().position(|x| x.0 == *p).unwrap() as u64, *p, e.1)).collect();
                        prop_assert_eq!(got, want);
                    }
                    Op::ReadAll { backwards, from, max } => {
                        let got = block_on(store.read_all(options(backwards, from, max))).unwrap();
                        let indexed: Vec<(u64, Uuid)> = model.log.iter().enumerate().map(|(p, e)| (p as u64, e.1)).collect();
                        let want = select(&indexed, backwards, from, max);
                        let got: Vec<(u64, Uuid)> = got.iter().map(|e| (e.position, e.id)).collect();
                        prop_assert_eq!(got, want);
                    }
                }
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod reads {
    //! How much of the log subscriptions read: a counting storage around `MemoryStorage`.

    use std::cell::Cell;
    use std::rc::Rc;

    use evstore::{
        AppendResult, EventFilter, EventStore, ExpectedRevision, Json, MemoryStorage, Position,
        PreparedAppend, ProposedEvent, ReadRequest, RecordedEvent, Result, Revision, Storage,
        StreamId, SubscribeOptions, SubscriptionMessage,
    };
    use futures::executor::block_on;

    /// Counts the events that `read_all` hands out.
    #[derive(Default)]
    struct Counting {
        inner: MemoryStorage,
        read: Cell<usize>,
    }

    impl Storage for Counting {
        async fn append(&self, append: &PreparedAppend) -> Result<AppendResult> {
            self.inner.append(append).await
        }
        async fn read_stream(
            &self,
            stream_id: &StreamId,
            request: ReadRequest,
        ) -> Result<Vec<RecordedEvent>> {
            self.inner.read_stream(stream_id, request).await
        }
        async fn read_all(&self, request: ReadRequest) -> Result<Vec<RecordedEvent>> {
            let events = self.inner.read_all(request).await?;
            self.read.set(self.read.get() + events.len());
            Ok(events)
        }
        async fn stream_revision(&self, stream_id: &StreamId) -> Result<Option<Revision>> {
            self.inner.stream_revision(stream_id).await
        }
        async fn head_position(&self) -> Result<Option<Position>> {
            self.inner.head_position().await
        }
        async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>> {
            self.inner.load_checkpoint(name).await
        }
        async fn save_checkpoint(&self, name: &str, position: Position) -> Result<()> {
            self.inner.save_checkpoint(name, position).await
        }
        fn close(&self) {}
    }

    #[test]
    fn a_filtered_subscription_reads_only_what_is_new_on_each_wake_up() {
        block_on(async {
            let store = Rc::new(EventStore::new(Counting::default()));
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
            let after_catch_up = store.storage().read.get();
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
            let live = store.storage().read.get() - after_catch_up;
            assert!(
                live <= 40,
                "20 wake-ups read {live} events: only the new ones, not the log again"
            );
        });
    }
}
