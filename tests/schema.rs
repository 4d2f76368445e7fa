//! Schema evolution and causation through the public Rust API, on `MemoryStorage`: the stamp and
//! the reserved `$` keys on append, `with_schema`'s checks, upcasting on every read path (the
//! `*_page` reads keep the stored form), events of a newer app, failing steps, `caused_by`, and a
//! property test that reading with a schema is applying its steps to the stored form.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use evstore::{
    stored_version, Error, EventFilter, EventStore, ExpectedRevision, Json, MemoryStorage,
    ProposedEvent, ReadOptions, RecordedEvent, Schema, Selection, StoreOptions, StreamMetadata,
    SubscribeFrom, SubscribeOptions, SubscriptionMessage, UpcastError, CAUSATION_ID,
    CORRELATION_ID, SCHEMA_VERSION,
};
use futures::executor::block_on;
use serde_json::{json, Value};

const ANY: ExpectedRevision = ExpectedRevision::Any;

fn j(value: Value) -> Json {
    Json::from_value(&value).unwrap()
}

fn event(event_type: &str, data: Value) -> ProposedEvent {
    ProposedEvent::new(event_type, j(data))
}

fn with_meta(event_type: &str, data: Value, metadata: Value) -> ProposedEvent {
    event(event_type, data).with_metadata(j(metadata))
}

fn value(json: &Json) -> Value {
    json.to_value().unwrap()
}

/// Step `from` of `ItemAdded`: appends `from` to `data.steps`, and records the version the
/// event was stored with (steps see the event as stored).
fn step(from: u32) -> impl Fn(Value, &RecordedEvent) -> Result<Value, UpcastError> {
    move |mut data, stored| {
        let Value::Object(map) = &mut data else {
            return Err(format!("ItemAdded data must be an object, got {data}").into());
        };
        map.entry("steps")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .ok_or("steps must be an array")?
            .push(from.into());
        map.insert("storedAt".into(), stored_version(stored).into());
        Ok(data)
    }
}

/// `ItemAdded` at `version`, with every step.
fn item_schema(version: u32) -> Schema {
    (1..version).fold(Schema::new().event("ItemAdded", version), |s, from| {
        s.upcast("ItemAdded", from, step(from))
    })
}

/// A store over `memory` with `schema` (none: no schema).
fn store_on(memory: &Rc<MemoryStorage>, schema: Option<Schema>) -> EventStore {
    let store = EventStore::over(memory.clone(), StoreOptions::default());
    match schema {
        Some(schema) => store.with_schema(schema).unwrap(),
        None => store,
    }
}

async fn stored(store: &EventStore, stream: &str) -> Vec<RecordedEvent> {
    store
        .read_stream_page(stream, ReadOptions::forwards())
        .await
        .unwrap()
        .into_events()
        .unwrap()
}

#[test]
fn an_append_stamps_the_current_version_first_in_the_metadata() {
    block_on(async {
        let memory = Rc::new(MemoryStorage::new());
        let store = store_on(&memory, Some(item_schema(3)));
        store
            .append(
                "List-1",
                vec![
                    with_meta("ItemAdded", json!({"name": "milk"}), json!({"device": "a"})),
                    event("ItemAdded", json!({"name": "tea"})),
                    event("Renamed", json!({"name": "x"})),
                ],
                ExpectedRevision::NoStream,
            )
            .await
            .unwrap();
        // Whitespace in a metadata text parsed as given.
        let spaced = ProposedEvent::new("ItemAdded", Json::null())
            .with_metadata(Json::parse(" { \"a\" : [1, 2] } ").unwrap());
        store.append("List-1", vec![spaced], ANY).await.unwrap();
        let events = stored(&store, "List-1").await;
        let metadata: Vec<&str> = events.iter().map(|e| e.metadata.as_str()).collect();
        assert_eq!(metadata[0], r#"{"$schemaVersion":3,"device":"a"}"#);
        assert_eq!(metadata[1], r#"{"$schemaVersion":3}"#);
        assert_eq!(metadata[2], "{}", "a type without an entry is not stamped");
        assert!(metadata[3].starts_with(r#"{"$schemaVersion":3,"#));
        assert_eq!(
            value(&events[3].metadata),
            json!({"$schemaVersion": 3, "a": [1, 2]})
        );
        assert_eq!(
            events[0].data.as_str(),
            r#"{"name":"milk"}"#,
            "data as given"
        );
        assert!(events.iter().take(2).all(|e| stored_version(e) == 3));
        assert_eq!(stored_version(&events[2]), 1);
        // A store without a schema stamps nothing.
        let plain = store_on(&memory, None);
        plain
            .append("List-2", vec![event("ItemAdded", json!({}))], ANY)
            .await
            .unwrap();
        assert_eq!(stored(&plain, "List-2").await[0].metadata.as_str(), "{}");
        assert_eq!(
            store.schema().and_then(|s| s.version_of("ItemAdded")),
            Some(3)
        );
        assert!(plain.schema().is_none());
    });
}

#[test]
fn dollar_keys_in_a_callers_metadata_are_refused_and_nothing_is_written() {
    block_on(async {
        for schema in [None, Some(item_schema(2))] {
            let memory = Rc::new(MemoryStorage::new());
            let store = store_on(&memory, schema);
            let refused = [
                json!({"$schemaVersion": 2}),
                json!({"device": "a", "$x": 1}),
                json!({"$": true}),
            ];
            for metadata in refused {
                let batch = vec![
                    event("ItemAdded", json!({"name": "ok"})),
                    with_meta("ItemAdded", json!({}), metadata.clone()),
                ];
                let err = store.append("List-1", batch, ANY).await.unwrap_err();
                assert_eq!(err.code(), "INVALID_ARGUMENT", "{metadata}");
                let key = metadata
                    .as_object()
                    .unwrap()
                    .keys()
                    .find(|k| k.starts_with('$'))
                    .unwrap()
                    .clone();
                let message = err.to_string();
                assert!(message.contains("events[1].metadata"), "{message}");
                assert!(message.contains(&format!("{key:?}")), "{message}");
                assert!(message.contains("leave out $ keys"), "{message}");
            }
            // The key written with an escape is the same key.
            let escaped = ProposedEvent::new("ItemAdded", Json::null())
                .with_metadata(Json::parse(r#"{"\u0024schemaVersion":9}"#).unwrap());
            let err = store
                .append("List-1", vec![escaped], ANY)
                .await
                .unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert_eq!(
                store.head_position().await.unwrap(),
                None,
                "nothing written"
            );
            // Nested `$` keys and `$` in values are the app's.
            store
                .append(
                    "List-1",
                    vec![with_meta(
                        "ItemAdded",
                        json!({"$data": 1}),
                        json!({"nested": {"$ref": "x"}, "price": "$5", "list": [{"$y": 1}]}),
                    )],
                    ANY,
                )
                .await
                .unwrap();
            // System events are the store's: lifecycle writes still work.
            let metadata = StreamMetadata {
                max_count: Some(5),
                ..StreamMetadata::default()
            };
            store
                .set_stream_metadata("List-1", metadata, ANY)
                .await
                .unwrap();
            store.delete_stream("List-1", ANY).await.unwrap();
            store
                .append("List-2", vec![event("Noted", json!({}))], ANY)
                .await
                .unwrap();
            store.tombstone_stream("List-2", ANY).await.unwrap();
            let all = store.read_all(ReadOptions::forwards()).await.unwrap();
            let types: Vec<&str> = all.iter().map(|e| &*e.event_type).collect();
            assert!(types.contains(&"$metadata"), "{types:?}");
            assert!(types.contains(&"$streamDeleted"), "{types:?}");
        }
    });
}

#[test]
fn the_stamp_counts_in_the_size_limit() {
    block_on(async {
        let max = 64;
        let data = Json::parse(&format!("\"{}\"", "x".repeat(max - 4))).unwrap();
        let metadata = Json::empty_object();
        assert_eq!(data.byte_len() + metadata.byte_len(), max);
        let options = StoreOptions {
            max_event_bytes: max,
            ..StoreOptions::default()
        };
        let memory = Rc::new(MemoryStorage::new());
        let plain = EventStore::over(memory.clone(), options);
        let proposed = ProposedEvent::new("ItemAdded", data);
        plain
            .append("s", vec![proposed.clone()], ANY)
            .await
            .unwrap();
        let schema = Schema::new().event("ItemAdded", 1);
        let stamped = EventStore::over(memory.clone(), options)
            .with_schema(schema)
            .unwrap();
        let stamp = r#"{"$schemaVersion":1}"#.len();
        match stamped.append("s", vec![proposed.clone()], ANY).await {
            Err(Error::EventTooLarge {
                event_index, size, ..
            }) => {
                assert_eq!(event_index, 0);
                assert_eq!(size, max - 2 + stamp);
            }
            other => panic!("expected EVENT_TOO_LARGE, got {other:?}"),
        }
        // An event of a type without an entry is not stamped, so it fits.
        stamped
            .append(
                "s",
                vec![ProposedEvent {
                    event_type: "Other".into(),
                    ..proposed
                }],
                ANY,
            )
            .await
            .unwrap();
        assert_eq!(memory.live_len(), 2);
    });
}

#[test]
fn with_schema_refuses_a_schema_that_cannot_upcast_every_version() {
    let noop = |data: Value, _: &RecordedEvent| -> Result<Value, UpcastError> { Ok(data) };
    let refused: Vec<(Schema, &str)> = vec![
        (
            Schema::new()
                .event("ItemAdded", 3)
                .upcast("ItemAdded", 1, noop),
            "upcast[2] is missing",
        ),
        (Schema::new().event("ItemAdded", 2), "upcast[1] is missing"),
        (
            Schema::new()
                .event("ItemAdded", 2)
                .upcast("ItemAdded", 1, noop)
                .upcast("ItemAdded", 0, noop),
            "upcast[0]",
        ),
        (
            Schema::new()
                .event("ItemAdded", 2)
                .upcast("ItemAdded", 1, noop)
                .upcast("ItemAdded", 2, noop),
            "upcast[2]",
        ),
        (Schema::new().event("ItemAdded", 0), "version must be"),
        (
            Schema::new().event("ItemAdded", i32::MAX as u32 + 1),
            "version must be",
        ),
        (Schema::new().event("$metadata", 1), "\"$metadata\""),
        (Schema::new().event("", 1), "\"\""),
        (Schema::new().upcast("ItemAdded", 0, noop), "upcast[0]"),
    ];
    for (schema, says) in refused {
        let shown = format!("{schema:?}");
        let err = EventStore::new(MemoryStorage::new())
            .with_schema(schema)
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{shown}");
        assert!(err.to_string().contains(says), "{shown}: {err}");
    }
    let accepted = [
        Schema::new(),
        Schema::new().event("ItemAdded", 1),
        item_schema(4),
        // Steps alone declare the version one above the highest.
        Schema::new()
            .upcast("ItemAdded", 1, noop)
            .upcast("ItemAdded", 2, noop),
        // `event` after the steps wins.
        Schema::new()
            .upcast("ItemAdded", 1, noop)
            .event("ItemAdded", 2),
    ];
    let versions: Vec<Option<u32>> = accepted
        .into_iter()
        .map(|schema| {
            let store = EventStore::new(MemoryStorage::new())
                .with_schema(schema)
                .unwrap();
            store.schema().unwrap().version_of("ItemAdded")
        })
        .collect();
    assert_eq!(versions, [None, Some(1), Some(4), Some(3), Some(2)]);
}

/// A log written by three app versions: `List-1` holds ItemAdded v1 (no schema), v2 and v4
/// (newer than the reader's v3) events, with a `Renamed` (no entry) in between; `List-2` holds
/// a v1 event only.
async fn three_app_versions(memory: &Rc<MemoryStorage>) {
    let v1 = store_on(memory, None);
    let v2 = store_on(memory, Some(item_schema(2)));
    let v4 = store_on(memory, Some(item_schema(4)));
    let add = |name: &str| with_meta("ItemAdded", json!({"name": name}), json!({"device": name}));
    v1.append("List-1", vec![add("one")], ANY).await.unwrap();
    v2.append("List-1", vec![add("two")], ANY).await.unwrap();
    v1.append("List-1", vec![event("Renamed", json!({"to": "x"}))], ANY)
        .await
        .unwrap();
    v4.append("List-1", vec![add("four")], ANY).await.unwrap();
    v1.append("List-2", vec![add("other")], ANY).await.unwrap();
}

/// What a v3 reader must see of [`three_app_versions`]'s `List-1`, as (data, metadata).
fn upcast_list_1() -> Vec<(Value, Value)> {
    vec![
        (
            json!({"name": "one", "steps": [1, 2], "storedAt": 1}),
            json!({"$schemaVersion": 3, "device": "one"}),
        ),
        (
            json!({"name": "two", "steps": [2], "storedAt": 2}),
            json!({"$schemaVersion": 3, "device": "two"}),
        ),
        (json!({"to": "x"}), json!({})),
        (
            json!({"name": "four"}),
            json!({"$schemaVersion": 4, "device": "four"}),
        ),
    ]
}

fn shapes(events: &[RecordedEvent]) -> Vec<(Value, Value)> {
    events
        .iter()
        .map(|e| (value(&e.data), value(&e.metadata)))
        .collect()
}

#[test]
fn every_read_path_upcasts_and_the_page_reads_keep_the_stored_form() {
    block_on(async {
        let memory = Rc::new(MemoryStorage::new());
        three_app_versions(&memory).await;
        let reader = Rc::new(store_on(&memory, Some(item_schema(3))));
        let expected = upcast_list_1();

        let forwards = reader
            .read_stream("List-1", ReadOptions::forwards())
            .await
            .unwrap();
        assert_eq!(shapes(&forwards), expected);
        assert!(
            forwards[0]
                .metadata
                .as_str()
                .starts_with(r#"{"$schemaVersion":3,"#),
            "the version is set first: {}",
            forwards[0].metadata
        );
        let backwards = reader
            .read_stream("List-1", ReadOptions::backwards())
            .await
            .unwrap();
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(shapes(&backwards), reversed);
        let all = reader.read_all(ReadOptions::forwards()).await.unwrap();
        assert_eq!(shapes(&all[..4]), expected);
        assert_eq!(
            all[4].metadata.as_str(),
            r#"{"$schemaVersion":3,"device":"other"}"#
        );
        let selection = Selection::parse(&["List-1"]).unwrap();
        let selected = reader
            .read_all_selected(&selection, ReadOptions::backwards().max_count(3))
            .await
            .unwrap();
        assert_eq!(shapes(&selected), reversed[..3].to_vec());

        // The page reads: the stored form, byte for byte.
        let pages = [
            stored(&reader, "List-1").await,
            reader
                .read_all_page(ReadOptions::forwards().max_count(4))
                .await
                .unwrap()
                .into_events()
                .unwrap(),
            reader
                .read_all_selected_page(&selection, ReadOptions::forwards())
                .await
                .unwrap()
                .into_events()
                .unwrap(),
        ];
        let plain = store_on(&memory, None);
        let as_stored = stored(&plain, "List-1").await;
        for page in &pages {
            assert_eq!(page, &as_stored);
        }
        assert_eq!(as_stored[0].metadata.as_str(), r#"{"device":"one"}"#);
        assert_eq!(
            as_stored[1].metadata.as_str(),
            r#"{"$schemaVersion":2,"device":"two"}"#
        );
        assert_eq!(as_stored[0].data.as_str(), r#"{"name":"one"}"#);

        // Subscriptions: the catch-up, then live.
        let filter = EventFilter {
            stream_id: Some(evstore::StreamId::new("List-1").unwrap()),
            ..EventFilter::default()
        };
        let mut sub = reader
            .subscribe(SubscribeOptions {
                filter,
                ..SubscribeOptions::default()
            })
            .await
            .unwrap();
        let mut caught_up = Vec::new();
        loop {
            match sub.next().await.unwrap().unwrap() {
                SubscriptionMessage::Event(e) => caught_up.push(e),
                SubscriptionMessage::CaughtUp => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(shapes(&caught_up), expected);
        // An old app writes through another store on the same storage; the reader's own append
        // wakes the subscription, which then reads both.
        store_on(&memory, None)
            .append(
                "List-1",
                vec![event("ItemAdded", json!({"name": "late"}))],
                ANY,
            )
            .await
            .unwrap();
        reader
            .append(
                "List-1",
                vec![event("ItemAdded", json!({"name": "own"}))],
                ANY,
            )
            .await
            .unwrap();
        let mut live = Vec::new();
        while live.len() < 2 {
            match sub.next().await.unwrap().unwrap() {
                SubscriptionMessage::Event(e) => live.push(e),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            shapes(&live),
            [
                (
                    json!({"name": "late", "steps": [1, 2], "storedAt": 1}),
                    json!({"$schemaVersion": 3})
                ),
                (json!({"name": "own"}), json!({"$schemaVersion": 3})),
            ]
        );

        // Folding: upcast events, List-1 refused at its v4 event before evolve sees it.
        let evolve_calls = Cell::new(0);
        let fold = |mut names: Vec<Value>, e: &RecordedEvent| -> Result<Vec<Value>, Error> {
            evolve_calls.set(evolve_calls.get() + 1);
            if &*e.event_type == "ItemAdded" {
                names.push(value(&e.data));
            }
            Ok(names)
        };
        let err = reader
            .aggregate_stream("List-1", Vec::new(), fold)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::SchemaTooNew {
                stream_id: "List-1".into(),
                event_type: "ItemAdded".into(),
                version: 4,
            }
        );
        assert_eq!(err.code(), "SCHEMA_TOO_NEW");
        assert_eq!(evolve_calls.get(), 3, "evolve stopped before the v4 event");
        let other = reader
            .aggregate_stream("List-2", Vec::new(), fold)
            .await
            .unwrap();
        assert_eq!(
            other.state,
            [json!({"name": "other", "steps": [1, 2], "storedAt": 1})]
        );
        assert_eq!(other.revision, Some(0));
        // A reader at v4 folds everything.
        let v4 = store_on(&memory, Some(item_schema(4)));
        let folded = v4
            .aggregate_stream("List-1", Vec::new(), fold)
            .await
            .unwrap();
        assert_eq!(folded.state.len(), 5);
        assert_eq!(folded.state[2], json!({"name": "four"}));
        assert_eq!(folded.state[0]["steps"], json!([1, 2, 3]));

        // Nothing read rewrote the log.
        assert_eq!(stored(&plain, "List-1").await[..4], as_stored[..]);
        assert_eq!(stored(&plain, "List-2").await.len(), 1);
    });
}

#[test]
fn a_reader_without_an_entry_or_without_a_schema_reads_the_stored_form() {
    block_on(async {
        let memory = Rc::new(MemoryStorage::new());
        three_app_versions(&memory).await;
        let plain = store_on(&memory, None);
        let other_types = store_on(&memory, Some(Schema::new().event("Renamed", 1)));
        let as_stored = stored(&plain, "List-1").await;
        let read = plain.read_stream("List-1", ReadOptions::forwards()).await;
        assert_eq!(read.unwrap(), as_stored);
        let read = other_types
            .read_stream("List-1", ReadOptions::forwards())
            .await
            .unwrap();
        assert_eq!(read[0], as_stored[0]);
        assert_eq!(read[1], as_stored[1]);
        // The Renamed event (stored without a version) reads as v1, with the version set.
        assert_eq!(read[2].metadata.as_str(), r#"{"$schemaVersion":1}"#);
        assert_eq!(read[2].data, as_stored[2].data);
        let folded = plain
            .aggregate_stream("List-1", 0, |n, _| Ok::<_, Error>(n + 1))
            .await
            .unwrap();
        assert_eq!(folded.state, 4, "no schema: nothing is too new");
    });
}

#[test]
fn an_upcast_event_keeps_its_other_metadata_fields_as_stored() {
    block_on(async {
        let memory = Rc::new(MemoryStorage::new());
        let text = r#"{"z":1e2,"a":"\u00e9","n":{"b":1, "a":2}}"#;
        let written = ProposedEvent::new("ItemAdded", j(json!({"name": "x"})))
            .with_metadata(Json::parse(text).unwrap());
        store_on(&memory, None)
            .append("s", vec![written], ANY)
            .await
            .unwrap();
        let read = store_on(&memory, Some(item_schema(2)))
            .read_stream("s", ReadOptions::forwards())
            .await
            .unwrap();
        assert_eq!(
            read[0].metadata.as_str(),
            r#"{"$schemaVersion":2,"z":1e2,"a":"\u00e9","n":{"b":1, "a":2}}"#
        );
    });
}

#[test]
fn a_hosts_schema_stamps_and_refuses_too_new_events_but_leaves_upcasting_to_the_host() {
    block_on(async {
        let memory = Rc::new(MemoryStorage::new());
        three_app_versions(&memory).await;
        let host = Schema::host_versions(r#"[["ItemAdded",3]]"#).unwrap();
        let store = store_on(&memory, Some(host));
        store
            .append("List-3", vec![event("ItemAdded", json!({}))], ANY)
            .await
            .unwrap();
        assert_eq!(
            stored(&store, "List-3").await[0].metadata.as_str(),
            r#"{"$schemaVersion":3}"#
        );
        let read = store.read_stream("List-1", ReadOptions::forwards()).await;
        assert_eq!(read.unwrap(), stored(&store, "List-1").await);
        let err = store
            .aggregate_stream("List-1", (), |(), _| Ok::<_, Error>(()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "SCHEMA_TOO_NEW");
        for bad in ["", "{}", r#"[["ItemAdded"]]"#, r#"[["ItemAdded",-1]]"#] {
            let err = Schema::host_versions(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{bad}");
        }
        let zero = Schema::host_versions(r#"[["ItemAdded",0]]"#).unwrap();
        let err = EventStore::new(MemoryStorage::new())
            .with_schema(zero)
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
    });
}

#[derive(Debug)]
struct Unreadable(String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable: {}", self.0)
    }
}

impl std::error::Error for Unreadable {}

#[test]
fn a_failing_step_fails_the_read_with_upcast_failed() {
    block_on(async {
        let memory = Rc::new(MemoryStorage::new());
        three_app_versions(&memory).await;
        let failing = item_schema(3).upcast("ItemAdded", 2, |data, _| {
            if data["name"] == "one" {
                return Err(Box::new(Unreadable("one".into())) as UpcastError);
            }
            Ok(data)
        });
        let reader = Rc::new(store_on(&memory, Some(failing)));
        let ids: Vec<String> = stored(&reader, "List-1")
            .await
            .iter()
            .map(|e| e.id.to_string())
            .collect();
        let check = |err: Error| {
            assert_eq!(err.code(), "UPCAST_FAILED");
            let Error::UpcastFailed {
                event_id,
                event_type,
                version,
                cause,
            } = &err
            else {
                panic!("{err:?}");
            };
            assert_eq!(event_id, &ids[0]);
            assert_eq!(event_type, "ItemAdded");
            assert_eq!(*version, 2, "the version the failing step started from");
            let cause = cause.as_ref().unwrap();
            let boxed = cause.downcast_ref::<UpcastError>().unwrap();
            assert_eq!(boxed.to_string(), "unreadable: one");
            assert_eq!(boxed.downcast_ref::<Unreadable>().unwrap().0, "one");
            assert!(err.cause().is_some());
            assert!(err.to_string().contains(&ids[0]), "{err}");
        };
        check(
            reader
                .read_stream("List-1", ReadOptions::forwards())
                .await
                .unwrap_err(),
        );
        check(reader.read_all(ReadOptions::backwards()).await.unwrap_err());
        let selection = Selection::parse(&["List-*"]).unwrap();
        check(
            reader
                .read_all_selected(&selection, ReadOptions::forwards())
                .await
                .unwrap_err(),
        );
        check(
            reader
                .aggregate_stream("List-1", (), |(), _| Ok::<_, Error>(()))
                .await
                .unwrap_err(),
        );
        let mut sub = reader.subscribe(SubscribeOptions::default()).await.unwrap();
        check(sub.next().await.unwrap().unwrap_err());
        // Reads that do not reach the event still work; the page reads never upcast.
        let tail = reader
            .read_stream("List-1", ReadOptions::backwards().max_count(2))
            .await
            .unwrap();
        assert_eq!(tail.len(), 2);
        let all = reader.read_all_page(ReadOptions::forwards()).await.unwrap();
        assert_eq!(all.into_events().unwrap().len(), 5);
        // A subscription from after the failing event goes on.
        let mut after = reader
            .subscribe(SubscribeOptions {
                from: SubscribeFrom::After(0),
                ..SubscribeOptions::default()
            })
            .await
            .unwrap();
        assert!(matches!(
            after.next().await,
            Some(Ok(SubscriptionMessage::Event(e))) if e.position == 1
        ));
    });
}

#[test]
fn caused_by_sets_causation_and_correlation() {
    block_on(async {
        let store = store_on(&Rc::new(MemoryStorage::new()), Some(item_schema(2)));
        store
            .append(
                "Order-1",
                vec![
                    event("Placed", json!({})),
                    with_meta("Paid", json!({}), json!({"correlationId": "corr-7"})),
                    with_meta("Odd", json!({}), json!({"correlationId": 7})),
                    event("ItemAdded", json!({"name": "milk"})),
                ],
                ANY,
            )
            .await
            .unwrap();
        let causes = store
            .read_stream("Order-1", ReadOptions::forwards())
            .await
            .unwrap();
        let [placed, paid, odd, added] = &causes[..] else {
            panic!("{causes:?}");
        };
        let id = |e: &RecordedEvent| e.id.to_string();
        let proposed = vec![
            event("Shipped", json!({})).caused_by(placed),
            event("Shipped", json!({})).caused_by(paid),
            event("Shipped", json!({})).caused_by(odd),
            with_meta(
                "Shipped",
                json!({}),
                json!({"causationId": "mine", "note": 1}),
            )
            .caused_by(paid),
            with_meta("Shipped", json!({}), json!({"correlationId": null})).caused_by(placed),
            // An upcast read event (with `$schemaVersion`) is a cause like any other.
            event("ItemAdded", json!({"name": "tea"})).caused_by(added),
        ];
        store.append("Order-2", proposed, ANY).await.unwrap();
        let written = stored(&store, "Order-2").await;
        let metadata: Vec<Value> = written.iter().map(|e| value(&e.metadata)).collect();
        assert_eq!(
            metadata,
            [
                json!({CAUSATION_ID: id(placed), CORRELATION_ID: id(placed)}),
                json!({CAUSATION_ID: id(paid), CORRELATION_ID: "corr-7"}),
                json!({CAUSATION_ID: id(odd), CORRELATION_ID: id(odd)}),
                json!({CAUSATION_ID: "mine", CORRELATION_ID: "corr-7", "note": 1}),
                json!({CAUSATION_ID: id(placed), CORRELATION_ID: null}),
                json!({SCHEMA_VERSION: 2, CAUSATION_ID: id(added), CORRELATION_ID: id(added)}),
            ]
        );
        // The chain keeps its correlation id: an effect of an effect.
        let effect = &written[1];
        store
            .append(
                "Order-3",
                vec![event("Archived", json!({})).caused_by(effect)],
                ANY,
            )
            .await
            .unwrap();
        let archived = &stored(&store, "Order-3").await[0];
        assert_eq!(
            value(&archived.metadata),
            json!({CAUSATION_ID: id(effect), CORRELATION_ID: "corr-7"})
        );
    });
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    //! Reading with a schema is applying its steps to the stored form; the stored form never
    //! changes.

    use super::*;
    use proptest::prelude::*;

    /// One append: which app version writes it (0: no schema), the stream, the type, the data.
    #[derive(Debug, Clone)]
    struct Write {
        writer: u32,
        stream: u8,
        item: bool,
        data: Value,
        metadata: Option<Value>,
    }

    fn write() -> impl Strategy<Value = Write> {
        let data = prop_oneof![
            Just(json!({})),
            "[a-z]{0,4}".prop_map(|s| json!({ "name": s })),
            (0i64..100).prop_map(|n| json!({ "n": n, "steps": [] })),
            Just(json!({"name": {"nested": [1, 2.5, null]}})),
        ];
        let metadata = prop::option::of(prop_oneof![
            Just(json!({"device": "d"})),
            Just(json!({"nested": {"$v": 1}, "z": [true]})),
        ]);
        (0u32..5, 0u8..3, any::<bool>(), data, metadata).prop_map(
            |(writer, stream, item, data, metadata)| Write {
                writer,
                stream,
                item,
                data,
                metadata,
            },
        )
    }

    /// What a reader at `version` must make of `stored`, by the definition.
    fn by_definition(stored: &RecordedEvent, version: u32) -> (Value, Value) {
        let data = value(&stored.data);
        let metadata = value(&stored.metadata);
        if &*stored.event_type != "ItemAdded" {
            return (data, metadata);
        }
        let from = match metadata.get(SCHEMA_VERSION).and_then(Value::as_u64) {
            Some(v) if v >= 1 => v as u32,
            _ => 1,
        };
        if from > version {
            return (data, metadata);
        }
        let data = (from..version).fold(data, |d, v| step(v)(d, stored).unwrap());
        let mut metadata = metadata;
        metadata[SCHEMA_VERSION] = version.into();
        (data, metadata)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        #[test]
        fn reading_with_a_schema_applies_its_steps_to_the_stored_form(
            writes in prop::collection::vec(write(), 1..25),
            reader_version in 1u32..5,
        ) {
            block_on(async {
                let memory = Rc::new(MemoryStorage::new());
                let writers: Vec<EventStore> = (0..5)
                    .map(|v| store_on(&memory, (v > 0).then(|| item_schema(v))))
                    .collect();
                for w in &writes {
                    let t = if w.item { "ItemAdded" } else { "Noted" };
                    let mut e = event(t, w.data.clone());
                    if let Some(m) = &w.metadata {
                        e = e.with_metadata(j(m.clone()));
                    }
                    writers[w.writer as usize]
                        .append(&format!("s-{}", w.stream), vec![e], ANY)
                        .await
                        .unwrap();
                }
                let dump = memory.raw_dump();
                let reader = store_on(&memory, Some(item_schema(reader_version)));
                let as_stored = reader
                    .read_all_page(ReadOptions::forwards())
                    .await
                    .unwrap()
                    .into_events()
                    .unwrap();
                prop_assert_eq!(as_stored.len(), writes.len());
                for (e, w) in as_stored.iter().zip(&writes) {
                    let stamped = w.item && w.writer > 0;
                    prop_assert_eq!(e.metadata.as_str().starts_with(r#"{"$schemaVersion":"#), stamped);
                    prop_assert_eq!(stored_version(e), if stamped { w.writer } else { 1 });
                }
                let read = reader.read_all(ReadOptions::forwards()).await.unwrap();
                let expected: Vec<(Value, Value)> =
                    as_stored.iter().map(|e| by_definition(e, reader_version)).collect();
                prop_assert_eq!(shapes(&read), expected.clone());
                for (r, s) in read.iter().zip(&as_stored) {
                    prop_assert_eq!((r.id, r.position, r.revision, r.created_at), (s.id, s.position, s.revision, s.created_at));
                    prop_assert_eq!(&r.stream_id, &s.stream_id);
                }
                let mut backwards = reader.read_all(ReadOptions::backwards()).await.unwrap();
                backwards.reverse();
                prop_assert_eq!(&backwards, &read);
                for s in 0..3u8 {
                    let stream = format!("s-{s}");
                    let events = reader.read_stream(&stream, ReadOptions::forwards()).await.unwrap();
                    let want: Vec<RecordedEvent> =
                        read.iter().filter(|e| e.stream_id.as_str() == stream).cloned().collect();
                    prop_assert_eq!(events, want);
                }
                prop_assert_eq!(memory.raw_dump(), dump, "reads never change the stored form");
                Ok(())
            })?;
        }
    }
}
