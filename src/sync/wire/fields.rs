//! Reading wire JSON without a value tree: an object's fields as raw texts (in order), each read
//! on demand as the kind the protocol wants. Payloads stay raw texts, never parsed into values.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The most levels an event's `data` or `metadata` may nest (objects and arrays, the outermost
/// one counted): the limit of every runtime and of the HTTP API.
pub const MAX_NESTING: usize = 256;

/// The fields of one JSON object, in order, each as its raw JSON text.
pub(crate) struct Fields<'a>(pub(crate) Vec<(String, &'a RawValue)>);

impl<'a> Fields<'a> {
    /// The object in `text`; `None` when `text` is not JSON or not an object.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let raw: &RawValue = serde_json::from_str(text).ok()?;
        Self::of(raw)
    }

    /// The object `raw`; `None` when it is not one.
    pub(crate) fn of(raw: &'a RawValue) -> Option<Self> {
        if !raw.get().starts_with('{') {
            return None;
        }
        serde_json::from_str(raw.get()).ok()
    }

    /// The raw text of field `key` (the last one, as `JSON.parse` keeps), if present.
    pub(crate) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    #[cfg(feature = "server")]
    /// The first key not in `allowed`.
    pub(crate) fn unknown(&self, allowed: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| !allowed.contains(k))
    }

    /// Field `key` as a string (`None`: absent or another kind).
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.get(key).and_then(string)
    }

    /// Field `key` as a non-negative safe integer (`None`: absent or another kind).
    pub(crate) fn integer(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(integer)
    }

    /// Field `key`: absent or `null` → `Ok(None)`; a non-negative safe integer → `Ok(Some)`;
    /// anything else → `Err(())`.
    pub(crate) fn position(&self, key: &str) -> Result<Option<u64>, ()> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if is_null(v) => Ok(None),
            Some(v) => integer(v).map(Some).ok_or(()),
        }
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// The items of a JSON array, each as its raw text; `None` when `raw` is not an array.
pub(crate) fn items(raw: &RawValue) -> Option<Vec<&RawValue>> {
    struct Items<'a>(Vec<&'a RawValue>);
    impl<'de> Deserialize<'de> for Items<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Items<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an array")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut items = Vec::new();
                    while let Some(item) = seq.next_element::<&'de RawValue>()? {
                        items.push(item);
                    }
                    Ok(Items(items))
                }
            }
            d.deserialize_seq(V)
        }
    }
    if !raw.get().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Items>(raw.get()).ok().map(|i| i.0)
}

/// Whether `raw` is `null`.
pub(crate) fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// `raw` as a string, if it is one (and well-formed Unicode).
pub(crate) fn string(raw: &RawValue) -> Option<String> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// `raw` as a safe integer (|n| < 2^53), read as JavaScript reads the number: `1.0` and `1e2`
/// are integers. Exact decimal arithmetic: no float parsing in the wasm.
pub(crate) fn signed_integer(raw: &RawValue) -> Option<i64> {
    const MAX_SAFE: u64 = 9_007_199_254_740_991;
    let text = raw.get();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = || whole.bytes().chain(fraction.bytes());
    if whole.is_empty() || !digits().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The value is digits × 10^shift; leading zeros do not count.
    let shift = exponent - fraction.len() as i64;
    let significant: Vec<u8> = digits().skip_while(|b| *b == b'0').collect();
    let kept = if shift < 0 {
        let cut = usize::try_from(-shift).ok()?;
        let (head, tail) = significant.split_at(significant.len().saturating_sub(cut));
        if !tail.iter().all(|b| *b == b'0') {
            return None;
        }
        head
    } else {
        &significant[..]
    };
    let mut n: u64 = 0;
    for b in kept {
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    for _ in 0..shift.max(0) {
        if n == 0 {
            break;
        }
        n = n.checked_mul(10)?;
    }
    if n > MAX_SAFE {
        return None;
    }
    let n = n as i64;
    Some(if negative { -n } else { n })
}

/// `raw` as a non-negative safe integer (`-0` is 0, as in JavaScript).
pub(crate) fn integer(raw: &RawValue) -> Option<u64> {
    signed_integer(raw).and_then(|n| u64::try_from(n).ok())
}

#[cfg(feature = "server")]
/// How deep `raw` nests (objects and arrays; a scalar is 0).
pub(crate) fn depth(raw: &RawValue) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in raw.get().bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_javascript_reads_them() {
        let read = |text: &str| signed_integer(serde_json::from_str::<&RawValue>(text).unwrap());
        for (text, n) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("42", Some(42)),
            ("-7", Some(-7)),
            ("1.0", Some(1)),
            ("1.50e1", Some(15)),
            ("1e2", Some(100)),
            ("2500e-2", Some(25)),
            ("0.0e5", Some(0)),
            ("9007199254740991", Some(9_007_199_254_740_991)),
            ("9007199254740992", None),
            ("1.5", None),
            ("1e-1", None),
            ("1e400", None),
            ("\"1\"", None),
            ("null", None),
        ] {
            assert_eq!(read(text), n, "{text}");
        }
    }
}
