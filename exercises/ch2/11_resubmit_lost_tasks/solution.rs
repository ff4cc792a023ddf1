//! # Exercise 2.11, solved: rounds of submissions, each resubmitting only the lost tasks
//!
//! Each round submits the items still to do, then waits for all their futures. An item whose
//! outcome is `WorkerDied` goes into the next round while attempts remain; every other outcome,
//! a value or a panic, is final. Submitting a whole round before waiting keeps every worker
//! busy; the executor replaces a dead worker by itself, so nothing else needs restarting.

use multiprocessing::pool::{ProcessPoolExecutor, TaskError};

/// Runs `f` on every item; an item whose worker died is run again, at most `attempts` times in
/// all. Returns the outcomes in input order.
pub fn run_all(
    executor: &ProcessPoolExecutor,
    f: fn(u64) -> u64,
    items: &[u64],
    attempts: u32,
) -> Vec<Result<u64, TaskError>> {
    let mut outcomes: Vec<Option<Result<u64, TaskError>>> = vec![None; items.len()];
    let mut to_do: Vec<usize> = (0..items.len()).collect();
    for attempt in 1..=attempts.max(1) {
        let futures: Vec<_> = to_do
            .iter()
            .map(|&i| (i, executor.submit(f, items[i])))
            .collect();
        to_do.clear();
        for (i, submitted) in futures {
            let outcome = match submitted {
                Ok(future) => future.result(),
                Err(error) => Err(TaskError::Rejected(error.to_string())),
            };
            if matches!(outcome, Err(TaskError::WorkerDied { .. })) && attempt < attempts {
                to_do.push(i);
            }
            outcomes[i] = Some(outcome);
        }
        if to_do.is_empty() {
            break;
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every item ran at least once"))
        .collect()
}
