//! # Exercise 2.10, a wrong attempt: results collected first, reported at the end
//!
//! The mistake: waiting for every future in turn (`result()` on each, in input order) and only
//! then telling `on_done`. The reports all come at once when the last task is done: a progress
//! bar that jumps from 0 to 100 %, and no use to anything that reacts to the first results.
//!
//! Fails: by a panic: the check's first task waits for the first report, which does not come
//! while this attempt waits for that very task, and gives up.

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
    let futures: Vec<_> = items.iter().map(|&item| executor.submit(f, item)).collect();
    let outcomes: Vec<Result<u64, TaskError>> = futures
        .into_iter()
        .map(|s| {
            s.map_err(|e| TaskError::Rejected(e.to_string()))
                .and_then(|f| f.result())
        })
        .collect();
    for index in 0..total {
        on_done(Progress {
            index,
            done: index + 1,
            total,
        });
    }
    outcomes
}
