//! The storage contract suite on `DurableObjectStorage`, inside a Durable Object in real workerd:
//! each case gets the object's SQLite emptied. `cargo test` does not run this file (`test =
//! false` in Cargo.toml: it needs workerd); tests/js/edge/do-suite.test.mjs builds and runs it.
#![cfg(all(target_arch = "wasm32", feature = "durable-object"))]

#[macro_use]
mod contract;
#[macro_use]
mod husks;
mod erasure;

contract_suite!(contract::durable_object::DurableObject);

mod lifecycle_primitives {
    //! The lifecycle primitives of the seam (husks, holes, pages), case by case.
    use super::{contract, husks};
    husk_suite!(contract::durable_object::DurableObject);
}

mod raw_erasure {
    //! Nothing removed stays in any `evstore_` table (tests/erasure/mod.rs).
    use super::{contract, erasure};
    use contract::Factory;
    use evstore::{EventStore, StoreOptions};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/tests/erasure/dump.js")]
    extern "C" {
        #[wasm_bindgen(js_name = dumpDurableObject)]
        fn dump_durable_object() -> String;
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn nothing_removed_stays_in_any_table() {
        let storage = contract::durable_object::DurableObject.storage().await;
        let store = EventStore::over(storage, StoreOptions::default());
        let markers = erasure::Markers::new();
        erasure::scenario(&store, &markers).await;
        store.close();
        erasure::assert_erased(&dump_durable_object(), &markers);
    }
}

mod selected_reads {
    //! A selection is read through the `(stream_id, position)` index: the rows SQLite reads are
    //! those of the selected streams, not the log's.
    use super::contract;
    use evstore::{
        DurableObjectStorage, EventStore, ExpectedRevision, ReadOptions, Selection, StoreOptions,
    };
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/tests/contract/durable_object.js")]
    extern "C" {
        #[wasm_bindgen(js_name = recordingStorage)]
        fn recording_storage() -> JsValue;
        /// Per selected read since the last call: `[rows read, rows returned, plan]`.
        #[wasm_bindgen(js_name = selectedReads)]
        fn selected_reads() -> Vec<js_sys::Array>;
    }

    /// `(events returned, rows SQLite read, plans)` of a forwards read of `patterns` (at most
    /// `max`): one query per 5 ranges (a stream or a prefix, and their `$$` counterparts).
    async fn read(store: &EventStore, patterns: &[&str], max: u64) -> (usize, u64, Vec<String>) {
        selected_reads();
        let selection = Selection::parse(patterns).unwrap();
        let options = ReadOptions::forwards().max_count(max);
        let events = store.read_all_selected(&selection, options).await.unwrap();
        let reads = selected_reads();
        assert_eq!(
            reads.len(),
            selection.ranges().len().div_ceil(5),
            "{patterns:?}"
        );
        let rows = reads
            .iter()
            .map(|r| r.get(0).as_f64().unwrap() as u64)
            .sum();
        let plans = reads
            .iter()
            .map(|r| r.get(1).as_string().unwrap())
            .collect();
        (events.len(), rows, plans)
    }

    /// Every plan searches the stream index, none scans the table.
    fn indexed(plans: &[String]) {
        for plan in plans {
            assert!(plan.contains("INDEX evstore_events_stream"), "{plan}");
            assert!(!plan.contains("SCAN evstore_events"), "{plan}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn a_selection_reads_only_its_streams_rows() {
        let storage = DurableObjectStorage::open(recording_storage()).unwrap();
        let store = EventStore::over(Rc::new(storage), StoreOptions::default());
        // 100 streams of 10 events, interleaved: 1,000 events, each stream's spread over the log.
        for round in 0..10 {
            for s in 0..100 {
                let event = contract::ev("E", serde_json::json!(round));
                store
                    .append(&format!("Doc-{s}"), vec![event], ExpectedRevision::Any)
                    .await
                    .unwrap();
            }
        }
        let (returned, rows, plans) = read(&store, &["Doc-7"], 100).await;
        assert_eq!(returned, 10);
        indexed(&plans);
        assert!(rows <= 2 * 10, "{rows} rows read for 10 events: {plans:?}");
        // Two streams, stopped at 5: the merge reads little past what it returns.
        let (returned, rows, plans) = read(&store, &["Doc-7", "Doc-42"], 5).await;
        assert_eq!(returned, 5);
        indexed(&plans);
        assert!(
            rows <= 2 * 5 + 4,
            "{rows} rows read for 5 events: {plans:?}"
        );
        // A prefix (Doc-1, Doc-10..Doc-19: 110 events) reads its range of the index: per event
        // an index entry and a row, against 1,000 rows for a scan of the log.
        let (returned, rows, plans) = read(&store, &["Doc-1*"], 1000).await;
        assert_eq!(returned, 110);
        indexed(&plans);
        assert!(
            rows <= 2 * 110 + 10,
            "{rows} rows read for 110 events: {plans:?}"
        );
        store.close();
    }
}
