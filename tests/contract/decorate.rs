//! Hooks for tests, built on the storage seam the way cross-cutting writes (the sync outbox) are:
//! the core's [`Layered`] storage puts a [`Hook`] around another, which sees every primitive
//! call — to inject faults ([`Faults`], as redb's crash tests do), to count reads, or to add its
//! own writes to an append's transaction ([`Recorder`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use evstore::{
    Appending, Capabilities, Error, Hook, Io, Json, Layered, Position, Primitive, Result, Storage,
    Transaction,
};

/// `inner` with `hook` around every primitive (the core's [`Layered`]), and the hook, to read
/// what it counted or to arm faults.
pub fn layered<H: Hook + 'static>(inner: Rc<dyn Storage>, hook: H) -> (Rc<dyn Storage>, Rc<H>) {
    let hook = Rc::new(hook);
    (Rc::new(Layered::over(inner, hook.clone())), hook)
}

/// Turns group commit on for the decorated storage (memory does not group by itself), and
/// counts the write transactions begun.
#[derive(Default)]
#[allow(dead_code)] // tests/memory.rs only
pub struct Grouping {
    pub writes: Cell<usize>,
}

impl Hook for Grouping {
    fn capabilities(&self, inner: Capabilities) -> Capabilities {
        Capabilities {
            groups_appends: true,
            ..inner
        }
    }

    fn before(&self, primitive: Primitive) -> Result<()> {
        if primitive == Primitive::Begin {
            self.writes.set(self.writes.get() + 1);
        }
        Ok(())
    }
}

/// Fails one chosen primitive call: the `n`th call from when it was armed, or every call of
/// one kind.
#[derive(Default)]
pub struct Faults {
    countdown: Cell<Option<usize>>,
    kind: Cell<Option<Primitive>>,
    /// How many faults were injected.
    pub injected: Cell<usize>,
}

impl Faults {
    /// Fails the `n`th primitive call from now (0: the next one).
    pub fn fail_nth(&self, n: usize) {
        self.countdown.set(Some(n));
    }

    /// Fails every call of `primitive` until [`Faults::heal`].
    pub fn fail_every(&self, primitive: Primitive) {
        self.kind.set(Some(primitive));
    }

    /// No more faults.
    pub fn heal(&self) {
        self.countdown.set(None);
        self.kind.set(None);
    }
}

impl Hook for Faults {
    fn before(&self, primitive: Primitive) -> Result<()> {
        let hit = match self.countdown.get() {
            Some(0) => {
                self.countdown.set(None);
                true
            }
            Some(n) => {
                self.countdown.set(Some(n - 1));
                false
            }
            None => false,
        } || self.kind.get() == Some(primitive);
        if hit {
            self.injected.set(self.injected.get() + 1);
            return Err(Error::storage(format!("injected fault in {primitive:?}")));
        }
        Ok(())
    }
}

/// Counts the events that reads of the log hand out.
#[allow(dead_code)] // used by one test crate only
#[derive(Default)]
pub struct CountReads {
    pub events: Cell<usize>,
}

impl Hook for CountReads {
    fn read(&self, primitive: Primitive, events: usize) {
        if primitive == Primitive::ReadLog {
            self.events.set(self.events.get() + events);
        }
    }
}

/// Records every append in the meta area of the same transaction, as a sync outbox would:
/// under `append/{position of its last event}`, `{"stream":…,"expected":…,"ids":[…]}`.
#[derive(Default)]
pub struct Recorder {
    /// The keys it wrote, in order (including those of transactions that did not commit).
    pub keys: RefCell<Vec<String>>,
}

impl Recorder {
    pub fn key(position: Position) -> String {
        format!("append/{position:020}")
    }
}

impl Hook for Recorder {
    fn appended<'a>(&'a self, tx: &'a mut dyn Transaction, what: Appending<'a>) -> Io<'a, ()> {
        let Appending { append, events, .. } = what;
        Box::pin(async move {
            let last = events.last().expect("an append has events").position;
            let key = Recorder::key(last);
            let record = serde_json::json!({
                "stream": append.stream_id.as_str(),
                "expected": append.expected.to_string(),
                "ids": events.iter().map(|e| e.id.to_string()).collect::<Vec<_>>(),
            });
            tx.put_meta(&key, Some(&Json::from_value(&record)?)).await?;
            self.keys.borrow_mut().push(key);
            Ok(())
        })
    }
}
