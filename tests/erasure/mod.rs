//! Raw-scan erasure: events and metadata carrying a marker string are removed (soft delete,
//! tombstone, truncateBefore, maxCount, superseded metadata), then the test crate dumps its
//! storage raw — every IndexedDB object store through cursors, every `evstore_` SQL table — and
//! asserts that the marker is nowhere, while a control marker in data that stays is found (so
//! the dump provably sees stored payloads).
#![allow(dead_code)] // each test crate uses the parts its storage needs

use evstore::{
    Error, EventStore, ExpectedRevision, Json, ProposedEvent, ReadOptions, StreamMetadata,
};

/// The markers of one run: `erased` must be gone from storage, `kept` must still be there.
pub struct Markers {
    /// In every payload that the scenario removes.
    pub erased: String,
    /// In the payload of an event that stays.
    pub kept: String,
}

impl Markers {
    /// Fresh markers (`ERASE-ME-<uuid>`, `KEEP-ME-<uuid>`).
    pub fn new() -> Self {
        Markers {
            erased: format!("ERASE-ME-{}", evstore::Uuid::now_v7()),
            kept: format!("KEEP-ME-{}", evstore::Uuid::now_v7()),
        }
    }
}

fn marked(marker: &str, n: usize) -> ProposedEvent {
    ProposedEvent::new(
        "Noted",
        Json::parse(&format!(r#"{{"note":"{marker}","n":{n}}}"#)).unwrap(),
    )
    .with_metadata(Json::parse(&format!(r#"{{"by":"{marker}"}}"#)).unwrap())
}

fn metadata(json: &str) -> StreamMetadata {
    StreamMetadata::from_json(&Json::parse(json).unwrap()).unwrap()
}

/// Writes the marker everywhere the lifecycle must erase it, then erases it through every
/// lifecycle path; checks the reads on the way. The caller then scans its storage raw.
pub async fn scenario(store: &EventStore, m: &Markers) {
    let any = ExpectedRevision::Any;
    let all = |n: usize| (0..n).map(|i| marked(&m.erased, i)).collect::<Vec<_>>();
    let custom = |marker: &str| metadata(&format!(r#"{{"custom":{{"owner":"{marker}"}}}}"#));

    // A soft delete: the events, and metadata whose custom data held the marker once.
    store.append("Del-1", all(3), any).await.unwrap();
    store
        .set_stream_metadata("Del-1", custom(&m.erased), any)
        .await
        .unwrap();
    store
        .set_stream_metadata("Del-1", custom("nobody"), any)
        .await
        .unwrap();
    store.delete_stream("Del-1", any).await.unwrap();

    // A tombstone: the events and the stream's metadata (custom with the marker) go.
    store.append("Tomb-1", all(4), any).await.unwrap();
    store
        .set_stream_metadata("Tomb-1", custom(&m.erased), any)
        .await
        .unwrap();
    store.tombstone_stream("Tomb-1", any).await.unwrap();

    // truncateBefore: revisions 0..=2 carry the marker, 3 and 4 do not.
    store.append("Trunc-1", all(3), any).await.unwrap();
    let clean = vec![marked("clean", 3), marked("clean", 4)];
    store.append("Trunc-1", clean, any).await.unwrap();
    store
        .set_stream_metadata("Trunc-1", metadata(r#"{"truncateBefore":3}"#), any)
        .await
        .unwrap();

    // maxCount 2, set first: the appends themselves push the marked events out.
    store
        .set_stream_metadata("Max-1", metadata(r#"{"maxCount":2}"#), any)
        .await
        .unwrap();
    store.append("Max-1", all(3), any).await.unwrap();
    store
        .append("Max-1", vec![marked("clean", 1)], any)
        .await
        .unwrap();
    store
        .append("Max-1", vec![marked("clean", 2)], any)
        .await
        .unwrap();

    // The control: an event that stays.
    store
        .append("Keep-1", vec![marked(&m.kept, 0)], any)
        .await
        .unwrap();

    // The reads agree.
    let text = |events: &[evstore::RecordedEvent]| {
        events
            .iter()
            .map(|e| format!("{} {} {}", e.event_type, e.data, e.metadata))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let log = store.read_all(ReadOptions::default()).await.unwrap();
    assert!(!text(&log).contains(&m.erased), "readAll: {}", text(&log));
    assert!(text(&log).contains(&m.kept));
    let revisions =
        |events: Vec<evstore::RecordedEvent>| events.iter().map(|e| e.revision).collect::<Vec<_>>();
    let read = |s: &'static str| store.read_stream(s, ReadOptions::default());
    assert_eq!(revisions(read("Del-1").await.unwrap()), Vec::<u64>::new());
    assert!(matches!(
        read("Tomb-1").await,
        Err(Error::StreamDeleted { ref stream_id }) if stream_id == "Tomb-1"
    ));
    assert_eq!(revisions(read("Trunc-1").await.unwrap()), [3, 4]);
    assert_eq!(revisions(read("Max-1").await.unwrap()), [3, 4]);
}

/// Asserts that `dump` (a storage's raw contents as text) holds no erased marker but the kept one.
pub fn assert_erased(dump: &str, m: &Markers) {
    assert!(
        dump.contains(&m.kept),
        "the raw dump does not show stored payloads: {dump}"
    );
    if let Some(at) = dump.find(&m.erased) {
        let from = dump[..at]
            .char_indices()
            .rev()
            .nth(300)
            .map_or(0, |(i, _)| i);
        let to = (at + 300).min(dump.len());
        let to = (to..=dump.len())
            .find(|&i| dump.is_char_boundary(i))
            .unwrap_or(dump.len());
        panic!("the erased marker is still stored: …{}…", &dump[from..to]);
    }
}
