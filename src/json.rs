//! [`Json`]: an immutable, validated JSON text, the form in which payloads are stored.

use std::fmt;
use std::rc::Rc;

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};

/// A JSON text that is known to be valid. Event `data` and `metadata` are stored as `Json`,
/// so a stored payload is immutable and is handed out as-is (no re-encoding on reads).
///
/// Cheap to clone (reference counted).
///
/// ```
/// use evstore::Json;
/// let j = Json::from_value(&serde_json::json!({ "total": 10 }))?;
/// assert_eq!(j.as_str(), r#"{"total":10}"#);
/// assert!(Json::parse("{oops").is_err());
/// # Ok::<(), evstore::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Rc<str>);

impl Json {
    /// The JSON `null`.
    pub fn null() -> Self {
        Json("null".into())
    }

    /// The empty object `{}`.
    pub fn empty_object() -> Self {
        Json("{}".into())
    }

    /// Serializes `value` to JSON.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        serde_json::to_string(value)
            .map(|s| Json(s.into()))
            .map_err(|e| Error::invalid(format!("value is not JSON-serializable: {e}")))
    }

    /// Validates `text` as one JSON value.
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| Error::invalid(format!("not valid JSON: {e}")))?;
        Ok(Json(text.into()))
    }

    /// A text that is valid JSON by construction (written by `JSON.stringify`, or read back
    /// from storage where it was validated when written).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn trusted(text: impl Into<Rc<str>>) -> Self {
        Json(text.into())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The size of the JSON text in bytes (UTF-8).
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is a JSON object.
    pub fn is_object(&self) -> bool {
        self.0.trim_start().starts_with('{')
    }

    /// Deserializes the value.
    pub fn to_value<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.0)
            .map_err(|e| Error::invalid(format!("cannot deserialize payload: {e}")))
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Appends `s` to `out` as a JSON string literal.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The string of a JSON string literal such as `JSON.stringify` writes; `None` if `quoted` is
/// not one.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn unquote(quoted: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(inner.into());
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let unit = hex4(&mut chars)?;
                let c = if (0xd800..0xdc00).contains(&unit) {
                    let (Some('\\'), Some('u')) = (chars.next(), chars.next()) else {
                        return None;
                    };
                    let low = hex4(&mut chars)?
                        .checked_sub(0xdc00)
                        .filter(|l| *l < 0x400)?;
                    char::from_u32(0x10000 + ((unit - 0xd800) << 10) + low)?
                } else {
                    char::from_u32(unit)?
                };
                out.push(c);
            }
            _ => return None,
        }
    }
    Some(out.into())
}

/// Four hex digits of a `\\u` escape.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_and_unquote_agree_with_serde_json() {
        for s in [
            "plain",
            "",
            "q\"uote",
            "back\\slash",
            "nl\n\r\t",
            "\u{1}\u{1e}\u{1f}",
            "ünï 😀 \u{2028}",
        ] {
            let mut quoted = String::new();
            push_quoted(&mut quoted, s);
            assert_eq!(serde_json::from_str::<String>(&quoted).unwrap(), s);
            assert_eq!(unquote(&quoted).unwrap(), s);
            assert_eq!(unquote(&serde_json::to_string(s).unwrap()).unwrap(), s);
        }
        assert_eq!(unquote(r#""\ud83d\ude00 \u00e9\/""#).unwrap(), "😀 é/");
        for bad in ["nope", "\"open", r#""\x""#, r#""\u12""#, r#""\ud83d""#] {
            assert!(unquote(bad).is_none(), "{bad}");
        }
    }
}
