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
    let mut out = Vec::new();
    while let Some(text) = block_on(s.next_frame(feed, true)).unwrap() {
        out.push(json(&text));
    }
    out
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
