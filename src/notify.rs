//! [`Notify`]: wake-ups for subscriptions. A generation counter that appends bump; waiters
//! register under their own id and are removed when they stop, so nothing accumulates.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Wake-ups only: a subscription that wakes reads the log from its own position, so a missed or
/// extra wake-up can never cause a gap or a duplicate.
#[derive(Debug, Default)]
pub(crate) struct Notify {
    generation: Cell<u64>,
    next_id: Cell<u64>,
    /// `(id, waker)` of the waiting futures: a few (one per live subscription or wait), so a
    /// vector (and no hash map instantiation in the wasm).
    waiters: RefCell<Vec<(u64, Waker)>>,
}

/// Removes waiter `id` from `waiters`, returning its waker.
fn remove(waiters: &mut Vec<(u64, Waker)>, id: u64) -> Option<Waker> {
    let i = waiters.iter().position(|(w, _)| *w == id)?;
    Some(waiters.swap_remove(i).1)
}

impl Notify {
    /// The current generation; [`Notify::changed`] resolves once it moves past this.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Something may have been appended: wake every waiter.
    pub(crate) fn notify(&self) {
        self.generation.set(self.generation.get() + 1);
        // Take the wakers out before waking: a woken task may register again at once.
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for (_, w) in waiters {
            w.wake();
        }
    }

    /// A fresh waiter id.
    pub(crate) fn register(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Removes waiter `id` and wakes it (to let it observe that it was cancelled).
    pub(crate) fn release(&self, id: u64) {
        let waker = remove(&mut self.waiters.borrow_mut(), id);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Resolves when the generation differs from `since`, or when `stop()` says so.
    pub(crate) fn changed<'a>(
        &'a self,
        id: u64,
        since: u64,
        stop: &'a dyn Fn() -> bool,
    ) -> Changed<'a> {
        Changed {
            notify: self,
            id,
            since,
            stop,
        }
    }
}

/// The future of [`Notify::changed`].
pub(crate) struct Changed<'a> {
    notify: &'a Notify,
    id: u64,
    since: u64,
    stop: &'a dyn Fn() -> bool,
}

impl Future for Changed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.notify.generation.get() != self.since || (self.stop)() {
            remove(&mut self.notify.waiters.borrow_mut(), self.id);
            return Poll::Ready(());
        }
        let mut waiters = self.notify.waiters.borrow_mut();
        match waiters.iter_mut().find(|(w, _)| *w == self.id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => waiters.push((self.id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Changed<'_> {
    fn drop(&mut self) {
        remove(&mut self.notify.waiters.borrow_mut(), self.id);
    }
}

/// Returns `Pending` once (waking itself at once), then `Ready`: lets whatever else is ready run
/// first (the rest of the current tick, in the browser).
pub(crate) struct YieldOnce(bool);

impl YieldOnce {
    /// A yield not yet taken.
    pub(crate) fn new() -> Self {
        YieldOnce(false)
    }
}

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
