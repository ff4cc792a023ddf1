//! The checks of exercise 2.8, run against the stub, the solution and the reader's attempt alike.

use super::imp;

/// Panics unless every worker saw every setup finished when it started.
pub fn check() {
    for workers in [2, 4] {
        let seen = imp::start_together(workers);
        assert_eq!(
            seen.len(),
            workers as usize,
            "expected a report from each of {workers} workers, got {seen:?}"
        );
        assert!(
            seen.iter().all(|&s| s == i64::from(workers)),
            "every worker should have seen all {workers} setups done as it started; they saw \
             {seen:?}"
        );
    }
}
