//! The checks of exercise 4.3, run against the stub, the solution and the reader's attempt alike.
//!
//! On tokio's paused clock (no real time passes), ids divisible by 3 never answer and the others
//! answer after a few milliseconds. The check asserts each answer in its place, and that the
//! calls ran at the same time: the batch ends once `per_call` has passed, not once per call.

use std::time::Duration;

use super::imp;

/// Panics unless the fast calls answered, the hanging ones timed out, and all ran at once.
pub fn check() {
    super::support::block_on_paused(async {
        let call = |id: u64| async move {
            if id.is_multiple_of(3) {
                std::future::pending::<()>().await; // never answers
            }
            tokio::time::sleep(Duration::from_millis(5 * id)).await;
            format!("answer {id}")
        };
        let per_call = Duration::from_millis(100);
        let started = tokio::time::Instant::now();
        let ids: Vec<u64> = (0..10).collect();
        let answers = imp::call_each(ids.clone(), per_call, call).await;
        let expected: Vec<Option<String>> = ids
            .iter()
            .map(|id| (!id.is_multiple_of(3)).then(|| format!("answer {id}")))
            .collect();
        assert_eq!(
            answers, expected,
            "Some(answer) for calls in time, None for the hanging ones"
        );
        let took = started.elapsed();
        assert!(
            took < per_call * 2,
            "the calls should run at the same time: the batch took {took:?} of the paused \
             clock, more than twice the {per_call:?} one call may take"
        );
    });
}
