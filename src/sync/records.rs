//! What a synced store keeps in its storage's meta area, and how each record is written: small
//! JSON arrays, encoded and decoded by hand (no JSON library in the wasm build).
//!
//! - `sync/state`: `[confirmed, generation, nextSeq, epoch, resetting, pending, removals?]` — the last
//!   confirmed position (`null` before the first), how many times the pending tail was rewritten,
//!   the next outbox sequence number, the server log's epoch (`null` before the first
//!   connection), whether the client is pulling a replaced server log from its start (`1`, else
//!   `0`), how many appends are queued (the outbox's size, for a cheap status), and the last
//!   ingests that removed confirmed events (`[[generation, lowest position], …]`, absent if none).
//! - `sync/outbox/{seq}`: `[streamId, expectedRevision, count, createdAt, detached, kind?]` — one
//!   queued local append, in append order; `kind` is `"m"`, `"d"` or `"t"` for a lifecycle call
//!   (set metadata, delete, tombstone: `count` 1, its event), absent for events. Its `count` events are in the local log's pending tail, in
//!   the same order as the outbox; `detached` (rows, else `null`) holds them instead when they
//!   cannot stay in the log (their ids were stored by someone else).
//! - `sync/conflict/{streamId}`: `[seq, expectedRevision, actualRevision, code, message, theirs,
//!   fromServer, withheld?]` — a held stream: the outbox entry of the conflicting append (it and the
//!   stream's later entries are held), its condition, the stream's revision, the error code and
//!   message of a rejection (`null` for a revision conflict), the events after the expected
//!   revision (rows), and whether the server said so (`1`) or the client foresaw it from its
//!   confirmed log (`0`: the local log then tells the freshest `actual` and `theirs`); a trailing
//!   `1` when the server withheld `theirs` (the token may not read the stream).
//! - `sync/selection`: `["List-7", "Item-7-*"]` — the streams the device holds (its sync
//!   selection, normalized) since it last opened; absent (a store synced before partial sync, or
//!   never synced): every stream.

use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::json::{push_quoted, Json};
use crate::model::{ExpectedRevision, Position, Revision, StreamId};
use crate::row::{decode_rows, encode_rows, push_u64, Reader};
use crate::selection::Selection;

/// The key of the sync state.
pub(crate) const STATE: &str = "sync/state";
/// The prefix of outbox entries.
pub(crate) const OUTBOX: &str = "sync/outbox/";
/// The prefix of conflict records.
pub(crate) const CONFLICT: &str = "sync/conflict/";
/// The key of the selection the device holds.
pub(crate) const SELECTION: &str = "sync/selection";

fn corrupt() -> Error {
    Error::storage("a sync record in the store is malformed")
}

/// The sync state of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SyncState {
    /// The last position of the confirmed prefix.
    pub confirmed: Option<Position>,
    /// Bumped each time the pending tail is rewritten (subscriptions watch it).
    pub generation: u64,
    /// The sequence number of the next outbox entry.
    pub next_seq: u64,
    /// The server log's identity.
    pub epoch: Option<String>,
    /// Pulling a replaced server log from its start: queued appends wait (detached) until it is
    /// all in, then are decided again on top of it.
    pub resetting: bool,
    /// How many appends are queued.
    pub pending: u64,
    /// The last [`REMOVALS_KEPT`] ingests that removed confirmed events: `(generation, lowest
    /// position removed)`, oldest first (subscriptions that delivered them rebase).
    pub removals: Vec<(u64, Position)>,
    /// The id and position of the last event the confirmed prefix took from the server, removed
    /// since or not (both sides keep a removed event's id at its position): a pull names it, so
    /// that a server holding another log is found out even when every confirmed event was
    /// removed here. `None`: not known (a store synced by an older version), look one up.
    pub anchor: Option<(uuid::Uuid, Position)>,
}

/// How many removals of confirmed events the sync state remembers.
pub(crate) const REMOVALS_KEPT: usize = 16;

impl SyncState {
    /// The first position of the pending tail.
    pub fn tail_start(&self) -> Position {
        self.confirmed.map_or(0, |p| p + 1)
    }

    pub fn encode(&self) -> Json {
        let mut out = String::from("[");
        push_opt_u64(&mut out, self.confirmed);
        out.push(',');
        push_u64(&mut out, self.generation);
        out.push(',');
        push_u64(&mut out, self.next_seq);
        out.push(',');
        match &self.epoch {
            Some(e) => push_quoted(&mut out, e),
            None => out.push_str("null"),
        }
        out.push_str(if self.resetting { ",1," } else { ",0," });
        push_u64(&mut out, self.pending);
        if !self.removals.is_empty() || self.anchor.is_some() {
            out.push_str(",[");
            for (i, (generation, position)) in self.removals.iter().enumerate() {
                out.push_str(if i == 0 { "[" } else { ",[" });
                push_u64(&mut out, *generation);
                out.push(',');
                push_u64(&mut out, *position);
                out.push(']');
            }
            out.push(']');
        }
        if let Some((id, position)) = self.anchor {
            out.push_str(",[");
            push_quoted(&mut out, &id.to_string());
            out.push(',');
            push_u64(&mut out, position);
            out.push(']');
        }
        out.push(']');
        Json::trusted(out)
    }

    pub fn decode(json: &Json) -> Result<Self> {
        let mut r = Reader::new(json.as_str());
        let state = (|| {
            r.expect(b'[')?;
            let confirmed = opt_u64(r.value()?)?;
            let generation = r.next_integer()?;
            let next_seq = r.next_integer()?;
            let epoch = opt_string(r.next_value()?)?;
            let resetting = r.next_integer()? == 1;
            let pending = r.next_integer()?;
            let mut removals = Vec::new();
            if r.eat(b',') {
                r.expect(b'[')?;
                while !r.eat(b']') {
                    if !removals.is_empty() {
                        r.expect(b',')?;
                    }
                    r.expect(b'[')?;
                    let generation = r.integer()?;
                    let position = r.next_integer()?;
                    r.expect(b']')?;
                    removals.push((generation, position));
                }
            }
            let mut anchor = None;
            if r.eat(b',') {
                r.expect(b'[')?;
                let id = uuid::Uuid::try_parse(&r.string()?).ok()?;
                let position = r.next_integer()?;
                r.expect(b']')?;
                anchor = Some((id, position));
            }
            r.expect(b']')?;
            Some(SyncState {
                confirmed,
                generation,
                next_seq,
                epoch,
                resetting,
                pending,
                removals,
                anchor,
            })
        })();
        state.filter(|_| r.at_end()).ok_or_else(corrupt)
    }
}

/// The record of `selection`: its patterns as a JSON array of strings.
pub(crate) fn encode_selection(selection: &Selection) -> Json {
    let mut out = String::new();
    super::wire::push_patterns(&mut out, selection);
    Json::trusted(out)
}

/// Reads a selection record (see [`encode_selection`]).
pub(crate) fn decode_selection(json: &Json) -> Result<Selection> {
    let mut r = Reader::new(json.as_str());
    let patterns = (|| {
        r.expect(b'[')?;
        let mut patterns = Vec::new();
        while !r.eat(b']') {
            if !patterns.is_empty() {
                r.expect(b',')?;
            }
            patterns.push(r.string()?.into_owned());
        }
        Some(patterns)
    })()
    .filter(|_| r.at_end())
    .ok_or_else(corrupt)?;
    Selection::parse(&patterns).map_err(|_| corrupt())
}

/// What a queued append does: its events, or a lifecycle change of its stream (its one event
/// is the lifecycle event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum EntryKind {
    /// An ordinary append.
    #[default]
    Events,
    /// `setStreamMetadata` (`"m"`).
    Metadata,
    /// `deleteStream` (`"d"`).
    Delete,
    /// `tombstoneStream` (`"t"`).
    Tombstone,
}

impl EntryKind {
    fn code(self) -> Option<&'static str> {
        match self {
            EntryKind::Events => None,
            EntryKind::Metadata => Some("m"),
            EntryKind::Delete => Some("d"),
            EntryKind::Tombstone => Some("t"),
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "m" => EntryKind::Metadata,
            "d" => EntryKind::Delete,
            "t" => EntryKind::Tombstone,
            _ => return None,
        })
    }

    /// Whether this is a lifecycle change (delete or tombstone: it removes events).
    pub fn removes(self) -> bool {
        matches!(self, EntryKind::Delete | EntryKind::Tombstone)
    }
}

/// One queued local append.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutboxEntry {
    pub seq: u64,
    pub stream_id: StreamId,
    pub expected: ExpectedRevision,
    pub count: usize,
    pub created_at: u64,
    /// The events when they are not in the log.
    pub detached: Option<Vec<RecordedEvent>>,
    /// What the append does (a trailing code in the record; absent for events, as in the
    /// records of older versions).
    pub kind: EntryKind,
}

impl OutboxEntry {
    pub fn key(seq: u64) -> String {
        format!("{OUTBOX}{seq:020}")
    }

    pub fn encode(&self) -> Json {
        let mut out = String::from("[");
        push_quoted(&mut out, self.stream_id.as_str());
        out.push(',');
        push_expected(&mut out, self.expected);
        out.push(',');
        push_u64(&mut out, self.count as u64);
        out.push(',');
        push_u64(&mut out, self.created_at);
        out.push(',');
        match &self.detached {
            Some(events) => out.push_str(&encode_rows(events)),
            None => out.push_str("null"),
        }
        if let Some(code) = self.kind.code() {
            out.push_str(",\"");
            out.push_str(code);
            out.push('"');
        }
        out.push(']');
        Json::trusted(out)
    }

    pub fn decode(key: &str, json: &Json) -> Result<Self> {
        let seq = key
            .strip_prefix(OUTBOX)
            .and_then(|s| s.parse().ok())
            .ok_or_else(corrupt)?;
        let mut r = Reader::new(json.as_str());
        let entry = (|| {
            r.expect(b'[')?;
            let stream = r.string()?;
            let expected = expected_from(r.next_value()?)?;
            let count = r.next_integer()? as usize;
            let created_at = r.next_integer()?;
            let detached = r.next_value()?;
            let kind = if r.eat(b',') {
                EntryKind::from_code(&r.string()?)?
            } else {
                EntryKind::Events
            };
            r.expect(b']')?;
            Some((stream, expected, count, created_at, detached, kind))
        })()
        .filter(|_| r.at_end())
        .ok_or_else(corrupt)?;
        let (stream, expected, count, created_at, detached, kind) = entry;
        Ok(OutboxEntry {
            kind,
            seq,
            stream_id: StreamId::new(&stream).map_err(|_| corrupt())?,
            expected,
            count,
            created_at,
            detached: match detached {
                "null" => None,
                rows => Some(decode_rows(rows)?),
            },
        })
    }
}

/// A held stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConflictRecord {
    /// The outbox entry of the conflicting append.
    pub seq: u64,
    pub expected: ExpectedRevision,
    pub actual: Option<Revision>,
    /// `(code, message)` of a rejection; `None` for a revision conflict.
    pub rejection: Option<(String, String)>,
    pub theirs: Vec<RecordedEvent>,
    /// The server's answer (else foreseen locally).
    pub from_server: bool,
    /// The server withheld `theirs`: the token may not read the stream.
    pub withheld: bool,
}

impl ConflictRecord {
    pub fn key(stream: &StreamId) -> String {
        format!("{CONFLICT}{stream}")
    }

    pub fn encode(&self) -> Json {
        let mut out = String::from("[");
        push_u64(&mut out, self.seq);
        out.push(',');
        push_expected(&mut out, self.expected);
        out.push(',');
        push_opt_u64(&mut out, self.actual);
        out.push(',');
        match &self.rejection {
            Some((code, message)) => {
                push_quoted(&mut out, code);
                out.push(',');
                push_quoted(&mut out, message);
            }
            None => out.push_str("null,null"),
        }
        out.push(',');
        out.push_str(&encode_rows(&self.theirs));
        out.push_str(if self.from_server { ",1" } else { ",0" });
        out.push_str(if self.withheld { ",1]" } else { "]" });
        Json::trusted(out)
    }

    pub fn decode(json: &Json) -> Result<Self> {
        let mut r = Reader::new(json.as_str());
        let parts = (|| {
            r.expect(b'[')?;
            let seq = r.integer()?;
            let expected = expected_from(r.next_value()?)?;
            let actual = opt_u64(r.next_value()?)?;
            let code = opt_string(r.next_value()?)?;
            let message = opt_string(r.next_value()?)?;
            let theirs = r.next_value()?;
            let from_server = r.next_integer()? == 1;
            let withheld = r.eat(b',') && r.integer()? == 1;
            r.expect(b']')?;
            Some((
                seq,
                expected,
                actual,
                code,
                message,
                theirs,
                from_server,
                withheld,
            ))
        })()
        .filter(|_| r.at_end())
        .ok_or_else(corrupt)?;
        let (seq, expected, actual, code, message, theirs, from_server, withheld) = parts;
        Ok(ConflictRecord {
            seq,
            expected,
            actual,
            rejection: code.map(|c| (c, message.unwrap_or_default())),
            theirs: decode_rows(theirs)?,
            from_server,
            withheld,
        })
    }
}

/// The stream id of a conflict record's key.
pub(crate) fn conflict_stream(key: &str) -> Result<StreamId> {
    key.strip_prefix(CONFLICT)
        .and_then(|s| StreamId::new(s).ok())
        .ok_or_else(corrupt)
}

fn push_opt_u64(out: &mut String, n: Option<u64>) {
    match n {
        Some(n) => push_u64(out, n),
        None => out.push_str("null"),
    }
}

/// An expected revision as JSON: `"any"`, `"no_stream"`, `"stream_exists"` or the revision.
pub(crate) fn push_expected(out: &mut String, expected: ExpectedRevision) {
    match expected {
        ExpectedRevision::Any => out.push_str("\"any\""),
        ExpectedRevision::NoStream => out.push_str("\"no_stream\""),
        ExpectedRevision::StreamExists => out.push_str("\"stream_exists\""),
        ExpectedRevision::Exact(n) => push_u64(out, n),
    }
}

fn expected_from(text: &str) -> Option<ExpectedRevision> {
    Some(match text {
        "\"any\"" => ExpectedRevision::Any,
        "\"no_stream\"" => ExpectedRevision::NoStream,
        "\"stream_exists\"" => ExpectedRevision::StreamExists,
        n => ExpectedRevision::Exact(n.parse().ok()?),
    })
}

fn opt_u64(text: &str) -> Option<Option<u64>> {
    match text {
        "null" => Some(None),
        n => n.parse().ok().map(Some),
    }
}

fn opt_string(text: &str) -> Option<Option<String>> {
    match text {
        "null" => Some(None),
        s => Reader::new(s).string().map(|s| Some(s.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn event(n: u64) -> RecordedEvent {
        RecordedEvent {
            id: uuid::Uuid::from_u128(u128::from(n) + 1),
            stream_id: StreamId::new("Cart-\"1\"").unwrap(),
            event_type: Rc::from("Added"),
            revision: n,
            position: n + 10,
            data: Json::parse(r#"{"a":[1,"]"]}"#).unwrap(),
            metadata: Json::empty_object(),
            created_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn records_round_trip() {
        for state in [
            SyncState::default(),
            SyncState {
                confirmed: Some(41),
                generation: 3,
                next_seq: 9,
                epoch: Some("e-\"1\"".into()),
                resetting: true,
                pending: 12,
                removals: vec![(2, 7), (3, 0)],
                anchor: None,
            },
            SyncState {
                confirmed: Some(41),
                anchor: Some((uuid::Uuid::from_u128(0xab), 40)),
                ..SyncState::default()
            },
            SyncState {
                confirmed: Some(9),
                removals: vec![(1, 2)],
                anchor: Some((uuid::Uuid::from_u128(7), 9)),
                ..SyncState::default()
            },
        ] {
            assert_eq!(SyncState::decode(&state.encode()).unwrap(), state);
        }
        for expected in [
            ExpectedRevision::Any,
            ExpectedRevision::NoStream,
            ExpectedRevision::StreamExists,
            ExpectedRevision::Exact(7),
        ] {
            let kinds = [
                EntryKind::Events,
                EntryKind::Metadata,
                EntryKind::Delete,
                EntryKind::Tombstone,
            ];
            for detached in [None, Some(vec![event(0), event(1)])] {
                for kind in kinds {
                    let entry = OutboxEntry {
                        seq: 12,
                        stream_id: StreamId::new("Cart-\"1\"").unwrap(),
                        expected,
                        count: 2,
                        created_at: 5,
                        detached: detached.clone(),
                        kind,
                    };
                    let key = OutboxEntry::key(12);
                    assert_eq!(OutboxEntry::decode(&key, &entry.encode()).unwrap(), entry);
                }
            }
            let record = ConflictRecord {
                seq: 3,
                expected,
                actual: Some(4),
                rejection: Some(("DUPLICATE_EVENT_ID".into(), "id \"x\"".into())),
                theirs: vec![event(3)],
                from_server: true,
                withheld: expected == ExpectedRevision::Any,
            };
            assert_eq!(ConflictRecord::decode(&record.encode()).unwrap(), record);
        }
        for patterns in [&["*"][..], &[][..], &["List-\"7\"", "Item-7-*"][..]] {
            let selection = Selection::parse(patterns).unwrap();
            let json = encode_selection(&selection);
            assert_eq!(decode_selection(&json).unwrap(), selection, "{json}");
        }
        assert!(OutboxEntry::key(2) < OutboxEntry::key(10));
        // A record of an older version (no kind) is an append of events.
        let old = OutboxEntry::decode(
            &OutboxEntry::key(3),
            &Json::trusted(r#"["S","any",1,5,null]"#),
        )
        .unwrap();
        assert_eq!((old.kind, old.count), (EntryKind::Events, 1));
        let tombstone = Json::trusted(r#"["S",2,1,5,null,"t"]"#);
        assert_eq!(
            OutboxEntry::decode(&OutboxEntry::key(3), &tombstone)
                .unwrap()
                .kind,
            EntryKind::Tombstone
        );
    }

    #[test]
    fn damaged_records_are_storage_errors() {
        for bad in ["", "[", "[1,2]", "[null,0,0,null]x", "{}"] {
            let e = SyncState::decode(&Json::trusted(bad)).unwrap_err();
            assert_eq!(e.code(), "STORAGE_ERROR", "{bad}");
        }
        assert!(OutboxEntry::decode("sync/outbox/x", &Json::trusted("[]")).is_err());
        let unknown = Json::trusted(r#"["S","any",1,5,null,"x"]"#);
        assert!(OutboxEntry::decode(&OutboxEntry::key(1), &unknown).is_err());
        assert!(ConflictRecord::decode(&Json::trusted("[1,2]")).is_err());
        for bad in ["", "[", "[\"a\",]", "[\"a*b\"]", "[1]", "[\"a\"]x"] {
            assert!(decode_selection(&Json::trusted(bad)).is_err(), "{bad}");
        }
    }
}
