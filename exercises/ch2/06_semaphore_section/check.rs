//! The checks of exercise 2.6, run against the stub, the solution and the reader's attempt alike.

use super::imp;

/// Panics unless the section never held more than `limit` workers (and was used at all).
pub fn check() {
    for (workers, limit) in [(5, 2), (4, 1)] {
        let most = imp::run_limited(workers, limit, 3);
        assert!(
            most >= 1,
            "{workers} workers, limit {limit}: nobody was ever inside the section (got {most})"
        );
        assert!(
            most <= i64::from(limit),
            "{workers} workers, limit {limit}: expected at most {limit} inside at once, saw {most}"
        );
    }
}
