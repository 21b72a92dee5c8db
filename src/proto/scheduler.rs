//! [`Scheduler`]: the streams of one connection that need its task's
//! attention, and the task's waker.
//!
//! Handlers, bodies and readers on any task wake a stream; the stream puts
//! itself on its connection's list (once until the task takes it) and wakes
//! the task if it sleeps. The task takes the whole list in one swap, so a
//! burst of wake-ups costs one lock and at most one task wake-up.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use crate::proto::stream::Stream;

/// What one connection's task and the streams it serves share (streams
/// that keep an `X` with them, as [`Stream`]).
pub(crate) struct Scheduler<X = ()> {
    queue: Mutex<Queue<X>>,
}

struct Queue<X> {
    dirty: Vec<Arc<Stream<X>>>,
    /// The connection task's waker, present only while the task sleeps.
    waker: Option<Waker>,
    closed: bool,
}

impl<X> Default for Scheduler<X> {
    fn default() -> Scheduler<X> {
        Scheduler {
            queue: Mutex::new(Queue {
                dirty: Vec::new(),
                waker: None,
                closed: false,
            }),
        }
    }
}

impl<X> Scheduler<X> {
    fn queue(&self) -> MutexGuard<'_, Queue<X>> {
        // A poisoned lock only means a panic elsewhere while it was held;
        // the queue itself stays consistent (pushes and swaps).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `stream` and wakes the task if it sleeps.
    pub(crate) fn push(&self, stream: Arc<Stream<X>>) {
        let waker = {
            let mut q = self.queue();
            if q.closed {
                return;
            }
            q.dirty.push(stream);
            q.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Moves the streams that need attention into `out` (which must be
    /// empty). The task's waker is taken back: while the task runs, pushes
    /// do not wake it.
    pub(crate) fn take_dirty(&self, out: &mut Vec<Arc<Stream<X>>>) {
        let mut q = self.queue();
        q.waker = None;
        std::mem::swap(&mut q.dirty, out);
    }

    /// Parks the task: stores its waker unless work arrived meanwhile, in
    /// which case it answers false and the task goes on.
    pub(crate) fn park(&self, waker: &Waker) -> bool {
        let mut q = self.queue();
        if !q.dirty.is_empty() {
            return false;
        }
        match &q.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => q.waker = Some(waker.clone()),
        }
        true
    }

    /// The connection ended: drop queued streams (they hold `Arc`s back to
    /// this) and ignore later pushes.
    pub(crate) fn close(&self) {
        let dirty = {
            let mut q = self.queue();
            q.closed = true;
            q.waker = None;
            std::mem::take(&mut q.dirty)
        };
        drop(dirty);
    }
}
