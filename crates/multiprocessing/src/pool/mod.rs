//! [`Pool`] and [`ProcessPoolExecutor`]: a fixed set of worker processes that run many tasks
//! (Python's `multiprocessing.Pool` and `concurrent.futures.ProcessPoolExecutor`), one design
//! under both.
//!
//! Starting a process per task costs a fork and a connection each time; a pool starts its workers
//! once and sends them tasks, each a plain `fn(A) -> R` with serde `A` and `R`, as
//! [`Process::spawn`](crate::Process::spawn) takes. Any function, in any mix: each task names
//! its function the way a child's start-up does (`start/fnid.rs`).
//!
//! **Why not just copy Python's.** Python's `Pool` hangs for ever when a worker dies mid-task:
//! the result of the lost task never comes, and `map` never returns (an issue open since 2014).
//! `ProcessPoolExecutor` notices the death but turns it into `BrokenProcessPool` for *every*
//! pending future, and the executor takes no more work. Here a worker's death costs exactly the
//! task it was running: that task fails with [`TaskError::WorkerDied`], naming the worker's pid
//! and its signal or exit code (or runs again, with [`PoolBuilder::retries`]), the worker is
//! replaced, and everything else goes on. A per-task [`PoolBuilder::timeout`] kills a stuck
//! worker the same way, which Python's pools cannot do at all.
//!
//! The files, one concern each:
//! - `mod.rs`: [`Pool`], its methods (`map`, `starmap`, `apply`, `apply_async`, `imap`,
//!   `imap_unordered`, `close`, `join`, `terminate`) and what `drop` does;
//! - `builder.rs`: [`PoolBuilder`], the options;
//! - `executor.rs`: [`ProcessPoolExecutor`], the `concurrent.futures` face of the same pool;
//! - `handle.rs`: [`TaskFuture`] (also a `std::future::Future`), [`AsyncResult`],
//!   [`as_completed`];
//! - `map.rs`: [`IMap`], the lazy iterator behind `map` and `imap`;
//! - `core.rs`: the state the threads share, and the promise that every job is delivered once;
//! - `supervisor.rs`: one thread per worker slot, its feeder, replies, deaths, replacements,
//!   drawn in its module docs (and why sending and receiving are separate threads);
//! - `worker.rs`: the worker process's loop; `wire.rs`: the messages; `error.rs`: the errors,
//!   with a table of Python's failure modes.
//!
//! In production: this is a teaching pool, tested but young. For CPU work on data already in
//! one process, `rayon` (threads, no serialization) is the usual answer in Rust; `procspawn` has
//! a process pool too (it fails only the lost job and respawns, but has no `map` or `imap`).

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod builder;
mod core;
mod error;
mod executor;
mod handle;
mod map;
mod supervisor;
pub(crate) mod wire;
pub(crate) mod worker;

pub use builder::PoolBuilder;
pub use error::{PoolError, TaskError};
pub use executor::ProcessPoolExecutor;
pub use handle::{AsCompleted, AsyncResult, TaskFuture, as_completed};
pub use map::IMap;

use crate::start::fnid::TaskFn;
use core::{Config, Shared};
use map::{decode_chunk, encode_chunk};

/// A pool of worker processes (Python's `multiprocessing.Pool`).
///
/// ```no_run
/// use multiprocessing::pool::Pool;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// fn main() -> Result<(), multiprocessing::pool::PoolError> {
///     multiprocessing::init();
///     let pool = Pool::new(2)?;
///     let squares: Vec<u64> = pool
///         .map(square, 1..=4)?
///         .into_iter()
///         .map(|outcome| outcome.expect("square does not panic"))
///         .collect();
///     assert_eq!(squares, [1, 4, 9, 16]);
///     Ok(())
/// }
/// ```
///
/// # Results
///
/// Every item has its own `Result`: one panicking item, or one lost to a dead worker, does not
/// hide the others (Python's `map` raises the first exception and drops every other result).
///
/// # Ending
///
/// [`close`](Pool::close) takes no new tasks, and the queued ones still run; [`join`](Pool::join)
/// then waits for them and for the workers to exit. [`terminate`](Pool::terminate) kills the
/// workers at once; what was queued or running fails with [`TaskError::Terminated`]. Dropping the
/// pool closes and joins it, so no worker outlives it and no submitted task is lost (Python's
/// `with Pool() as pool:` terminates on exit instead); while the dropping thread is panicking it
/// terminates, so that a failed assertion cannot become a hang.
pub struct Pool {
    shared: Arc<Shared>,
    supervisors: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Starts `workers` worker processes (Python's `Pool(workers)`).
    pub fn new(workers: usize) -> Result<Pool, PoolError> {
        PoolBuilder::new().workers(workers).build()
    }

    /// A [`PoolBuilder`]; its default size is the number of available cores.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    fn start(config: Config) -> Result<Pool, PoolError> {
        let shared = Arc::new(Shared::new(config));
        let supervisors = supervisor::start_all(&shared).map_err(PoolError::Start)?;
        Ok(Pool {
            shared,
            supervisors: Mutex::new(supervisors),
        })
    }

    /// How many worker processes the pool keeps.
    pub fn workers(&self) -> usize {
        self.shared.config.workers
    }

    /// The process ids of the current workers (they change as workers are replaced).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared
            .workers
            .iter()
            .filter_map(|worker| core::lock_worker(worker).as_ref().map(|p| p.pid()))
            .collect()
    }

    /// Runs `f(argument)` in a worker and waits for it (Python's `apply`).
    pub fn apply<A, R>(&self, f: fn(A) -> R, argument: A) -> Result<R, TaskError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        match self.apply_async(f, argument) {
            Ok(handle) => handle.get(),
            Err(error) => Err(TaskError::Rejected(error.to_string())),
        }
    }

    /// Queues `f(argument)` and returns at once with a handle to its result (Python's
    /// `apply_async`).
    pub fn apply_async<A, R>(
        &self,
        f: fn(A) -> R,
        argument: A,
    ) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_one(task_fn(f)?, argument).map(AsyncResult)
    }

    pub(crate) fn submit_one<A, R>(
        &self,
        function: TaskFn,
        argument: A,
    ) -> Result<TaskFuture<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let arguments = encode_chunk(&[argument]).map_err(PoolError::Serialization)?;
        let slot = handle::Slot::new();
        let filled = slot.clone();
        let deliver = Box::new(move |delivery| {
            let outcome = decode_chunk::<R>(delivery, 1).pop().expect("one item");
            filled.fill(outcome);
        });
        let id = self.shared.submit(function, arguments, deliver)?;
        Ok(TaskFuture::new(slot, id, Arc::downgrade(&self.shared)))
    }

    /// Runs `f` on every item and returns the outcomes in input order (Python's `map`). The
    /// items are sent in chunks, as Python does: about four per worker, so that a few messages
    /// carry the lot. For a chunk size of your own, see [`map_chunked`](Pool::map_chunked).
    pub fn map<A, R>(
        &self,
        f: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<Result<R, TaskError>>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunksize = items.len().div_ceil(4 * self.workers()).max(1);
        self.map_chunked(f, items, chunksize)
    }

    /// [`map`](Pool::map) with `chunksize` items per message (Python's `map(f, items,
    /// chunksize)`). `1` sends each item alone: the most messages, the finest load balance.
    pub fn map_chunked<A, R>(
        &self,
        f: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<Result<R, TaskError>>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let all = IMap::new(self.shared.clone(), task_fn(f)?, items.into_iter(), true)
            .chunksize(chunksize)
            .window(usize::MAX);
        Ok(all.collect())
    }

    /// Runs `f(a, b)` for every pair (Python's `starmap`, for functions of two arguments; for
    /// more, take a tuple and use [`map`](Pool::map)).
    pub fn starmap<A, B, R>(
        &self,
        f: fn(A, B) -> R,
        items: impl IntoIterator<Item = (A, B)>,
    ) -> Result<Vec<Result<R, TaskError>>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        B: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let function = TaskFn::of_pair(f).map_err(PoolError::Function)?;
        let items: Vec<(A, B)> = items.into_iter().collect();
        let chunksize = items.len().div_ceil(4 * self.workers()).max(1);
        let all = IMap::new(self.shared.clone(), function, items.into_iter(), true)
            .chunksize(chunksize)
            .window(usize::MAX);
        Ok(all.collect())
    }

    /// A lazy `map`: yields the outcomes in input order as they become available, and reads the
    /// input only as workers free up (Python's `imap`). One item per message unless
    /// [`IMap::chunksize`] says otherwise.
    pub fn imap<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
    ) -> Result<IMap<A, R, I::IntoIter>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        Ok(IMap::new(
            self.shared.clone(),
            task_fn(f)?,
            items.into_iter(),
            true,
        ))
    }

    /// Like [`imap`](Pool::imap), but yields each outcome as soon as its task finishes
    /// (Python's `imap_unordered`). Pair each item with its key in `A` and `R` to tell them apart.
    pub fn imap_unordered<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
    ) -> Result<IMap<A, R, I::IntoIter>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        Ok(IMap::new(
            self.shared.clone(),
            task_fn(f)?,
            items.into_iter(),
            false,
        ))
    }

    /// Takes no new tasks; the queued ones still run (Python's `close`).
    pub fn close(&self) {
        self.shared.close();
    }

    /// Kills the workers now; queued and running tasks fail with [`TaskError::Terminated`]
    /// (Python's `terminate`). Then [`join`](Pool::join) reaps them.
    pub fn terminate(&self) {
        self.shared.terminate();
    }

    /// Waits until every queued task has been delivered and every worker has exited (Python's
    /// `join`). Call [`close`](Pool::close) or [`terminate`](Pool::terminate) first.
    pub fn join(&self) -> Result<(), PoolError> {
        {
            let state = self.shared.lock();
            if !(state.closed || state.terminated) {
                return Err(PoolError::NotClosed);
            }
        }
        let supervisors: Vec<JoinHandle<()>> = self
            .supervisors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain(..)
            .collect();
        for supervisor in supervisors {
            let _ = supervisor.join();
        }
        Ok(())
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.terminate();
        } else {
            self.close();
        }
        let _ = self.join();
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers())
            .finish_non_exhaustive()
    }
}

fn task_fn<A, R>(f: fn(A) -> R) -> Result<TaskFn, PoolError>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    TaskFn::of(f).map_err(PoolError::Function)
}
