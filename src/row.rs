//! The row codec: how recorded events cross between Rust and JS, in one place.
//!
//! A page of events is one JSON text, an array of rows
//! `[id, streamId, type, revision, position, data, metadata, createdAt]`: `id` the lowercase
//! hyphenated UUID, `streamId` and `type` strings, `revision`, `position` and `createdAt`
//! (milliseconds since the Unix epoch) integers, `data` and `metadata` the stored JSON texts as
//! they are. Rows without keys parse faster in JS than keyed objects, and one text makes one
//! crossing. Its JS half (`src/codec.js`) turns rows into the contract's objects and
//! turns stored records (IndexedDB, Durable Object SQL) into rows.
//!
//! Adding a field to [`RecordedEvent`] means one more column here and in `src/codec.js`.

use std::rc::Rc;

use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::json::{push_quoted, unquote, Json};
use crate::model::StreamId;

/// Events as one JSON text of rows.
pub fn encode_rows(events: &[RecordedEvent]) -> String {
    let payload: usize = events
        .iter()
        .map(|e| {
            e.data.byte_len()
                + e.metadata.byte_len()
                + e.stream_id.as_str().len()
                + e.event_type.len()
        })
        .sum();
    let mut out = String::with_capacity(payload + events.len() * 96 + 2);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        out.push_str(if i == 0 { "[\"" } else { ",[\"" });
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.push_str(e.id.hyphenated().encode_lower(&mut id));
        out.push_str("\",");
        push_quoted(&mut out, e.stream_id.as_str());
        out.push(',');
        push_quoted(&mut out, &e.event_type);
        out.push(',');
        push_u64(&mut out, e.revision);
        out.push(',');
        push_u64(&mut out, e.position);
        out.push(',');
        out.push_str(e.data.as_str());
        out.push(',');
        out.push_str(e.metadata.as_str());
        out.push(',');
        push_u64(&mut out, e.created_at);
        out.push(']');
    }
    out.push(']');
    out
}

/// Events from one JSON text of rows, as [`encode_rows`] (or `src/codec.js`) wrote it. The text
/// comes from storage, where every value was validated when written: a text that is not rows
/// is a `STORAGE_ERROR` (a damaged record), never a panic.
pub fn decode_rows(text: &str) -> Result<Vec<RecordedEvent>> {
    let mut r = Reader::new(text);
    let corrupt = || Error::storage("a stored event record is malformed");
    let mut events = Vec::new();
    let mut last_stream: Option<StreamId> = None;
    let mut last_type: Option<Rc<str>> = None;
    r.expect(b'[').ok_or_else(corrupt)?;
    if r.eat(b']') {
        return Ok(events);
    }
    loop {
        r.expect(b'[').ok_or_else(corrupt)?;
        let id = r.string().ok_or_else(corrupt)?;
        let stream = r.next_string().ok_or_else(corrupt)?;
        let event_type = r.next_string().ok_or_else(corrupt)?;
        let revision = r.next_integer().ok_or_else(corrupt)?;
        let position = r.next_integer().ok_or_else(corrupt)?;
        let data = r.next_value().ok_or_else(corrupt)?;
        let metadata = r.next_value().ok_or_else(corrupt)?;
        let created_at = r.next_integer().ok_or_else(corrupt)?;
        r.expect(b']').ok_or_else(corrupt)?;
        let stream_id = match &last_stream {
            Some(s) if s.as_str() == stream => s.clone(),
            _ => StreamId::trusted(&stream),
        };
        last_stream = Some(stream_id.clone());
        let event_type = match &last_type {
            Some(t) if **t == *event_type => t.clone(),
            _ => Rc::from(event_type.as_ref()),
        };
        last_type = Some(event_type.clone());
        events.push(RecordedEvent {
            id: uuid::Uuid::try_parse(&id).map_err(|_| corrupt())?,
            stream_id,
            event_type,
            revision,
            position,
            data: Json::trusted(data),
            metadata: Json::trusted(metadata),
            created_at,
        });
        if r.eat(b']') {
            return Ok(events);
        }
        r.expect(b',').ok_or_else(corrupt)?;
    }
}

/// Decimal digits of `n` (no `core::fmt` on this hot path).
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
}

/// A cursor over rows text. Values are scanned, not parsed: a payload's extent is found by
/// tracking strings and brackets, and its text is kept as it is.
pub(crate) struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Reader { text, at: 0 }
    }

    /// Whether the whole text was read.
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.at += usize::from(hit);
        hit
    }

    pub(crate) fn expect(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    pub(crate) fn next_string(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        self.expect(b',')?;
        self.string()
    }

    pub(crate) fn next_integer(&mut self) -> Option<u64> {
        self.expect(b',')?;
        self.integer()
    }

    /// A non-negative integer.
    pub(crate) fn integer(&mut self) -> Option<u64> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.text[start..self.at].parse().ok()
    }

    pub(crate) fn next_value(&mut self) -> Option<&'a str> {
        self.expect(b',')?;
        self.value()
    }

    /// One JSON value's text, as it is.
    pub(crate) fn value(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.skip_value()?;
        Some(&self.text[start..self.at])
    }

    pub(crate) fn string(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        let start = self.at;
        self.skip_string()?;
        unquote(&self.text[start..self.at])
    }

    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
    }

    /// Skips one JSON value (validated when it was stored).
    fn skip_value(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        match *bytes.get(self.at)? {
            b'"' => self.skip_string(),
            b'[' | b'{' => {
                let mut depth = 0usize;
                loop {
                    match *bytes.get(self.at)? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                let start = self.at;
                while bytes
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b']' | b'}'))
                {
                    self.at += 1;
                }
                (self.at > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64, data: &str, metadata: &str) -> RecordedEvent {
        RecordedEvent {
            id: uuid::Uuid::from_u128(0x0190_a8e4_7b3c_7d2e_8f00_0000_0000_0000 | u128::from(n)),
            stream_id: StreamId::new("Order-\"1\"\n").unwrap(),
            event_type: Rc::from("Placed ü"),
            revision: n,
            position: 9_007_199_254_740_991 - n,
            data: Json::parse(data).unwrap(),
            metadata: Json::parse(metadata).unwrap(),
            created_at: 1_700_000_000_000 + n,
        }
    }

    #[test]
    fn rows_round_trip_and_are_json() {
        let events = vec![
            event(0, r#"{"a":[1,{"b":"]}\"["}],"c":null}"#, "{}"),
            event(1, "null", r#"{"correlationId":"x"}"#),
            event(2, r#""str\"ing""#, "{}"),
            event(3, "-1.5e3", "{}"),
            event(4, "[]", "{}"),
        ];
        let text = encode_rows(&events);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0][1], "Order-\"1\"\n");
        assert_eq!(parsed[0][5]["a"][1]["b"], "]}\"[");
        assert_eq!(decode_rows(&text).unwrap(), events);
        assert_eq!(decode_rows("[]").unwrap(), vec![]);
        assert_eq!(encode_rows(&[]), "[]");
    }

    #[test]
    fn damaged_rows_are_storage_errors() {
        let text = encode_rows(&[event(0, "{}", "{}")]);
        for bad in [
            "",
            "[",
            "[[",
            &text[..text.len() - 1],
            &text[..text.len() / 2],
            "[[1,2]]",
            "[[\"not-a-uuid\",\"s\",\"t\",0,0,null,{},0]]",
        ] {
            assert_eq!(
                decode_rows(bad).unwrap_err().code(),
                "STORAGE_ERROR",
                "{bad}"
            );
        }
    }
}
