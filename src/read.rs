//! Read options: where to start, which way, how many.

/// Where a read starts (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// The first event.
    Start,
    /// Past the last event: forwards reads nothing, backwards starts at the last event.
    End,
    /// This revision (stream reads) or position (`$all` reads).
    At(u64),
}

/// Which way a read goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Ascending revisions / positions.
    #[default]
    Forwards,
    /// Descending revisions / positions.
    Backwards,
}

/// Options of [`EventStore::read_stream`](crate::EventStore::read_stream) and
/// [`EventStore::read_all`](crate::EventStore::read_all).
///
/// ```
/// use evstore::{ReadOptions, ReadFrom};
/// let last_ten = ReadOptions::backwards().max_count(10);
/// let from_five = ReadOptions::forwards().from(ReadFrom::At(5));
/// # let _ = (last_ten, from_five);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// Where to start; `None`: `Start` forwards, `End` backwards.
    pub from: Option<ReadFrom>,
    /// Which way.
    pub direction: Direction,
    /// At most this many events; `None`: unlimited.
    pub max_count: Option<u64>,
}

impl ReadOptions {
    /// Forwards from the start, unlimited.
    pub fn forwards() -> Self {
        Self::default()
    }

    /// Backwards from the end, unlimited.
    pub fn backwards() -> Self {
        ReadOptions {
            direction: Direction::Backwards,
            ..Self::default()
        }
    }

    /// Starts at `from` (inclusive).
    pub fn from(mut self, from: ReadFrom) -> Self {
        self.from = Some(from);
        self
    }

    /// Reads at most `n` events.
    pub fn max_count(mut self, n: u64) -> Self {
        self.max_count = Some(n);
        self
    }

    /// The resolved request a storage serves.
    pub(crate) fn request(self) -> ReadRequest {
        ReadRequest {
            from: self.from.unwrap_or(match self.direction {
                Direction::Forwards => ReadFrom::Start,
                Direction::Backwards => ReadFrom::End,
            }),
            direction: self.direction,
            max_count: self.max_count.unwrap_or(u64::MAX),
        }
    }
}

/// A read as a storage serves it: every default resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    /// Where to start (inclusive).
    pub from: ReadFrom,
    /// Which way.
    pub direction: Direction,
    /// At most this many events.
    pub max_count: u64,
}

impl ReadRequest {
    /// The indices `0..len` of an ordered sequence that this request selects, in delivery
    /// order, as `(first, count)`; backwards reads count down from `first`.
    pub fn select(&self, len: u64) -> (u64, u64) {
        match self.direction {
            Direction::Forwards => {
                let first = match self.from {
                    ReadFrom::Start => 0,
                    ReadFrom::End => len,
                    ReadFrom::At(n) => n.min(len),
                };
                (first, (len - first).min(self.max_count))
            }
            Direction::Backwards => {
                if len == 0 {
                    return (0, 0);
                }
                let first = match self.from {
                    ReadFrom::Start => 0,
                    ReadFrom::End => len - 1,
                    ReadFrom::At(n) => n.min(len - 1),
                };
                (first, (first + 1).min(self.max_count))
            }
        }
    }
}

/// A revision, position or count given as a float (a JS number): `Some` for a non-negative
/// integer no larger than `Number.MAX_SAFE_INTEGER`.
pub fn integer_from_f64(value: f64) -> Option<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    (value.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&value)).then_some(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_covers_both_directions_and_the_edges() {
        let f = |from, max| ReadRequest {
            from,
            direction: Direction::Forwards,
            max_count: max,
        };
        let b = |from, max| ReadRequest {
            from,
            direction: Direction::Backwards,
            max_count: max,
        };
        assert_eq!(f(ReadFrom::Start, u64::MAX).select(5), (0, 5));
        assert_eq!(f(ReadFrom::At(3), 1).select(5), (3, 1));
        assert_eq!(f(ReadFrom::At(9), 2).select(5), (5, 0));
        assert_eq!(f(ReadFrom::End, 2).select(5), (5, 0));
        assert_eq!(b(ReadFrom::End, u64::MAX).select(5), (4, 5));
        assert_eq!(b(ReadFrom::At(2), 2).select(5), (2, 2));
        assert_eq!(b(ReadFrom::At(99), 2).select(5), (4, 2));
        assert_eq!(b(ReadFrom::Start, 3).select(5), (0, 1));
        assert_eq!(b(ReadFrom::End, 3).select(0), (0, 0));
        assert_eq!(f(ReadFrom::Start, 0).select(5), (0, 0));
    }
}
