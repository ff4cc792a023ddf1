//! # Exercise 2.11, a wrong attempt: every error is retried, panics included
//!
//! The mistake: resubmitting on any `Err`. A worker's death is bad luck and worth another try;
//! a panic is the task's own verdict on its input, and running it again only repeats it (and
//! repeats whatever the task did before it panicked: a half-written file, a second e-mail).
//!
//! Fails: by a panic: the check counts the runs of the task that always panics, and finds more
//! than one.

use multiprocessing::pool::{ProcessPoolExecutor, TaskError};

/// Runs `f` on every item; an item whose worker died is run again, at most `attempts` times in
/// all. Returns the outcomes in input order.
pub fn run_all(
    executor: &ProcessPoolExecutor,
    f: fn(u64) -> u64,
    items: &[u64],
    attempts: u32,
) -> Vec<Result<u64, TaskError>> {
    items
        .iter()
        .map(|&item| {
            let mut outcome = Err(TaskError::Cancelled);
            for _ in 0..attempts.max(1) {
                outcome = executor
                    .submit(f, item)
                    .map_err(|e| TaskError::Rejected(e.to_string()))
                    .and_then(|future| future.result());
                if outcome.is_ok() {
                    break;
                }
            }
            outcome
        })
        .collect()
}
