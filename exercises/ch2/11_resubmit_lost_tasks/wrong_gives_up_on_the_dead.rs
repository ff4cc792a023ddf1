//! # Exercise 2.11, a wrong attempt: trusting the first outcome
//!
//! The mistake: submitting once and returning what came back, as if the pool would rerun a lost
//! task by itself. It does not (unless it was built with `retries`): a task whose worker died is
//! reported as `WorkerDied`, and deciding to run it again is the caller's job.
//!
//! Fails: by a panic: the check expects values for the tasks whose worker died once, and finds
//! `WorkerDied`.

use multiprocessing::pool::{ProcessPoolExecutor, TaskError};

/// Runs `f` on every item; an item whose worker died is run again, at most `attempts` times in
/// all. Returns the outcomes in input order.
pub fn run_all(
    executor: &ProcessPoolExecutor,
    f: fn(u64) -> u64,
    items: &[u64],
    attempts: u32,
) -> Vec<Result<u64, TaskError>> {
    let _ = attempts;
    let futures: Vec<_> = items.iter().map(|&item| executor.submit(f, item)).collect();
    futures
        .into_iter()
        .map(|submitted| match submitted {
            Ok(future) => future.result(),
            Err(error) => Err(TaskError::Rejected(error.to_string())),
        })
        .collect()
}
