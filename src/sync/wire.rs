//! The one codec of sync protocol v4 (`edge/PROTOCOL.md`), both directions, written and read by
//! hand: payloads (`data`, `metadata`) are stored JSON texts and travel as they are, never
//! parsed into values and written again.
//!
//! - Client messages: [`encode_client_message`] (the client) and `decode_client_message` (the
//!   server, `server` feature) → `ClientFrame`.
//! - Server frames: `encode_server_frame` (the server, `server` feature) and
//!   [`decode_server_message`] (the client) → [`ServerFrame`].

mod client;
mod date;
mod events;
mod fields;
#[cfg(feature = "server")]
mod request;
mod server;

#[cfg(feature = "sync")]
pub(crate) use client::{append_wire_len, fits_one_push};
pub(crate) use client::{check_pushable, push_patterns};
pub use client::{encode_auth, encode_client_message, PING};
#[cfg(feature = "server")]
pub(crate) use events::wire_size;
pub use fields::MAX_NESTING;
pub(crate) use fields::{integer, is_null, items, string, Fields, Raw};
#[cfg(all(feature = "server", target_arch = "wasm32"))]
pub(crate) use request::decode_pushed_appends;
#[cfg(feature = "server")]
pub use request::{decode_client_message, ClientFrame};
#[cfg(all(feature = "server", target_arch = "wasm32"))]
pub(crate) use server::encode_outcome;
#[cfg(feature = "server")]
pub use server::encode_server_frame;
pub use server::{decode_server_message, ErrorFrame, ServerFrame};

#[cfg(all(test, feature = "server"))]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::sync::{
        ClientMessage, PullRequest, PushAppend, PushKind, PushOutcome, Refusal, ServerMessage,
        TheirsCut,
    };
    use crate::{ExpectedRevision, Json, RecordedEvent, StreamId};

    fn event(position: u64, data: &str) -> RecordedEvent {
        RecordedEvent {
            id: uuid::Uuid::from_u128(0xab),
            stream_id: StreamId::new("Cart-\"1\"").unwrap(),
            event_type: Rc::from("Added"),
            revision: 0,
            position,
            data: Json::parse(data).unwrap(),
            metadata: Json::empty_object(),
            created_at: 1_700_000_000_123,
        }
    }

    fn roundtrip(frame: ServerFrame) -> String {
        let text = encode_server_frame(&frame);
        assert_eq!(decode_server_message(&text).unwrap(), Some(frame), "{text}");
        text
    }

    #[test]
    fn server_frames_are_the_v4_wire_and_read_back() {
        let events = roundtrip(ServerFrame::Message(ServerMessage::Events {
            events: vec![event(7, r#"{"sku":"a","n":[1,2]}"#)],
            epoch: Some("e-1".into()),
            after: Some(3),
            through: 8,
        }));
        assert_eq!(
            events,
            r#"{"type":"events","epoch":"e-1","after":3,"through":8,"events":[{"id":"00000000-0000-0000-0000-0000000000ab","streamId":"Cart-\"1\"","type":"Added","revision":0,"position":7,"data":{"sku":"a","n":[1,2]},"metadata":{},"createdAt":"2023-11-14T22:13:20.123Z"}]}"#
        );
        let caught_up = roundtrip(ServerFrame::Message(ServerMessage::CaughtUp {
            head: None,
            epoch: "e-1".into(),
            streams: None,
        }));
        assert_eq!(
            caught_up,
            r#"{"type":"caughtUp","head":null,"epoch":"e-1"}"#
        );
        let partial = roundtrip(ServerFrame::Message(ServerMessage::CaughtUp {
            head: Some(4),
            epoch: "e-1".into(),
            streams: Some(crate::Selection::parse(&["List-7", "Item-\"7\"-*"]).unwrap()),
        }));
        assert_eq!(
            partial,
            r#"{"type":"caughtUp","head":4,"epoch":"e-1","streams":["List-7","Item-\"7\"-*"]}"#
        );
        let behind = roundtrip(ServerFrame::Message(ServerMessage::Behind {
            head: Some(3),
            epoch: "e-1".into(),
            refused: (Some(9), Some("e-1".into())),
        }));
        assert_eq!(
            behind,
            r#"{"type":"error","error":{"code":"INVALID_ARGUMENT","message":"\"after\" (9) is beyond the head of the log (3)","head":3,"epoch":"e-1","after":9,"clientEpoch":"e-1"}}"#
        );
        let result = roundtrip(ServerFrame::Message(ServerMessage::PushResult {
            batch: 4,
            outcomes: vec![
                PushOutcome::Ok {
                    next_expected_revision: 0,
                    position: 7,
                },
                PushOutcome::Conflict {
                    actual: Some(0),
                    theirs: vec![event(7, "null")],
                    theirs_cut: Some(TheirsCut::Capped),
                    rejection: None,
                },
                PushOutcome::Conflict {
                    actual: None,
                    theirs: vec![],
                    theirs_cut: Some(TheirsCut::Withheld),
                    rejection: Some(Refusal {
                        code: "DUPLICATE_EVENT_ID".into(),
                        message: "dup".into(),
                    }),
                },
                PushOutcome::Blocked,
                PushOutcome::Failed(Refusal {
                    code: "STORAGE_ERROR".into(),
                    message: "down".into(),
                }),
            ],
        }));
        assert!(result.starts_with(
            r#"{"type":"pushResult","batch":4,"outcomes":[{"result":"ok","nextExpectedRevision":0,"position":7},{"result":"conflict","actualRevision":0,"theirs":[{"#
        ));
        assert!(result.ends_with(
            r#"{"result":"rejected","actualRevision":null,"theirs":[],"theirsCut":"withheld","error":{"code":"DUPLICATE_EVENT_ID","message":"dup"}},{"result":"blocked"},{"result":"failed","error":{"code":"STORAGE_ERROR","message":"down"}}]}"#
        ));
        let limit = roundtrip(ServerFrame::Error(ErrorFrame {
            limit: Some(100),
            ..ErrorFrame::invalid("too many messages")
        }));
        assert_eq!(
            limit,
            r#"{"type":"error","error":{"code":"INVALID_ARGUMENT","message":"too many messages","limit":100}}"#
        );
        assert_eq!(
            roundtrip(ServerFrame::Authenticated {
                exp: "1700000000".into()
            }),
            r#"{"type":"authenticated","exp":1700000000}"#
        );
        assert_eq!(roundtrip(ServerFrame::Pong), r#"{"type":"pong"}"#);
        assert_eq!(decode_server_message(r#"{"type":"later"}"#).unwrap(), None);
        for bad in ["{", "[]", r#"{"type":"events","events":[{"id":"x"}]}"#] {
            assert_eq!(
                decode_server_message(bad).unwrap_err().code(),
                "STORAGE_ERROR"
            );
        }
    }

    #[test]
    fn client_messages_read_back_as_written() {
        let pull = ClientMessage::Pull {
            after: Some(41),
            after_id: Some(uuid::Uuid::from_u128(0xab)),
            after_id_at: Some(40),
            epoch: Some("e-1".into()),
            streams: Some(crate::Selection::parse(&["List-7", "Item-7-*"]).unwrap()),
        };
        assert_eq!(
            decode_client_message(&encode_client_message(&pull)),
            Ok(ClientFrame::Pull(PullRequest {
                after: Some(41),
                after_id: Some(uuid::Uuid::from_u128(0xab)),
                after_id_at: Some(40),
                epoch: Some("e-1".into()),
                streams: Some(crate::Selection::parse(&["List-7", "Item-7-*"]).unwrap()),
            }))
        );
        let append = PushAppend {
            kind: PushKind::Events,
            seq: 7,
            stream_id: StreamId::new("Cart-1").unwrap(),
            expected: ExpectedRevision::Exact(3),
            events: vec![crate::NewEvent {
                id: uuid::Uuid::from_u128(1),
                event_type: "Added".into(),
                data: Json::parse(r#"{"sku":"a"}"#).unwrap(),
                metadata: Json::empty_object(),
            }],
            created_at: 1_700_000_000_000,
        };
        let push = ClientMessage::Push {
            batch: 3,
            appends: vec![append.clone()],
        };
        assert_eq!(
            decode_client_message(&encode_client_message(&push)),
            Ok(ClientFrame::Push {
                batch: 3,
                appends: vec![Ok(append)],
            })
        );
    }

    #[test]
    fn lifecycle_kinds_are_pushed_with_their_event_id_and_read_back() {
        let id = uuid::Uuid::from_u128(0x5e);
        let kinds = [
            PushKind::Metadata {
                id,
                metadata: Json::parse(r#"{"maxCount":3,"custom":{"o":"u\"1"}}"#).unwrap(),
            },
            PushKind::Delete { id },
            PushKind::Tombstone { id },
        ];
        for kind in kinds {
            let append = PushAppend {
                seq: 4,
                kind: kind.clone(),
                stream_id: StreamId::new("Order-1").unwrap(),
                expected: ExpectedRevision::Exact(2),
                events: Vec::new(),
                created_at: 9,
            };
            let push = ClientMessage::Push {
                batch: 1,
                appends: vec![append.clone()],
            };
            let text = encode_client_message(&push);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["appends"][0]["kind"], kind.as_str());
            assert_eq!(v["appends"][0]["id"], id.to_string());
            assert_eq!(v["appends"][0].get("events"), None, "{text}");
            assert_eq!(
                decode_client_message(&text),
                Ok(ClientFrame::Push {
                    batch: 1,
                    appends: vec![Ok(append)],
                })
            );
        }
        let events = encode_client_message(&ClientMessage::Push {
            batch: 1,
            appends: vec![PushAppend {
                seq: 1,
                kind: PushKind::Events,
                stream_id: StreamId::new("S").unwrap(),
                expected: ExpectedRevision::Any,
                events: Vec::new(),
                created_at: 1,
            }],
        });
        assert!(events.contains(r#""kind":"events""#), "{events}");
    }

    #[test]
    fn a_malformed_lifecycle_append_is_rejected_naming_its_fault() {
        let id = "00000000-0000-0000-0000-000000000001";
        let read = |fields: &str| {
            let text = format!(
                r#"{{"v":4,"type":"push","batch":1,"appends":[{{"seq":1,"streamId":"X","createdAt":1,{fields}}}]}}"#
            );
            match decode_client_message(&text) {
                Ok(ClientFrame::Push { mut appends, .. }) => appends.remove(0),
                other => panic!("{text} read as {other:?}"),
            }
        };
        let refused = |fields: &str| read(fields).unwrap_err().error.to_string();
        assert_eq!(
            read(&format!(r#""kind":"tombstone","id":"{id}""#))
                .unwrap()
                .kind,
            PushKind::Tombstone {
                id: uuid::Uuid::from_u128(1)
            }
        );
        assert!(read(r#""events":[]"#).unwrap().kind == PushKind::Events);
        for (fields, says) in [
            (r#""kind":"purge""#.to_owned(), "kind must be one of"),
            (r#""kind":"delete""#.to_owned(), "needs the id of its event"),
            (
                format!(r#""kind":"delete","id":"{id}","metadata":{{}}"#),
                "metadata belongs to the \"metadata\" kind",
            ),
            (
                format!(r#""kind":"metadata","id":"{id}","metadata":[1]"#),
                "metadata must be an object",
            ),
            (
                format!(r#""kind":"metadata","id":"{id}""#),
                "metadata must be an object",
            ),
            (
                format!(r#""kind":"tombstone","id":"{id}","events":[]"#),
                "carries no events",
            ),
            (
                format!(r#""kind":"events","id":"{id}","events":[]"#),
                "id belongs to a lifecycle kind",
            ),
            (r#""kind":"delete","id":"nope""#.to_owned(), "id:"),
        ] {
            let message = refused(&fields);
            assert!(message.contains(says), "{fields}: {message}");
        }
    }

    #[test]
    fn an_events_frame_must_keep_its_events_inside_after_and_through() {
        let frame = |after: &str, through: &str, positions: &[u64]| {
            let events: Vec<String> = positions
                .iter()
                .map(|p| {
                    format!(
                        r#"{{"id":"00000000-0000-0000-0000-0000000000{p:02}","streamId":"S","type":"T","revision":{p},"position":{p},"data":null,"metadata":{{}},"createdAt":1}}"#
                    )
                })
                .collect();
            decode_server_message(&format!(
                r#"{{"type":"events","epoch":"e","after":{after},"through":{through},"events":[{}]}}"#,
                events.join(",")
            ))
        };
        assert!(frame("null", "5", &[0, 3, 5]).is_ok(), "holes are fine");
        assert!(frame("2", "9", &[]).is_ok(), "a frame may cover holes only");
        for (after, through, positions) in [
            ("3", "9", &[3u64][..]),
            ("null", "4", &[5][..]),
            ("null", "9", &[4, 4][..]),
            ("5", "5", &[][..]),
        ] {
            assert!(
                frame(after, through, positions).is_err(),
                "{after} {through} {positions:?}"
            );
        }
        assert!(decode_server_message(r#"{"type":"events","epoch":"e","events":[]}"#).is_err());
    }

    fn error(text: &str) -> String {
        match decode_client_message(text) {
            Err(e) => e.message,
            Ok(ClientFrame::Invalid { error, .. }) => error.message,
            other => panic!("{text} read as {other:?}"),
        }
    }

    #[test]
    fn client_messages_are_checked_as_the_protocol_says() {
        assert_eq!(error("{not json"), "message is not valid JSON");
        assert_eq!(error("[1]"), "message must be a JSON object");
        assert_eq!(
            error(r#"{"type":"nope"}"#),
            r#"unknown message type "nope""#
        );
        assert_eq!(error(r#"{"v":4}"#), "unknown message type undefined");
        assert!(
            error(r#"{"type":"pull","after":null}"#).starts_with("sync protocol version undefined")
        );
        assert!(error(r#"{"v":5,"type":"pull","after":null}"#)
            .starts_with("sync protocol version 5 is not"));
        for old in [1, 2, 3] {
            let text = format!(r#"{{"v":{old},"type":"pull","after":null}}"#);
            match decode_client_message(&text) {
                Ok(ClientFrame::Invalid {
                    upgrade: true,
                    error,
                    ..
                }) => assert_eq!(
                    (error.code.as_str(), error.message),
                    (
                        "INVALID_ARGUMENT",
                        format!(
                            "sync protocol version {old} is not served here: this server speaks \
                             version 4; update evstore"
                        )
                    )
                ),
                other => panic!("v{old} read as {other:?}"),
            }
        }
        assert!(error(r#"{"v":4,"type":"pull","after":0,"afterId":5}"#).contains("\"afterId\""));
        assert!(
            error(r#"{"v":4,"type":"pull","after":null,"afterId":"x"}"#).contains("\"afterId\"")
        );
        let counted = |text: &str| decode_client_message(text).is_ok_and(|f| f.is_pull());
        assert!(
            counted(r#"{"v":4,"type":"pull","after":0,"afterId":5}"#),
            "an invalid pull is a pull"
        );
        assert!(
            matches!(
                decode_client_message(r#"{"v":4,"type":"pull","after":0}"#),
                Ok(ClientFrame::Pull(PullRequest {
                    after: Some(0),
                    after_id: None,
                    after_id_at: None,
                    ..
                }))
            ),
            "a client whose confirmed events were all removed holds no event to name"
        );
        assert!(counted(r#"{"v":1,"type":"pull","after":null}"#));
        assert!(!counted(r#"{"v":1,"type":"push"}"#));
        for after in ["-1", "\"0\"", "1.5"] {
            assert!(
                error(&format!(r#"{{"v":4,"type":"pull","after":{after}}}"#))
                    .starts_with("\"after\" must be")
            );
        }
        assert_eq!(
            error(r#"{"v":4,"type":"pull","after":null,"extra":1}"#),
            r#"unknown field "extra" in a "pull" message"#
        );
        assert_eq!(
            error(r#"{"v":4,"type":"pull","after":null,"epoch":5}"#),
            "\"epoch\" must be a string"
        );
        assert_eq!(
            error(r#"{"v":4,"type":"push","batch":1,"appends":[]}"#),
            "\"appends\" must be a non-empty array"
        );
        assert_eq!(
            error(r#"{"v":4,"type":"push","batch":1,"appends":[3]}"#),
            "each pushed append must be an object"
        );
        let big = format!(
            r#"{{"v":4,"type":"pull","after":null,"epoch":"{}"}}"#,
            "é".repeat(600_000)
        );
        let e = decode_client_message(&big).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.limit),
            ("message over 1048576 bytes (UTF-8)", Some(1_048_576))
        );
        assert_eq!(
            decode_client_message(r#"{"type":"auth","token":"t"}"#),
            Ok(ClientFrame::Auth {
                token: Some("t".into())
            })
        );
        assert_eq!(
            decode_client_message(r#"{"type":"auth"}"#),
            Ok(ClientFrame::Auth { token: None })
        );
    }

    #[test]
    fn a_malformed_append_is_rejected_alone_and_payloads_stay_as_sent() {
        let deep = format!("{}{}", "[".repeat(257), "]".repeat(257));
        let text = format!(
            r#"{{"v":4,"type":"push","batch":1,"appends":[
              {{"seq":1,"streamId":"A","expectedRevision":"any","createdAt":5,"events":[{{"id":"00000000-0000-0000-0000-000000000001","type":"T","data":{{ "x" : 1.0 }}}}]}},
              {{"seq":2,"streamId":"B","createdAt":5,"events":[{{"type":"T"}}]}},
              {{"seq":3,"streamId":"C","createdAt":5,"events":[{{"id":"00000000-0000-0000-0000-000000000003","type":"T","data":{deep}}}]}},
              {{"seq":4,"createdAt":5,"events":[]}}]}}"#
        );
        let Ok(ClientFrame::Push { appends, .. }) = decode_client_message(&text) else {
            panic!("not a push");
        };
        let first = appends[0].as_ref().unwrap();
        assert_eq!(first.events[0].data.as_str(), r#"{ "x" : 1.0 }"#);
        assert_eq!(first.events[0].metadata.as_str(), "{}");
        let refused: Vec<_> = appends[1..]
            .iter()
            .map(|a| {
                let m = a.as_ref().unwrap_err();
                (
                    m.stream_id.as_ref().map(|s| s.as_str().to_owned()),
                    m.error.to_string(),
                )
            })
            .collect();
        assert_eq!(
            refused[0],
            (Some("B".into()), "a pushed event needs its id".into())
        );
        assert_eq!(
            refused[1],
            (
                Some("C".into()),
                "a pushed append is malformed: events[0]: data nests deeper than 256 levels".into()
            )
        );
        assert_eq!(
            refused[2],
            (
                None,
                "a pushed append is malformed: streamId must be a string".into()
            )
        );
    }
}
