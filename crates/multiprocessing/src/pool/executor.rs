//! [`ProcessPoolExecutor`]: the `concurrent.futures` face of [`Pool`], for code written against
//! futures (`submit`, `as_completed`, `shutdown`), and for async code, which can `.await` the
//! futures (Python's `loop.run_in_executor(ProcessPoolExecutor(), f, x)`).
//!
//! It *is* a pool: the same workers, the same supervisor, the same failure handling. Where
//! Python's executor breaks for good when one worker dies (every pending future raises
//! `BrokenProcessPool`, and `submit` refuses), this one fails only the future whose task was
//! running in the dead worker, replaces the worker and keeps serving.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{PoolError, TaskError};
use super::{IMap, Pool, PoolBuilder, TaskFuture};

/// A pool of worker processes with futures (Python's `concurrent.futures.ProcessPoolExecutor`).
///
/// ```no_run
/// use multiprocessing::pool::{ProcessPoolExecutor, as_completed};
///
/// fn cube(x: u64) -> u64 {
///     x * x * x
/// }
///
/// fn main() -> Result<(), multiprocessing::pool::PoolError> {
///     multiprocessing::init();
///     let executor = ProcessPoolExecutor::new(2)?;
///     let futures = (1..=3).map(|x| executor.submit(cube, x)).collect::<Result<Vec<_>, _>>()?;
///     let mut total = 0;
///     for (_index, outcome) in as_completed(futures) {
///         total += outcome.expect("cube does not panic");
///     }
///     assert_eq!(total, 1 + 8 + 27);
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct ProcessPoolExecutor {
    pool: Pool,
}

impl ProcessPoolExecutor {
    /// Starts `workers` worker processes (Python's `ProcessPoolExecutor(max_workers)`).
    pub fn new(workers: usize) -> Result<Self, PoolError> {
        Ok(ProcessPoolExecutor {
            pool: Pool::new(workers)?,
        })
    }

    /// An executor over a pool built with options (timeout, retries, initializer...).
    pub fn with_builder(builder: PoolBuilder) -> Result<Self, PoolError> {
        Ok(ProcessPoolExecutor {
            pool: builder.build()?,
        })
    }

    /// The pool underneath, for its `map` and `imap`.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Queues `f(argument)` and returns its future at once (Python's `submit`).
    pub fn submit<A, R>(
        &self,
        f: fn(A) -> R,
        argument: A,
    ) -> Result<TaskFuture<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.pool.submit_one(super::task_fn(f)?, argument)
    }

    /// Submits `f` for every item at once and yields the outcomes in input order (Python's
    /// `Executor.map`, which also submits everything before the first result).
    pub fn map<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
    ) -> Result<IMap<A, R, I::IntoIter>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        Ok(self.pool.imap(f, items)?.window(usize::MAX))
    }

    /// Takes no new tasks (Python's `shutdown`). With `cancel_pending`, the tasks no worker has
    /// started yet are taken out and their futures report [`TaskError::Cancelled`]; returns how
    /// many. With `wait`, returns once every remaining task is done and the workers have exited.
    pub fn shutdown(&self, wait: bool, cancel_pending: bool) -> usize {
        self.pool.close();
        let cancelled = if cancel_pending {
            self.pool.shared().fail_queued(&TaskError::Cancelled)
        } else {
            0
        };
        if wait {
            let _ = self.pool.join();
        }
        cancelled
    }
}
