//! Reads: where to start, which way, how many — and the one place that turns a request into
//! the range a storage reads.

use std::ops::RangeInclusive;

use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::lifecycle::StreamView;
use crate::model::{Revision, StreamId};
use crate::selection::Selection;
use crate::storage::{BoxedPage, Transaction};

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
    /// How far the read looked, in its direction: every position (or revision) from where it
    /// started up to this one was examined, including holes. `None` when the read stopped at
    /// `max_count` inside a window (the page's last event is then the bound), read nothing, or
    /// was unlimited.
    pub covered: Option<u64>,
}

impl std::fmt::Debug for ReadPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPage")
            .field("events", &self.page.as_ref().map_or(0, |p| p.len()))
            .field("reversed", &self.reversed)
            .field("covered", &self.covered)
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

    fn empty(reversed: bool) -> Self {
        ReadPage {
            page: None,
            reversed,
            covered: None,
        }
    }
}

/// The largest window the hole-skipping read loop reads at once.
const MAX_WINDOW: u64 = 65_536;

/// A filter of events by `(stream id, revision, created_at)`: `true` keeps.
pub(crate) type Hide<'h> = &'h mut dyn FnMut(&str, Revision, u64) -> bool;

/// What a read reads: one stream (by revision), the log, or the log restricted to the streams
/// of a selection (both by position).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'s> {
    /// The events of one stream.
    Stream(&'s StreamId),
    /// The whole log.
    Log,
    /// The log's events of the streams this selection matches.
    Selected(&'s Selection),
}

/// Reads what `request` selects from `source` in `tx`, skipping holes: windows are read until
/// `max_count` events are in or the head is passed (windows double, up to 65,536; a selection
/// is read to the head at once, the storage stopping at the events still wanted). `keep`
/// filters each window (read-time retention); `floor` is the lowest revision or position that
/// can hold an event.
pub(crate) async fn read_in(
    tx: &mut dyn Transaction,
    source: Source<'_>,
    request: ReadRequest,
    floor: u64,
    mut keep: Option<Hide<'_>>,
) -> Result<ReadPage> {
    let reversed = request.direction == Direction::Backwards;
    let max = request.max_count;
    if max == 0 || (!reversed && request.from == ReadFrom::End) {
        return Ok(ReadPage::empty(reversed));
    }
    let selected = matches!(source, Source::Selected(_));
    let mut head: Option<Option<u64>> = None;
    let mut page: Option<BoxedPage> = None;
    let mut count: u64 = 0;
    let mut size = max;
    let covered;
    if !reversed {
        let mut lo = match request.from {
            ReadFrom::At(n) => n,
            _ => 0,
        }
        .max(floor);
        if selected {
            match *head.insert(head_of(tx, source).await?) {
                Some(h) if lo <= h => {}
                h => {
                    return Ok(ReadPage {
                        covered: h,
                        ..ReadPage::empty(reversed)
                    })
                }
            }
        } else if matches!(source, Source::Log) && max < u64::MAX {
            // A short window needs the head: in flight with the window's read.
            tx.prefetch_log_head();
        }
        loop {
            let hi = match head {
                Some(Some(h)) if selected => h,
                _ => lo.saturating_add(size - 1),
            };
            let (mut window, reached) =
                read_window(tx, source, lo..=hi, request.direction, max - count).await?;
            if let Some(keep) = keep.as_mut() {
                window.retain_heads(*keep);
            }
            count += window.len() as u64;
            join_after(&mut page, window)?;
            if count >= max {
                if count > max {
                    if let Some(p) = page.as_mut() {
                        p.keep(0..max as usize);
                    }
                    covered = None;
                } else {
                    covered = Some(reached);
                }
                break;
            }
            if reached == u64::MAX {
                // Every position was in the window (an unlimited read): no head needed.
                covered = None;
                break;
            }
            let h = match head {
                Some(h) => h,
                None => *head.insert(head_of(tx, source).await?),
            };
            match h {
                Some(h) if reached < h => {}
                Some(h) => {
                    covered = Some(reached.min(h));
                    break;
                }
                None => {
                    covered = None;
                    break;
                }
            }
            lo = reached + 1;
            size = size.saturating_mul(2).min(MAX_WINDOW.max(size));
        }
    } else {
        let Some(h) = head_of(tx, source).await? else {
            return Ok(ReadPage::empty(reversed));
        };
        let mut hi = match request.from {
            ReadFrom::End => h,
            ReadFrom::At(n) => n.min(h),
            ReadFrom::Start => 0,
        };
        if hi < floor {
            return Ok(ReadPage::empty(reversed));
        }
        loop {
            let lo = match selected {
                true => floor,
                false => (hi + 1 - size.min(hi + 1)).max(floor),
            };
            let (mut window, reached) =
                read_window(tx, source, lo..=hi, request.direction, max - count).await?;
            if let Some(keep) = keep.as_mut() {
                window.retain_heads(*keep);
            }
            count += window.len() as u64;
            if let Some(later) = page.take() {
                window.append(later)?;
            }
            page = Some(window);
            if count >= max {
                if count > max {
                    if let Some(p) = page.as_mut() {
                        p.keep((count - max) as usize..count as usize);
                    }
                    covered = None;
                } else {
                    covered = Some(reached);
                }
                break;
            }
            if reached <= floor {
                covered = Some(reached);
                break;
            }
            hi = reached - 1;
            size = size.saturating_mul(2).min(MAX_WINDOW.max(size));
        }
    }
    Ok(ReadPage {
        page,
        reversed,
        covered,
    })
}

fn join_after(page: &mut Option<BoxedPage>, window: BoxedPage) -> Result<()> {
    match page {
        Some(p) => p.append(window),
        None => {
            *page = Some(window);
            Ok(())
        }
    }
}

async fn head_of(tx: &mut dyn Transaction, source: Source<'_>) -> Result<Option<u64>> {
    match source {
        Source::Stream(s) => tx.stream_head(s).await,
        Source::Log | Source::Selected(_) => tx.log_head().await,
    }
}

/// One window of `source` at `range`, and how far it reached in `direction`: the window's far
/// end, except for a selection whose page came back with all the `want` events asked for (the
/// storage stopped at the page's last event, going forwards, or its first, going backwards).
async fn read_window(
    tx: &mut dyn Transaction,
    source: Source<'_>,
    range: RangeInclusive<u64>,
    direction: Direction,
    want: u64,
) -> Result<(BoxedPage, u64)> {
    let far = match direction {
        Direction::Forwards => *range.end(),
        Direction::Backwards => *range.start(),
    };
    let page = match source {
        Source::Stream(s) => tx.read_stream(s, range).await?,
        Source::Log => tx.read_log(range).await?,
        Source::Selected(selection) => {
            let page = tx.read_selected(selection, range, direction, want).await?;
            let stop = match direction {
                Direction::Forwards => page.len().checked_sub(1),
                Direction::Backwards => Some(0),
            };
            match stop.and_then(|i| page.position(i)) {
                Some(p) if page.len() as u64 >= want => return Ok((page, p)),
                _ => page,
            }
        }
    };
    Ok((page, far))
}

/// A read of stream `x` with its lifecycle state, in one read transaction: the page, and the
/// stream's visible head (what `stream_revision` and an aggregate's expected revision are).
/// `STREAM_DELETED` when tombstoned; a soft-deleted stream reads as empty; events hidden by
/// retention at `now` are left out.
pub(crate) async fn read_stream_in(
    tx: &mut dyn Transaction,
    x: &StreamId,
    request: ReadRequest,
    now: u64,
    with_head: bool,
) -> Result<(ReadPage, Option<Revision>)> {
    // The record's get is issued first and is in flight with the plain read (IndexedDB); a
    // stream without record (almost every one) is then read once, as before.
    tx.prefetch_meta(&[&crate::lifecycle::life_key(x.as_str())]);
    let plain = read_plain(tx, x, request).await?;
    let life = crate::lifecycle::read_life(tx, x).await?;
    let Some(life) = life else {
        let head = if with_head {
            tx.stream_head(x).await?
        } else {
            None
        };
        return Ok((plain, head));
    };
    let plain_holds = !life.tombstoned
        && life.floor == 0
        && life.metadata.truncate_before.is_none()
        && !life.metadata.retains();
    if plain_holds {
        // A record that hides nothing (custom metadata only): the plain read stands.
        let head = if with_head {
            tx.stream_head(x).await?
        } else {
            None
        };
        return Ok((plain, head));
    }
    drop(plain);
    if life.tombstoned {
        return Err(Error::StreamDeleted {
            stream_id: x.to_string(),
        });
    }
    let stored_head = tx.stream_head(x).await?;
    let view = StreamView {
        stored_head,
        life: Some(&life),
    };
    let visible = view.visible_head();
    if visible.is_none() {
        return Ok((
            ReadPage::empty(request.direction == Direction::Backwards),
            None,
        ));
    }
    let floor = life.floor.max(life.metadata.truncate_before.unwrap_or(0));
    let mut hide = |_: &str, r: Revision, t: u64| !view.hides(r, t, now);
    let keep: Option<Hide<'_>> = if life.metadata.retains() {
        Some(&mut hide)
    } else {
        None
    };
    let page = read_in(tx, Source::Stream(x), request, floor, keep).await?;
    Ok((page, visible))
}

/// The plain read of `stream` (one range, no lifecycle) inside `tx`.
async fn read_plain(
    tx: &mut dyn Transaction,
    stream: &StreamId,
    request: ReadRequest,
) -> Result<ReadPage> {
    let reversed = request.direction == Direction::Backwards;
    if request.max_count == 0 || (!reversed && request.from == ReadFrom::End) {
        return Ok(ReadPage::empty(reversed));
    }
    let head = match request.needs_head() {
        true => tx.stream_head(stream).await?,
        false => None,
    };
    let page = match request.range(head) {
        None => None,
        Some(range) => Some(tx.read_stream(stream, range).await?),
    };
    Ok(ReadPage {
        page,
        reversed,
        covered: None,
    })
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
    use crate::json::Json;
    use crate::storage::{MemoryStorage, Mode, Storage};

    /// A memory log with events only at `positions` (holes between), all in stream `s`.
    fn sparse(positions: &[u64]) -> MemoryStorage {
        let storage = MemoryStorage::new();
        futures::executor::block_on(async {
            let mut tx = storage.begin(Mode::Write).await.unwrap();
            let events: Vec<RecordedEvent> = positions
                .iter()
                .enumerate()
                .map(|(r, p)| RecordedEvent {
                    id: uuid::Uuid::from_u128(*p as u128 + 1),
                    stream_id: StreamId::new("s").unwrap(),
                    event_type: "E".into(),
                    revision: r as u64,
                    position: *p,
                    data: Json::null(),
                    metadata: Json::empty_object(),
                    created_at: r as u64,
                })
                .collect();
            tx.put(&events).await.unwrap();
            tx.commit().await.unwrap();
        });
        storage
    }

    fn run(
        storage: &MemoryStorage,
        from: ReadFrom,
        direction: Direction,
        max_count: u64,
        keep: Option<Hide<'_>>,
    ) -> (Vec<u64>, Option<u64>) {
        futures::executor::block_on(async {
            let mut tx = storage.begin(Mode::Read).await.unwrap();
            let request = ReadRequest {
                from,
                direction,
                max_count,
            };
            let page = read_in(&mut *tx, Source::Log, request, 0, keep)
                .await
                .unwrap();
            let covered = page.covered;
            let positions = page
                .into_events()
                .unwrap()
                .iter()
                .map(|e| e.position)
                .collect();
            (positions, covered)
        })
    }

    #[test]
    fn the_window_loop_skips_holes_both_ways() {
        use Direction::{Backwards, Forwards};
        use ReadFrom::{At, End, Start};
        let storage = sparse(&[0, 1, 5_000, 5_001, 200_000]);
        assert_eq!(
            run(&storage, Start, Forwards, 2, None),
            (vec![0, 1], Some(1))
        );
        let (got, covered) = run(&storage, At(2), Forwards, 2, None);
        assert_eq!(got, [5_000, 5_001]);
        assert!(covered.is_some_and(|c| (5_001..200_000).contains(&c)));
        assert_eq!(run(&storage, At(2), Forwards, 1, None), (vec![5_000], None));
        assert_eq!(
            run(&storage, At(5_002), Forwards, u64::MAX, None),
            (vec![200_000], None)
        );
        assert_eq!(
            run(&storage, At(5_002), Forwards, 3, None),
            (vec![200_000], Some(200_000))
        );
        assert_eq!(
            run(&storage, At(200_001), Forwards, 3, None).0,
            Vec::<u64>::new()
        );
        assert_eq!(run(&storage, End, Backwards, 2, None).0, [200_000, 5_001]);
        assert_eq!(
            run(&storage, At(199_999), Backwards, 5, None),
            (vec![5_001, 5_000, 1, 0], Some(0))
        );
        assert_eq!(
            run(&storage, At(4_999), Backwards, 1, None),
            (vec![1], None)
        );
        // A filter applies to each window before counting.
        let mut odd = |_: &str, r: Revision, _: u64| r % 2 == 1;
        assert_eq!(
            run(&storage, Start, Forwards, 2, Some(&mut odd)).0,
            [1, 5_001]
        );
        let empty = MemoryStorage::new();
        assert_eq!(run(&empty, Start, Forwards, 2, None), (vec![], None));
        assert_eq!(run(&empty, End, Backwards, 2, None), (vec![], None));
    }

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
