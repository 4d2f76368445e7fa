//! The lifecycle primitives of the storage seam, case by case, on the JS-hosted storages (heap,
//! IndexedDB, Durable Object): husks (`Transaction::remove`), holes in positions and revisions,
//! and the page operations the core's hole-skipping reads use. Written against the seam only, so
//! it runs on every storage; `husk_suite!(factory)` expands to one test per case. The core's
//! contract suite checks the same behaviour through `EventStore`; this suite pins each primitive.
#![allow(dead_code)] // each test crate uses the cases its storage supports

use std::rc::Rc;

use evstore::{
    BoxedPage, Json, Mode, Position, RecordedEvent, Removal, Revision, Storage, StreamId, Uuid,
};

use super::contract::Factory;

/// Expands to one test per case for the factory expression `$factory`.
#[macro_export]
macro_rules! husk_suite {
    ($factory:expr) => {
        $crate::husk_suite!(@cases $factory;
            removal_husks_live_events_and_keeps_heads_and_ids,
            removal_bounds_by_age_and_position, removal_in_the_commit_of_its_puts,
            holes_in_positions_and_revisions, pages_join_trim_and_filter,
            large_removals_end_exactly_where_asked, prefetched_meta_answers_as_gets);
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                husks::$case(&$factory).await;
            }
        )*
    };
}

fn sid(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

/// An event with a payload naming it, at `position`/`revision`, created at `created_at` ms.
fn event(stream: &str, revision: Revision, position: Position, created_at: u64) -> RecordedEvent {
    RecordedEvent {
        id: Uuid::now_v7(),
        stream_id: sid(stream),
        event_type: "Noted".into(),
        revision,
        position,
        data: Json::parse(&format!(r#"{{"secret":"{stream}-{revision}"}}"#)).unwrap(),
        metadata: Json::parse(r#"{"who":"me"}"#).unwrap(),
        created_at,
    }
}

fn removal(stream: &str, from: Revision, to: Revision) -> Removal {
    Removal {
        stream: sid(stream),
        revisions: from..=to,
        created_before: None,
        through: None,
    }
}

async fn put_all(storage: &Rc<dyn Storage>, events: &[RecordedEvent]) {
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    tx.put(events).await.unwrap();
    tx.commit().await.unwrap();
}

async fn remove_all(storage: &Rc<dyn Storage>, removals: &[Removal]) {
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    for r in removals {
        tx.remove(r).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn positions(page: BoxedPage) -> Vec<Position> {
    page.into_events()
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect()
}

async fn log(storage: &Rc<dyn Storage>) -> Vec<RecordedEvent> {
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    tx.read_log(0..=u64::MAX)
        .await
        .unwrap()
        .into_events()
        .unwrap()
}

async fn stream(storage: &Rc<dyn Storage>, s: &str) -> Vec<Revision> {
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    tx.read_stream(&sid(s), 0..=u64::MAX)
        .await
        .unwrap()
        .into_events()
        .unwrap()
        .iter()
        .map(|e| e.revision)
        .collect()
}

/// Removed events leave reads; heads, ids and positions stay (a husk), and a stored id is still
/// refused; removing again changes nothing; the other streams are untouched.
pub async fn removal_husks_live_events_and_keeps_heads_and_ids<F: Factory>(f: &F) {
    let storage = f.storage().await;
    let events: Vec<_> = (0..6)
        .map(|p| {
            let s = if p % 2 == 0 { "A-1" } else { "B-1" };
            event(s, p / 2, p, 1_000 + p)
        })
        .collect();
    put_all(&storage, &events).await;
    remove_all(&storage, &[removal("A-1", 0, 1)]).await;

    let live: Vec<_> = log(&storage).await;
    assert_eq!(
        live.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 3, 4, 5]
    );
    assert_eq!(
        live,
        [1, 3, 4, 5].map(|p| events[p].clone()),
        "live events intact"
    );
    assert_eq!(stream(&storage, "A-1").await, [2]);
    assert_eq!(stream(&storage, "B-1").await, [0, 1, 2]);

    let mut tx = storage.begin(Mode::Read).await.unwrap();
    let (heads, log_head) = tx.heads_of(&[sid("A-1"), sid("B-1")]).await.unwrap();
    assert_eq!((heads, log_head), (vec![Some(2), Some(2)], Some(5)));
    let ids: Vec<_> = events.iter().map(|e| e.id).collect();
    let found = tx.locate(&ids).await.unwrap();
    for (e, at) in events.iter().zip(&found) {
        let at = at.as_ref().expect("every id is still known");
        assert_eq!(
            (&at.stream_id, at.revision, at.position),
            (&e.stream_id, e.revision, e.position)
        );
        assert_eq!(at.removed, e.stream_id.as_str() == "A-1" && e.revision < 2);
    }
    // Ranges inside the husks read nothing.
    assert!(tx.read_log(0..=0).await.unwrap().is_empty());
    assert!(tx.read_stream(&sid("A-1"), 0..=1).await.unwrap().is_empty());
    drop(tx);

    // Removing again, or a range that holds only husks, writes nothing new.
    remove_all(&storage, &[removal("A-1", 0, 1), removal("Nobody-1", 0, 9)]).await;
    assert_eq!(log(&storage).await.len(), 4);

    // The id of a husk is still taken.
    if storage.capabilities().rejects_duplicate_ids {
        let mut again = event("C-1", 0, 6, 2_000);
        again.id = events[0].id;
        let mut tx = storage.begin(Mode::Write).await.unwrap();
        let _ = tx.put(std::slice::from_ref(&again)).await;
        assert!(
            tx.commit().await.is_err(),
            "a removed event's id is refused"
        );
        assert_eq!(log(&storage).await.len(), 4);
    }
}

/// `created_before` and `through` bound a removal; the range bounds are inclusive.
pub async fn removal_bounds_by_age_and_position<F: Factory>(f: &F) {
    let storage = f.storage().await;
    let events: Vec<_> = (0..8).map(|p| event("T-1", p, p, 100 * p)).collect();
    put_all(&storage, &events).await;
    remove_all(
        &storage,
        &[Removal {
            stream: sid("T-1"),
            revisions: 1..=6,
            created_before: Some(500), // revisions 0..=4 are older
            through: Some(3),          // positions 0..=3
        }],
    )
    .await;
    assert_eq!(stream(&storage, "T-1").await, [0, 4, 5, 6, 7]);
    remove_all(
        &storage,
        &[Removal {
            stream: sid("T-1"),
            revisions: 0..=u64::MAX,
            created_before: Some(600),
            through: None,
        }],
    )
    .await;
    assert_eq!(stream(&storage, "T-1").await, [6, 7]);
}

/// A removal in the transaction that puts the events it removes (an append to a stream with
/// `maxCount`) husks them at commit; without a commit nothing changes.
pub async fn removal_in_the_commit_of_its_puts<F: Factory>(f: &F) {
    let storage = f.storage().await;
    put_all(&storage, &[event("M-1", 0, 0, 1)]).await;
    let batch: Vec<_> = (1..5).map(|r| event("M-1", r, r, 2)).collect();

    // Not committed: the removal is taken back with the puts.
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    tx.put(&batch).await.unwrap();
    tx.remove(&removal("M-1", 0, 2)).await.unwrap();
    drop(tx);
    assert_eq!(stream(&storage, "M-1").await, [0]);

    let mut tx = storage.begin(Mode::Write).await.unwrap();
    tx.put(&batch).await.unwrap();
    tx.remove(&removal("M-1", 0, 2)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stream(&storage, "M-1").await, [3, 4]);
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    assert_eq!(tx.log_head().await.unwrap(), Some(4));
    assert_eq!(tx.stream_head(&sid("M-1")).await.unwrap(), Some(4));
}

/// `put` past holes: positions and revisions increase but skip some (a device that never
/// received what the server removed); reads skip the holes, heads are the last written.
pub async fn holes_in_positions_and_revisions<F: Factory>(f: &F) {
    let storage = f.storage().await;
    let events = [
        event("H-1", 0, 0, 1),
        event("H-1", 3, 4, 1),
        event("G-1", 2, 5, 1),
        event("H-1", 9, 12, 1),
    ];
    put_all(&storage, &events[..2]).await;
    put_all(&storage, &events[2..]).await;
    assert_eq!(log(&storage).await, events);
    assert_eq!(stream(&storage, "H-1").await, [0, 3, 9]);
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    assert_eq!(positions(tx.read_log(1..=11).await.unwrap()), [4, 5]);
    assert!(tx.read_log(6..=11).await.unwrap().is_empty());
    assert!(tx.read_log(13..=20).await.unwrap().is_empty());
    let page = tx.read_stream(&sid("H-1"), 1..=9).await.unwrap();
    assert_eq!(positions(page), [4, 12]);
    assert_eq!(
        tx.heads_of(&[sid("H-1"), sid("G-1")]).await.unwrap(),
        (vec![Some(9), Some(2)], Some(12))
    );
    drop(tx);
    // The next put continues after the last position.
    put_all(&storage, &[event("H-1", 10, 13, 1)]).await;
    assert_eq!(stream(&storage, "H-1").await, [0, 3, 9, 10]);
}

/// `Page::append` joins windows, `keep` trims, `retain_heads` filters by stream, revision and
/// createdAt without reading payloads.
pub async fn pages_join_trim_and_filter<F: Factory>(f: &F) {
    let storage = f.storage().await;
    let events: Vec<_> = (0..10)
        .map(|p| event(if p < 5 { "P-1" } else { "Q-1" }, p % 5, p, 10 * p))
        .collect();
    put_all(&storage, &events).await;
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    let mut page = tx.read_log(0..=3).await.unwrap();
    page.append(tx.read_log(4..=6).await.unwrap()).unwrap();
    page.append(tx.read_log(20..=30).await.unwrap()).unwrap();
    page.append(tx.read_log(7..=9).await.unwrap()).unwrap();
    assert_eq!(page.len(), 10);
    page.keep(1..9);
    assert_eq!(page.len(), 8);
    let mut seen = Vec::new();
    page.retain_heads(&mut |stream, revision, created_at| {
        seen.push((stream.to_owned(), revision, created_at));
        !(stream == "Q-1" && revision % 2 == 1) && created_at != 30
    });
    assert_eq!(
        seen,
        (1..9)
            .map(|p| (events[p].stream_id.to_string(), p as u64 % 5, 10 * p as u64))
            .collect::<Vec<_>>()
    );
    let kept = page.into_events().unwrap();
    assert_eq!(kept, [1, 2, 4, 5, 7].map(|p| events[p].clone()));

    // An empty page takes the other's events; keeping everything changes nothing.
    let mut empty = tx.read_log(50..=60).await.unwrap();
    empty.append(tx.read_log(0..=1).await.unwrap()).unwrap();
    empty.keep(0..10);
    empty.retain_heads(&mut |_, _, _| true);
    assert_eq!(empty.into_events().unwrap(), events[..2]);
}

/// Removals larger than a storage's read batch (IndexedDB reads 2,000 records at a time), ending
/// exactly at a batch boundary, at the stream's last revision, or unbounded, finish and husk all.
pub async fn large_removals_end_exactly_where_asked<F: Factory>(f: &F) {
    let storage = f.storage().await;
    let mut events: Vec<_> = (0..4000).map(|r| event("L-1", r, r, 1)).collect();
    events.extend((0..2001).map(|r| event("K-1", r, 4000 + r, 1)));
    events.push(event("Kept-1", 0, 6001, 1));
    put_all(&storage, &events).await;
    remove_all(&storage, &[removal("L-1", 0, 3999)]).await;
    assert_eq!(stream(&storage, "L-1").await, Vec::<Revision>::new());
    remove_all(
        &storage,
        &[removal("K-1", 0, u64::MAX), removal("K-1", 5, 2)],
    )
    .await;
    assert_eq!(stream(&storage, "K-1").await, Vec::<Revision>::new());
    assert_eq!(log(&storage).await, [events[6001].clone()]);
}

/// `prefetch_meta` is a hint: whatever it issues ahead (IndexedDB: one get per key, or for many
/// keys one probe of which exist), `get_meta` answers what a plain get would, including keys
/// written after the prefetch, keys outside ASCII, and spans too full for the probe.
pub async fn prefetched_meta_answers_as_gets<F: Factory>(f: &F) {
    let storage = f.storage().await;
    let stored = ["p/b", "p/d", "p/\u{e9}t\u{e9}", "p/\u{1f600}", "p/\u{ffee}"];
    let mut tx = storage.begin(Mode::Write).await.unwrap();
    for (i, key) in stored.iter().enumerate() {
        tx.put_meta(key, Some(&Json::parse(&i.to_string()).unwrap()))
            .await
            .unwrap();
    }
    // A span crowded with other keys (more than the probe reads per asked key).
    for i in 0..200 {
        tx.put_meta(&format!("r/c{i:03}"), Some(&Json::parse("true").unwrap()))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let value = |v: Option<Json>| v.map(|j| j.as_str().to_owned());
    let asked = [
        "p/a",
        "p/b",
        "p/c",
        "p/d",
        "p/e",
        "p/\u{e9}t\u{e9}",
        "p/\u{1f600}",
        "p/\u{ffee}",
        "q/z",
    ];
    let expected = |key: &str| stored.iter().position(|k| *k == key).map(|i| i.to_string());
    for crowded in [false, true] {
        let mut tx = storage.begin(Mode::Write).await.unwrap();
        let keys: Vec<&str> = if crowded {
            asked.iter().copied().chain(["r/c050", "r/c150"]).collect()
        } else {
            asked.to_vec()
        };
        tx.prefetch_meta(&keys);
        // Written after the prefetch: the get sees the write.
        tx.put_meta("p/a", Some(&Json::parse("\"new\"").unwrap()))
            .await
            .unwrap();
        tx.put_meta("p/b", None).await.unwrap();
        for key in &keys {
            let want = match *key {
                "p/a" => Some("\"new\"".to_owned()),
                "p/b" => None,
                k if k.starts_with("r/c") => Some("true".to_owned()),
                k => expected(k),
            };
            assert_eq!(value(tx.get_meta(key).await.unwrap()), want, "{key}");
        }
        drop(tx);
    }
    // Keys whose order differs between UTF-8 (Rust) and UTF-16 (IndexedDB).
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    let wide = ["p/zz", "p/\u{1f600}", "p/\u{ffee}", "p/\u{e9}t\u{e9}"];
    tx.prefetch_meta(&wide);
    for key in wide {
        assert_eq!(
            value(tx.get_meta(key).await.unwrap()),
            expected(key),
            "{key}"
        );
    }
    drop(tx);
    // A read transaction, asked twice for the same keys.
    let mut tx = storage.begin(Mode::Read).await.unwrap();
    tx.prefetch_meta(&asked);
    tx.prefetch_meta(&asked);
    for key in asked {
        assert_eq!(
            value(tx.get_meta(key).await.unwrap()),
            expected(key),
            "{key}"
        );
    }
}
