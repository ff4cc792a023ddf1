//! # Exercise 2.10, solved: report inside the `as_completed` loop, store by index
//!
//! Every item is submitted first, so the workers are busy while this thread waits. Each outcome
//! is reported the moment `as_completed` yields it, and stored at its index, so the returned
//! list is in input order whatever the order of completion.

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
    let mut outcomes: Vec<Option<Result<u64, TaskError>>> = vec![None; total];
    let mut futures = Vec::with_capacity(total);
    for (index, &item) in items.iter().enumerate() {
        match executor.submit(f, item) {
            Ok(future) => futures.push(future),
            Err(error) => outcomes[index] = Some(Err(TaskError::Rejected(error.to_string()))),
        }
    }
    for (done, (index, outcome)) in as_completed(futures).enumerate() {
        outcomes[index] = Some(outcome);
        on_done(Progress {
            index,
            done: done + 1,
            total,
        });
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every task reported"))
        .collect()
}
