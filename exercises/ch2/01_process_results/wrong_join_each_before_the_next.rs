//! # Exercise 2.1, a wrong attempt: each child is joined before the next one starts
//!
//! The mistake: one loop that starts a child and joins it at once. Every result comes back, in
//! order, from a process of its own, but the children run one after another: no two of them are
//! ever running at the same time, which was the point of using processes.
//!
//! Fails: by a panic: the check's first child waits in vain for the others to be running, gives
//! up after a few seconds and panics, and that error comes back instead of the results.

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
    jobs.into_iter()
        .map(|job| Process::spawn(work, job)?.join())
        .collect()
}
