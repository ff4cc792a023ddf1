//! The handles of submitted tasks: [`TaskFuture`] (the executor's `Future`) and
//! [`AsyncResult`] (the pool's `apply_async`), both over one result slot, and [`as_completed`].
//!
//! A slot is a `Mutex` around "no outcome yet / the outcome / already taken" and a `Condvar` for
//! threads that block in `result`. It also remembers two kinds of waiters that do not block a
//! thread: the [`Waker`] of an async task that awaits the future (so `.await` costs no thread and
//! no polling: the supervisor thread that delivers the outcome wakes the task), and the channel
//! of an [`AsCompleted`] iterator (so waiting for *any* of many futures is one `recv`).

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::core::Shared;
use super::error::TaskError;

struct State<T> {
    outcome: Option<Result<T, TaskError>>,
    taken: bool,
    waker: Option<Waker>,
    listener: Option<(mpsc::Sender<usize>, usize)>,
}

/// Where a task's outcome is put, once, by the pool.
pub(crate) struct Slot<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            state: Mutex::new(State {
                outcome: None,
                taken: false,
                waker: None,
                listener: None,
            }),
            ready: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts the outcome and wakes whoever waits: threads, an async task, an `as_completed`.
    pub(crate) fn fill(&self, outcome: Result<T, TaskError>) {
        let mut state = self.lock();
        state.outcome = Some(outcome);
        let waker = state.waker.take();
        let listener = state.listener.take();
        drop(state);
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
        if let Some((listener, index)) = listener {
            let _ = listener.send(index);
        }
    }

    fn is_done(&self) -> bool {
        let state = self.lock();
        state.taken || state.outcome.is_some()
    }

    /// Waits until `deadline` (forever with `None`) and takes the outcome.
    fn take(&self, deadline: Option<Instant>) -> Result<T, TaskError> {
        let mut state = self.lock();
        loop {
            if let Some(outcome) = state.outcome.take() {
                state.taken = true;
                return outcome;
            }
            if state.taken {
                return Err(TaskError::AlreadyTaken);
            }
            state = match deadline {
                None => self.ready.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(TaskError::WaitTimedOut);
                    }
                    self.ready
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

/// The result of a task submitted to a [`ProcessPoolExecutor`](super::ProcessPoolExecutor)
/// (Python's `concurrent.futures.Future`).
///
/// Wait for it from a thread with [`result`](TaskFuture::result), or `.await` it from async code:
/// it is a [`std::future::Future`], woken by the pool when the outcome arrives, so awaiting it
/// blocks no thread of the async runtime (Python's `await loop.run_in_executor(pool, f, x)`).
pub struct TaskFuture<T> {
    slot: Arc<Slot<T>>,
    id: u64,
    pool: Weak<Shared>,
}

impl<T> TaskFuture<T> {
    pub(crate) fn new(slot: Arc<Slot<T>>, id: u64, pool: Weak<Shared>) -> Self {
        TaskFuture { slot, id, pool }
    }

    /// Waits for the task and returns its value, or why there is none.
    pub fn result(self) -> Result<T, TaskError> {
        self.slot.take(None)
    }

    /// Waits at most `timeout`. On [`TaskError::WaitTimedOut`] the future stays usable; once the
    /// value has been returned, later calls give [`TaskError::AlreadyTaken`].
    pub fn result_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        self.slot.take(Some(Instant::now() + timeout))
    }

    /// Whether the task has finished (a value, an error, or cancelled). Never blocks.
    pub fn done(&self) -> bool {
        self.slot.is_done()
    }

    /// Takes the task out of the queue if no worker has it yet: then the future reports
    /// [`TaskError::Cancelled`] and this returns `true`. A task that is running or done is not
    /// stopped, and this returns `false` (Python's `Future.cancel()`).
    pub fn cancel(&self) -> bool {
        self.pool.upgrade().is_some_and(|pool| pool.cancel(self.id))
    }
}

// ANCHOR: poll
impl<T> Future for TaskFuture<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        if let Some(outcome) = state.outcome.take() {
            state.taken = true;
            return Poll::Ready(outcome);
        }
        if state.taken {
            return Poll::Ready(Err(TaskError::AlreadyTaken));
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(context.waker()) => {}
            waker => *waker = Some(context.waker().clone()),
        }
        Poll::Pending
    }
}
// ANCHOR_END: poll

impl<T> std::fmt::Debug for TaskFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskFuture")
            .field("id", &self.id)
            .field("done", &self.done())
            .finish()
    }
}

/// The result of [`Pool::apply_async`](super::Pool::apply_async) (Python's `AsyncResult`).
#[derive(Debug)]
pub struct AsyncResult<T>(pub(crate) TaskFuture<T>);

impl<T> AsyncResult<T> {
    /// Waits for the value (Python's `get()`).
    pub fn get(self) -> Result<T, TaskError> {
        self.0.result()
    }

    /// Waits at most `timeout` (Python's `get(timeout)`); [`TaskError::WaitTimedOut`] leaves the
    /// handle usable.
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        self.0.result_timeout(timeout)
    }

    /// Whether the task has finished (Python's `ready()`).
    pub fn ready(&self) -> bool {
        self.0.done()
    }
}

/// Yields the outcomes of `futures` as the tasks finish (Python's
/// `concurrent.futures.as_completed`). Each item is `(index, outcome)`, `index` being the
/// future's position in `futures`. See [`AsCompleted::with_deadline`] to bound the wait.
pub fn as_completed<T>(
    futures: impl IntoIterator<Item = TaskFuture<T>>,
) -> AsCompleted<T> {
    let (finished, arrivals) = mpsc::channel();
    let pending: Vec<Option<TaskFuture<T>>> = futures.into_iter().map(Some).collect();
    for (index, future) in pending.iter().enumerate() {
        let future = future.as_ref().expect("just made");
        let mut state = future.slot.lock();
        if state.outcome.is_some() || state.taken {
            let _ = finished.send(index);
        } else {
            state.listener = Some((finished.clone(), index));
        }
    }
    AsCompleted {
        remaining: pending.len(),
        pending,
        arrivals,
        deadline: None,
    }
}

/// The iterator returned by [`as_completed`].
pub struct AsCompleted<T> {
    pending: Vec<Option<TaskFuture<T>>>,
    remaining: usize,
    arrivals: mpsc::Receiver<usize>,
    deadline: Option<Instant>,
}

impl<T> AsCompleted<T> {
    /// Stops waiting at `deadline`: from then on each future still pending is yielded at once
    /// with [`TaskError::WaitTimedOut`] (Python's `as_completed(timeout=...)` raises instead).
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How many futures have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = (usize, Result<T, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let arrived = match self.deadline {
            None => self.arrivals.recv().ok(),
            Some(deadline) => self
                .arrivals
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .ok(),
        };
        self.remaining -= 1;
        let Some(index) = arrived else {
            let index = self.pending.iter().position(Option::is_some)?;
            self.pending[index] = None;
            return Some((index, Err(TaskError::WaitTimedOut)));
        };
        let future = self.pending[index]
            .take()
            .expect("each future arrives once");
        Some((index, future.slot.take(Some(Instant::now()))))
    }
}

impl<T> std::fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining)
            .finish()
    }
}
