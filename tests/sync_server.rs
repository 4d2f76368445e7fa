//! The shipped `SyncServer`, through its text interface: what the edge service's host sends
//! for each client message (edge/PROTOCOL.md, protocol v3).

#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use evstore::sync::{
    Access, Feed, Served, SyncServer, CLOSE_UNAUTHENTICATED, CLOSE_UPGRADE_REQUIRED,
};
use evstore::{EventStore, ExpectedRevision, Json, MemoryStorage, ProposedEvent, RecordedEvent};
use futures::executor::block_on;
use serde_json::Value;

fn all() -> Access {
    Access {
        read: true,
        append: true,
        delete: true,
        expired: false,
        streams: evstore::Selection::all(),
    }
}

type Server = SyncServer;

fn server() -> Server {
    let store = Rc::new(EventStore::new(MemoryStorage::new()));
    SyncServer::new(store, "epoch-1", 1000)
}

fn append(s: &Server, stream: &str, n: usize) {
    let events = (0..n)
        .map(|i| ProposedEvent::new("E", Json::parse(&format!("{{\"i\":{i}}}")).unwrap()))
        .collect();
    block_on(s.store().append(stream, events, ExpectedRevision::Any)).unwrap();
}

fn log(s: &Server) -> Vec<RecordedEvent> {
    block_on(s.store().read_all(Default::default())).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Every frame the feed has now.
fn frames(s: &Server, feed: &mut Feed) -> Vec<Value> {
    frames_for(s, feed, &all(), &evstore::Selection::all())
}

fn reply(served: Served) -> Value {
    match served {
        Served::Reply(text) => json(&text),
        other => panic!("not a reply: {other:?}"),
    }
}

#[test]
fn a_pull_is_answered_with_its_backlog_then_caught_up_then_live_events() {
    let s = server();
    append(&s, "A", 3);
    let mut feed = Feed::default();
    let first = log(&s)[0].id;
    let pull = format!(r#"{{"v":4,"type":"pull","after":0,"afterId":"{first}"}}"#);
    assert_eq!(block_on(s.serve(&mut feed, &pull, &all())), Served::Pull);
    let sent = frames(&s, &mut feed);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["type"], "events");
    assert_eq!(sent[0]["epoch"], "epoch-1");
    assert_eq!(
        (sent[0]["after"].clone(), sent[0]["through"].clone()),
        (json("0"), json("2"))
    );
    let positions: Vec<_> = sent[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].clone())
        .collect();
    assert_eq!(positions, [1, 2]);
    assert_eq!(sent[0]["events"][0]["data"], json(r#"{"i":1}"#));
    assert!(sent[0]["events"][0]["createdAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(
        sent[1],
        json(r#"{"type":"caughtUp","head":2,"epoch":"epoch-1","streams":["*"]}"#)
    );
    assert!(feed.live);
    assert_eq!(frames(&s, &mut feed), Vec::<Value>::new(), "nothing new");
    append(&s, "B", 1);
    let live = frames(&s, &mut feed);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["events"][0]["position"], 3);
    assert_eq!(
        (live[0]["after"].clone(), live[0]["through"].clone()),
        (json("2"), json("3"))
    );
}

#[test]
fn a_pull_of_another_log_is_refused_with_what_it_refused() {
    let s = server();
    append(&s, "A", 2);
    let mut feed = Feed::default();
    let other_epoch = reply(block_on(s.serve(
        &mut feed,
        r#"{"v":4,"type":"pull","after":null,"epoch":"old"}"#,
        &all(),
    )));
    assert_eq!(other_epoch["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(other_epoch["error"]["head"], 1);
    assert_eq!(other_epoch["error"]["epoch"], "epoch-1");
    assert_eq!(other_epoch["error"]["after"], Value::Null);
    assert_eq!(other_epoch["error"]["clientEpoch"], "old");
    let id = uuid_text(7);
    let beyond = reply(block_on(s.serve(
        &mut feed,
        &format!(r#"{{"v":4,"type":"pull","after":9,"afterId":"{id}"}}"#),
        &all(),
    )));
    assert_eq!(
        beyond["error"]["message"],
        r#""after" (9) is beyond the head of the log (1)"#
    );
    let other_event = reply(block_on(s.serve(
        &mut feed,
        &format!(r#"{{"v":4,"type":"pull","after":1,"afterId":"{id}"}}"#),
        &all(),
    )));
    assert_eq!(other_event["error"]["after"], 1);
    assert!(other_event["error"]["message"]
        .as_str()
        .unwrap()
        .contains("restored or replaced"));
    assert_eq!(
        feed,
        Feed::default(),
        "a refused pull leaves the feed as it was"
    );
}

fn uuid_text(n: u128) -> String {
    evstore::Uuid::from_u128(n).to_string()
}

#[test]
fn scopes_versions_and_expiry_are_the_servers_checks() {
    let s = server();
    let mut feed = Feed::default();
    let pull = r#"{"v":4,"type":"pull","after":null}"#;
    let no_read = Access {
        read: false,
        ..all()
    };
    let forbidden = reply(block_on(s.serve(&mut feed, pull, &no_read)));
    assert_eq!(
        forbidden["error"],
        json(r#"{"code":"FORBIDDEN","message":"the token lacks the \"read\" scope"}"#)
    );
    let push = format!(
        r#"{{"v":4,"type":"push","batch":1,"appends":[{{"seq":1,"streamId":"S","createdAt":1,"events":[{{"id":"{}","type":"E"}}]}}]}}"#,
        uuid_text(1)
    );
    let no_append = Access {
        append: false,
        ..all()
    };
    assert_eq!(
        reply(block_on(s.serve(&mut feed, &push, &no_append)))["error"]["code"],
        "FORBIDDEN"
    );
    assert!(
        log(&s).is_empty(),
        "nothing written without the append scope"
    );
    // Older clients are told to update, and the socket closes (4426): they keep their queue.
    for (old, message) in [
        (1, r#"{"v":1,"type":"pull","after":null}"#.to_owned()),
        (2, r#"{"v":2,"type":"pull","after":null}"#.to_owned()),
        (2, push.replace(r#""v":4"#, r#""v":2"#)),
    ] {
        match block_on(s.serve(&mut feed, &message, &all())) {
            Served::Close {
                code,
                frame,
                reason,
            } => {
                assert_eq!(code, CLOSE_UPGRADE_REQUIRED);
                assert_eq!(json(&frame)["error"]["code"], "INVALID_ARGUMENT");
                assert_eq!(
                    reason,
                    format!(
                        "sync protocol version {old} is not served here: this server speaks \
                         version 4; update evstore"
                    )
                );
                assert_eq!(json(&frame)["error"]["message"], reason);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(log(&s).is_empty(), "an old client's push writes nothing");
    let expired = Access {
        expired: true,
        ..all()
    };
    match block_on(s.serve(&mut feed, pull, &expired)) {
        Served::Close { code, frame, .. } => {
            assert_eq!(code, CLOSE_UNAUTHENTICATED);
            assert_eq!(
                json(&frame),
                json(
                    r#"{"type":"error","error":{"code":"UNAUTHENTICATED","message":"token expired"}}"#
                )
            );
        }
        other => panic!("{other:?}"),
    }
    // The scope is checked before some fields, as the protocol always had it.
    let bad_epoch = r#"{"v":4,"type":"pull","after":null,"epoch":5}"#;
    assert_eq!(
        reply(block_on(s.serve(&mut feed, bad_epoch, &no_read)))["error"]["code"],
        "FORBIDDEN"
    );
    assert_eq!(
        reply(block_on(s.serve(&mut feed, bad_epoch, &all())))["error"]["code"],
        "INVALID_ARGUMENT"
    );
    let bad_append = r#"{"v":4,"type":"push","batch":1,"appends":[{"seq":1,"typo":2}]}"#;
    assert_eq!(
        reply(block_on(s.serve(&mut feed, bad_append, &no_append)))["error"]["code"],
        "FORBIDDEN"
    );
    let bad_batch = r#"{"v":4,"type":"push","batch":-1,"appends":[{}]}"#;
    assert_eq!(
        reply(block_on(s.serve(&mut feed, bad_batch, &no_append)))["error"]["code"],
        "INVALID_ARGUMENT"
    );
    let renewal = block_on(s.serve(&mut feed, r#"{"type":"auth","token":"a.b.c"}"#, &expired));
    assert_eq!(
        renewal,
        Served::Auth(Some("a.b.c".into())),
        "a renewal is the host's to verify"
    );
    assert_eq!(
        Server::authenticated("1700000000"),
        r#"{"type":"authenticated","exp":1700000000}"#
    );
    let bad = reply(block_on(s.serve(&mut feed, "{not json", &expired)));
    assert_eq!(bad["error"]["code"], "INVALID_ARGUMENT");
}

#[test]
fn a_push_is_decided_and_answered_and_theirs_withheld_without_read() {
    let s = server();
    let mut feed = Feed::default();
    let push = |batch: u64, id: u128| {
        format!(
            r#"{{"v":4,"type":"push","batch":{batch},"appends":[{{"seq":1,"streamId":"S","expectedRevision":"no_stream","createdAt":1700000000000,"events":[{{"id":"{}","type":"E","data":{{"k":[1, 2]}}}}]}}]}}"#,
            uuid_text(id)
        )
    };
    let Served::Pushed(result) = block_on(s.serve(&mut feed, &push(1, 1), &all())) else {
        panic!("not pushed");
    };
    assert_eq!(
        json(&result),
        json(
            r#"{"type":"pushResult","batch":1,"outcomes":[{"result":"ok","nextExpectedRevision":0,"position":0}]}"#
        )
    );
    assert_eq!(
        log(&s)[0].data.as_str(),
        r#"{"k":[1, 2]}"#,
        "the payload is stored as it was sent"
    );
    let Served::Pushed(result) = block_on(s.serve(
        &mut feed,
        &push(2, 2),
        &Access {
            read: false,
            ..all()
        },
    )) else {
        panic!("not pushed");
    };
    let outcome = &json(&result)["outcomes"][0];
    assert_eq!(outcome["result"], "conflict");
    assert_eq!(outcome["theirs"], json("[]"));
    assert_eq!(outcome["theirsCut"], "withheld");
}

#[test]
fn a_live_feed_whose_token_lost_read_stops_with_forbidden() {
    let s = server();
    let mut feed = Feed::default();
    assert_eq!(
        block_on(s.serve(&mut feed, r#"{"v":4,"type":"pull","after":null}"#, &all())),
        Served::Pull
    );
    frames(&s, &mut feed);
    assert!(feed.live);
    append(&s, "A", 1);
    let stop = block_on(s.next_frame(&mut feed, false)).unwrap().unwrap();
    assert_eq!(json(&stop)["error"]["code"], "FORBIDDEN");
    assert!(!feed.live);
    assert_eq!(block_on(s.next_frame(&mut feed, false)).unwrap(), None);
}

// ── partial sync: selections on feeds, the token's streams ──────────────────────────────────

fn sel(patterns: &[&str]) -> evstore::Selection {
    evstore::Selection::parse(patterns).unwrap()
}

/// Access for a token whose `streams` claim is `patterns`.
fn scoped(patterns: &[&str]) -> Access {
    Access {
        streams: sel(patterns),
        ..all()
    }
}

fn pull_text(streams: Option<&[&str]>) -> String {
    match streams {
        None => r#"{"v":4,"type":"pull","after":null}"#.to_owned(),
        Some(s) => format!(
            r#"{{"v":4,"type":"pull","after":null,"streams":{}}}"#,
            serde_json::to_string(s).unwrap()
        ),
    }
}

/// Every frame of `feed` for `access`, checked: each `events` frame goes on where the previous
/// one stopped and carries only events of streams `allowed` matches.
fn frames_for(
    s: &Server,
    feed: &mut Feed,
    access: &Access,
    allowed: &evstore::Selection,
) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(text) = block_on(s.next_frame_for(feed, access)).unwrap() {
        let frame = json(&text);
        check_frame(&frame, allowed);
        out.push(frame);
    }
    out
}

/// No event of a stream outside `allowed`, anywhere in `frame` (events, `theirs`, errors).
fn check_frame(frame: &Value, allowed: &evstore::Selection) {
    fn walk(v: &Value, allowed: &evstore::Selection, frame: &Value) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(stream)) = map.get("streamId") {
                    if map.contains_key("position") {
                        assert!(allowed.matches(stream), "{stream} leaked in {frame}");
                    }
                }
                map.values().for_each(|x| walk(x, allowed, frame));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, allowed, frame)),
            _ => {}
        }
    }
    walk(frame, allowed, frame);
}

fn positions(frame: &Value) -> Vec<u64> {
    frame["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect()
}

fn metadata(max_count: u64) -> evstore::StreamMetadata {
    evstore::StreamMetadata {
        max_count: Some(max_count),
        ..Default::default()
    }
}

#[test]
fn a_pull_with_streams_gets_their_events_at_the_tenant_positions_then_an_empty_frame_to_the_head() {
    let s = server();
    append(&s, "List-7", 1); // 0
    append(&s, "List-8", 1); // 1
    append(&s, "Item-7-1", 2); // 2, 3
    block_on(
        s.store()
            .set_stream_metadata("List-7", metadata(5), ExpectedRevision::Any),
    )
    .unwrap(); // 4: $$List-7
    append(&s, "Item-8-1", 1); // 5
    append(&s, "List-70", 1); // 6
    let mut feed = Feed::default();
    let access = all();
    let pull = pull_text(Some(&["List-7", "Item-7-*"]));
    assert_eq!(block_on(s.serve(&mut feed, &pull, &access)), Served::Pull);
    let wanted = sel(&["List-7", "Item-7-*"]);
    let sent = frames_for(&s, &mut feed, &access, &wanted);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(
        positions(&sent[0]),
        [0, 2, 3, 4],
        "the metadata stream follows its stream"
    );
    assert_eq!(sent[0]["after"], Value::Null);
    assert_eq!(sent[0]["through"], 4);
    assert_eq!(sent[0]["events"][3]["streamId"], "$$List-7");
    assert_eq!(
        sent[1],
        json(r#"{"type":"events","epoch":"epoch-1","after":4,"through":6,"events":[]}"#),
        "the rest of the log holds none of its streams: one empty frame up to the head"
    );
    assert_eq!(
        sent[2],
        json(r#"{"type":"caughtUp","head":6,"epoch":"epoch-1","streams":["List-7","Item-7-*"]}"#)
    );
    // Live: other streams' appends send nothing; the next selected event covers the gap.
    append(&s, "List-8", 2); // 7, 8
    assert!(frames_for(&s, &mut feed, &access, &wanted).is_empty());
    append(&s, "Item-7-2", 1); // 9
    let live = frames_for(&s, &mut feed, &access, &wanted);
    assert_eq!(live.len(), 1);
    assert_eq!(
        (live[0]["after"].clone(), live[0]["through"].clone()),
        (json("6"), json("9"))
    );
    assert_eq!(positions(&live[0]), [9]);
}

#[test]
fn a_feed_serves_the_pulls_streams_within_the_tokens() {
    let s = server();
    for stream in ["List-7", "List-8", "Item-7-1", "Item-8-1", "Order-1"] {
        append(&s, stream, 1);
    }
    let token = scoped(&["List-7", "Item-*"]);
    let cases: [(Option<&[&str]>, &[&str]); 4] = [
        (None, &["List-7", "Item-*"]),
        (Some(&["*"]), &["List-7", "Item-*"]),
        (Some(&["Item-7-*", "Order-*", "List-8"]), &["Item-7-*"]),
        (Some(&["Order-*"]), &[]),
    ];
    for (asked, served) in cases {
        let mut feed = Feed::default();
        assert_eq!(
            block_on(s.serve(&mut feed, &pull_text(asked), &token)),
            Served::Pull
        );
        let sent = frames_for(&s, &mut feed, &token, &sel(served));
        let caught_up = sent.last().unwrap();
        assert_eq!(caught_up["type"], "caughtUp", "{asked:?}");
        assert_eq!(
            caught_up["streams"],
            json(&serde_json::to_string(served).unwrap())
        );
        assert_eq!(
            caught_up["head"], 4,
            "the feed covers the whole log, {asked:?}"
        );
        let streams: Vec<String> = sent
            .iter()
            .filter(|f| f["type"] == "events")
            .flat_map(|f| f["events"].as_array().unwrap().clone())
            .map(|e| e["streamId"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = log(&s)
            .iter()
            .filter(|e| sel(served).matches(e.stream_id.as_str()))
            .map(|e| e.stream_id.to_string())
            .collect();
        assert_eq!(streams, expected, "{asked:?}");
    }
}

#[test]
fn frames_never_carry_a_stream_the_token_does_not_allow_even_for_a_wider_feed() {
    // Defence in depth: a feed whose selection says more than its token (a host's stale state)
    // is still held to the token's streams.
    let s = server();
    append(&s, "A-1", 1);
    append(&s, "B-1", 1);
    let mut feed = Feed::default();
    let token = scoped(&["A-*"]);
    let sent = frames_for(&s, &mut feed, &token, &sel(&["A-*"]));
    assert_eq!(positions(&sent[0]), [0]);
    assert_eq!(sent.last().unwrap()["streams"], json(r#"["A-*"]"#));
}

#[test]
fn many_frames_of_a_partial_feed_chain_and_hold_only_its_streams() {
    let s = SyncServer::new(
        Rc::new(EventStore::new(MemoryStorage::new())),
        "epoch-1",
        1000,
    )
    .with_limits(evstore::sync::FrameLimits {
        events: 3,
        bytes: 10_000,
    });
    let streams = ["Keep-1", "Drop-1", "Keep-2", "Drop-2"];
    for i in 0..40 {
        let stream = streams[i * 7 % 4];
        append(&s, stream, 1 + i % 3);
    }
    block_on(s.store().delete_stream("Keep-2", ExpectedRevision::Any)).unwrap();
    append(&s, "Drop-1", 2);
    let token = scoped(&["Keep-*", "Drop-2"]);
    let wanted = sel(&["Keep-*"]);
    let mut feed = Feed::default();
    assert_eq!(
        block_on(s.serve(&mut feed, &pull_text(Some(&["Keep-*", "Drop-1"])), &token)),
        Served::Pull
    );
    let sent = frames_for(&s, &mut feed, &token, &wanted);
    let mut cursor = Value::Null;
    let mut got = Vec::new();
    for frame in &sent[..sent.len() - 1] {
        assert_eq!(frame["type"], "events");
        assert_eq!(frame["after"], cursor, "frames chain");
        cursor = frame["through"].clone();
        got.extend(positions(frame));
    }
    let expected: Vec<u64> = log(&s)
        .iter()
        .filter(|e| wanted.matches(e.stream_id.as_str()))
        .map(|e| e.position)
        .collect();
    assert_eq!(
        got, expected,
        "the server's log restricted to the feed, same positions"
    );
    let head = block_on(s.store().head_position()).unwrap().unwrap();
    assert_eq!(cursor, json(&head.to_string()));
    assert_eq!(sent.last().unwrap()["head"], head);
}

/// A push of one append of `kind` to `stream` (`extra`: its kind's fields).
fn push_one(batch: u64, seq: u64, stream: &str, kind: &str, expected: &str, id: u128) -> String {
    let body = match kind {
        "events" => format!(r#""events":[{{"id":"{}","type":"E"}}]"#, uuid_text(id)),
        "metadata" => format!(r#""id":"{}","metadata":{{"maxCount":1}}"#, uuid_text(id)),
        _ => format!(r#""id":"{}""#, uuid_text(id)),
    };
    format!(
        r#"{{"v":4,"type":"push","batch":{batch},"appends":[{{"seq":{seq},"kind":"{kind}","streamId":"{stream}","expectedRevision":{expected},"createdAt":1,{body}}}]}}"#
    )
}

fn pushed(served: Served) -> Value {
    match served {
        Served::Pushed(text) => json(&text),
        other => panic!("not pushed: {other:?}"),
    }
}

#[test]
fn a_push_to_a_stream_the_token_does_not_allow_is_forbidden_alike_whether_it_exists_or_not() {
    let s = server();
    append(&s, "Secret-1", 3);
    block_on(
        s.store()
            .set_stream_metadata("Secret-1", metadata(9), ExpectedRevision::Any),
    )
    .unwrap();
    let head = log(&s).len();
    let token = scoped(&["Mine-*"]);
    let mut feed = Feed::default();
    for kind in ["events", "metadata", "delete", "tombstone"] {
        for expected in ["\"any\"", "0", "\"no_stream\"", "\"stream_exists\""] {
            let outcomes: Vec<Value> = ["Secret-1", "Secret-2"]
                .iter()
                .map(|stream| {
                    let push = push_one(1, 1, stream, kind, expected, 77);
                    pushed(block_on(s.serve(&mut feed, &push, &token)))["outcomes"][0].clone()
                })
                .collect();
            assert_eq!(outcomes[0], outcomes[1], "{kind} {expected}");
            assert_eq!(
                outcomes[0],
                json(
                    r#"{"result":"rejected","actualRevision":null,"theirs":[],"error":{"code":"FORBIDDEN","message":"the token does not allow this stream"}}"#
                ),
                "{kind} {expected}: no revision, no events"
            );
        }
    }
    assert_eq!(log(&s).len(), head, "nothing written");
    // The refused stream's later appends in the batch are held; other streams go on.
    let batch = format!(
        r#"{{"v":4,"type":"push","batch":2,"appends":[{{"seq":1,"streamId":"Secret-2","createdAt":1,"events":[{{"id":"{}","type":"E"}}]}},{{"seq":2,"streamId":"Mine-1","createdAt":1,"events":[{{"id":"{}","type":"E"}}]}},{{"seq":3,"streamId":"Secret-2","createdAt":1,"events":[{{"id":"{}","type":"E"}}]}}]}}"#,
        uuid_text(11),
        uuid_text(12),
        uuid_text(13)
    );
    let result = pushed(block_on(s.serve(&mut feed, &batch, &token)));
    let kinds: Vec<&str> = result["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rejected", "ok", "blocked"]);
    assert_eq!(log(&s).last().unwrap().stream_id.as_str(), "Mine-1");
}

#[test]
fn theirs_is_withheld_for_a_stream_outside_the_feeds_selection() {
    let s = server();
    append(&s, "A", 2);
    append(&s, "B", 2);
    let token = all();
    let mut feed = Feed::default();
    assert_eq!(
        block_on(s.serve(&mut feed, &pull_text(Some(&["A"])), &token)),
        Served::Pull
    );
    frames_for(&s, &mut feed, &token, &sel(&["A"]));
    for (stream, shown) in [("A", true), ("B", false)] {
        let push = push_one(1, 1, stream, "events", "0", 90 + shown as u128);
        let outcome = pushed(block_on(s.serve(&mut feed, &push, &token)))["outcomes"][0].clone();
        assert_eq!(outcome["result"], "conflict", "{stream}");
        assert_eq!(
            outcome["actualRevision"], 1,
            "{stream}: the token may write it"
        );
        if shown {
            assert_eq!(outcome["theirs"].as_array().unwrap().len(), 1);
            assert!(outcome.get("theirsCut").is_none_or(Value::is_null));
        } else {
            assert_eq!(outcome["theirs"], json("[]"));
            assert_eq!(outcome["theirsCut"], "withheld");
        }
        check_frame(&outcome, &sel(&["A"]));
    }
}

#[test]
fn an_after_id_of_a_stream_outside_the_selection_is_refused_like_an_unknown_one() {
    let s = server();
    append(&s, "Mine-1", 1); // 0
    append(&s, "Secret-1", 1); // 1
    let secret = log(&s)[1].id;
    let token = scoped(&["Mine-*"]);
    let refusal = |id: String| {
        let mut feed = Feed::default();
        let pull = format!(r#"{{"v":4,"type":"pull","after":1,"afterId":"{id}"}}"#);
        let answer = reply(block_on(s.serve(&mut feed, &pull, &token)));
        assert_eq!(feed, Feed::default());
        answer
    };
    let probed = refusal(secret.to_string());
    assert_eq!(probed["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(
        probed,
        refusal(uuid_text(4242)),
        "the same answer as for an unknown id"
    );
    // Allowed by the token but not selected by the pull: refused as well.
    let mut feed = Feed::default();
    let pull =
        format!(r#"{{"v":4,"type":"pull","after":1,"afterId":"{secret}","streams":["Mine-*"]}}"#);
    assert_eq!(
        reply(block_on(s.serve(&mut feed, &pull, &all())))["error"]["code"],
        "INVALID_ARGUMENT"
    );
    // Its own last event (a hole after it) is known.
    let mine = log(&s)[0].id;
    let pull = format!(r#"{{"v":4,"type":"pull","after":1,"afterId":"{mine}","afterIdAt":0}}"#);
    assert_eq!(block_on(s.serve(&mut feed, &pull, &token)), Served::Pull);
}

/// Calls `next_frame_more` until it says there is no more, asserting that a call after it gives
/// nothing; the frames' types and `more`, in order.
fn until_no_more(s: &Server, feed: &mut Feed) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    loop {
        let (frame, more) = block_on(s.next_frame_more(feed, &all())).unwrap();
        let Some(frame) = frame else {
            assert!(!more, "no frame, yet more");
            return out;
        };
        out.push((json(&frame)["type"].as_str().unwrap().to_owned(), more));
        if !more {
            let mut copy = feed.clone();
            let after = block_on(s.next_frame_more(&mut copy, &all())).unwrap();
            assert_eq!(after, (None, false), "no more means nothing now");
            assert_eq!(copy, *feed);
            return out;
        }
    }
}

#[test]
fn a_live_feed_learns_it_has_the_head_with_its_last_frame() {
    let s = server().with_limits(evstore::sync::FrameLimits {
        events: 2,
        bytes: 500_000,
    });
    append(&s, "A", 3);
    let mut feed = Feed::default();
    let pull = r#"{"v":4,"type":"pull","after":null}"#;
    assert_eq!(block_on(s.serve(&mut feed, pull, &all())), Served::Pull);
    // A catch-up goes on through caughtUp and past it (events committed meanwhile follow).
    let caught_up = until_no_more(&s, &mut feed);
    let t = |x: &str, more| (x.to_owned(), more);
    assert_eq!(
        caught_up,
        [t("events", true), t("events", true), t("caughtUp", true)]
    );
    assert!(feed.live);
    // Live: one commit of one event is one frame, the last.
    append(&s, "B", 1);
    assert_eq!(until_no_more(&s, &mut feed), [t("events", false)]);
    // A commit of more events than a frame holds: frames until the head, the last says so.
    append(&s, "B", 3);
    assert_eq!(
        until_no_more(&s, &mut feed),
        [t("events", true), t("events", false)]
    );
    // Exactly a frame's worth: the full frame cannot tell, the next call finds nothing.
    append(&s, "C", 2);
    assert_eq!(until_no_more(&s, &mut feed), [t("events", true)]);
    assert_eq!(feed.cursor, Some(8));
    // Other streams' events are holes; the feed's selection still reaches the head.
    let mut scoped_feed = Feed::default();
    let pull = r#"{"v":4,"type":"pull","after":null,"streams":["B"]}"#;
    assert_eq!(
        block_on(s.serve(&mut scoped_feed, pull, &all())),
        Served::Pull
    );
    until_no_more(&s, &mut scoped_feed);
    append(&s, "A", 1);
    append(&s, "B", 1);
    assert_eq!(until_no_more(&s, &mut scoped_feed), [t("events", false)]);
}
