//! # Exercise 2.1: run jobs in child processes, all at once, and collect their results
//!
//! Python's pattern: start one `Process` per piece of work, have each put its result on a `Queue`,
//! then `join` them all. With `multiprocessing::Process` the child *returns* its result and `join`
//! hands it back, so no queue is needed; what is left to get right is the order of operations.
//!
//! Write [`run_in_processes`]: for every job, start a child process that runs `work(job)`, and
//! return the children's results in the order of the jobs. The checks call it with texts and a
//! function that counts their words, as in `run_in_processes(texts, count_words)`.
//!
//! 1. Start **all** the processes before joining the first one, so that they run at the same time
//!    (joining each right after starting it would run them one after another). The checks can
//!    tell: their `work` waits, a few seconds at most, until every child is running.
//! 2. If a child fails (the checks' word counter panics on an empty text), return that error, the
//!    `multiprocessing::Error::Panicked` that `join` gives you, and leave no process behind.
//!
//! `work` is a plain `fn`, not a closure: the child runs it by finding the same function in its own
//! copy of the program. The bounds are `Process::spawn`'s: a job and a result travel between
//! processes, so they must be serializable. Keep the signature: the checks call it.
//!
//! `multiprocessing::init()` is already the first line of the `main` that runs the checks, which is
//! what lets its children run `work`. Check your work with `cargo run -p exercises -- check ch2/01`;
//! stuck? `cargo run -p exercises -- hint ch2/01`.

use multiprocessing::{Error, Process};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Runs `work(job)` for every job, each in a child process of its own, all at the same time.
///
/// Returns the results in the order of `jobs`, or the first error (in that order) a child reported.
pub fn run_in_processes<A, R>(jobs: Vec<A>, work: fn(A) -> R) -> Result<Vec<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    todo!("spawn one process per job, then join them all, in order")
}
