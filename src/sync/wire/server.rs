//! Server frames: [`ServerFrame`] ↔ the JSON text of protocol v4. Clients decode them
//! ([`decode_server_message`]); the server encodes them (`encode_server_frame`, with the
//! `server` feature).

#[cfg(feature = "server")]
use super::events::push_events;
use super::events::read_events;
use super::fields::{is_null, items, selection, Fields, Raw};
use crate::error::{Error, Result};
#[cfg(feature = "server")]
use crate::json::push_quoted;
#[cfg(feature = "server")]
use crate::row::push_u64;
use crate::sync::protocol::{PushOutcome, Refusal, ServerMessage, TheirsCut};

/// An error frame's `error`: the contract's code, the message, and the limit that was passed
/// (when one was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFrame {
    /// The contract's error code, e.g. `INVALID_ARGUMENT`.
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
    /// The limit the client went over (`"limit"` on the wire), if any.
    pub limit: Option<u64>,
}

impl ErrorFrame {
    /// An `INVALID_ARGUMENT` error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("INVALID_ARGUMENT", message)
    }

    /// An error of `code`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorFrame {
            code: code.to_owned(),
            message: message.into(),
            limit: None,
        }
    }
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
    /// A message for the client state machine (`Behind` travels as an `INVALID_ARGUMENT` error
    /// frame with `head`, `epoch`, `after` and `clientEpoch`).
    Message(ServerMessage),
    /// Any other error frame.
    Error(ErrorFrame),
    /// `authenticated`: a token renewal was accepted; the socket now expires at `exp`.
    Authenticated {
        /// The new expiry (seconds since the Unix epoch) as its JSON number text, e.g.
        /// `"1700000000"` (kept as text: no float formatting in the core).
        exp: String,
    },
    /// `pong`: the answer to a keep-alive `ping`.
    Pong,
}

/// Reads a frame from the server; `Ok(None)` for a frame of a type this client does not know
/// (ignored). A frame that cannot be read is a `STORAGE_ERROR`.
pub fn decode_server_message(text: &str) -> Result<Option<ServerFrame>> {
    let malformed = || Error::storage("the server sent a malformed frame");
    let f = Fields::parse(text).ok_or_else(malformed)?;
    let position = |key: &str| f.position(key).map_err(|()| malformed());
    let epoch = |key: &str| f.string(key).unwrap_or_default();
    Ok(Some(match f.string("type").as_deref() {
        Some("events") => {
            let events = f
                .get("events")
                .and_then(read_events)
                .ok_or_else(malformed_events)?;
            let after = position("after")?;
            let through = position("through")?.ok_or_else(malformed)?;
            // Events are in (after, through], ascending: anything else is not this protocol.
            let mut last = after;
            for e in &events {
                if last.is_some_and(|l| e.position <= l) || e.position > through {
                    return Err(malformed_events());
                }
                last = Some(e.position);
            }
            if after.is_some_and(|a| through <= a) {
                return Err(malformed());
            }
            ServerFrame::Message(ServerMessage::Events {
                events,
                epoch: f.string("epoch"),
                after,
                through,
            })
        }
        Some("caughtUp") => ServerFrame::Message(ServerMessage::CaughtUp {
            head: position("head")?,
            epoch: epoch("epoch"),
            streams: match f.get("streams") {
                None => None,
                Some(raw) => Some(selection(raw).map_err(|_| malformed())?),
            },
        }),
        Some("pushResult") => ServerFrame::Message(ServerMessage::PushResult {
            batch: position("batch")?.ok_or_else(malformed)?,
            outcomes: f
                .get("outcomes")
                .and_then(items)
                .ok_or_else(malformed)?
                .into_iter()
                .map(read_outcome)
                .collect::<Result<_>>()?,
        }),
        Some("error") => read_error(f.get("error"))?,
        Some("authenticated") => ServerFrame::Authenticated {
            exp: f
                .get("exp")
                .filter(|e| {
                    e.get()
                        .starts_with(|c: char| c == '-' || c.is_ascii_digit())
                })
                .ok_or_else(malformed)?
                .get()
                .to_owned(),
        },
        Some("pong") => ServerFrame::Pong,
        _ => return Ok(None),
    }))
}

fn malformed_events() -> Error {
    Error::storage("the server sent malformed events")
}

fn read_error(raw: Option<Raw<'_>>) -> Result<ServerFrame> {
    let e = raw.and_then(Fields::of);
    let text = |key: &str| e.as_ref().and_then(|e| e.string(key));
    let code = text("code").unwrap_or_else(|| "STORAGE_ERROR".into());
    if let Some(e) = e
        .as_ref()
        .filter(|e| code == "INVALID_ARGUMENT" && e.get("head").is_some())
    {
        let position = |key: &str| {
            e.position(key)
                .map_err(|()| Error::storage("the server sent a malformed frame"))
        };
        return Ok(ServerFrame::Message(ServerMessage::Behind {
            head: position("head")?,
            epoch: e.string("epoch").unwrap_or_default(),
            refused: (position("after")?, e.string("clientEpoch")),
        }));
    }
    Ok(ServerFrame::Error(ErrorFrame {
        code,
        message: text("message").unwrap_or_else(|| "the sync service reported an error".into()),
        limit: e.as_ref().and_then(|e| e.integer("limit")),
    }))
}

fn read_outcome(raw: Raw<'_>) -> Result<PushOutcome> {
    let malformed = || Error::storage("the server sent a malformed frame");
    let o = Fields::of(raw).ok_or_else(malformed)?;
    let refusal = || {
        let e = o.get("error").and_then(Fields::of);
        let text = |key| e.as_ref().and_then(|e| e.string(key)).unwrap_or_default();
        Refusal {
            code: text("code"),
            message: text("message"),
        }
    };
    let written = || -> Result<(u64, u64)> {
        let at = |key| o.position(key).ok().flatten().ok_or_else(malformed);
        Ok((at("nextExpectedRevision")?, at("position")?))
    };
    Ok(match o.string("result").as_deref() {
        Some("ok") => {
            let (next_expected_revision, position) = written()?;
            PushOutcome::Ok {
                next_expected_revision,
                position,
            }
        }
        Some("already") => {
            let (next_expected_revision, position) = written()?;
            PushOutcome::Already {
                next_expected_revision,
                position,
            }
        }
        Some(kind @ ("conflict" | "rejected")) => PushOutcome::Conflict {
            actual: o.position("actualRevision").map_err(|()| malformed())?,
            theirs: match o.get("theirs") {
                None => Vec::new(),
                Some(t) if is_null(t) => Vec::new(),
                Some(t) => read_events(t).ok_or_else(malformed_events)?,
            },
            theirs_cut: o.string("theirsCut").and_then(|c| TheirsCut::from_name(&c)),
            rejection: (kind == "rejected").then(refusal),
        },
        Some("blocked") => PushOutcome::Blocked,
        Some("failed") => PushOutcome::Failed(refusal()),
        _ => return Err(malformed()),
    })
}

/// The JSON text of `frame`.
#[cfg(feature = "server")]
pub fn encode_server_frame(frame: &ServerFrame) -> String {
    let mut out = String::new();
    match frame {
        ServerFrame::Message(message) => push_message(&mut out, message),
        ServerFrame::Error(e) => push_error(&mut out, &e.code, &e.message, |out| {
            if let Some(limit) = e.limit {
                out.push_str(",\"limit\":");
                push_u64(out, limit);
            }
        }),
        ServerFrame::Authenticated { exp } => {
            out.push_str("{\"type\":\"authenticated\",\"exp\":");
            out.push_str(exp);
            out.push('}');
        }
        ServerFrame::Pong => out.push_str("{\"type\":\"pong\"}"),
    }
    out
}

#[cfg(feature = "server")]
fn push_message(out: &mut String, message: &ServerMessage) {
    match message {
        ServerMessage::Events {
            events,
            epoch,
            after,
            through,
        } => {
            out.push_str("{\"type\":\"events\"");
            if let Some(epoch) = epoch {
                out.push_str(",\"epoch\":");
                push_quoted(out, epoch);
            }
            out.push_str(",\"after\":");
            push_position(out, *after);
            out.push_str(",\"through\":");
            push_u64(out, *through);
            out.push_str(",\"events\":");
            push_events(out, events);
            out.push('}');
        }
        ServerMessage::CaughtUp {
            head,
            epoch,
            streams,
        } => {
            out.push_str("{\"type\":\"caughtUp\",\"head\":");
            push_position(out, *head);
            out.push_str(",\"epoch\":");
            push_quoted(out, epoch);
            if let Some(streams) = streams {
                out.push_str(",\"streams\":");
                super::client::push_patterns(out, streams);
            }
            out.push('}');
        }
        ServerMessage::PushResult { batch, outcomes } => {
            out.push_str("{\"type\":\"pushResult\",\"batch\":");
            push_u64(out, *batch);
            out.push_str(",\"outcomes\":[");
            for (i, o) in outcomes.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_outcome(out, o);
            }
            out.push_str("]}");
        }
        ServerMessage::Behind {
            head,
            epoch,
            refused: (after, client_epoch),
        } => {
            let message = behind_message(*head, epoch, *after, client_epoch.as_deref());
            push_error(out, "INVALID_ARGUMENT", &message, |out| {
                out.push_str(",\"head\":");
                push_position(out, *head);
                out.push_str(",\"epoch\":");
                push_quoted(out, epoch);
                out.push_str(",\"after\":");
                push_position(out, *after);
                out.push_str(",\"clientEpoch\":");
                match client_epoch {
                    Some(e) => push_quoted(out, e),
                    None => out.push_str("null"),
                }
            });
        }
    }
}

/// Why a pull was refused, in words.
#[cfg(feature = "server")]
fn behind_message(
    head: Option<u64>,
    epoch: &str,
    after: Option<u64>,
    client: Option<&str>,
) -> String {
    match (client, after) {
        (Some(client), _) if client != epoch => {
            let mut quoted = String::new();
            push_quoted(&mut quoted, client);
            format!("this log is not the one the client synced with (epoch {quoted})")
        }
        (_, Some(after)) if head.is_none_or(|h| after > h) => {
            let head = head.map_or_else(|| "null".to_owned(), |h| h.to_string());
            format!("\"after\" ({after}) is beyond the head of the log ({head})")
        }
        (_, after) => format!(
            "the event at \"after\" ({}) is not the one the client holds: this log was restored \
             or replaced",
            after.unwrap_or_default()
        ),
    }
}

#[cfg(feature = "server")]
fn push_error(out: &mut String, code: &str, message: &str, fields: impl FnOnce(&mut String)) {
    out.push_str("{\"type\":\"error\",\"error\":{\"code\":");
    push_quoted(out, code);
    out.push_str(",\"message\":");
    push_quoted(out, message);
    fields(out);
    out.push_str("}}");
}

#[cfg(feature = "server")]
fn push_position(out: &mut String, p: Option<u64>) {
    match p {
        Some(p) => push_u64(out, p),
        None => out.push_str("null"),
    }
}

#[cfg(feature = "server")]
fn push_refusal(out: &mut String, r: &Refusal) {
    out.push_str(",\"error\":{\"code\":");
    push_quoted(out, &r.code);
    out.push_str(",\"message\":");
    push_quoted(out, &r.message);
    out.push('}');
}

/// The JSON text of one push outcome (as a `pushResult` carries it).
#[cfg(all(feature = "server", target_arch = "wasm32"))]
pub(crate) fn encode_outcome(o: &PushOutcome) -> String {
    let mut out = String::new();
    push_outcome(&mut out, o);
    out
}

#[cfg(feature = "server")]
fn push_outcome(out: &mut String, o: &PushOutcome) {
    match o {
        PushOutcome::Ok {
            next_expected_revision,
            position,
        }
        | PushOutcome::Already {
            next_expected_revision,
            position,
        } => {
            let kind = if matches!(o, PushOutcome::Ok { .. }) {
                "{\"result\":\"ok\""
            } else {
                "{\"result\":\"already\""
            };
            out.push_str(kind);
            out.push_str(",\"nextExpectedRevision\":");
            push_u64(out, *next_expected_revision);
            out.push_str(",\"position\":");
            push_u64(out, *position);
        }
        PushOutcome::Conflict {
            actual,
            theirs,
            theirs_cut,
            rejection,
        } => {
            out.push_str(if rejection.is_some() {
                "{\"result\":\"rejected\""
            } else {
                "{\"result\":\"conflict\""
            });
            out.push_str(",\"actualRevision\":");
            push_position(out, *actual);
            out.push_str(",\"theirs\":");
            push_events(out, theirs);
            if let Some(cut) = theirs_cut {
                out.push_str(",\"theirsCut\":\"");
                out.push_str(cut.as_str());
                out.push('"');
            }
            if let Some(r) = rejection {
                push_refusal(out, r);
            }
        }
        PushOutcome::Blocked => out.push_str("{\"result\":\"blocked\""),
        PushOutcome::Failed(r) => {
            out.push_str("{\"result\":\"failed\"");
            push_refusal(out, r);
        }
    }
    out.push('}');
}
