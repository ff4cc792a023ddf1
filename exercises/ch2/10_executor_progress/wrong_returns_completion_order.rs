//! # Exercise 2.10, a wrong attempt: outcomes returned in the order they finished
//!
//! The mistake: pushing each outcome onto a list as `as_completed` yields it. The progress is
//! right, but the caller gets the outcomes in completion order, which changes from run to run,
//! and can no longer tell which outcome belongs to which item.
//!
//! Fails: by a panic: the check's first item never finishes first, so its outcome is not first.

use multiprocessing::pool::{ProcessPoolExecutor, TaskError, as_completed};

/// What `on_done` is told when a task finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The position of the finished task's item in `items`.
    pub index: usize,
    /// How many tasks have finished, this one included.
    pub done: usize,
    /// How many tasks there are.
    pub total: usize,
}

/// Runs `f` on every item in `executor`; calls `on_done` as each task finishes, in the order
/// they finish; returns the outcomes in the order of `items`.
pub fn run_with_progress(
    executor: &ProcessPoolExecutor,
    f: fn(u64) -> u64,
    items: &[u64],
    mut on_done: impl FnMut(Progress),
) -> Vec<Result<u64, TaskError>> {
    let total = items.len();
    let futures: Vec<_> = items
        .iter()
        .filter_map(|&item| executor.submit(f, item).ok())
        .collect();
    let mut outcomes = Vec::with_capacity(total);
    for (done, (index, outcome)) in as_completed(futures).enumerate() {
        outcomes.push(outcome);
        on_done(Progress {
            index,
            done: done + 1,
            total,
        });
    }
    outcomes
}
