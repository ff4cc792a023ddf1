//! The state every part of a pool shares: the queue of jobs, what each worker has in flight,
//! and the flags that end the pool. One mutex guards it all and one condition variable says
//! "something changed"; the pool has a handful of threads, so one lock is simpler to reason about
//! than several and costs nothing measurable.
//!
//! A **job** is one chunk of work with its encoded arguments and a `deliver` callback that the
//! typed side gave when it submitted: every job is delivered **exactly once**, by its reply, by
//! its worker's death or timeout, by `cancel` or by `terminate`. That promise is what lets
//! `map`, `imap` and the futures wait without a deadline of their own.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;

use super::error::{PoolError, TaskError};
use crate::Process;
use crate::start::fnid::TaskFn;

/// How a job ends: the worker's encoded outcomes, or a failure of the whole chunk.
pub(crate) enum Delivery {
    Outcomes(ByteBuf),
    Failed(TaskError),
}

pub(crate) type Deliver = Box<dyn FnOnce(Delivery) + Send>;

pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) function: TaskFn,
    pub(crate) arguments: ByteBuf,
    /// How many workers died running it so far (for `retries`).
    pub(crate) deaths: u32,
    pub(crate) deliver: Deliver,
}

/// The pool's settings, fixed when it starts.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    /// Tasks sent ahead to one worker (see `supervisor.rs`).
    pub(crate) in_flight_per_worker: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) max_tasks_per_child: Option<usize>,
    pub(crate) initializer: Option<(TaskFn, ByteBuf)>,
    pub(crate) process: crate::Builder,
}

/// What one worker slot has been sent and not yet answered, oldest first. The worker runs its
/// tasks in order, so the front one is the one running.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) in_flight: VecDeque<Job>,
    /// Since when the front job has been the one running.
    pub(crate) front_since: Option<Instant>,
    /// False once the slot's current worker is finished with: its feeder must stop.
    pub(crate) feeding: bool,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) queue: VecDeque<Job>,
    /// Jobs submitted and not yet delivered.
    pub(crate) outstanding: usize,
    pub(crate) closed: bool,
    pub(crate) terminated: bool,
    /// Why no worker can run (a replacement failed to start, an initializer panicked).
    pub(crate) broken: Option<String>,
    pub(crate) slots: Vec<Slot>,
    next_id: u64,
}

impl State {
    /// Nothing more will ever run: the supervisors may end.
    pub(crate) fn finished(&self) -> bool {
        self.terminated || self.broken.is_some() || (self.closed && self.outstanding == 0)
    }
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    pub(crate) changed: Condvar,
    /// Each slot's current worker process, so that `terminate` and timeouts can kill it.
    pub(crate) workers: Vec<Mutex<Option<Process<()>>>>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Shared {
        let state = State {
            slots: (0..config.workers).map(|_| Slot::default()).collect(),
            ..State::default()
        };
        Shared {
            workers: (0..config.workers).map(|_| Mutex::new(None)).collect(),
            config,
            state: Mutex::new(state),
            changed: Condvar::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock happens only in a delivery callback, which runs unlocked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a job; returns its id.
    pub(crate) fn submit(
        &self,
        function: TaskFn,
        arguments: ByteBuf,
        deliver: Deliver,
    ) -> Result<u64, PoolError> {
        let mut state = self.lock();
        if state.closed || state.terminated {
            return Err(PoolError::Closed);
        }
        if let Some(reason) = &state.broken {
            return Err(PoolError::Broken(reason.clone()));
        }
        state.next_id += 1;
        let id = state.next_id;
        state.queue.push_back(Job {
            id,
            function,
            arguments,
            deaths: 0,
            deliver,
        });
        state.outstanding += 1;
        drop(state);
        self.changed.notify_all();
        Ok(id)
    }

    /// Takes job `id` out of the queue if no worker has it yet, and delivers `Cancelled`.
    pub(crate) fn cancel(&self, id: u64) -> bool {
        let mut state = self.lock();
        let Some(position) = state.queue.iter().position(|job| job.id == id) else {
            return false;
        };
        let job = state
            .queue
            .remove(position)
            .expect("the position just found");
        state.outstanding -= 1;
        drop(state);
        self.changed.notify_all();
        (job.deliver)(Delivery::Failed(TaskError::Cancelled));
        true
    }

    /// Takes every queued job out and delivers `failure` to each. Returns how many.
    pub(crate) fn fail_queued(&self, failure: &TaskError) -> usize {
        let mut state = self.lock();
        let jobs: Vec<Job> = state.queue.drain(..).collect();
        state.outstanding -= jobs.len();
        drop(state);
        self.changed.notify_all();
        let count = jobs.len();
        for job in jobs {
            (job.deliver)(Delivery::Failed(failure.clone()));
        }
        count
    }

    /// No new jobs; the queued ones still run.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// No new jobs, the queued ones fail with `Terminated`, every worker is killed.
    pub(crate) fn terminate(&self) {
        self.lock().terminated = true;
        self.changed.notify_all();
        self.fail_queued(&TaskError::Terminated);
        for worker in &self.workers {
            if let Some(process) = lock_worker(worker).as_ref() {
                let _ = process.kill();
            }
        }
    }

    /// No worker can be started any more: fail what is queued and refuse new work.
    pub(crate) fn break_pool(&self, reason: String) {
        self.lock().broken = Some(reason.clone());
        self.changed.notify_all();
        self.fail_queued(&TaskError::NoWorker(reason));
    }
}

pub(crate) fn lock_worker(
    worker: &Mutex<Option<Process<()>>>,
) -> MutexGuard<'_, Option<Process<()>>> {
    worker
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
