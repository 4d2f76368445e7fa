//! A reference model of the store — every rule spelled out naively over a plain list — and a
//! runner that applies a sequence of operations to a real store and to the model, comparing
//! every answer. Driven by proptest natively, and by seeded random sequences on every storage.

use evstore::{
    AppendResult, Error, EventStore, ExpectedRevision, Json, ProposedEvent, ReadFrom, ReadOptions,
    Uuid,
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
    /// Read stream `s-{stream}`.
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
}

/// An expected revision.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    Any,
    NoStream,
    StreamExists,
    Exact(u8),
}

/// The model: every event as (stream, id), in position order.
#[derive(Default)]
struct Model {
    log: Vec<(u8, Uuid)>,
}

impl Model {
    fn stream(&self, s: u8) -> Vec<(u64, Uuid)> {
        self.log
            .iter()
            .enumerate()
            .filter(|(_, e)| e.0 == s)
            .map(|(p, e)| (p as u64, e.1))
            .collect()
    }

    fn append(
        &mut self,
        s: u8,
        ids: &[Uuid],
        expected: Expected,
    ) -> Result<AppendResult, &'static str> {
        let mut seen = std::collections::HashSet::new();
        if !ids.iter().all(|id| seen.insert(*id)) {
            return Err("DUPLICATE_EVENT_ID");
        }
        let stream = self.stream(s);
        // A retry: the ids are a contiguous run of this stream, in order.
        if let Some(start) = stream.iter().position(|e| e.1 == ids[0]) {
            let run = &stream[start..];
            if run.len() >= ids.len() && run.iter().zip(ids).all(|(e, id)| e.1 == *id) {
                let (position, _) = run[ids.len() - 1];
                return Ok(AppendResult {
                    next_expected_revision: (start + ids.len() - 1) as u64,
                    position,
                });
            }
        }
        if self.log.iter().any(|e| ids.contains(&e.1)) {
            return Err("DUPLICATE_EVENT_ID");
        }
        let head = stream.len() as i64 - 1;
        let holds = match expected {
            Expected::Any => true,
            Expected::NoStream => head == -1,
            Expected::StreamExists => head >= 0,
            Expected::Exact(n) => head == i64::from(n),
        };
        if !holds {
            return Err("WRONG_EXPECTED_REVISION");
        }
        self.log.extend(ids.iter().map(|id| (s, *id)));
        Ok(AppendResult {
            next_expected_revision: (head + ids.len() as i64) as u64,
            position: self.log.len() as u64 - 1,
        })
    }
}

fn select<T: Clone>(items: &[T], backwards: bool, from: Option<u8>, max: Option<u8>) -> Vec<T> {
    let max = max.map_or(usize::MAX, usize::from);
    if backwards {
        let start = from.map_or(items.len() as i64 - 1, |f| {
            i64::from(f).min(items.len() as i64 - 1)
        });
        (0..=start)
            .rev()
            .take(max)
            .map(|i| items[i as usize].clone())
            .collect()
    } else {
        items
            .iter()
            .skip(from.map_or(0, usize::from))
            .take(max)
            .cloned()
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

/// Applies `ops` to `store` (empty) and to the model; `Err` describes the first disagreement.
pub async fn check_ops(store: &EventStore, ops: &[Op]) -> Result<(), String> {
    let mut model = Model::default();
    let mut fresh = 1000u128;
    for (step, op) in ops.iter().enumerate() {
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
                let exp = match expected {
                    Expected::Any => ExpectedRevision::Any,
                    Expected::NoStream => ExpectedRevision::NoStream,
                    Expected::StreamExists => ExpectedRevision::StreamExists,
                    Expected::Exact(n) => ExpectedRevision::Exact((*n).into()),
                };
                let got = store
                    .append(&format!("s-{stream}"), events, exp)
                    .await
                    .map_err(|e: Error| e.code());
                let want = model.append(*stream, &ids, *expected);
                if got != want {
                    return Err(format!("step {step} {op:?}: store {got:?}, model {want:?}"));
                }
            }
            Op::ReadStream {
                stream,
                backwards,
                from,
                max,
            } => {
                let got = store
                    .read_stream(&format!("s-{stream}"), options(*backwards, *from, *max))
                    .await
                    .unwrap();
                let all = model.stream(*stream);
                let indexed: Vec<(u64, u64, Uuid)> = all
                    .iter()
                    .enumerate()
                    .map(|(r, (p, id))| (r as u64, *p, *id))
                    .collect();
                let want = select(&indexed, *backwards, *from, *max);
                let got: Vec<(u64, u64, Uuid)> =
                    got.iter().map(|e| (e.revision, e.position, e.id)).collect();
                if got != want {
                    return Err(format!("step {step} {op:?}: store {got:?}, model {want:?}"));
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
                let indexed: Vec<(u64, Uuid)> = model
                    .log
                    .iter()
                    .enumerate()
                    .map(|(p, e)| (p as u64, e.1))
                    .collect();
                let want = select(&indexed, *backwards, *from, *max);
                let got: Vec<(u64, Uuid)> = got.iter().map(|e| (e.position, e.id)).collect();
                if got != want {
                    return Err(format!("step {step} {op:?}: store {got:?}, model {want:?}"));
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
/// a small pool (so retries, duplicates and conflicts happen), some reads both ways.
pub fn random_ops(seed: u64, n: usize) -> Vec<Op> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| match r.below(6) {
            0 => Op::ReadStream {
                stream: r.below(3) as u8,
                backwards: r.below(2) == 0,
                from: r.maybe(8),
                max: r.maybe(5),
            },
            1 => Op::ReadAll {
                backwards: r.below(2) == 0,
                from: r.maybe(20),
                max: r.maybe(8),
            },
            _ => Op::Append {
                stream: r.below(3) as u8,
                ids: (0..1 + r.below(3)).map(|_| r.maybe(12)).collect(),
                expected: match r.below(4) {
                    0 => Expected::Any,
                    1 => Expected::NoStream,
                    2 => Expected::StreamExists,
                    _ => Expected::Exact(r.below(6) as u8),
                },
            },
        })
        .collect()
}
