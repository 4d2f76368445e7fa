//! Client messages as the JSON text of protocol v1 (`edge/PROTOCOL.md`), written by hand:
//! payloads are stored JSON texts and go out as they are, never parsed again.

use super::protocol::{ClientMessage, PushAppend, PROTOCOL_VERSION};
use super::records::push_expected;
use crate::json::push_quoted;
use crate::row::push_u64;

/// The JSON text of `message`.
pub fn encode_client_message(message: &ClientMessage) -> String {
    let mut out = String::from("{\"v\":");
    push_u64(&mut out, u64::from(PROTOCOL_VERSION));
    match message {
        ClientMessage::Pull { after } => {
            out.push_str(",\"type\":\"pull\",\"after\":");
            match after {
                Some(p) => push_u64(&mut out, *p),
                None => out.push_str("null"),
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
    out.push_str(",\"streamId\":");
    push_quoted(out, a.stream_id.as_str());
    out.push_str(",\"expectedRevision\":");
    push_expected(out, a.expected);
    out.push_str(",\"createdAt\":");
    push_u64(out, a.created_at);
    out.push_str(",\"events\":[");
    for (i, e) in a.events.iter().enumerate() {
        out.push_str(if i == 0 { "{\"id\":\"" } else { ",{\"id\":\"" });
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.push_str(e.id.hyphenated().encode_lower(&mut id));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExpectedRevision, Json, NewEvent, StreamId};

    #[test]
    fn messages_are_json() {
        let pull = encode_client_message(&ClientMessage::Pull { after: Some(41) });
        assert_eq!(pull, r#"{"v":1,"type":"pull","after":41}"#);
        let push = ClientMessage::Push {
            batch: 3,
            appends: vec![PushAppend {
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
