//! The portable clock and the event-id generator.
//!
//! `uuid`'s timestamp source reads `Date.now()` on wasm32 and the system clock natively, so the
//! core needs no platform code of its own.

use std::cell::RefCell;

use uuid::{Builder, NoContext, Timestamp, Uuid};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    let (secs, nanos) = Timestamp::now(NoContext).to_unix();
    secs * 1000 + u64::from(nanos) / 1_000_000
}

/// How many ids one refill of the random pool serves (one `getrandom` call per refill, which on
/// wasm32 is one call into JS).
const IDS_PER_REFILL: usize = 64;
const RANDOM_BYTES_PER_ID: usize = 10;

/// Generates UUID v7 event ids from a pooled source of randomness.
#[derive(Debug)]
pub(crate) struct IdGenerator {
    pool: RefCell<(Box<[u8; IDS_PER_REFILL * RANDOM_BYTES_PER_ID]>, usize)>,
}

impl IdGenerator {
    pub(crate) fn new() -> Self {
        IdGenerator {
            pool: RefCell::new((
                Box::new([0; IDS_PER_REFILL * RANDOM_BYTES_PER_ID]),
                usize::MAX,
            )),
        }
    }

    /// A fresh UUID v7 for an event created at `millis`.
    pub(crate) fn next(&self, millis: u64) -> Uuid {
        let mut pool = self.pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        if *used >= bytes.len() {
            // Not `expect`: formatting getrandom's error with `Debug` would link string and char
            // escaping into the wasm for a panic that aborts anyway.
            if getrandom::fill(&mut bytes[..]).is_err() {
                panic!("no source of randomness for event ids");
            }
            *used = 0;
        }
        let mut random = [0u8; RANDOM_BYTES_PER_ID];
        random.copy_from_slice(&bytes[*used..*used + RANDOM_BYTES_PER_ID]);
        *used += RANDOM_BYTES_PER_ID;
        Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }
}
