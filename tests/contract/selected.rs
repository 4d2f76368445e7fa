//! Contract cases of selected reads (`read_all_selected`): the log restricted to the streams a
//! selection matches, with the tenant's positions, read like `read_all`.

use evstore::{
    EventStore, ExpectedRevision, ReadFrom, ReadOptions, RecordedEvent, Selection, StreamMetadata,
};

use super::{ev, open, positions, with_id, Factory};

use ExpectedRevision::Any;

fn sel(patterns: &[&str]) -> Selection {
    Selection::parse(patterns).unwrap()
}

async fn selected(store: &EventStore, patterns: &[&str], options: ReadOptions) -> Vec<u64> {
    positions(
        &store
            .read_all_selected(&sel(patterns), options)
            .await
            .unwrap(),
    )
}

/// `read_all` with `options` but without its count, filtered by `selection`, then counted.
async fn filtered(
    store: &EventStore,
    selection: &Selection,
    options: ReadOptions,
) -> Vec<RecordedEvent> {
    let unlimited = ReadOptions {
        max_count: None,
        ..options
    };
    let mut events: Vec<RecordedEvent> = store
        .read_all(unlimited)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| selection.matches(e.stream_id.as_str()))
        .collect();
    events.truncate(options.max_count.map_or(usize::MAX, |m| m as usize));
    events
}

/// A log of several lists and items, with metadata, a soft delete, a truncation and a
/// tombstone: positions 0–17 (see the comments).
async fn shop(store: &EventStore) {
    let append = |stream: &'static str, n: usize| async move {
        let events = (0..n).map(|i| ev("E", serde_json::json!(i))).collect();
        store.append(stream, events, Any).await.unwrap();
    };
    append("List-7", 2).await; // 0, 1
    append("List-70", 1).await; // 2
    append("Item-7-1", 2).await; // 3, 4
    append("List-8", 1).await; // 5
    append("Item-8-1", 1).await; // 6
    let keep_one = StreamMetadata {
        max_count: Some(1),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata("Item-7-1", keep_one, Any)
        .await
        .unwrap(); // 7 ($$Item-7-1; removes 3)
    append("Item-7-2", 1).await; // 8
    append("List-7", 1).await; // 9
    store.delete_stream("List-8", Any).await.unwrap(); // 10 ($$List-8; removes 5)
    append("Order-1", 2).await; // 11, 12
    store.tombstone_stream("Order-1", Any).await.unwrap(); // 13 (removes 11, 12)
    append("Item-7-1", 1).await; // 14 (removes 4)
    let truncate = StreamMetadata {
        truncate_before: Some(2),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata("List-7", truncate, Any)
        .await
        .unwrap(); // 15 ($$List-7; removes 0, 1)
    append("Item-8-1", 1).await; // 16
    append("List-7", 1).await; // 17
}

pub async fn selected_reads_follow_the_log<F: Factory>(f: &F) {
    let store = open(f).await;
    shop(&store).await;
    let fwd = ReadOptions::forwards;
    // Exact ids, with their metadata streams; removed events skipped.
    assert_eq!(selected(&store, &["List-7"], fwd()).await, [9, 15, 17]);
    assert_eq!(selected(&store, &["List-8"], fwd()).await, [10]);
    assert_eq!(selected(&store, &["Order-1"], fwd()).await, [13]);
    assert_eq!(selected(&store, &["$$List-7"], fwd()).await, [15]);
    // Prefixes ("List-7*" takes "List-70" too), several patterns, "*".
    assert_eq!(selected(&store, &["List-7*"], fwd()).await, [2, 9, 15, 17]);
    assert_eq!(selected(&store, &["Item-7-*"], fwd()).await, [7, 8, 14]);
    assert_eq!(
        selected(&store, &["Item-*", "List-7"], fwd()).await,
        [6, 7, 8, 9, 14, 15, 16, 17]
    );
    let all = positions(&store.read_all(fwd()).await.unwrap());
    assert_eq!(selected(&store, &["*"], fwd()).await, all);
    // Nothing matches.
    assert!(selected(&store, &[], fwd()).await.is_empty());
    assert!(selected(&store, &["Nothing-*"], fwd()).await.is_empty());
    assert!(selected(&store, &["List-9"], fwd()).await.is_empty());
    // From, maxCount, backwards.
    let items = ["Item-*", "List-7"];
    let at = |p| ReadFrom::At(p);
    assert_eq!(
        selected(&store, &items, fwd().from(at(9)).max_count(3)).await,
        [9, 14, 15]
    );
    assert_eq!(
        selected(&store, &items, fwd().from(at(10)).max_count(1)).await,
        [14]
    );
    assert_eq!(
        selected(&store, &items, ReadOptions::backwards().max_count(3)).await,
        [17, 16, 15]
    );
    assert_eq!(
        selected(&store, &items, ReadOptions::backwards().from(at(13))).await,
        [9, 8, 7, 6]
    );
    assert!(selected(&store, &items, fwd().from(at(18)))
        .await
        .is_empty());
    assert!(selected(&store, &items, fwd().from(ReadFrom::End))
        .await
        .is_empty());
    assert!(selected(&store, &items, fwd().max_count(0))
        .await
        .is_empty());
    // Every combination agrees with read_all filtered.
    let selections = [
        vec!["List-7"],
        vec!["List-7*", "Order-1"],
        vec!["Item-7-*", "List-8"],
        vec!["Item-*", "List-7"],
        vec!["*"],
        vec![],
        vec!["$$Item-7-1", "Item-8-1"],
    ];
    let froms = [
        None,
        Some(ReadFrom::Start),
        Some(ReadFrom::End),
        Some(at(0)),
    ];
    let froms = froms
        .into_iter()
        .chain([3, 8, 11, 16, 17, 30].map(|p| Some(at(p))));
    for from in froms {
        for direction in [fwd(), ReadOptions::backwards()] {
            for max in [None, Some(0), Some(1), Some(2), Some(5)] {
                let options = ReadOptions {
                    from,
                    max_count: max,
                    ..direction
                };
                for patterns in &selections {
                    let selection = sel(patterns);
                    let got = store.read_all_selected(&selection, options).await.unwrap();
                    let want = filtered(&store, &selection, options).await;
                    assert_eq!(got, want, "{patterns:?} {options:?}");
                }
            }
        }
    }
}

pub async fn selected_reads_report_how_far_they_looked<F: Factory>(f: &F) {
    let store = open(f).await;
    shop(&store).await;
    let page = |patterns: &'static [&'static str], options: ReadOptions| {
        let store = &store;
        async move {
            let page = store
                .read_all_selected_page(&sel(patterns), options)
                .await
                .unwrap();
            let covered = page.covered;
            (positions(&page.into_events().unwrap()), covered)
        }
    };
    let from = |p| ReadOptions::forwards().from(ReadFrom::At(p));
    // A read that finds fewer than asked looked up to the head.
    assert_eq!(
        page(&["List-8"], from(0).max_count(5)).await,
        (vec![10], Some(17))
    );
    assert_eq!(page(&[], from(3).max_count(5)).await, (vec![], Some(17)));
    // A full one up to its last event.
    assert_eq!(
        page(&["Item-*"], from(0).max_count(2)).await,
        (vec![6, 7], Some(7))
    );
    // Backwards, down to where it stopped.
    assert_eq!(
        page(&["List-8"], ReadOptions::backwards().max_count(5)).await,
        (vec![10], Some(0))
    );
}

pub async fn selected_reads_skip_big_holes_both_ways<F: Factory>(f: &F) {
    let store = open(f).await;
    store.append("a", vec![with_id(1)], Any).await.unwrap(); // 0
    let n = 3_000;
    let mut left = n;
    while left > 0 {
        let batch = left.min(500);
        let events = (0..batch).map(|i| ev("E", serde_json::json!(i))).collect();
        store.append("x", events, Any).await.unwrap();
        left -= batch;
    }
    store.append("b", vec![with_id(2)], Any).await.unwrap(); // n + 1
    store.append("x", vec![with_id(3)], Any).await.unwrap(); // n + 2
    let fwd = ReadOptions::forwards;
    let ab = ["a", "b"];
    assert_eq!(selected(&store, &ab, fwd()).await, [0, n + 1]);
    assert_eq!(selected(&store, &ab, fwd().max_count(2)).await, [0, n + 1]);
    assert_eq!(
        selected(&store, &ab, fwd().from(ReadFrom::At(1)).max_count(1)).await,
        [n + 1]
    );
    assert_eq!(
        selected(&store, &ab, ReadOptions::backwards().max_count(2)).await,
        [n + 1, 0]
    );
    assert_eq!(
        selected(&store, &["a"], ReadOptions::backwards().max_count(1)).await,
        [0]
    );
    // The hole is removed events of a selected stream: tombstoned, only its tombstone is left.
    store.tombstone_stream("x", Any).await.unwrap(); // n + 3
    assert_eq!(
        selected(&store, &["x", "b"], fwd().max_count(2)).await,
        [n + 1, n + 3]
    );
    assert_eq!(
        selected(&store, &["x"], ReadOptions::backwards().max_count(5)).await,
        [n + 3]
    );
}

pub async fn selected_reads_hide_what_retention_hides<F: Factory>(f: &F) {
    use super::lifecycle::{advance, clock};
    let options = evstore::StoreOptions {
        now: clock,
        ..evstore::StoreOptions::default()
    };
    let store = f.open(options).await;
    let max_age = StreamMetadata {
        max_age: Some(1),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata("x", max_age, Any).await.unwrap(); // 0
    store
        .append("x", vec![with_id(1), with_id(2)], Any)
        .await
        .unwrap(); // 1, 2
    store.append("y", vec![with_id(3)], Any).await.unwrap(); // 3
    advance(5_000);
    store.append("x", vec![with_id(4)], Any).await.unwrap(); // 4
    let xy = ["x", "y"];
    let fwd = ReadOptions::forwards;
    assert_eq!(selected(&store, &xy, fwd()).await, [0, 3, 4]);
    assert_eq!(selected(&store, &xy, fwd().max_count(2)).await, [0, 3]);
    assert_eq!(
        selected(&store, &["x"], fwd().from(ReadFrom::At(1)).max_count(1)).await,
        [4]
    );
    assert_eq!(
        selected(&store, &["x"], ReadOptions::backwards().max_count(2)).await,
        [4, 0]
    );
}
