//! Stream patterns and selections: which streams a token may touch and which a synced device
//! holds. One matcher, used by the edge service (through the JS bindings), the sync server half
//! and the sync client.
//!
//! A pattern is an exact stream id (`"List-7"`) or a prefix ending in `*` (`"Item-7-*"`; `"*"`
//! is every stream). A pattern applies to a stream's `$$` metadata stream too: `"List-7"`
//! matches `"$$List-7"`.

use std::fmt;

use crate::error::{Error, Result};
use crate::model::METADATA_PREFIX;

/// One stream pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreamPattern {
    /// Exactly this stream id (and its `$$` stream).
    Exact(String),
    /// Every stream id that starts with this prefix (and their `$$` streams); `""` is every
    /// stream.
    Prefix(String),
}

impl StreamPattern {
    /// Reads one pattern: a non-empty string whose only `*`, if any, is its last character.
    pub fn parse(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Err(Error::invalid("a stream pattern must not be empty"));
        }
        match text.find('*') {
            None => Ok(StreamPattern::Exact(text.to_owned())),
            Some(i) if i == text.len() - 1 => Ok(StreamPattern::Prefix(text[..i].to_owned())),
            Some(_) => Err(Error::invalid(format!(
                "stream pattern {text:?}: \"*\" may only end a pattern (\"Order-*\")"
            ))),
        }
    }

    /// Whether this pattern matches `stream` itself (not its `$$` stream).
    fn matches_id(&self, stream: &str) -> bool {
        match self {
            StreamPattern::Exact(id) => id == stream,
            StreamPattern::Prefix(prefix) => stream.starts_with(prefix.as_str()),
        }
    }

    /// Whether this pattern matches `stream`, or `stream` is the `$$` stream of one it matches.
    pub fn matches(&self, stream: &str) -> bool {
        self.matches_id(stream)
            || stream
                .strip_prefix(METADATA_PREFIX)
                .is_some_and(|about| self.matches_id(about))
    }

    /// Whether every stream id this pattern matches (directly) is matched by `other`.
    fn within(&self, other: &StreamPattern) -> bool {
        match (self, other) {
            (StreamPattern::Exact(id), _) => other.matches(id),
            (StreamPattern::Prefix(p), StreamPattern::Prefix(q)) => p.starts_with(q.as_str()),
            (StreamPattern::Prefix(_), StreamPattern::Exact(_)) => false,
        }
    }
}

impl fmt::Display for StreamPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamPattern::Exact(id) => f.write_str(id),
            StreamPattern::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// A set of stream patterns, kept normalized: sorted, without duplicates and without a pattern
/// that another one covers. Empty: no stream at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selection {
    patterns: Vec<StreamPattern>,
}

impl Default for Selection {
    /// Every stream.
    fn default() -> Self {
        Selection::all()
    }
}

impl Selection {
    /// Every stream (`["*"]`).
    pub fn all() -> Self {
        Selection {
            patterns: vec![StreamPattern::Prefix(String::new())],
        }
    }

    /// No stream (`[]`).
    pub fn none() -> Self {
        Selection {
            patterns: Vec::new(),
        }
    }

    /// Reads a list of patterns (see [`StreamPattern::parse`]); `INVALID_ARGUMENT` names the
    /// first bad one.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        let patterns = patterns
            .iter()
            .map(|p| StreamPattern::parse(p.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Selection::from_patterns(patterns))
    }

    /// The selection of `patterns`, normalized.
    pub fn from_patterns(mut patterns: Vec<StreamPattern>) -> Self {
        patterns.sort();
        patterns.dedup();
        let kept = patterns
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                !patterns
                    .iter()
                    .enumerate()
                    .any(|(j, q)| j != *i && p.within(q) && !(q.within(p) && j > *i))
            })
            .map(|(_, p)| p.clone())
            .collect();
        Selection { patterns: kept }
    }

    /// The patterns, normalized.
    pub fn patterns(&self) -> &[StreamPattern] {
        &self.patterns
    }

    /// The patterns as text (`"Item-7-*"`), in order.
    pub fn to_strings(&self) -> Vec<String> {
        self.patterns.iter().map(ToString::to_string).collect()
    }

    /// Whether this selection is every stream.
    pub fn is_all(&self) -> bool {
        self.patterns
            .iter()
            .any(|p| matches!(p, StreamPattern::Prefix(prefix) if prefix.is_empty()))
    }

    /// Whether this selection matches no stream.
    pub fn is_none(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether some pattern matches `stream` (a `$$` stream follows its stream).
    pub fn matches(&self, stream: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(stream))
    }

    /// Whether every stream `other` matches, this one matches too.
    pub fn covers(&self, other: &Selection) -> bool {
        other
            .patterns
            .iter()
            .all(|p| self.patterns.iter().any(|q| p.within(q)))
    }

    /// The streams both match (a subset of what both match: no stream outside either).
    pub fn intersect(&self, other: &Selection) -> Selection {
        let mut both = Vec::new();
        for p in &self.patterns {
            for q in &other.patterns {
                if p.within(q) {
                    both.push(p.clone());
                } else if q.within(p) {
                    both.push(q.clone());
                }
            }
        }
        Selection::from_patterns(both)
    }

    /// The stream-id ranges a storage reads to find every event this selection matches: each
    /// pattern and its `$$` counterpart, normalized. Exact ids are streams to look up; prefixes
    /// are ranges of stream ids (see [`prefix_end`]).
    pub fn ranges(&self) -> Vec<StreamPattern> {
        let mut ranges = Vec::with_capacity(self.patterns.len() * 2);
        for p in &self.patterns {
            ranges.push(p.clone());
            ranges.push(match p {
                StreamPattern::Exact(id) => StreamPattern::Exact(format!("{METADATA_PREFIX}{id}")),
                StreamPattern::Prefix(prefix) => {
                    StreamPattern::Prefix(format!("{METADATA_PREFIX}{prefix}"))
                }
            });
        }
        // Normalized on direct matches only: "$$X" is not covered by "X" here.
        ranges.sort();
        ranges.dedup();
        let kept: Vec<StreamPattern> = ranges
            .iter()
            .filter(|r| {
                !ranges.iter().any(|o| {
                    o != *r
                        && match (r, o) {
                            (StreamPattern::Exact(id), StreamPattern::Prefix(q)) => {
                                id.starts_with(q.as_str())
                            }
                            (StreamPattern::Prefix(p), StreamPattern::Prefix(q)) => {
                                p.starts_with(q.as_str())
                            }
                            _ => false,
                        }
                })
            })
            .cloned()
            .collect();
        kept
    }
}

impl fmt::Display for Selection {
    /// `["List-7", "Item-7-*"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{:?}", p.to_string())?;
        }
        f.write_str("]")
    }
}

/// The least string above every string that starts with `prefix`, in code-point order (the
/// order of UTF-8 bytes, SQL's binary collation): the exclusive end of a prefix range. `None`
/// when no string is above them all (the prefix is empty or all U+10FFFF).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(patterns: &[&str]) -> Selection {
        Selection::parse(patterns).unwrap()
    }

    #[test]
    fn parses_exact_ids_and_prefixes() {
        assert_eq!(
            StreamPattern::parse("List-7").unwrap(),
            StreamPattern::Exact("List-7".into())
        );
        assert_eq!(
            StreamPattern::parse("Item-7-*").unwrap(),
            StreamPattern::Prefix("Item-7-".into())
        );
        assert!(sel(&["*"]).is_all());
        for bad in ["", "*-x", "a*b", "**", "a**"] {
            let e = StreamPattern::parse(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad}");
        }
        assert!(Selection::parse::<&str>(&[]).unwrap().is_none());
    }

    #[test]
    fn matches_streams_and_their_metadata_streams() {
        let s = sel(&["List-7", "Item-7-*"]);
        for yes in ["List-7", "$$List-7", "Item-7-1", "Item-7-", "$$Item-7-9"] {
            assert!(s.matches(yes), "{yes}");
        }
        for no in [
            "List-70", "List-", "Item-8-1", "$$List-8", "$List-7", "Item-7",
        ] {
            assert!(!s.matches(no), "{no}");
        }
        assert!(sel(&["*"]).matches("$$anything"));
        assert!(!Selection::none().matches("x"));
    }

    #[test]
    fn normalizes_covered_patterns_away() {
        let s = sel(&["Item-7-1", "Item-*", "Item-7-*", "List-7", "List-7"]);
        assert_eq!(s.to_strings(), vec!["List-7", "Item-*"]);
        assert_eq!(sel(&["a", "*", "b*"]).to_strings(), vec!["*"]);
        assert_eq!(sel(&["$$x", "x"]).to_strings(), vec!["x"]);
    }

    #[test]
    fn intersects_to_what_both_match() {
        let token = sel(&["List-7", "Item-7-*"]);
        assert_eq!(sel(&["*"]).intersect(&token), token);
        assert_eq!(
            sel(&["Item-*", "List-8"]).intersect(&token).to_strings(),
            vec!["Item-7-*"]
        );
        assert_eq!(
            sel(&["Item-7-3", "List-7"]).intersect(&token).to_strings(),
            vec!["Item-7-3", "List-7"]
        );
        assert!(sel(&["Order-*"]).intersect(&token).is_none());
        assert!(sel(&["Item-*"]).covers(&sel(&["Item-7-*", "Item-1"])));
        assert!(!sel(&["Item-7-*"]).covers(&sel(&["Item-*"])));
        assert!(sel(&["*"]).covers(&sel(&["a"])));
    }

    #[test]
    fn ranges_include_metadata_streams() {
        let r = sel(&["List-7", "Item-*"]).ranges();
        assert_eq!(
            r,
            vec![
                StreamPattern::Exact("$$List-7".into()),
                StreamPattern::Exact("List-7".into()),
                StreamPattern::Prefix("$$Item-".into()),
                StreamPattern::Prefix("Item-".into()),
            ]
        );
        assert_eq!(sel(&["*"]).ranges(), vec![StreamPattern::Prefix("".into())]);
    }

    #[test]
    fn prefix_ends_bound_prefix_ranges() {
        assert_eq!(prefix_end("Item-").as_deref(), Some("Item."));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end(""), None);
        let end = prefix_end("Item-").unwrap();
        for s in ["Item-", "Item-\u{10FFFF}x", "Item-zzz"] {
            assert!(s < end.as_str() && s >= "Item-");
        }
    }
}
