//! Client messages as the server reads them: the text of one WebSocket message → a
//! [`ClientFrame`], with every check of protocol v4 (size, JSON object, type, version, unknown
//! fields, field kinds). Pushed payloads stay the texts the client sent.

use super::events::raw_json;
use super::fields::{
    depth, integer, is_null, items, selection, signed_integer, string, Fields, Raw, MAX_NESTING,
};
use super::ErrorFrame;
use crate::error::{Error, Result};
use crate::event::{parse_event_id, NewEvent};
use crate::model::{ExpectedRevision, StreamId};
use crate::sync::feed::PullRequest;
use crate::sync::protocol::{PushAppend, PushKind, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION};
use crate::sync::server::MalformedAppend;

/// A client message, read.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// `pull`: catch-up from `after`, then live.
    Pull(PullRequest),
    /// `push`: appends to decide in order, each read on its own (a malformed one is rejected).
    Push {
        /// The client's id of the batch.
        batch: u64,
        /// The appends, oldest first.
        appends: Vec<std::result::Result<PushAppend, MalformedAppend>>,
    },
    /// `auth`: a token to verify (the host's part). Absent or `null`: `None`; a value that is not
    /// a string reads as the empty (malformed) token.
    Auth {
        /// The token.
        token: Option<String>,
    },
    /// A `pull` or `push` the server does not take: the error to answer (after the token's expiry
    /// is checked, as for every message but `auth`). `upgrade`: the client speaks an older
    /// protocol version (the socket is then closed with 4426).
    Invalid {
        /// The error.
        error: ErrorFrame,
        /// Whether the client is of an older protocol version.
        upgrade: bool,
        /// Whether the message is a `pull` (one that replaces the socket's earlier pull).
        pull: bool,
        /// The error is one found only once the token's scope allows the message (`read` for a
        /// pull, `append` for a push): a token without it is answered `FORBIDDEN` instead.
        after_scope: bool,
    },
}

impl ClientFrame {
    /// Whether this is a `pull` (valid or not): a host that keeps one pull per socket counts it.
    pub fn is_pull(&self) -> bool {
        matches!(
            self,
            ClientFrame::Pull(_) | ClientFrame::Invalid { pull: true, .. }
        )
    }
}

/// Reads one client message. `Err`: an error frame to answer at once (the message is too large,
/// not a JSON object, or of an unknown type, or a malformed `auth`).
pub fn decode_client_message(text: &str) -> std::result::Result<ClientFrame, ErrorFrame> {
    if text.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(ErrorFrame {
            limit: Some(MAX_CLIENT_MESSAGE_BYTES as u64),
            ..ErrorFrame::invalid(format!(
                "message over {MAX_CLIENT_MESSAGE_BYTES} bytes (UTF-8)"
            ))
        });
    }
    let Some(raw) = Raw::parse(text) else {
        return Err(ErrorFrame::invalid("message is not valid JSON"));
    };
    let Some(msg) = Fields::of(raw) else {
        return Err(ErrorFrame::invalid("message must be a JSON object"));
    };
    let kind = msg.get("type");
    let kind_name = kind.and_then(string);
    match kind_name.as_deref() {
        Some("auth") => {
            if let Some(key) = msg.unknown(&["v", "type", "token"]) {
                return Err(unknown_field(key, "auth"));
            }
            let token = match msg.get("token") {
                None => None,
                Some(t) if is_null(t) => None,
                Some(t) => Some(string(t).unwrap_or_default()),
            };
            Ok(ClientFrame::Auth { token })
        }
        Some(name @ ("pull" | "push")) => Ok(versioned(&msg, name).unwrap_or_else(|e| e)),
        _ => Err(ErrorFrame::invalid(format!(
            "unknown message type {}",
            kind.map_or("undefined", |k| k.get())
        ))),
    }
}

/// A `pull` or `push` of this protocol version, read; else the `Invalid` frame to answer.
fn versioned(msg: &Fields<'_>, name: &str) -> std::result::Result<ClientFrame, ClientFrame> {
    let v = msg.get("v");
    let version = v.and_then(signed_integer);
    if version != Some(i64::from(PROTOCOL_VERSION)) {
        let shown = v.map_or("undefined", |raw| raw.get());
        let message = format!(
            "sync protocol version {shown} is not served here: this server speaks version \
             {PROTOCOL_VERSION}; update evstore"
        );
        let upgrade = version.is_some_and(|n| n < i64::from(PROTOCOL_VERSION));
        return Err(ClientFrame::Invalid {
            error: ErrorFrame::invalid(message),
            upgrade,
            pull: name == "pull",
            after_scope: false,
        });
    }
    let invalid = |bad: Bad| ClientFrame::Invalid {
        error: bad.error,
        upgrade: false,
        pull: name == "pull",
        after_scope: bad.after_scope,
    };
    if name == "pull" {
        read_pull(msg).map(ClientFrame::Pull).map_err(invalid)
    } else {
        read_push(msg).map_err(invalid)
    }
}

fn unknown_field(key: &str, kind: &str) -> ErrorFrame {
    ErrorFrame::invalid(format!("unknown field \"{key}\" in a \"{kind}\" message"))
}

/// A malformed `pull` or `push`: the error, and whether it is checked after the scope.
struct Bad {
    error: ErrorFrame,
    after_scope: bool,
}

impl From<ErrorFrame> for Bad {
    fn from(error: ErrorFrame) -> Self {
        Bad {
            error,
            after_scope: false,
        }
    }
}

/// An error found once the scope allowed the message.
fn after_scope(error: ErrorFrame) -> Bad {
    Bad {
        error,
        after_scope: true,
    }
}

fn read_pull(msg: &Fields<'_>) -> std::result::Result<PullRequest, Bad> {
    if let Some(key) = msg.unknown(&[
        "v",
        "type",
        "after",
        "afterId",
        "afterIdAt",
        "epoch",
        "streams",
    ]) {
        return Err(unknown_field(key, "pull").into());
    }
    let after = msg.position("after").map_err(|()| {
        ErrorFrame::invalid("\"after\" must be a position (a non-negative integer) or null")
    })?;
    let after_id = match msg.get("afterId") {
        None => None,
        Some(id) if is_null(id) => None,
        Some(id) => Some(string(id).ok_or_else(|| {
            ErrorFrame::invalid(
                "\"afterId\" must be a string: the id of the client's last event at or before \"after\"",
            )
        })?),
    };
    let after_id_at = msg.position("afterIdAt").map_err(|()| {
        ErrorFrame::invalid("\"afterIdAt\" must be a position (a non-negative integer)")
    })?;
    if after_id_at.is_some() && after_id.is_none() {
        return Err(ErrorFrame::invalid("\"afterIdAt\" goes with \"afterId\"").into());
    }
    if after.is_none() && after_id.is_some() {
        return Err(ErrorFrame::invalid("\"afterId\" goes with a position in \"after\"").into());
    }
    let epoch =
        match msg.get("epoch") {
            None => None,
            Some(e) => {
                let epoch = string(e);
                Some(epoch.ok_or_else(|| {
                    after_scope(ErrorFrame::invalid("\"epoch\" must be a string"))
                })?)
            }
        };
    let streams = match msg.get("streams") {
        None => None,
        Some(raw) => Some(selection(raw).map_err(|e| after_scope(ErrorFrame::invalid(e)))?),
    };
    Ok(PullRequest {
        streams,
        after,
        // An id that is not a UUID is no event's id: the pull is refused as another log.
        after_id: after_id.map(|id| uuid::Uuid::try_parse(&id).unwrap_or(uuid::Uuid::max())),
        after_id_at,
        epoch,
    })
}

fn read_push(msg: &Fields<'_>) -> std::result::Result<ClientFrame, Bad> {
    if let Some(key) = msg.unknown(&["v", "type", "batch", "appends"]) {
        return Err(unknown_field(key, "push").into());
    }
    let batch = msg
        .integer("batch")
        .ok_or_else(|| ErrorFrame::invalid("\"batch\" must be a non-negative integer"))?;
    let appends = msg
        .get("appends")
        .and_then(items)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ErrorFrame::invalid("\"appends\" must be a non-empty array"))?;
    let mut read = Vec::with_capacity(appends.len());
    for raw in appends {
        let append = Fields::of(raw).ok_or_else(|| {
            after_scope(ErrorFrame::invalid("each pushed append must be an object"))
        })?;
        let allowed = [
            "type",
            "seq",
            "kind",
            "streamId",
            "expectedRevision",
            "createdAt",
            "events",
            "id",
            "metadata",
        ];
        if let Some(key) = append.unknown(&allowed) {
            return Err(after_scope(unknown_field(key, "push")));
        }
        read.push(push_append(&append));
    }
    Ok(ClientFrame::Push {
        batch,
        appends: read,
    })
}

/// One pushed append, or why it cannot be one.
pub(crate) fn push_append(a: &Fields<'_>) -> std::result::Result<PushAppend, MalformedAppend> {
    read_push_append(a).map_err(|error| MalformedAppend {
        stream_id: a.string("streamId").and_then(|s| StreamId::new(&s).ok()),
        error,
    })
}

fn read_push_append(a: &Fields<'_>) -> Result<PushAppend> {
    let what = |e: Error| Error::invalid(format!("a pushed append is malformed: {e}"));
    let seq = integer_field(a, "seq").map_err(what)?;
    let created_at = integer_field(a, "createdAt").map_err(what)?;
    let stream = match a.get("streamId") {
        Some(s) if s.get().starts_with('"') => string(s).ok_or_else(|| {
            what(Error::invalid(
                "streamId contains a lone surrogate (an unpaired UTF-16 code unit), which is not \
                 valid Unicode",
            ))
        })?,
        _ => return Err(what(Error::invalid("streamId must be a string"))),
    };
    let kind = match a.get("kind") {
        None => "events".to_owned(),
        Some(k) => string(k)
            .filter(|k| KINDS.contains(&k.as_str()))
            .ok_or_else(|| {
                what(Error::invalid(format!(
                    "kind must be one of \"{}\", got {}",
                    KINDS.join("\", \""),
                    k.get()
                )))
            })?,
    };
    if kind != "events" {
        let expected = expected_revision(a.get("expectedRevision")).map_err(what)?;
        return Ok(PushAppend {
            seq,
            kind: lifecycle_kind(a, &kind).map_err(what)?,
            stream_id: StreamId::new(&stream).map_err(what)?,
            expected,
            events: Vec::new(),
            created_at,
        });
    }
    for field in ["id", "metadata"] {
        if a.get(field).is_some() {
            return Err(what(Error::invalid(format!(
                "{field} belongs to a lifecycle kind, not to \"events\""
            ))));
        }
    }
    let events = a
        .get("events")
        .and_then(items)
        .ok_or_else(|| what(Error::invalid("events must be an array")))?;
    let events = events
        .iter()
        .enumerate()
        .map(|(i, e)| pushed_event(i, *e))
        .collect::<Result<Vec<_>>>();
    let expected = expected_revision(a.get("expectedRevision")).map_err(what)?;
    let events = events.map_err(|e| match e {
        Error::InvalidArgument { message } if message == NEEDS_ID => Error::invalid(message),
        e => what(e),
    })?;
    Ok(PushAppend {
        seq,
        kind: PushKind::Events,
        stream_id: StreamId::new(&stream).map_err(what)?,
        expected,
        events,
        created_at,
    })
}

/// The kinds of pushed appends.
const KINDS: [&str; 4] = ["events", "metadata", "delete", "tombstone"];

/// A lifecycle kind's fields: its event's `id`, and the `metadata` of a `"metadata"` kind.
fn lifecycle_kind(a: &Fields<'_>, kind: &str) -> Result<PushKind> {
    if a.get("events").is_some() {
        return Err(Error::invalid(format!(
            "a \"{kind}\" append carries no events"
        )));
    }
    let id = match a.get("id").and_then(string) {
        Some(text) => parse_event_id(&text).map_err(|e| Error::invalid(format!("id: {e}")))?,
        None => {
            return Err(Error::invalid(format!(
                "a \"{kind}\" append needs the id of its event (a UUID string)"
            )))
        }
    };
    let metadata = a.get("metadata");
    if kind != "metadata" {
        if metadata.is_some() {
            return Err(Error::invalid(format!(
                "metadata belongs to the \"metadata\" kind, not to \"{kind}\""
            )));
        }
        return Ok(if kind == "delete" {
            PushKind::Delete { id }
        } else {
            PushKind::Tombstone { id }
        });
    }
    match metadata {
        Some(m) if m.get().starts_with('{') && depth(m) <= MAX_NESTING => Ok(PushKind::Metadata {
            id,
            metadata: raw_json(m),
        }),
        Some(m) if m.get().starts_with('{') => Err(Error::invalid(format!(
            "metadata nests deeper than {MAX_NESTING} levels"
        ))),
        _ => Err(Error::invalid("metadata must be an object")),
    }
}

const NEEDS_ID: &str = "a pushed event needs its id";

fn integer_field(a: &Fields<'_>, key: &str) -> Result<u64> {
    let value = a.get(key);
    value.and_then(integer).ok_or_else(|| {
        Error::invalid(format!(
            "{key} must be a non-negative integer, got {}",
            value.map_or("undefined", |v| v.get())
        ))
    })
}

fn pushed_event(i: usize, raw: Raw<'_>) -> Result<NewEvent> {
    let e =
        Fields::of(raw).ok_or_else(|| Error::invalid(format!("events[{i}] must be an object")))?;
    if let Some(key) = e.unknown(&["type", "data", "metadata", "id"]) {
        return Err(Error::invalid(format!(
            "events[{i}] has an unknown field \"{key}\" (an event has: type, data, metadata, id)"
        )));
    }
    let event_type = e
        .string("type")
        .ok_or_else(|| Error::invalid(format!("events[{i}].type must be a non-empty string")))?;
    let id = match e.get("id") {
        None => return Err(Error::invalid(NEEDS_ID)),
        Some(id) if is_null(id) => return Err(Error::invalid(NEEDS_ID)),
        Some(id) => {
            let text = string(id)
                .ok_or_else(|| Error::invalid(format!("events[{i}].id must be a UUID string")))?;
            parse_event_id(&text).map_err(|e| Error::invalid(format!("events[{i}].id: {e}")))?
        }
    };
    let payload = |field: &str, absent: fn() -> crate::Json| match e.get(field) {
        None => Ok(absent()),
        Some(v) if field == "metadata" && is_null(v) => Ok(absent()),
        Some(v) if depth(v) > MAX_NESTING => Err(Error::invalid(format!(
            "events[{i}]: {field} nests deeper than {MAX_NESTING} levels"
        ))),
        Some(v) => Ok(raw_json(v)),
    };
    Ok(NewEvent {
        id,
        event_type: event_type.into(),
        data: payload("data", crate::Json::null)?,
        metadata: payload("metadata", crate::Json::empty_object)?,
    })
}

fn expected_revision(raw: Option<Raw<'_>>) -> Result<ExpectedRevision> {
    let Some(raw) = raw else {
        return Ok(ExpectedRevision::Any);
    };
    let bad = || {
        Error::invalid(format!(
            "expectedRevision must be \"any\", \"no_stream\", \"stream_exists\" or a revision number, got {}",
            if raw.get().starts_with(['"', '-']) || raw.get().starts_with(|c: char| c.is_ascii_digit()) {
                raw.get()
            } else {
                "a value of another kind"
            }
        ))
    };
    if raw
        .get()
        .starts_with(|c: char| c == '-' || c.is_ascii_digit())
    {
        return integer(raw).map(ExpectedRevision::Exact).ok_or_else(bad);
    }
    match string(raw).as_deref() {
        Some("any") => Ok(ExpectedRevision::Any),
        Some("no_stream") => Ok(ExpectedRevision::NoStream),
        Some("stream_exists") => Ok(ExpectedRevision::StreamExists),
        _ => Err(bad()),
    }
}

#[cfg(target_arch = "wasm32")]
/// A JSON array of pushed appends (a push message's `appends`), each read on its own; `None`
/// when `text` is not an array.
pub(crate) fn decode_pushed_appends(
    text: &str,
) -> Option<Vec<std::result::Result<PushAppend, MalformedAppend>>> {
    let raw = Raw::parse(text)?;
    let appends = items(raw)?;
    Some(
        appends
            .into_iter()
            .map(|a| match Fields::of(a) {
                Some(fields) => push_append(&fields),
                None => Err(MalformedAppend {
                    stream_id: None,
                    error: Error::invalid("a pushed append must be an object"),
                }),
            })
            .collect(),
    )
}
