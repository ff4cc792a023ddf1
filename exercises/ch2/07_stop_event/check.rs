//! The checks of exercise 2.7, run against the stub, the solution and the reader's attempt alike.
//!
//! A worker that stops on the event does as many rounds as it is given time for: none or one when
//! the stop comes at once, dozens in [`WORKING_TIME`] (a round is 10 ms). A worker that stops on
//! its own, after a number of rounds of its choosing, does the same number either way. So the check
//! runs the workers twice and compares, rather than judging one count against a clock: on a loaded
//! machine a round may take longer than planned, but the workers stopped at once can never have
//! done more than the ones left running.

use std::time::Duration;

use super::imp;

/// How long the workers run before the stop, in the second run.
const WORKING_TIME: Duration = Duration::from_millis(400);

/// Panics unless every worker stops when, and only when, it is told to. A version whose workers
/// never see the stop request never returns; the checker kills it at the deadline.
pub fn check() {
    const WORKERS: u32 = 3;
    let stopped_at_once = run(WORKERS, Duration::ZERO);
    let left_running = run(WORKERS, WORKING_TIME);
    assert!(
        left_running.iter().all(|&r| r >= 1),
        "every worker ran for {WORKING_TIME:?}, so each should have done at least one round: \
         {left_running:?}"
    );
    let most_at_once = stopped_at_once.iter().max().copied().unwrap_or(0);
    let fewest_running = left_running.iter().min().copied().unwrap_or(0);
    assert!(
        fewest_running > most_at_once,
        "workers stopped at once did {stopped_at_once:?} rounds, workers left running for \
         {WORKING_TIME:?} did {left_running:?}: a worker must keep going until the event is set, \
         and stop when it is, not after a number of rounds of its own"
    );
}

fn run(workers: u32, run_for: Duration) -> Vec<u64> {
    let rounds = imp::run_until_stopped(workers, run_for);
    assert_eq!(
        rounds.len(),
        workers as usize,
        "expected the rounds of {workers} workers, got {rounds:?}"
    );
    rounds
}
