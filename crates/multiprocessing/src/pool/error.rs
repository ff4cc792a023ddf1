//! [`TaskError`], why one pool task has no value, and [`PoolError`], why the pool refused work.
//!
//! Python's pools fail in ways that are hard to tell apart, and some of them never end:
//!
//! | what happened | Python | here |
//! |---|---|---|
//! | the function raised (panicked) | the exception, re-raised by `get()` | [`TaskError::Panicked`] for that item only, with message and location |
//! | a worker died mid-task (SIGKILL, `abort`, `exit`) | `Pool`: the result never comes, `get()` hangs forever; `ProcessPoolExecutor`: `BrokenProcessPool` for every pending future, and the executor is unusable | [`TaskError::WorkerDied`] for the lost task only (pid and how it died), or a retry; the worker is replaced |
//! | a task ran past its time limit | nothing: Python's pools cannot stop a running task | [`TaskError::Timeout`]: its worker is killed and replaced |
//! | `get(timeout)` ran out | `multiprocessing.TimeoutError`, the task goes on | [`TaskError::WaitTimedOut`], the handle stays usable |
//! | `cancel()` before it started, `shutdown(cancel_futures=True)` | `CancelledError` | [`TaskError::Cancelled`] |
//! | `terminate()` while it was queued or running | the result never comes | [`TaskError::Terminated`] |
//! | the argument could not be decoded, the result not encoded | `PicklingError`, sometimes a hang | [`TaskError::Serialization`] |
//! | no replacement worker could be started | — | [`TaskError::NoWorker`] |
//! | submitting to a closed pool | `ValueError: Pool not running`, `RuntimeError` | [`PoolError::Closed`] |
//! | an initializer raised | Python restarts the worker, forever | [`PoolError::Broken`], queued tasks [`TaskError::NoWorker`] |
//! | `Pool(0)` | `ValueError` | [`PoolError::NoWorkers`] |
//! | `join()` before `close()` | `ValueError: Pool is still running` | [`PoolError::NotClosed`] |

use std::time::Duration;

use crate::error::describe_exit;

/// Why one task (one item of a `map`) produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task's function panicked; the worker caught it and went on.
    #[error("the task panicked at {location}: {message}")]
    Panicked {
        /// The panic message.
        message: String,
        /// Where the panic happened: `file:line:column`.
        location: String,
    },
    /// The worker running the task exited or was killed before it answered. `exitcode` follows
    /// Python's convention: the exit status, or minus the signal number (`-9` for SIGKILL).
    #[error("worker {pid} {} while running the task", describe_exit(*exitcode))]
    WorkerDied {
        /// The dead worker's process id.
        pid: u32,
        /// Its exit status, or the negated signal number.
        exitcode: i32,
    },
    /// The task ran longer than the pool's per-task timeout: its worker was killed and replaced.
    #[error("the task ran past its time limit of {limit:?}; its worker was killed")]
    Timeout {
        /// The pool's per-task limit.
        limit: Duration,
    },
    /// `get_timeout` or `result_timeout` ran out of time; the task may still finish, ask again.
    #[error("timed out waiting for the task's result; it may still finish")]
    WaitTimedOut,
    /// The task was cancelled before a worker took it.
    #[error("the task was cancelled before it ran")]
    Cancelled,
    /// The pool was terminated before the task finished.
    #[error("the pool was terminated before the task finished")]
    Terminated,
    /// The argument or the result could not cross between the processes.
    #[error("the task's data could not cross between processes: {0}")]
    Serialization(String),
    /// The pool could not start a worker to run the task.
    #[error("no worker could be started to run the task: {0}")]
    NoWorker(String),
    /// The pool would not take the task (closed, broken, or an argument that cannot be encoded).
    #[error("the pool did not take the task: {0}")]
    Rejected(String),
    /// The result was already taken by an earlier call.
    #[error("the task's result was already taken")]
    AlreadyTaken,
}

/// Why the pool could not be started or would not take a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A pool needs at least one worker (Python raises `ValueError` for `Pool(0)`).
    #[error("a process pool needs at least one worker")]
    NoWorkers,
    /// A worker process could not be started.
    #[error("could not start a pool worker: {0}")]
    Start(#[source] crate::Error),
    /// The function is not one a worker can run (not in the executable).
    #[error("the function cannot run in a worker: {0}")]
    Function(#[source] crate::Error),
    /// An argument could not be serialized; nothing was submitted.
    #[error("an argument could not be serialized: {0}")]
    Serialization(String),
    /// The pool was closed, terminated or shut down, and takes no new tasks.
    #[error("the pool is closed and takes no new tasks")]
    Closed,
    /// No worker can run tasks any more: a replacement could not be started, or the
    /// initializer panicked (Python would restart such workers forever).
    #[error("the pool is broken: {0}")]
    Broken(String),
    /// `join` was called before `close` (Python: `ValueError: Pool is still running`).
    #[error("join() needs close() or terminate() first: the pool is still running")]
    NotClosed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_worker_is_named_with_its_signal() {
        let error = TaskError::WorkerDied {
            pid: 4242,
            exitcode: -9,
        };
        assert_eq!(
            error.to_string(),
            "worker 4242 was killed by signal 9 (SIGKILL) while running the task"
        );
    }
}
