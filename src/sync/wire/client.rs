//! Client messages as the JSON text of protocol v4, written by hand: payloads are stored JSON
//! texts and go out as they are, never parsed again.

use crate::error::{Error, Result};
use crate::json::push_quoted;
use crate::row::push_u64;
use crate::selection::Selection;
use crate::storage::PreparedAppend;
use crate::sync::protocol::{
    ClientMessage, PushAppend, PushKind, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use crate::sync::records::push_expected;

/// `streams` as a JSON array of pattern strings.
pub(crate) fn push_patterns(out: &mut String, streams: &Selection) {
    out.push('[');
    for (i, p) in streams.to_strings().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_quoted(out, p);
    }
    out.push(']');
}

/// The JSON text of `message`.
pub fn encode_client_message(message: &ClientMessage) -> String {
    let mut out = String::from("{\"v\":");
    push_u64(&mut out, u64::from(PROTOCOL_VERSION));
    match message {
        ClientMessage::Pull {
            after,
            after_id,
            after_id_at,
            epoch,
            streams,
        } => {
            out.push_str(",\"type\":\"pull\",\"after\":");
            match after {
                Some(p) => push_u64(&mut out, *p),
                None => out.push_str("null"),
            }
            if let Some(id) = after_id {
                out.push_str(",\"afterId\":\"");
                push_id(&mut out, id);
                out.push('"');
            }
            if let Some(at) = after_id_at {
                out.push_str(",\"afterIdAt\":");
                push_u64(&mut out, *at);
            }
            if let Some(epoch) = epoch {
                out.push_str(",\"epoch\":");
                push_quoted(&mut out, epoch);
            }
            if let Some(streams) = streams {
                out.push_str(",\"streams\":");
                push_patterns(&mut out, streams);
            }
        }
        ClientMessage::Push { batch, appends } => {
            out.push_str(",\"type\":\"push\",\"batch\":");
            push_u64(&mut out, *batch);
            out.push_str(",\"appends\":[");
            for (i, append) in appends.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_append(&mut out, append);
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

fn push_append(out: &mut String, a: &PushAppend) {
    out.push_str("{\"seq\":");
    push_u64(out, a.seq);
    out.push_str(",\"kind\":\"");
    out.push_str(a.kind.as_str());
    out.push_str("\",\"streamId\":");
    push_quoted(out, a.stream_id.as_str());
    out.push_str(",\"expectedRevision\":");
    push_expected(out, a.expected);
    out.push_str(",\"createdAt\":");
    push_u64(out, a.created_at);
    if let Some(id) = a.kind.id() {
        out.push_str(",\"id\":\"");
        push_id(out, &id);
        out.push('"');
        if let PushKind::Metadata { metadata, .. } = &a.kind {
            out.push_str(",\"metadata\":");
            out.push_str(metadata.as_str());
        }
        out.push('}');
        return;
    }
    out.push_str(",\"events\":[");
    for (i, e) in a.events.iter().enumerate() {
        out.push_str(if i == 0 { "{\"id\":\"" } else { ",{\"id\":\"" });
        push_id(out, &e.id);
        out.push_str("\",\"type\":");
        push_quoted(out, &e.event_type);
        out.push_str(",\"data\":");
        out.push_str(e.data.as_str());
        out.push_str(",\"metadata\":");
        out.push_str(e.metadata.as_str());
        out.push('}');
    }
    out.push_str("]}");
}

fn push_id(out: &mut String, id: &uuid::Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push_str(id.hyphenated().encode_lower(&mut buf));
}

/// The bytes a push message takes besides its appends (`{"v":4,"type":"push","batch":…}`).
const PUSH_ENVELOPE_BYTES: usize = 64;

/// The bytes `append` takes in a push message.
pub(crate) fn append_wire_len(append: &PushAppend) -> usize {
    let mut out = String::new();
    push_append(&mut out, append);
    out.len()
}

/// Whether `append` fits in a push message on its own.
#[cfg(feature = "sync")]
pub(crate) fn fits_one_push(append: &PushAppend) -> bool {
    append_wire_len(append) + PUSH_ENVELOPE_BYTES <= MAX_CLIENT_MESSAGE_BYTES
}

/// Refuses a local append of a synced store that could never be pushed (one push message holds
/// at most [`MAX_CLIENT_MESSAGE_BYTES`]): it would wait in the queue forever.
pub(crate) fn check_pushable(append: &PreparedAppend) -> Result<()> {
    // A cheap bound first: payloads go out verbatim; names at most 6 bytes a byte escaped.
    let names = append.stream_id.as_str().len() * 6 + 160;
    let bound = append.events.iter().fold(names, |n, e| {
        n + e.data.byte_len() + e.metadata.byte_len() + e.event_type.len() * 6 + 120
    });
    if bound + PUSH_ENVELOPE_BYTES <= MAX_CLIENT_MESSAGE_BYTES {
        return Ok(());
    }
    let push = PushAppend {
        kind: PushKind::Events,
        seq: u64::MAX,
        stream_id: append.stream_id.clone(),
        expected: append.expected,
        events: append.events.clone(),
        created_at: append.created_at,
    };
    let size = append_wire_len(&push) + PUSH_ENVELOPE_BYTES;
    if size <= MAX_CLIENT_MESSAGE_BYTES {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "this append is {size} bytes as a sync message, over the {MAX_CLIENT_MESSAGE_BYTES}-byte \
         limit of one push: a synced store could never send it; split it into smaller appends"
    )))
}

/// The keep-alive message, sent exactly like this: the edge runtime answers it (`pong`) itself,
/// without waking a hibernated object.
pub const PING: &str = r#"{"type":"ping"}"#;

/// The JSON text of an `auth` message: renews the socket's token in place (answered
/// `authenticated`).
pub fn encode_auth(token: &str) -> String {
    let mut out = String::from("{\"type\":\"auth\",\"token\":");
    push_quoted(&mut out, token);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::PushKind;
    use crate::{ExpectedRevision, Json, NewEvent, StreamId};

    #[test]
    fn keep_alive_and_auth_are_json() {
        assert_eq!(PING, r#"{"type":"ping"}"#);
        let auth = encode_auth("a.\"b\".c");
        let v: serde_json::Value = serde_json::from_str(&auth).unwrap();
        assert_eq!(
            v,
            serde_json::json!({ "type": "auth", "token": "a.\"b\".c" })
        );
    }

    #[test]
    fn messages_are_json() {
        let pull = encode_client_message(&ClientMessage::Pull {
            after: Some(41),
            after_id: Some(uuid::Uuid::from_u128(0xab)),
            after_id_at: None,
            epoch: Some("e-1".into()),
            streams: None,
        });
        assert_eq!(
            pull,
            r#"{"v":4,"type":"pull","after":41,"afterId":"00000000-0000-0000-0000-0000000000ab","epoch":"e-1"}"#
        );
        let first = encode_client_message(&ClientMessage::Pull {
            after: None,
            after_id: None,
            after_id_at: None,
            epoch: None,
            streams: Some(crate::Selection::parse(&["Item-7-*", "List-7"]).unwrap()),
        });
        assert_eq!(
            first,
            r#"{"v":4,"type":"pull","after":null,"streams":["List-7","Item-7-*"]}"#
        );
        let push = ClientMessage::Push {
            batch: 3,
            appends: vec![PushAppend {
                kind: PushKind::Events,
                seq: 7,
                stream_id: StreamId::new("Cart-\"1\"").unwrap(),
                expected: ExpectedRevision::NoStream,
                events: vec![NewEvent {
                    id: uuid::Uuid::from_u128(1),
                    event_type: "Added".into(),
                    data: Json::parse(r#"{"sku":"a"}"#).unwrap(),
                    metadata: Json::empty_object(),
                }],
                created_at: 1_700_000_000_000,
            }],
        };
        let text = encode_client_message(&push);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["appends"][0]["streamId"], "Cart-\"1\"");
        assert_eq!(v["appends"][0]["expectedRevision"], "no_stream");
        assert_eq!(v["appends"][0]["events"][0]["data"]["sku"], "a");
        assert_eq!(v["appends"][0]["createdAt"], 1_700_000_000_000u64);
    }
}
