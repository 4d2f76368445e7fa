//! Reads of a selection of streams in log order, for storages without a stream index: windows
//! of the log, filtered (the default of [`Transaction::read_selected`]).

use super::{BoxedPage, Positions, Transaction};
use crate::error::Result;
use crate::read::Direction;
use crate::selection::Selection;

/// The first window of a scan, in positions (windows then double).
const FIRST_WINDOW: u64 = 256;

/// The largest window of a scan.
const MAX_WINDOW: u64 = 65_536;

/// [`Transaction::read_selected`] by windows of [`Transaction::read_log`] up to the log's head,
/// each filtered by `selection`, until `max` events are in (the first `max` forwards, the last
/// `max` backwards).
pub(crate) async fn scan_log<T: Transaction + ?Sized>(
    tx: &mut T,
    selection: &Selection,
    positions: Positions,
    direction: Direction,
    max: u64,
) -> Result<BoxedPage> {
    let (start, end) = (*positions.start(), *positions.end());
    let head = tx.log_head().await?;
    let end = head.map_or(start, |h| end.min(h));
    if max == 0 || selection.is_none() || head.is_none() || start > end {
        // Nothing to find: an empty page of this storage's kind.
        let mut page = tx.read_log(start..=start).await?;
        page.keep(0..0);
        return Ok(page);
    }
    let mut page: Option<BoxedPage> = None;
    let mut count: u64 = 0;
    let mut size = max.clamp(FIRST_WINDOW, MAX_WINDOW);
    let (mut lo, mut hi) = (start, end);
    loop {
        let window_range = match direction {
            Direction::Forwards => lo..=lo.saturating_add(size - 1).min(hi),
            Direction::Backwards => (hi + 1 - size.min(hi + 1)).max(lo)..=hi,
        };
        let (wlo, whi) = (*window_range.start(), *window_range.end());
        let mut window = tx.read_log(window_range).await?;
        window.retain_heads(&mut |stream, _, _| selection.matches(stream));
        count += window.len() as u64;
        page = Some(match (page.take(), direction) {
            (None, _) => window,
            (Some(mut p), Direction::Forwards) => {
                p.append(window)?;
                p
            }
            (Some(p), Direction::Backwards) => {
                window.append(p)?;
                window
            }
        });
        let page = page.as_mut().expect("a window was read");
        if count >= max {
            let len = page.len();
            match direction {
                Direction::Forwards => page.keep(0..max as usize),
                Direction::Backwards => page.keep(len - max as usize..len),
            }
            break;
        }
        match direction {
            Direction::Forwards if whi < hi => lo = whi + 1,
            Direction::Backwards if wlo > lo => hi = wlo - 1,
            _ => break,
        }
        size = size.saturating_mul(2).min(MAX_WINDOW);
    }
    Ok(page.expect("a window was read"))
}
