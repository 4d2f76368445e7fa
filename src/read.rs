//! Reads: where to start, which way, how many — and the one place that turns a request into
//! the range a storage reads.

use std::ops::RangeInclusive;

use crate::error::Result;
use crate::event::RecordedEvent;
use crate::model::StreamId;
use crate::storage::{BoxedPage, Mode, Storage};

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
    /// Whether [`ReadRequest::range`] needs the current head (of the stream, or of the log).
    pub fn needs_head(&self) -> bool {
        self.direction == Direction::Backwards && self.max_count > 0
    }

    /// The inclusive range of revisions (or positions) this request selects, `None` for none.
    /// `head` is the last revision (or position) when [`needs_head`](Self::needs_head), else
    /// ignored. A forwards range may reach past the head: storages return the events that exist.
    pub fn range(&self, head: Option<u64>) -> Option<RangeInclusive<u64>> {
        if self.max_count == 0 {
            return None;
        }
        match self.direction {
            Direction::Forwards => {
                let from = match self.from {
                    ReadFrom::Start => 0,
                    ReadFrom::At(n) => n,
                    ReadFrom::End => return None,
                };
                Some(from..=from.saturating_add(self.max_count - 1))
            }
            Direction::Backwards => {
                let head = head?;
                let upper = match self.from {
                    ReadFrom::Start => 0,
                    ReadFrom::End => head,
                    ReadFrom::At(n) => n.min(head),
                };
                Some(upper + 1 - self.max_count.min(upper + 1)..=upper)
            }
        }
    }
}

/// What a read returned: a page of events in ascending order, to be delivered reversed when
/// the read goes backwards.
pub struct ReadPage {
    /// The events, ascending; `None` when the request selects nothing.
    pub page: Option<BoxedPage>,
    /// Whether the events are to be delivered in reverse (descending) order.
    pub reversed: bool,
}

impl std::fmt::Debug for ReadPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPage")
            .field("events", &self.page.as_ref().map_or(0, |p| p.len()))
            .field("reversed", &self.reversed)
            .finish()
    }
}

impl ReadPage {
    /// The events in delivery order.
    pub fn into_events(self) -> Result<Vec<RecordedEvent>> {
        let Some(page) = self.page else {
            return Ok(Vec::new());
        };
        let mut events = page.into_events()?;
        if self.reversed {
            events.reverse();
        }
        Ok(events)
    }
}

/// Reads what `request` selects from `stream` (or, with `None`, from the log) in one read
/// transaction of `storage`.
pub(crate) async fn read(
    storage: &dyn Storage,
    stream: Option<&StreamId>,
    request: ReadRequest,
) -> Result<ReadPage> {
    let reversed = request.direction == Direction::Backwards;
    if request.max_count == 0 || (!reversed && request.from == ReadFrom::End) {
        return Ok(ReadPage {
            page: None,
            reversed,
        });
    }
    let mut tx = storage.begin(Mode::Read).await?;
    let head = match (request.needs_head(), stream) {
        (false, _) => None,
        (true, Some(s)) => tx.stream_head(s).await?,
        (true, None) => tx.log_head().await?,
    };
    let page = match (request.range(head), stream) {
        (None, _) => None,
        (Some(range), Some(s)) => Some(tx.read_stream(s, range).await?),
        (Some(range), None) => Some(tx.read_log(range).await?),
    };
    Ok(ReadPage { page, reversed })
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
    fn ranges_cover_both_directions_and_the_edges() {
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
        assert_eq!(
            f(ReadFrom::Start, u64::MAX).range(None),
            Some(0..=u64::MAX - 1)
        );
        assert_eq!(f(ReadFrom::At(7), u64::MAX).range(None), Some(7..=u64::MAX));
        assert_eq!(f(ReadFrom::At(3), 1).range(None), Some(3..=3));
        assert_eq!(f(ReadFrom::At(9), 2).range(None), Some(9..=10));
        assert_eq!(f(ReadFrom::End, 2).range(None), None);
        assert_eq!(f(ReadFrom::Start, 0).range(None), None);
        assert!(!f(ReadFrom::Start, 5).needs_head());
        assert!(b(ReadFrom::End, 5).needs_head());
        assert_eq!(b(ReadFrom::End, u64::MAX).range(Some(4)), Some(0..=4));
        assert_eq!(b(ReadFrom::At(2), 2).range(Some(4)), Some(1..=2));
        assert_eq!(b(ReadFrom::At(99), 2).range(Some(4)), Some(3..=4));
        assert_eq!(b(ReadFrom::Start, 3).range(Some(4)), Some(0..=0));
        assert_eq!(b(ReadFrom::End, 3).range(None), None);
        assert_eq!(b(ReadFrom::End, 0).range(Some(4)), None);
    }
}
