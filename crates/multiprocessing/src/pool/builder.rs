//! [`PoolBuilder`]: a pool's options, Python's `Pool(processes, initializer, initargs,
//! maxtasksperchild)` plus what Python's pools lack (a per-task timeout, retries).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Pool;
use super::core::Config;
use super::error::PoolError;
use super::map::encode_chunk;
use crate::StartMethod;
use crate::start::fnid::TaskFn;

/// How many tasks the pool sends ahead to one worker (see `supervisor.rs`).
const IN_FLIGHT_PER_WORKER: usize = 2;

/// Options for a [`Pool`]: `Pool::builder().workers(4).timeout(..).build()`.
#[derive(Clone)]
pub struct PoolBuilder {
    workers: Option<usize>,
    initializer: Option<Result<(TaskFn, serde_bytes::ByteBuf), String>>,
    max_tasks_per_child: Option<usize>,
    timeout: Option<Duration>,
    retries: u32,
    process: crate::Builder,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PoolBuilder {
    /// The defaults: one worker per available core, no initializer, workers that live for ever,
    /// no time limit, no retries.
    pub fn new() -> Self {
        PoolBuilder {
            workers: None,
            initializer: None,
            max_tasks_per_child: None,
            timeout: None,
            retries: 0,
            process: crate::Builder::new(),
        }
    }

    /// How many worker processes (Python's `processes`; by default
    /// `std::thread::available_parallelism()`, as Python's `os.cpu_count()`).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// A function every worker runs once, before its first task, with `argument` (Python's
    /// `initializer` and `initargs`). Typically it sets up something the tasks then use, kept in a
    /// `static` of the worker (a connection, a large table). If it panics, the pool is broken:
    /// Python would start the worker again and again.
    pub fn initializer<A>(mut self, f: fn(A), argument: A) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        let prepared = TaskFn::of::<A, ()>(f)
            .map_err(|error| error.to_string())
            .and_then(|function| Ok((function, encode_chunk(&[argument])?)));
        self.initializer = Some(prepared);
        self
    }

    /// Replaces each worker after it has run `tasks` tasks (chunks), as Python's
    /// `maxtasksperchild`: a cure for memory that leaks in the tasks' code.
    pub fn max_tasks_per_child(mut self, tasks: usize) -> Self {
        self.max_tasks_per_child = Some(tasks.max(1));
        self
    }

    /// A time limit per task (chunk): past it the worker is killed and replaced and the task
    /// fails with [`TaskError::Timeout`](super::TaskError::Timeout).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// How many times a task whose worker died is run again before it fails with
    /// [`TaskError::WorkerDied`](super::TaskError::WorkerDied). Panics and timeouts are not
    /// retried: they are the task's own outcome.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// How the workers are started (the fork server by default).
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.process = self.process.start_method(method);
        self
    }

    /// Starts the workers and returns the pool.
    pub fn build(self) -> Result<Pool, PoolError> {
        let workers = match self.workers {
            Some(0) => return Err(PoolError::NoWorkers),
            Some(workers) => workers,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        let initializer = match self.initializer {
            None => None,
            Some(Ok(prepared)) => Some(prepared),
            Some(Err(reason)) => {
                return Err(PoolError::Serialization(format!(
                    "the initializer: {reason}"
                )));
            }
        };
        Pool::start(Config {
            workers,
            in_flight_per_worker: IN_FLIGHT_PER_WORKER,
            timeout: self.timeout,
            retries: self.retries,
            max_tasks_per_child: self.max_tasks_per_child,
            initializer,
            process: self.process,
        })
    }
}

impl std::fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("workers", &self.workers)
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}
