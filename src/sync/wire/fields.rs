//! Reading wire JSON without a value tree: an object's fields as raw texts (in order), each read
//! on demand as the kind the protocol wants. Payloads stay raw texts, never parsed into values.

use std::borrow::Cow;

use crate::json::unquote;

/// The most levels an event's `data` or `metadata` may nest (objects and arrays, the outermost
/// one counted): the limit of every runtime and of the HTTP API.
pub const MAX_NESTING: usize = 256;

/// One JSON value's text, as it is, without the whitespace around it. Made only from a text
/// that was validated as a whole ([`Raw::parse`]), so scanning it needs no further checks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// The JSON value in `text` (validated by serde_json, as `Json::parse` does: one reader
    /// for every JSON text); `None` when `text` is not one JSON value.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
        Some(Raw(text.trim_matches(is_space)))
    }

    /// The value's text.
    pub(crate) fn get(self) -> &'a str {
        self.0
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A cursor over a validated JSON text that finds the extent of values without parsing them.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    /// A cursor inside the container `raw` opens with `open` (`{` or `[`); `None` when `raw`
    /// is not such a container.
    fn open(raw: Raw<'a>, open: u8) -> Option<Self> {
        let text = raw.get();
        (text.as_bytes().first() == Some(&open)).then_some(Scan { text, at: 1 })
    }

    /// The next byte that is not whitespace (`}` at the end), the cursor moved to it.
    fn peek(&mut self) -> u8 {
        let bytes = self.text.as_bytes();
        while bytes.get(self.at).is_some_and(|b| is_space(char::from(*b))) {
            self.at += 1;
        }
        bytes.get(self.at).copied().unwrap_or(b'}')
    }

    /// Steps over `,` or `:` and the whitespace after it; `false` at the container's end.
    fn more(&mut self) -> bool {
        match self.peek() {
            b']' | b'}' => false,
            b',' | b':' => {
                self.at += 1;
                true
            }
            _ => true,
        }
    }

    /// The next value, as it is (strings and brackets tracked, scalars up to a delimiter).
    fn value(&mut self) -> Raw<'a> {
        self.peek();
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut depth = 0usize;
        while let Some(&b) = bytes.get(self.at) {
            let delimiter = is_space(char::from(b)) || matches!(b, b',' | b']' | b'}' | b':');
            if depth == 0 && self.at > start && delimiter {
                break;
            }
            self.at += 1;
            match b {
                b'"' => {
                    while let Some(&c) = bytes.get(self.at) {
                        self.at += if c == b'\\' { 2 } else { 1 };
                        if c == b'"' {
                            break;
                        }
                    }
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth -= 1,
                _ => {}
            }
        }
        Raw(&self.text[start..self.at])
    }
}

/// The fields of one JSON object, in order, each as its raw JSON text.
pub(crate) struct Fields<'a>(pub(crate) Vec<(Cow<'a, str>, Raw<'a>)>);

impl<'a> Fields<'a> {
    /// The object in `text`; `None` when `text` is not JSON or not an object.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        Self::of(Raw::parse(text)?)
    }

    /// The object `raw`; `None` when it is not one.
    pub(crate) fn of(raw: Raw<'a>) -> Option<Self> {
        let mut scan = Scan::open(raw, b'{')?;
        let mut fields = Vec::new();
        while scan.more() {
            let key = unquote(scan.value().get())?;
            scan.more();
            fields.push((key, scan.value()));
        }
        Some(Fields(fields))
    }

    /// The raw text of field `key` (the last one, as `JSON.parse` keeps), if present.
    pub(crate) fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    #[cfg(feature = "server")]
    /// The first key not in `allowed`.
    pub(crate) fn unknown(&self, allowed: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .map(|(k, _)| k.as_ref())
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

/// The items of a JSON array, each as its raw text; `None` when `raw` is not an array.
pub(crate) fn items(raw: Raw<'_>) -> Option<Vec<Raw<'_>>> {
    let mut scan = Scan::open(raw, b'[')?;
    let mut items = Vec::new();
    while scan.more() {
        items.push(scan.value());
    }
    Some(items)
}

/// Whether `raw` is `null`.
/// A JSON array of stream patterns (`["List-7","Item-7-*"]`) as a selection; the error says
/// what is wrong with it.
pub(crate) fn selection(raw: Raw<'_>) -> std::result::Result<crate::Selection, String> {
    const SHAPE: &str = "\"streams\" must be an array of stream patterns (strings)";
    let patterns = items(raw)
        .ok_or(SHAPE)?
        .into_iter()
        .map(|p| string(p).ok_or(SHAPE))
        .collect::<std::result::Result<Vec<String>, _>>()?;
    crate::Selection::parse(&patterns).map_err(|e| format!("\"streams\": {e}"))
}

pub(crate) fn is_null(raw: Raw<'_>) -> bool {
    raw.get() == "null"
}

/// `raw` as a string, if it is one (and well-formed Unicode).
pub(crate) fn string(raw: Raw<'_>) -> Option<String> {
    unquote(raw.get()).map(Cow::into_owned)
}

/// `raw` as a safe integer (|n| < 2^53), read as JavaScript reads the number: `1.0` and `1e2`
/// are integers. Exact decimal arithmetic: no float parsing in the wasm.
pub(crate) fn signed_integer(raw: Raw<'_>) -> Option<i64> {
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
pub(crate) fn integer(raw: Raw<'_>) -> Option<u64> {
    signed_integer(raw).and_then(|n| u64::try_from(n).ok())
}

#[cfg(feature = "server")]
/// How deep `raw` nests (objects and arrays; a scalar is 0).
pub(crate) fn depth(raw: Raw<'_>) -> usize {
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
    fn fields_and_items_are_the_values_serde_json_reads() {
        use serde_json::Value;
        let texts = [
            r#"{}"#,
            r#" { } "#,
            r#"{"a":1,"b":"x,}]\"y","c":[1,{"d":[]},"]"],"e":null,"f":-1.5e3,"g":true}"#,
            "\t{ \"a\" :\n[ 1 , 2 ] ,\r\"\\u0062\": { \"c\" : \"}\" } , \"a\":false }\n",
            r#"{"nested":{"x":[[[]]],"y":{}},"s":"\\","t":"\u00e9\ud83d\ude00"}"#,
        ];
        for text in texts {
            let fields = Fields::parse(text).unwrap();
            let Value::Object(map) = serde_json::from_str::<Value>(text).unwrap() else {
                unreachable!()
            };
            assert_eq!(
                fields.0.len() - map.len(),
                usize::from(text.contains("false"))
            );
            for (key, value) in &map {
                let raw = fields.get(key).unwrap();
                assert_eq!(raw.get().trim(), raw.get(), "{text}");
                assert_eq!(&serde_json::from_str::<Value>(raw.get()).unwrap(), value);
                if let Value::Array(expected) = value {
                    let got: Vec<Value> = items(raw)
                        .unwrap()
                        .into_iter()
                        .map(|i| serde_json::from_str(i.get()).unwrap())
                        .collect();
                    assert_eq!(&got, expected);
                }
            }
        }
        for bad in ["", "{", "{\"a\":}", "[1,]", "{\"a\":1} x", "\"\\ud800\""] {
            assert!(Fields::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            string(Raw::parse(r#""a\"\u00e9""#).unwrap()).unwrap(),
            "a\"é"
        );
        assert!(Fields::parse("[1]").is_none());
        assert!(items(Raw::parse(" [ ] ").unwrap()).unwrap().is_empty());
    }

    /// The scanner against serde_json's value tree (proptest runs natively only).
    #[cfg(not(target_arch = "wasm32"))]
    mod against_serde_json {
        use super::*;

        /// Any JSON value (strings with quotes, escapes and non-ASCII; nested containers).
        fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
            use proptest::prelude::*;
            use serde_json::Value;
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-z\"\\\\,:\\]\\}\\[{ é\\n]{0,6}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 40, 5, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    proptest::collection::btree_map("[a-z\"]{0,3}", inner, 0..5)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest::proptest! {
            #[test]
            fn the_scanner_finds_the_values_serde_json_reads(value in any_json(), pretty: bool) {
                use serde_json::Value;
                let text = if pretty {
                    serde_json::to_string_pretty(&value).unwrap()
                } else {
                    serde_json::to_string(&value).unwrap()
                };
                let raw = Raw::parse(&text).unwrap();
                let read = |raw: Raw<'_>| serde_json::from_str::<Value>(raw.get()).unwrap();
                match &value {
                    Value::Object(map) => {
                        let fields = Fields::of(raw).unwrap();
                        proptest::prop_assert_eq!(fields.0.len(), map.len());
                        for ((key, raw), (k, v)) in fields.0.iter().zip(map) {
                            proptest::prop_assert_eq!(key.as_ref(), k.as_str());
                            proptest::prop_assert_eq!(&read(*raw), v);
                        }
                    }
                    Value::Array(list) => {
                        let got: Vec<Value> = items(raw).unwrap().into_iter().map(read).collect();
                        proptest::prop_assert_eq!(&got, list);
                    }
                    Value::String(s) => proptest::prop_assert_eq!(string(raw), Some(s.clone())),
                    _ => proptest::prop_assert_eq!(read(raw), value),
                }
            }
        }
    }

    #[test]
    fn integers_read_as_javascript_reads_them() {
        let read = |text: &str| signed_integer(Raw::parse(text).unwrap());
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
