//! A reference model of the store — every rule spelled out naively over a plain list — and a
//! runner that applies a sequence of operations to a real store and to the model, comparing
//! every answer. Driven by proptest natively, and by seeded random sequences on every storage.

use std::collections::HashMap;

use evstore::{
    AppendResult, Error, EventStore, ExpectedRevision, Json, ProposedEvent, ReadFrom, ReadOptions,
    Selection, StreamMetadata, Uuid,
};

/// One operation on the store.
#[derive(Debug, Clone)]
pub enum Op {
    /// Append events with these ids (`None`: generated) to stream `s-{stream}`.
    Append {
        stream: u8,
        ids: Vec<Option<u8>>,
        expected: Expected,
    },
    /// Read stream `s-{stream}` (and its revision).
    ReadStream {
        stream: u8,
        backwards: bool,
        from: Option<u8>,
        max: Option<u8>,
    },
    /// Read the global log.
    ReadAll {
        backwards: bool,
        from: Option<u8>,
        max: Option<u8>,
    },
    /// Read the global log restricted to the selection numbered `selection` (see
    /// [`selection`]).
    ReadSelected {
        selection: u8,
        backwards: bool,
        from: Option<u8>,
        max: Option<u8>,
    },
    /// Set the metadata of `s-{stream}` (expected: on the metadata revision).
    SetMetadata {
        stream: u8,
        max_count: Option<u8>,
        max_age: Option<u8>,
        truncate_before: Option<u8>,
        expected: Expected,
    },
    /// Let `seconds` pass (the store's clock is [`clock`]).
    Advance { seconds: u8 },
    /// Soft-delete `s-{stream}`.
    Delete { stream: u8, expected: Expected },
    /// Tombstone `s-{stream}`.
    Tombstone { stream: u8, expected: Expected },
}

/// An expected revision.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    Any,
    NoStream,
    StreamExists,
    Exact(u8),
}

impl Expected {
    fn holds(self, head: Option<u64>) -> bool {
        match self {
            Expected::Any => true,
            Expected::NoStream => head.is_none(),
            Expected::StreamExists => head.is_some(),
            Expected::Exact(n) => head == Some(u64::from(n)),
        }
    }

    fn revision(self) -> ExpectedRevision {
        match self {
            Expected::Any => ExpectedRevision::Any,
            Expected::NoStream => ExpectedRevision::NoStream,
            Expected::StreamExists => ExpectedRevision::StreamExists,
            Expected::Exact(n) => ExpectedRevision::Exact(n.into()),
        }
    }
}

/// Where an event is: its stream (`Some(s)`: `s-{s}`; the metadata stream `$$s-{s}` is
/// `Meta(s)`), so the model needs no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum In {
    Stream(u8),
    Meta(u8),
}

/// One event of the model's log, removed or not.
#[derive(Debug, Clone)]
struct Entry {
    at: In,
    id: Uuid,
    revision: u64,
    live: bool,
    created: u64,
}

thread_local! {
    static CLOCK: std::cell::Cell<u64> = const { std::cell::Cell::new(1_700_000_000_000) };
}

/// The clock of the stores the model runs against (`StoreOptions::now`).
pub fn clock() -> u64 {
    CLOCK.with(std::cell::Cell::get)
}

/// A stream's lifecycle state in the model.
#[derive(Debug, Clone, Copy, Default)]
struct Life {
    max_count: Option<u64>,
    max_age: Option<u64>,
    truncate_before: Option<u64>,
    tombstoned: bool,
}

/// The model: every event ever written, in position order, and the streams' lifecycles.
#[derive(Default)]
struct Model {
    log: Vec<Entry>,
    lives: HashMap<u8, Life>,
}

type Outcome = Result<AppendResult, &'static str>;

impl Model {
    /// `(revision, position, id)` of the events of `at`, removed ones included.
    fn entries(&self, at: In) -> Vec<(u64, u64, Uuid, bool)> {
        self.log
            .iter()
            .enumerate()
            .filter(|(_, e)| e.at == at)
            .map(|(p, e)| (e.revision, p as u64, e.id, self.visible(e)))
            .collect()
    }

    /// Whether `e` is live and not older than its stream's maxAge.
    fn visible(&self, e: &Entry) -> bool {
        let aged = match e.at {
            In::Stream(s) => self
                .life(s)
                .max_age
                .is_some_and(|age| e.created + age * 1000 < clock()),
            In::Meta(_) => false,
        };
        e.live && !aged
    }

    fn life(&self, s: u8) -> Life {
        self.lives.get(&s).copied().unwrap_or_default()
    }

    fn stored_head(&self, at: In) -> Option<u64> {
        self.entries(at).last().map(|e| e.0)
    }

    /// The last revision ever (a truncation counts) and the visible head.
    fn heads(&self, s: u8) -> (Option<u64>, Option<u64>) {
        let tb = self.life(s).truncate_before;
        let last = self
            .stored_head(In::Stream(s))
            .max(tb.and_then(|t| t.checked_sub(1)));
        let visible = match (last, tb) {
            (Some(l), Some(t)) if t > l => None,
            (l, _) => l,
        };
        (last, visible)
    }

    fn push(&mut self, at: In, id: Uuid, revision: u64) -> AppendResult {
        self.log.push(Entry {
            at,
            id,
            revision,
            live: true,
            created: clock(),
        });
        AppendResult {
            next_expected_revision: revision,
            position: self.log.len() as u64 - 1,
        }
    }

    /// Removes what the lifecycle of `s` hides now.
    fn enforce(&mut self, s: u8) {
        let life = self.life(s);
        let (last, _) = self.heads(s);
        for e in self.log.iter_mut().filter(|e| e.at == In::Stream(s)) {
            let by_tb = life.truncate_before.is_some_and(|t| e.revision < t);
            let by_count = life
                .max_count
                .zip(last)
                .is_some_and(|(n, l)| e.revision + n <= l);
            let by_tomb = life.tombstoned && Some(e.revision) != last;
            if by_tb || by_count || by_tomb {
                e.live = false;
            }
        }
    }

    fn append(&mut self, s: u8, ids: &[Uuid], expected: Expected) -> Outcome {
        let mut seen = std::collections::HashSet::new();
        if !ids.iter().all(|id| seen.insert(*id)) {
            return Err("DUPLICATE_EVENT_ID");
        }
        let stream = self.entries(In::Stream(s));
        // A retry: the ids are a contiguous run of this stream, in order (removed or not)
        if let Some(start) = stream.iter().position(|e| e.2 == ids[0]) {
            let run = &stream[start..];
            // (at contiguous revisions: a soft delete leaves a gap in the revisions)
            if run.len() >= ids.len()
                && run
                    .iter()
                    .zip(ids)
                    .enumerate()
                    .all(|(i, (e, id))| e.2 == *id && e.0 == run[0].0 + i as u64)
            {
                let (revision, position, _, _) = run[ids.len() - 1];
                return Ok(AppendResult {
                    next_expected_revision: revision,
                    position,
                });
            }
        }
        if self.log.iter().any(|e| ids.contains(&e.id)) {
            return Err("DUPLICATE_EVENT_ID");
        }
        if self.life(s).tombstoned {
            return Err("STREAM_DELETED");
        }
        let (last, visible) = self.heads(s);
        if !expected.holds(visible) {
            return Err("WRONG_EXPECTED_REVISION");
        }
        let first = last.map_or(0, |l| l + 1);
        let mut result = None;
        for (i, id) in ids.iter().enumerate() {
            result = Some(self.push(In::Stream(s), *id, first + i as u64));
        }
        self.enforce(s);
        Ok(result.expect("an append has events"))
    }

    /// A metadata change (`Some(life)`) or a tombstone (`None`); `expected` is checked against
    /// the metadata revision when `on_metadata`, else against the stream's visible head.
    fn lifecycle(
        &mut self,
        s: u8,
        change: Option<Life>,
        expected: Expected,
        on_metadata: bool,
    ) -> Outcome {
        let life = self.life(s);
        if life.tombstoned {
            return Err("STREAM_DELETED");
        }
        let (last, visible) = self.heads(s);
        let meta_head = self.stored_head(In::Meta(s));
        if !expected.holds(if on_metadata { meta_head } else { visible }) {
            return Err("WRONG_EXPECTED_REVISION");
        }
        // The store generates the event's id: one that no op's id can be.
        let id = Uuid::from_u128(u128::MAX - self.log.len() as u128);
        let result = match change {
            Some(new) => {
                let r = self.push(In::Meta(s), id, meta_head.map_or(0, |h| h + 1));
                self.lives.insert(s, new);
                r
            }
            None => {
                let r = self.push(In::Stream(s), id, last.map_or(0, |l| l + 1));
                self.lives.insert(
                    s,
                    Life {
                        tombstoned: true,
                        ..Life::default()
                    },
                );
                r
            }
        };
        // Superseded metadata goes (all of it with a tombstone).
        let keep = if change.is_some() {
            Some(self.log.len() - 1)
        } else {
            None
        };
        for (p, e) in self.log.iter_mut().enumerate() {
            if e.at == In::Meta(s) && Some(p) != keep {
                e.live = false;
            }
        }
        self.enforce(s);
        Ok(result)
    }
}

/// Selection number `n` (below [`SELECTIONS`]): its patterns, and which of the streams `s-0`..`s-2`
/// it matches (their `$$` streams follow). Below 8 a set of exact ids (bit `s` for `s-{s}`; 0 is
/// `[]`), then `["s-*"]` and `["s-1*", "s-2"]`.
pub fn selection(n: u8) -> (Vec<String>, [bool; 3]) {
    match n {
        8 => (vec!["s-*".into()], [true; 3]),
        9 => (vec!["s-1*".into(), "s-2".into()], [false, true, true]),
        bits => {
            let picked = [bits & 1 != 0, bits & 2 != 0, bits & 4 != 0];
            let ids = (0..3).filter(|s| picked[*s]).map(|s| format!("s-{s}"));
            (ids.collect(), picked)
        }
    }
}

/// How many selections [`selection`] numbers.
pub const SELECTIONS: u8 = 10;

/// The model's visible log as `(position, (position, stream, revision))`, of the streams
/// `s-{s}` for which `picked(s)` (and their `$$` streams).
fn visible_log(model: &Model, picked: impl Fn(u8) -> bool) -> Vec<(u64, (u64, String, u64))> {
    model
        .log
        .iter()
        .enumerate()
        .filter(|(_, e)| model.visible(e))
        .filter_map(|(p, e)| {
            let (stream, s) = match e.at {
                In::Stream(s) => (format!("s-{s}"), s),
                In::Meta(s) => (format!("$$s-{s}"), s),
            };
            picked(s).then_some((p as u64, (p as u64, stream, e.revision)))
        })
        .collect()
}

/// The items whose key is from `from` on (backwards: up to it), in read order, at most `max`.
fn select<T: Clone>(
    items: &[(u64, T)],
    backwards: bool,
    from: Option<u8>,
    max: Option<u8>,
) -> Vec<T> {
    let max = max.map_or(usize::MAX, usize::from);
    if backwards {
        let from = from.map_or(u64::MAX, u64::from);
        items
            .iter()
            .rev()
            .filter(|(k, _)| *k <= from)
            .take(max)
            .map(|(_, t)| t.clone())
            .collect()
    } else {
        let from = from.map_or(0, u64::from);
        items
            .iter()
            .filter(|(k, _)| *k >= from)
            .take(max)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

fn options(backwards: bool, from: Option<u8>, max: Option<u8>) -> ReadOptions {
    let mut o = if backwards {
        ReadOptions::backwards()
    } else {
        ReadOptions::forwards()
    };
    if let Some(f) = from {
        o = o.from(ReadFrom::At(f.into()));
    }
    if let Some(m) = max {
        o = o.max_count(m.into());
    }
    o
}

fn code<T>(r: Result<T, Error>) -> Result<T, &'static str> {
    r.map_err(|e| e.code())
}

/// Applies `ops` to `store` (empty) and to the model; `Err` describes the first disagreement.
pub async fn check_ops(store: &EventStore, ops: &[Op]) -> Result<(), String> {
    let mut model = Model::default();
    let mut fresh = 1000u128;
    for (step, op) in ops.iter().enumerate() {
        let fail = |got: &dyn std::fmt::Debug, want: &dyn std::fmt::Debug| {
            Err(format!("step {step} {op:?}: store {got:?}, model {want:?}"))
        };
        match op {
            Op::Append {
                stream,
                ids,
                expected,
            } => {
                if ids.is_empty() {
                    continue;
                }
                let ids: Vec<Uuid> = ids
                    .iter()
                    .map(|i| {
                        Uuid::from_u128(i.map_or_else(
                            || {
                                fresh += 1;
                                fresh
                            },
                            u128::from,
                        ))
                    })
                    .collect();
                let events = ids
                    .iter()
                    .map(|id| {
                        ProposedEvent::new("E", Json::from_value(&step).unwrap()).with_id(*id)
                    })
                    .collect();
                let got = code(
                    store
                        .append(&format!("s-{stream}"), events, expected.revision())
                        .await,
                );
                let want = model.append(*stream, &ids, *expected);
                if got != want {
                    return fail(&got, &want);
                }
            }
            Op::ReadStream {
                stream,
                backwards,
                from,
                max,
            } => {
                let name = format!("s-{stream}");
                let got = code(
                    store
                        .read_stream(&name, options(*backwards, *from, *max))
                        .await,
                )
                .map(|events| {
                    events
                        .iter()
                        .map(|e| (e.revision, e.position, e.id))
                        .collect::<Vec<_>>()
                });
                let want = if model.life(*stream).tombstoned {
                    Err("STREAM_DELETED")
                } else {
                    let live: Vec<(u64, (u64, u64, Uuid))> = model
                        .entries(In::Stream(*stream))
                        .into_iter()
                        .filter(|e| e.3)
                        .map(|(r, p, id, _)| (r, (r, p, id)))
                        .collect();
                    Ok(select(&live, *backwards, *from, *max))
                };
                if got != want {
                    return fail(&got, &want);
                }
                let got = code(store.stream_revision(&name).await);
                let want = want.map(|_| model.heads(*stream).1);
                if got != want {
                    return fail(&got, &want);
                }
            }
            Op::ReadAll {
                backwards,
                from,
                max,
            } => {
                let got = store
                    .read_all(options(*backwards, *from, *max))
                    .await
                    .unwrap();
                let live = visible_log(&model, |_| true);
                let want = select(&live, *backwards, *from, *max);
                let got: Vec<(u64, String, u64)> = got
                    .iter()
                    .map(|e| (e.position, e.stream_id.to_string(), e.revision))
                    .collect();
                if got != want {
                    return fail(&got, &want);
                }
            }
            Op::ReadSelected {
                selection: n,
                backwards,
                from,
                max,
            } => {
                let (patterns, picked) = selection(*n);
                let selection = Selection::parse(&patterns).unwrap();
                let got = store
                    .read_all_selected(&selection, options(*backwards, *from, *max))
                    .await
                    .unwrap();
                let live = visible_log(&model, |s| picked[usize::from(s)]);
                let want = select(&live, *backwards, *from, *max);
                let got: Vec<(u64, String, u64)> = got
                    .iter()
                    .map(|e| (e.position, e.stream_id.to_string(), e.revision))
                    .collect();
                if got != want {
                    return fail(&got, &want);
                }
            }
            Op::Advance { seconds } => {
                CLOCK.with(|c| c.set(c.get() + u64::from(*seconds) * 1000));
            }
            Op::SetMetadata {
                stream,
                max_count,
                max_age,
                truncate_before,
                expected,
            } => {
                let max_count = max_count.map(|n| u64::from(n) + 1);
                let max_age = max_age.map(|n| u64::from(n) + 1);
                let truncate_before = truncate_before.map(u64::from);
                let metadata = StreamMetadata {
                    max_count,
                    max_age,
                    truncate_before,
                    ..StreamMetadata::default()
                };
                let got = code(
                    store
                        .set_stream_metadata(&format!("s-{stream}"), metadata, expected.revision())
                        .await,
                );
                let life = Life {
                    max_count,
                    max_age,
                    truncate_before,
                    tombstoned: false,
                };
                let want = model.lifecycle(*stream, Some(life), *expected, true);
                if got != want {
                    return fail(&got, &want);
                }
            }
            Op::Delete { stream, expected } => {
                let got = code(
                    store
                        .delete_stream(&format!("s-{stream}"), expected.revision())
                        .await,
                );
                let (last, _) = model.heads(*stream);
                let life = Life {
                    truncate_before: Some(last.map_or(0, |l| l + 1)),
                    ..model.life(*stream)
                };
                let want = model.lifecycle(*stream, Some(life), *expected, false);
                if got != want {
                    return fail(&got, &want);
                }
            }
            Op::Tombstone { stream, expected } => {
                let got = code(
                    store
                        .tombstone_stream(&format!("s-{stream}"), expected.revision())
                        .await,
                );
                let want = model.lifecycle(*stream, None, *expected, false);
                if got != want {
                    return fail(&got, &want);
                }
            }
        }
    }
    Ok(())
}

/// A small deterministic generator (xorshift64*), so every storage can run the same sequences.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
    fn maybe(&mut self, n: u8) -> Option<u8> {
        (self.below(3) > 0).then(|| self.below(n.into()) as u8)
    }
}

/// `n` random operations, shaped like the proptest strategy: mostly appends with ids drawn from
/// a small pool (so retries, duplicates and conflicts happen), some reads both ways, and some
/// lifecycle calls (metadata with maxCount/truncateBefore, deletes, a few tombstones).
pub fn random_ops(seed: u64, n: usize) -> Vec<Op> {
    let mut r = Rng::new(seed);
    let expected = |r: &mut Rng| match r.below(4) {
        0 => Expected::Any,
        1 => Expected::NoStream,
        2 => Expected::StreamExists,
        _ => Expected::Exact(r.below(6) as u8),
    };
    (0..n)
        .map(|_| match r.below(20) {
            0 => Op::SetMetadata {
                stream: r.below(3) as u8,
                max_count: r.maybe(3),
                max_age: r.maybe(4).filter(|_| r.below(2) == 0),
                truncate_before: r.maybe(6),
                expected: expected(&mut r),
            },
            11 => Op::Advance {
                seconds: r.below(4) as u8,
            },
            1 => Op::Delete {
                stream: r.below(3) as u8,
                expected: expected(&mut r),
            },
            2 if r.below(3) == 0 => Op::Tombstone {
                stream: r.below(3) as u8,
                expected: expected(&mut r),
            },
            3..=6 => Op::ReadStream {
                stream: r.below(3) as u8,
                backwards: r.below(2) == 0,
                from: r.maybe(8),
                max: r.maybe(5),
            },
            7 | 8 => Op::ReadSelected {
                selection: r.below(SELECTIONS.into()) as u8,
                backwards: r.below(2) == 0,
                from: r.maybe(20),
                max: r.maybe(8),
            },
            9 | 10 => Op::ReadAll {
                backwards: r.below(2) == 0,
                from: r.maybe(20),
                max: r.maybe(8),
            },
            _ => Op::Append {
                stream: r.below(3) as u8,
                ids: (0..1 + r.below(3)).map(|_| r.maybe(12)).collect(),
                expected: expected(&mut r),
            },
        })
        .collect()
}
