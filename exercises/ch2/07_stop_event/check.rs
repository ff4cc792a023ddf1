//! The checks of exercise 2.7, run against the stub, the solution and the reader's attempt alike.

use std::time::Duration;

use super::imp;

/// Panics unless every worker stops and reports its rounds. A version whose workers never see the
/// stop request never returns; the checker kills it at the deadline.
pub fn check() {
    for workers in [1, 3] {
        let rounds = imp::run_until_stopped(workers, Duration::from_millis(200));
        assert_eq!(
            rounds.len(),
            workers as usize,
            "expected the rounds of {workers} workers, got {rounds:?}"
        );
        assert!(
            rounds.iter().all(|&r| r >= 1),
            "every worker ran for 200 ms, so each should have done at least one round: {rounds:?}"
        );
    }
}
