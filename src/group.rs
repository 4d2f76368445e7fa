//! Group commit: appends issued together (in the same tick, un-awaited) share one transaction on
//! storages where a transaction costs far more than a write (IndexedDB). Each append is still
//! decided on its own, in call order, with its own result (`append::append_group`).
//!
//! The first append of a tick waits one turn of the event loop for the others to queue, then one
//! of the waiting callers runs the queued appends as a group and hands each its result; appends
//! that arrive meanwhile form the next group.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::append::Appended;
use crate::error::Result;
use crate::notify::YieldOnce;
use crate::storage::PreparedAppend;

/// Where one queued append's result lands.
#[derive(Debug, Default)]
struct Slot {
    result: RefCell<Option<Result<Appended>>>,
}

/// The appends waiting for the next group, and whether a group is running.
#[derive(Debug, Default)]
pub(crate) struct Group {
    queue: RefCell<Vec<(PreparedAppend, Rc<Slot>)>>,
    running: Cell<bool>,
    /// An append is waiting one turn for the rest of its tick to queue.
    gathering: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Group {
    /// No append is queued or running.
    pub(crate) fn is_idle(&self) -> bool {
        self.queue.borrow().is_empty() && !self.running.get() && !self.gathering.get()
    }

    /// Queues `append` and resolves to its result; `run` executes a group of appends in order
    /// and returns one result each.
    pub(crate) async fn submit<F, Fut>(&self, append: PreparedAppend, run: F) -> Result<Appended>
    where
        F: Fn(Vec<PreparedAppend>) -> Fut,
        Fut: Future<Output = Vec<Result<Appended>>>,
    {
        let slot = Rc::new(Slot::default());
        self.queue.borrow_mut().push((append, slot.clone()));
        if !self.running.get() && !self.gathering.get() {
            // Let the appends issued in the same tick join this group.
            self.gathering.set(true);
            YieldOnce::new().await;
            self.gathering.set(false);
        }
        loop {
            if let Some(result) = slot.result.borrow_mut().take() {
                return result;
            }
            if !self.running.get() && !self.gathering.get() {
                self.running.set(true);
                let batch = std::mem::take(&mut *self.queue.borrow_mut());
                let (appends, slots): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let results = run(appends).await;
                for (slot, result) in slots.iter().zip(results) {
                    *slot.result.borrow_mut() = Some(result);
                }
                self.running.set(false);
                // The others: their results are in, or one of them leads the next group.
                for w in std::mem::take(&mut *self.waiters.borrow_mut()) {
                    w.wake();
                }
                continue;
            }
            Wait {
                group: self,
                slot: &slot,
            }
            .await;
        }
    }
}

/// Resolves when the slot has a result or no group is running.
struct Wait<'a> {
    group: &'a Group,
    slot: &'a Rc<Slot>,
}

impl Future for Wait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let free = !self.group.running.get() && !self.group.gathering.get();
        if self.slot.result.borrow().is_some() || free {
            return Poll::Ready(());
        }
        self.group.waiters.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}
