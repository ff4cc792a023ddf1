//! [`ThreadPoolExecutor`]: a fixed set of worker threads that run submitted closures, like Python's
//! `concurrent.futures.ThreadPoolExecutor`.
//!
//! Starting a thread costs tens of microseconds and a stack; a pool starts `n` of them once and feeds
//! them work through a queue. The design, and why:
//!
//! - **The queue** is a `crossbeam-channel`, unbounded, shared by all workers (crossbeam's `Receiver`
//!   can be cloned, so every worker takes from the same queue; `std::sync::mpsc`'s cannot). Unbounded, as in
//!   Python: `submit` never blocks. If producers can outrun the pool, bound the work yourself (a
//!   [`Semaphore`](crate::Semaphore) around `submit`, or a bounded channel in front).
//! - **A future per task** ([`TaskFuture`]) is the receiving end of a one-slot channel; the worker
//!   sends the task's outcome into it. Waiting for a result is a `recv`, with or without a timeout.
//! - **Panics stay in their task.** A worker runs each task under `std::panic::catch_unwind`, so a
//!   panicking task becomes [`TaskError::Panicked`] (with the panic message) in *its* future, and the
//!   worker goes on to the next task. Python does the same with exceptions. (The panic message is
//!   still printed on stderr by the default panic hook; and a program built with `panic = "abort"`
//!   cannot catch anything.)
//! - **Shutdown** closes the queue: `submit` then fails with [`PoolError::ShutDown`]. Tasks already
//!   queued still run, as in Python; [`cancel_pending`](ThreadPoolExecutor::cancel_pending) takes them
//!   out first (Python's `cancel_futures=True`), and their futures report [`TaskError::Cancelled`].
//!   `shutdown(true)` then waits for the workers; dropping the executor does the same, so no worker
//!   outlives it. A task that never returns therefore makes the drop wait forever; give blocking
//!   tasks their own timeouts.
//! - [`as_completed`] waits on many futures at once with `crossbeam_channel::Select`, the dynamic
//!   form of `select!`: it returns results in the order tasks *finish*, not the order they were
//!   submitted.
//!
//! In production: `rayon` for data parallelism (parallel iterators, work stealing, no futures to
//! manage), `threadpool` or `rusty_pool` for a plain job pool, and `tokio::task::spawn_blocking` to
//! run blocking work from async code (Python's `run_in_executor`).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Select, Sender};

/// Why a task produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The task panicked; the panic message is kept.
    #[error("the task panicked: {0}")]
    Panicked(String),
    /// The task was taken out of the queue before it ran (see
    /// [`ThreadPoolExecutor::cancel_pending`]).
    #[error("the task was cancelled before it ran")]
    Cancelled,
    /// The wait for the result ran out of time; the task may still finish later.
    #[error("timed out waiting for the task's result")]
    TimedOut,
    /// The result was already returned by an earlier call.
    #[error("the task's result was already taken")]
    AlreadyTaken,
}

/// Why the executor could not start or take a task.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A pool needs at least one worker (Python raises `ValueError` for `max_workers=0`).
    #[error("a thread pool needs at least one worker")]
    NoWorkers,
    /// The operating system refused to start a worker thread.
    #[error("could not start worker thread {index}: {source}")]
    Spawn {
        /// Which worker (0-based).
        index: usize,
        /// The error from the OS.
        source: std::io::Error,
    },
    /// `submit` after `shutdown` (Python raises `RuntimeError`).
    #[error("the executor is shut down and accepts no new tasks")]
    ShutDown,
}

/// What a worker is asked to do with a job it took from the queue.
enum Action {
    Run,
    Cancel,
}

/// A queued task: called once, it either runs the closure or reports cancellation to its future.
type Job = Box<dyn FnOnce(Action) + Send + 'static>;

/// A fixed-size pool of worker threads (Python's `ThreadPoolExecutor`).
///
/// ```
/// use threading::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(4)?;
/// let answer = pool.submit(|| 6 * 7)?;
/// assert_eq!(answer.result(), Ok(42));
/// let squares: Result<Vec<u64>, _> = pool.map(|n: u64| n * n, 1..=4)?.collect();
/// assert_eq!(squares, Ok(vec![1, 4, 9, 16]));
/// # Ok::<(), threading::PoolError>(())
/// ```
#[derive(Debug)]
pub struct ThreadPoolExecutor {
    /// `None` once shut down: dropping the last sender is what tells the workers to stop.
    jobs: Option<Sender<Job>>,
    /// A handle on the queue, to take pending jobs out in `cancel_pending`.
    queue: Receiver<Job>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPoolExecutor {
    /// Starts `workers` threads, named `pool-worker-0`, `pool-worker-1`, ...
    pub fn new(workers: usize) -> Result<Self, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        let mut pool = Self {
            jobs: Some(jobs),
            queue,
            workers: Vec::with_capacity(workers),
        };
        for index in 0..workers {
            let queue = pool.queue.clone();
            let worker = thread::Builder::new()
                .name(format!("pool-worker-{index}"))
                .spawn(move || work_through(queue))
                .map_err(|source| PoolError::Spawn { index, source })?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    /// How many worker threads the pool has.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Queues `task` and returns the future of its result. Never blocks.
    // ANCHOR: submit
    pub fn submit<T, F>(&self, task: F) -> Result<TaskFuture<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let jobs = self.jobs.as_ref().ok_or(PoolError::ShutDown)?;
        let (outcome_tx, outcome_rx) = crossbeam_channel::bounded(1);
        let job: Job = Box::new(move |action| {
            let outcome = match action {
                Action::Run => run_catching_panic(task),
                Action::Cancel => Err(TaskError::Cancelled),
            };
            // The only way this fails is that the future was dropped: nobody wants the
            // result.
            let _ = outcome_tx.send(outcome);
        });
        jobs.send(job).map_err(|_| PoolError::ShutDown)?;
        Ok(TaskFuture {
            outcome: outcome_rx,
            taken: false,
        })
    }
    // ANCHOR_END: submit

    /// Runs `f` on every item in the pool; the results come back **in the order of the items**
    /// (Python's `executor.map`). All items are submitted before this returns; iterating waits for
    /// each result in turn.
    pub fn map<A, T, F, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<impl Iterator<Item = Result<T, TaskError>> + use<A, T, F, I>, PoolError>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        T: Send + 'static,
    {
        // One closure, shared by every task: `Arc` because the tasks run on other threads and may
        // outlive this call.
        let f = Arc::new(f);
        let futures = items
            .into_iter()
            .map(|item| {
                let f = Arc::clone(&f);
                self.submit(move || f(item))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(futures.into_iter().map(TaskFuture::result))
    }

    /// Takes every task that has not started yet out of the queue; their futures report
    /// [`TaskError::Cancelled`]. Tasks already running are not interrupted (threads cannot be
    /// killed safely). Returns how many tasks were cancelled.
    pub fn cancel_pending(&self) -> usize {
        let mut cancelled = 0;
        while let Ok(job) = self.queue.try_recv() {
            job(Action::Cancel);
            cancelled += 1;
        }
        cancelled
    }

    /// Stops accepting tasks. The tasks already queued still run. With `wait`, blocks until they
    /// have and every worker has exited; without, returns at once (the drop waits later).
    pub fn shutdown(&mut self, wait: bool) {
        self.jobs = None;
        if wait {
            for worker in self.workers.drain(..) {
                // Workers catch task panics, so a worker itself never panics; nothing to report.
                let _ = worker.join();
            }
        }
    }
}

impl Drop for ThreadPoolExecutor {
    /// Shuts down and waits for the workers (as leaving Python's `with ThreadPoolExecutor()` block
    /// does).
    fn drop(&mut self) {
        self.shutdown(true);
    }
}

/// A worker's life: take jobs until the queue is closed and empty.
// ANCHOR: work_through
fn work_through(queue: Receiver<Job>) {
    for job in queue.iter() {
        job(Action::Run);
    }
}
// ANCHOR_END: work_through

// ANCHOR: catch_panic
fn run_catching_panic<T>(task: impl FnOnce() -> T) -> Result<T, TaskError> {
    // `AssertUnwindSafe`: after a panic nothing observes the task's captured state again
    // (it is dropped with the task). Shared state it touched through a `Mutex` is marked
    // poisoned by std.
    panic::catch_unwind(AssertUnwindSafe(task))
        .map_err(|payload| TaskError::Panicked(panic_message(payload.as_ref())))
}
// ANCHOR_END: catch_panic

/// The message of a panic: `panic!("literal")` carries a `&str`, `panic!("{x}")` a `String`.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// The result of a submitted task, to be collected later (Python's `Future`).
///
/// Not a `std::future::Future`: nothing here is async. Waiting blocks the calling thread.
#[derive(Debug)]
pub struct TaskFuture<T> {
    outcome: Receiver<Result<T, TaskError>>,
    taken: bool,
}

impl<T> TaskFuture<T> {
    /// Waits for the task and returns its value, or why there is none.
    pub fn result(mut self) -> Result<T, TaskError> {
        self.receive(None)
    }

    /// Waits at most `timeout`. On [`TaskError::TimedOut`] the future stays usable: call again
    /// later. Once the result has been returned, later calls give [`TaskError::AlreadyTaken`].
    pub fn result_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        self.receive(Some(timeout))
    }

    /// Whether the task has finished (with a value, a panic, or cancelled). Never blocks.
    pub fn done(&self) -> bool {
        self.taken || !self.outcome.is_empty()
    }

    fn receive(&mut self, timeout: Option<Duration>) -> Result<T, TaskError> {
        if self.taken {
            return Err(TaskError::AlreadyTaken);
        }
        let received = match timeout {
            None => self
                .outcome
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
            Some(timeout) => self.outcome.recv_timeout(timeout),
        };
        self.accept(received)
    }

    fn accept(
        &mut self,
        received: Result<Result<T, TaskError>, RecvTimeoutError>,
    ) -> Result<T, TaskError> {
        match received {
            Ok(outcome) => {
                self.taken = true;
                outcome
            }
            Err(RecvTimeoutError::Timeout) => Err(TaskError::TimedOut),
            // Every job reports before it is dropped; a closed, empty slot means it never will.
            Err(RecvTimeoutError::Disconnected) => {
                self.taken = true;
                Err(TaskError::Cancelled)
            }
        }
    }
}

/// Yields the results of `futures` as the tasks finish (Python's `concurrent.futures.as_completed`).
///
/// Each item is `(index, outcome)`, where `index` is the future's position in `futures`, so the
/// caller can tell which task finished. See [`AsCompleted::with_deadline`] to bound the wait.
pub fn as_completed<T>(
    futures: impl IntoIterator<Item = TaskFuture<T>>,
) -> AsCompleted<T> {
    AsCompleted {
        pending: futures.into_iter().enumerate().collect(),
        deadline: None,
    }
}

/// The iterator returned by [`as_completed`].
#[derive(Debug)]
pub struct AsCompleted<T> {
    pending: Vec<(usize, TaskFuture<T>)>,
    deadline: Option<Instant>,
}

impl<T> AsCompleted<T> {
    /// Stops waiting at `deadline`: from then on, each future still pending is yielded at once
    /// with [`TaskError::TimedOut`] (Python's `as_completed(timeout=...)` raises instead).
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How many futures have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.pending.len()
    }
}

impl<T> AsCompleted<T> {
    /// Blocks until one pending future is ready (or the deadline passes: `None`), and receives from
    /// it. Returns its position in `pending` and what was received.
    #[allow(clippy::type_complexity)]
    fn wait_for_any(
        &self,
    ) -> Option<(
        usize,
        Result<Result<T, TaskError>, crossbeam_channel::RecvError>,
    )> {
        // Register one receive per pending future, then block until any of them is ready.
        let mut select = Select::new();
        for (_, future) in &self.pending {
            select.recv(&future.outcome);
        }
        let operation = match self.deadline {
            None => select.select(),
            Some(deadline) => select.select_deadline(deadline).ok()?,
        };
        let position = operation.index();
        Some((position, operation.recv(&self.pending[position].1.outcome)))
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = (usize, Result<T, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() {
            return None;
        }
        let Some((position, received)) = self.wait_for_any() else {
            let (index, _future) = self.pending.swap_remove(0);
            return Some((index, Err(TaskError::TimedOut)));
        };
        let (index, mut future) = self.pending.swap_remove(position);
        let outcome = if future.taken {
            Err(TaskError::AlreadyTaken)
        } else {
            future.accept(received.map_err(|_| RecvTimeoutError::Disconnected))
        };
        Some((index, outcome))
    }
}
