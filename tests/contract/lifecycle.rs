//! Contract cases of the stream lifecycle: metadata, retention, soft deletes and tombstones,
//! holes left by removed events. Removal is proved through the storage seam itself: a raw
//! `read_log` of the whole log (which returns live events only) must no longer hold them.

use std::cell::Cell;
use std::rc::Rc;

use evstore::{
    Error, EventFilter, EventStore, ExpectedRevision, Json, Mode, ReadFrom, ReadOptions,
    RecordedEvent, StoreOptions, StreamId, StreamMetadata, SubscribeOptions,
};

use super::{all, ev, id, next_position, open, open_rc, with_id, Factory};

use ExpectedRevision::{Any, Exact, NoStream};

fn metadata(value: serde_json::Value) -> StreamMetadata {
    StreamMetadata::from_json(&Json::from_value(&value).unwrap()).unwrap()
}

fn summary(events: &[RecordedEvent]) -> Vec<(String, String, u64)> {
    events
        .iter()
        .map(|e| {
            (
                e.stream_id.to_string(),
                e.event_type.to_string(),
                e.revision,
            )
        })
        .collect()
}

async fn stream(store: &EventStore, s: &str) -> Vec<u64> {
    store
        .read_stream(s, ReadOptions::forwards())
        .await
        .unwrap()
        .iter()
        .map(|e| e.revision)
        .collect()
}

/// Every live event the storage holds, read raw through the seam (no core filtering).
async fn stored(store: &EventStore) -> Vec<RecordedEvent> {
    let mut tx = store.storage().begin(Mode::Read).await.unwrap();
    let Some(head) = tx.log_head().await.unwrap() else {
        return Vec::new();
    };
    tx.read_log(0..=head).await.unwrap().into_events().unwrap()
}

/// Whether the store queues its appends for a server (a sync outbox): its pending events are
/// removed from storage only once the server has confirmed them (until then reads hide them),
/// so the checks of physical removal do not apply to it.
async fn has_outbox(store: &EventStore) -> bool {
    let mut tx = store.storage().begin(Mode::Read).await.unwrap();
    tx.get_meta("sync/state").await.unwrap().is_some()
}

/// Checks that the live events of `s` in storage are at `revisions` (where nothing is pending).
async fn assert_stored(store: &EventStore, s: &str, revisions: &[u64]) {
    if !has_outbox(store).await {
        assert_eq!(stored_of(store, s).await, revisions, "stored events of {s}");
    }
}

async fn stored_of(store: &EventStore, s: &str) -> Vec<u64> {
    stored(store)
        .await
        .iter()
        .filter(|e| e.stream_id.as_str() == s)
        .map(|e| e.revision)
        .collect()
}

fn deleted(s: &str) -> Error {
    Error::StreamDeleted {
        stream_id: s.to_owned(),
    }
}

pub async fn stream_metadata_is_set_and_read_with_its_revision<F: Factory>(f: &F) {
    let store = open(f).await;
    let x = "Order-1";
    assert_eq!(
        store.get_stream_metadata(x).await.unwrap(),
        (StreamMetadata::default(), None)
    );
    let first = metadata(serde_json::json!({ "custom": { "owner": "u42" } }));
    let r = store
        .set_stream_metadata(x, first.clone(), NoStream)
        .await
        .unwrap();
    assert_eq!(r.next_expected_revision, 0);
    assert_eq!(
        store.get_stream_metadata(x).await.unwrap(),
        (first.clone(), Some(0))
    );
    for expected in [NoStream, Exact(1)] {
        let err = store
            .set_stream_metadata(x, StreamMetadata::default(), expected)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::WrongExpectedRevision {
                stream_id: x.into(),
                expected,
                actual: Some(0)
            }
        );
    }
    let second = metadata(serde_json::json!({ "maxCount": 5 }));
    let r2 = store
        .set_stream_metadata(x, second.clone(), Exact(0))
        .await
        .unwrap();
    assert_eq!(r2.next_expected_revision, 1);
    assert!(r2.position > r.position);
    assert_eq!(
        store.get_stream_metadata(x).await.unwrap(),
        (second, Some(1))
    );
    // The change is an event in `$$X` in the log, never in readStream; the superseded one is
    // gone (no old custom data stays).
    let log = all(&store).await;
    assert_eq!(summary(&log), [("$$Order-1".into(), "$metadata".into(), 1)]);
    assert_eq!(log[0].data.as_str(), r#"{"maxCount":5}"#);
    assert_eq!(log[0].position, r2.position);
    if !has_outbox(&store).await {
        assert!(!format!("{:?}", stored(&store).await).contains("u42"));
    }
    assert_eq!(stream(&store, x).await, Vec::<u64>::new());
    assert_eq!(store.stream_revision(x).await.unwrap(), None);
    // A bad metadata value changes nothing.
    let bad = StreamMetadata {
        custom: Some(Json::parse("[1]").unwrap()),
        ..StreamMetadata::default()
    };
    let err = store.set_stream_metadata(x, bad, Any).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert_eq!(store.get_stream_metadata(x).await.unwrap().1, Some(1));
}

pub async fn system_stream_ids_are_refused<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .set_stream_metadata("x", StreamMetadata::default(), Any)
        .await
        .unwrap();
    for s in ["$$x", "$metadata", "$all"] {
        let codes = [
            store
                .append(s, vec![ev("E", serde_json::json!(1))], Any)
                .await
                .map(|_| ())
                .unwrap_err(),
            store
                .read_stream(s, ReadOptions::forwards())
                .await
                .map(|_| ())
                .unwrap_err(),
            store.stream_revision(s).await.map(|_| ()).unwrap_err(),
            store.get_stream_metadata(s).await.map(|_| ()).unwrap_err(),
            store
                .set_stream_metadata(s, StreamMetadata::default(), Any)
                .await
                .map(|_| ())
                .unwrap_err(),
            store.delete_stream(s, Any).await.map(|_| ()).unwrap_err(),
            store
                .tombstone_stream(s, Any)
                .await
                .map(|_| ())
                .unwrap_err(),
        ]
        .map(|e| e.code());
        assert_eq!(codes, ["INVALID_ARGUMENT"; 7], "{s}");
    }
    assert_eq!(all(&store).await.len(), 1);
}

pub async fn truncate_before_hides_and_removes<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append("x", (1..=5).map(with_id).collect(), NoStream)
        .await
        .unwrap();
    store.append("y", vec![with_id(9)], NoStream).await.unwrap();
    store
        .set_stream_metadata(
            "x",
            metadata(serde_json::json!({ "truncateBefore": 3 })),
            Any,
        )
        .await
        .unwrap();
    assert_eq!(stream(&store, "x").await, [3, 4]);
    assert_eq!(store.stream_revision("x").await.unwrap(), Some(4));
    let x_in_log: Vec<u64> = all(&store)
        .await
        .iter()
        .filter(|e| e.stream_id.as_str() == "x")
        .map(|e| e.revision)
        .collect();
    assert_eq!(x_in_log, [3, 4]);
    assert_stored(&store, "x", &[3, 4]).await;
    // Backwards, and with maxCount across the removed revisions.
    let back = store
        .read_stream("x", ReadOptions::backwards().max_count(5))
        .await
        .unwrap();
    assert_eq!(back.iter().map(|e| e.revision).collect::<Vec<_>>(), [4, 3]);
    let one = store
        .read_stream("x", ReadOptions::forwards().max_count(1))
        .await
        .unwrap();
    assert_eq!(one[0].revision, 3);
    // A retry of the first append is `already` and brings nothing back.
    let retry = store
        .append("x", (1..=5).map(with_id).collect(), NoStream)
        .await
        .unwrap();
    assert_eq!((retry.next_expected_revision, retry.position), (4, 4));
    let retry_part = store
        .append("x", vec![with_id(1), with_id(2)], Exact(99))
        .await
        .unwrap();
    assert_eq!(retry_part.next_expected_revision, 1);
    assert_eq!(stream(&store, "x").await, [3, 4]);
    assert_stored(&store, "x", &[3, 4]).await;
    // A removed event's id is still taken.
    let err = store.append("z", vec![with_id(1)], Any).await.unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateEventId {
            event_id: id(1).to_string()
        }
    );
    // Appends continue.
    let r = store.append("x", vec![with_id(6)], Exact(4)).await.unwrap();
    assert_eq!(r.next_expected_revision, 5);
}

pub async fn max_count_removes_at_once_and_on_each_append<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append("x", (1..=5).map(with_id).collect(), NoStream)
        .await
        .unwrap();
    store
        .set_stream_metadata("x", metadata(serde_json::json!({ "maxCount": 2 })), Any)
        .await
        .unwrap();
    assert_eq!(stream(&store, "x").await, [3, 4]);
    assert_stored(&store, "x", &[3, 4]).await;
    store
        .append("x", vec![with_id(6), with_id(7), with_id(8)], Exact(4))
        .await
        .unwrap();
    assert_eq!(stream(&store, "x").await, [6, 7]);
    assert_stored(&store, "x", &[6, 7]).await;
    assert_eq!(store.stream_revision("x").await.unwrap(), Some(7));
    let agg = store
        .aggregate_stream("x", 0u64, |n, _| Ok::<_, Error>(n + 1))
        .await
        .unwrap();
    assert_eq!((agg.state, agg.revision), (2, Some(7)));
    // Lowering maxCount removes at once.
    store
        .set_stream_metadata(
            "x",
            metadata(serde_json::json!({ "maxCount": 1 })),
            Exact(0),
        )
        .await
        .unwrap();
    assert_stored(&store, "x", &[7]).await;
}

thread_local! {
    static CLOCK: Cell<u64> = const { Cell::new(1_000_000) };
}

pub(super) fn clock() -> u64 {
    CLOCK.with(Cell::get)
}

pub(super) fn advance(ms: u64) {
    CLOCK.with(|c| c.set(c.get() + ms));
}

pub async fn max_age_hides_at_read_time_and_removes_later<F: Factory>(f: &F) {
    let options = StoreOptions {
        now: clock,
        ..StoreOptions::default()
    };
    let store = f.open(options).await;
    store
        .append("x", vec![with_id(1), with_id(2)], NoStream)
        .await
        .unwrap();
    store.append("y", vec![with_id(3)], NoStream).await.unwrap();
    for s in ["x", "y"] {
        store
            .set_stream_metadata(s, metadata(serde_json::json!({ "maxAge": 10 })), Any)
            .await
            .unwrap();
    }
    advance(6_000);
    store.append("x", vec![with_id(4)], Any).await.unwrap();
    assert_eq!(stream(&store, "x").await, [0, 1, 2]);
    advance(6_000);
    // 12 s after the first events: hidden from every read, not yet removed.
    assert_eq!(stream(&store, "x").await, [2]);
    assert_eq!(stream(&store, "y").await, Vec::<u64>::new());
    let visible: Vec<_> = all(&store)
        .await
        .iter()
        .filter(|e| !e.stream_id.as_str().starts_with('$'))
        .map(|e| (e.stream_id.to_string(), e.revision))
        .collect();
    assert_eq!(visible, [("x".to_owned(), 2)]);
    // maxAge keeps the stream's revision.
    assert_eq!(store.stream_revision("y").await.unwrap(), Some(0));
    let agg = store
        .aggregate_stream("y", 0u64, |n, _| Ok::<_, Error>(n + 1))
        .await
        .unwrap();
    assert_eq!((agg.state, agg.revision), (0, Some(0)));
    // The next append to x removes x's; the sweep removes y's.
    store.append("x", vec![with_id(5)], Exact(2)).await.unwrap();
    assert_stored(&store, "x", &[2, 3]).await;
    assert_stored(&store, "y", &[0]).await;
    store.enforce_retention().await.unwrap();
    assert_stored(&store, "y", &[]).await;
    // A subscription sees what is left.
    let store = Rc::new(store);
    let mut sub = store.subscribe(SubscribeOptions::default()).await.unwrap();
    let mut seen = Vec::new();
    while let Some(p) = next_position(&mut sub).await {
        seen.push(p);
    }
    let expected: Vec<u64> = all(&store).await.iter().map(|e| e.position).collect();
    assert_eq!(seen, expected);
}

pub async fn soft_delete_reads_as_empty_and_revisions_continue<F: Factory>(f: &F) {
    let store = open(f).await;
    store
        .append("x", (1..=3).map(with_id).collect(), NoStream)
        .await
        .unwrap();
    store
        .set_stream_metadata(
            "x",
            metadata(serde_json::json!({ "custom": { "k": 1 } })),
            Any,
        )
        .await
        .unwrap();
    let err = store.delete_stream("x", Exact(1)).await.unwrap_err();
    assert_eq!(err.code(), "WRONG_EXPECTED_REVISION");
    let r = store.delete_stream("x", Exact(2)).await.unwrap();
    assert_eq!(r.next_expected_revision, 1);
    assert_eq!(stream(&store, "x").await, Vec::<u64>::new());
    assert_eq!(store.stream_revision("x").await.unwrap(), None);
    assert_stored(&store, "x", &[]).await;
    let (m, rev) = store.get_stream_metadata("x").await.unwrap();
    assert_eq!(
        (m, rev),
        (
            metadata(serde_json::json!({ "truncateBefore": 3, "custom": { "k": 1 } })),
            Some(1)
        )
    );
    let agg = store
        .aggregate_stream("x", 0u64, |n, _| Ok::<_, Error>(n + 1))
        .await
        .unwrap();
    assert_eq!((agg.state, agg.revision), (0, None));
    // "no_stream" holds; the stream is recreated with the next revisions.
    let again = store.append("x", vec![with_id(4)], NoStream).await.unwrap();
    assert_eq!(again.next_expected_revision, 3);
    assert_eq!(stream(&store, "x").await, [3]);
    assert_eq!(store.stream_revision("x").await.unwrap(), Some(3));
    // Deleting a stream that never had events.
    store.delete_stream("never", NoStream).await.unwrap();
    let r = store
        .append("never", vec![with_id(5)], NoStream)
        .await
        .unwrap();
    assert_eq!(r.next_expected_revision, 0);
}

pub async fn tombstone_refuses_every_later_call<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    let x = "Order-9";
    let mut sub = store
        .subscribe(SubscribeOptions {
            filter: EventFilter {
                stream_id: Some(StreamId::new(x).unwrap()),
                ..EventFilter::default()
            },
            ..SubscribeOptions::default()
        })
        .await
        .unwrap();
    store
        .append(x, vec![with_id(1), with_id(2)], NoStream)
        .await
        .unwrap();
    store
        .set_stream_metadata(
            x,
            metadata(serde_json::json!({ "custom": { "k": 2 } })),
            Any,
        )
        .await
        .unwrap();
    // The stream's subscriber gets its events and the metadata change...
    for expected in [Some(0), Some(1), Some(2), None] {
        assert_eq!(next_position(&mut sub).await, expected);
    }
    let err = store.tombstone_stream(x, Exact(0)).await.unwrap_err();
    assert_eq!(err.code(), "WRONG_EXPECTED_REVISION");
    let t = store.tombstone_stream(x, Exact(1)).await.unwrap();
    assert_eq!(t.next_expected_revision, 2);
    let e = || deleted(x);
    assert_eq!(
        store.append(x, vec![with_id(3)], Any).await.unwrap_err(),
        e()
    );
    assert_eq!(
        store
            .read_stream(x, ReadOptions::backwards())
            .await
            .unwrap_err(),
        e()
    );
    assert_eq!(store.stream_revision(x).await.unwrap_err(), e());
    assert_eq!(
        store
            .aggregate_stream(x, (), |s, _| Ok::<_, Error>(s))
            .await
            .unwrap_err(),
        e()
    );
    assert_eq!(store.get_stream_metadata(x).await.unwrap_err(), e());
    assert_eq!(
        store
            .set_stream_metadata(x, StreamMetadata::default(), Any)
            .await
            .unwrap_err(),
        e()
    );
    assert_eq!(store.delete_stream(x, Any).await.unwrap_err(), e());
    assert_eq!(store.tombstone_stream(x, Any).await.unwrap_err(), e());
    // A retry of an append made before the tombstone only reports what happened.
    let retry = store
        .append(x, vec![with_id(1), with_id(2)], NoStream)
        .await
        .unwrap();
    assert_eq!(retry.next_expected_revision, 1);
    // The log keeps only the tombstone; storage holds nothing else of the stream.
    let log = all(&store).await;
    assert_eq!(summary(&log), [(x.into(), "$streamDeleted".into(), 2)]);
    assert_eq!(log[0].position, t.position);
    if !has_outbox(&store).await {
        assert_eq!(stored(&store).await.len(), 1);
    }
    // ...then the tombstone, which says what is gone.
    assert_eq!(next_position(&mut sub).await, Some(t.position));
}

pub async fn positions_are_never_reused<F: Factory>(f: &F) {
    let options = StoreOptions {
        now: clock,
        ..StoreOptions::default()
    };
    let store = f.open(options).await;
    store
        .set_stream_metadata("x", metadata(serde_json::json!({ "maxAge": 1 })), Any)
        .await
        .unwrap();
    store
        .append("x", vec![with_id(1), with_id(2)], Any)
        .await
        .unwrap();
    advance(5_000);
    store.enforce_retention().await.unwrap();
    // The newest events of the log are gone; a store reopened on it numbers after them.
    if !has_outbox(&store).await {
        assert_eq!(stored(&store).await.len(), 1);
    }
    assert_eq!(store.head_position().await.unwrap(), Some(2));
    let reopened = EventStore::over(store.storage().clone(), options);
    let r = reopened.append("y", vec![with_id(3)], Any).await.unwrap();
    assert_eq!(r.position, 3);
    let r = reopened.append("x", vec![with_id(4)], Any).await.unwrap();
    assert_eq!((r.next_expected_revision, r.position), (2, 4));
}

/// A log with a hole of `n` removed events between `a` (position 0) and `b` (position n + 1),
/// then the tombstone (position n + 2).
async fn holed(store: &EventStore, n: u64) {
    store.append("a", vec![with_id(1)], Any).await.unwrap();
    let mut left = n;
    while left > 0 {
        let batch = left.min(500);
        let events = (0..batch).map(|i| ev("E", serde_json::json!(i))).collect();
        store.append("x", events, Any).await.unwrap();
        left -= batch;
    }
    store.append("b", vec![with_id(2)], Any).await.unwrap();
    store.tombstone_stream("x", Any).await.unwrap();
}

pub async fn reads_skip_a_big_hole_both_ways<F: Factory>(f: &F) {
    let store = open(f).await;
    let n = 3_000;
    holed(&store, n).await;
    let read = |options: ReadOptions| {
        let store = &store;
        async move {
            store
                .read_all(options)
                .await
                .unwrap()
                .iter()
                .map(|e| e.position)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(read(ReadOptions::forwards().max_count(2)).await, [0, n + 1]);
    assert_eq!(
        read(ReadOptions::forwards().from(ReadFrom::At(1)).max_count(1)).await,
        [n + 1]
    );
    assert_eq!(
        read(ReadOptions::forwards().from(ReadFrom::At(5)).max_count(5)).await,
        [n + 1, n + 2]
    );
    assert_eq!(
        read(ReadOptions::backwards().max_count(3)).await,
        [n + 2, n + 1, 0]
    );
    assert_eq!(
        read(ReadOptions::backwards().from(ReadFrom::At(n)).max_count(1)).await,
        [0]
    );
    assert_eq!(
        read(ReadOptions::backwards().from(ReadFrom::At(n)).max_count(0)).await,
        Vec::<u64>::new()
    );
    assert_eq!(read(ReadOptions::forwards()).await, [0, n + 1, n + 2]);
}

pub async fn subscriptions_cross_a_hole_larger_than_a_page<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    let n = 2_100;
    holed(&store, n).await;
    let mut sub = store.subscribe(SubscribeOptions::default()).await.unwrap();
    let mut seen = Vec::new();
    while let Some(p) = next_position(&mut sub).await {
        seen.push(p);
    }
    assert_eq!(seen, [0, n + 1, n + 2]);
    store.append("c", vec![with_id(3)], Any).await.unwrap();
    assert_eq!(next_position(&mut sub).await, Some(n + 3));
    // Starting inside the hole.
    let mut sub = store
        .subscribe(SubscribeOptions {
            from: evstore::SubscribeFrom::After(5),
            ..SubscribeOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(next_position(&mut sub).await, Some(n + 1));
}

pub async fn filtered_subscriptions_get_lifecycle_events<F: Factory>(f: &F) {
    let store = open_rc(f).await;
    store
        .append("Order-1", vec![with_id(1)], Any)
        .await
        .unwrap();
    store
        .set_stream_metadata(
            "Order-1",
            metadata(serde_json::json!({ "maxCount": 9 })),
            Any,
        )
        .await
        .unwrap();
    store.append("Cart-1", vec![with_id(2)], Any).await.unwrap();
    store.delete_stream("Cart-1", Any).await.unwrap();
    store.tombstone_stream("Order-1", Any).await.unwrap();
    store
        .set_stream_metadata("Order-2", metadata(serde_json::json!({ "maxAge": 9 })), Any)
        .await
        .unwrap();
    let collect = |filter: EventFilter| {
        let store = store.clone();
        async move {
            let mut sub = store
                .subscribe(SubscribeOptions {
                    filter,
                    ..SubscribeOptions::default()
                })
                .await
                .unwrap();
            let mut out = Vec::new();
            while let Some(p) = next_position(&mut sub).await {
                out.push(p);
            }
            out
        }
    };
    let log: Vec<(String, u64)> = all(&store)
        .await
        .iter()
        .map(|e| (e.event_type.to_string(), e.position))
        .collect();
    // Order-1's event and metadata are gone with its tombstone, Cart-1's event with its delete.
    assert_eq!(
        log,
        [
            ("$metadata".to_owned(), 3),
            ("$streamDeleted".to_owned(), 4),
            ("$metadata".to_owned(), 5)
        ]
    );
    let stream = |s: &str| EventFilter {
        stream_id: Some(StreamId::new(s).unwrap()),
        ..EventFilter::default()
    };
    assert_eq!(collect(stream("Order-1")).await, [4]);
    assert_eq!(collect(stream("Order-2")).await, [5]);
    assert_eq!(collect(stream("Cart-1")).await, [3]);
    let category = |c: &str| EventFilter {
        category: Some(c.into()),
        ..EventFilter::default()
    };
    assert_eq!(collect(category("Cart")).await, [3]);
    assert_eq!(collect(category("Order")).await, [4, 5]);
    let types = EventFilter {
        event_types: Some(vec!["$streamDeleted".into()]),
        ..EventFilter::default()
    };
    assert_eq!(collect(types).await, [4]);
}

pub async fn lifecycle_calls_and_appends_issued_together<F: Factory>(f: &F) {
    let store = open(f).await;
    let (a, m, b) = futures_util::join!(
        store.append("x", vec![with_id(1)], NoStream),
        store.set_stream_metadata(
            "x",
            metadata(serde_json::json!({ "maxCount": 1 })),
            NoStream
        ),
        store.append("x", vec![with_id(2)], Exact(0)),
    );
    assert_eq!(a.unwrap().next_expected_revision, 0);
    assert_eq!(m.unwrap().next_expected_revision, 0);
    assert_eq!(b.unwrap().next_expected_revision, 1);
    assert_stored(&store, "x", &[1]).await;
    let (c, d, e, t, g) = futures_util::join!(
        store.append("x", vec![with_id(3)], Exact(1)),
        store.delete_stream("x", Exact(2)),
        store.append("x", vec![with_id(4)], NoStream),
        store.tombstone_stream("y", NoStream),
        store.append("y", vec![with_id(5)], Any),
    );
    assert_eq!(c.unwrap().next_expected_revision, 2);
    assert_eq!(d.unwrap().next_expected_revision, 1);
    assert_eq!(e.unwrap().next_expected_revision, 3);
    assert_eq!(t.unwrap().next_expected_revision, 0);
    assert_eq!(g.unwrap_err(), deleted("y"));
    assert_eq!(stream(&store, "x").await, [3]);
    assert_stored(&store, "x", &[3]).await;
}

fn recorded(n: u128, stream: &str, revision: u64, position: u64) -> RecordedEvent {
    RecordedEvent {
        id: id(n),
        stream_id: StreamId::new(stream).unwrap(),
        event_type: "E".into(),
        revision,
        position,
        data: Json::from_value(&serde_json::json!({ "n": n as u64 })).unwrap(),
        metadata: Json::empty_object(),
        created_at: 1,
    }
}

/// The seam as a synced device uses it: events put past holes (positions and revisions the
/// server removed before the device pulled), and removed events that keep their ids.
pub async fn storages_hold_holes_and_husks<F: Factory>(f: &F) {
    let store = open(f).await;
    let storage = store.storage().clone();
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    tx.put(&[
        recorded(1, "s", 0, 0),
        recorded(2, "s", 3, 5),
        recorded(3, "t", 0, 9),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let positions: Vec<u64> = all(&store).await.iter().map(|e| e.position).collect();
    assert_eq!(positions, [0, 5, 9]);
    assert_eq!(store.head_position().await.unwrap(), Some(9));
    assert_eq!(store.stream_revision("s").await.unwrap(), Some(3));
    assert_eq!(stream(&store, "s").await, [0, 3]);
    let last = store
        .read_stream("s", ReadOptions::backwards().max_count(1))
        .await
        .unwrap();
    assert_eq!(last[0].revision, 3);
    let back = store
        .read_all(ReadOptions::backwards().from(ReadFrom::At(8)).max_count(1))
        .await
        .unwrap();
    assert_eq!(back[0].position, 5);
    let r = store.append("s", vec![with_id(4)], Exact(3)).await.unwrap();
    assert_eq!((r.next_expected_revision, r.position), (4, 10));
    // Removing husks the events: gone from reads, ids and heads kept.
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    let removal = evstore::Removal {
        stream: StreamId::new("s").unwrap(),
        revisions: 0..=3,
        created_before: None,
        through: None,
    };
    tx.remove(&removal).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stream(&store, "s").await, [4]);
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    let found = tx.locate(&[id(1), id(2), id(4), id(99)]).await.unwrap();
    let found: Vec<_> = found
        .iter()
        .map(|l| l.as_ref().map(|l| (l.revision, l.position, l.removed)))
        .collect();
    assert_eq!(
        found,
        [
            Some((0, 0, true)),
            Some((3, 5, true)),
            Some((4, 10, false)),
            None
        ]
    );
    assert_eq!(
        tx.stream_head(&StreamId::new("s").unwrap()).await.unwrap(),
        Some(4)
    );
    drop(tx);
    let retry = store.append("s", vec![with_id(1)], NoStream).await.unwrap();
    assert_eq!((retry.next_expected_revision, retry.position), (0, 0));
    assert_eq!(stream(&store, "s").await, [4]);
    // Removing again, or a range with nothing live, is a no-op.
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    tx.remove(&removal).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        all(&store)
            .await
            .iter()
            .map(|e| e.position)
            .collect::<Vec<_>>(),
        [9, 10]
    );
}
