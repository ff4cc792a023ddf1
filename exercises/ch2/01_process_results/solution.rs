//! # Exercise 2.1, solved: run jobs in child processes, all at once, and collect their results
//!
//! Two passes: the first starts every child (`spawn` returns as soon as the child is running), the
//! second joins them in order. Collecting the first pass into a `Result<Vec<_>, _>` stops at the
//! first child that cannot be started; the handles already in the vector are dropped, and dropping
//! a `Process` joins it, so nothing is left behind. In the second pass every child is joined even
//! after one has failed: the results are gathered first, and only then is the first error returned.

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
    let children = jobs
        .into_iter()
        .map(|job| Process::spawn(work, job))
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<Result<R, Error>> = children.into_iter().map(Process::join).collect();
    results.into_iter().collect()
}
