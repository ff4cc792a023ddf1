//! The checks of exercise 4.2, run against the stub, the solution and the reader's attempt alike.
//!
//! Each job counts itself in flight while it sleeps on tokio's paused clock (which moves only
//! when every task waits: no real time passes). The check asserts that the limit was reached and
//! never exceeded, for two limits, and that the outputs come back in the order of the inputs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use super::imp;

/// Runs 20 jobs at `limit` and returns the most that ran at once.
async fn peak_with_limit(limit: usize) -> usize {
    let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let job = {
        let (in_flight, peak) = (Arc::clone(&in_flight), Arc::clone(&peak));
        move |input: u64| {
            let (in_flight, peak) = (Arc::clone(&in_flight), Arc::clone(&peak));
            async move {
                let now = in_flight.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                tokio::time::sleep(Duration::from_millis(10 + input % 7)).await;
                in_flight.fetch_sub(1, SeqCst);
                input * input
            }
        }
    };
    let inputs: Vec<u64> = (0..20).collect();
    let outputs = imp::run_limited(inputs.clone(), limit, job).await;
    let expected: Vec<u64> = inputs.iter().map(|n| n * n).collect();
    assert_eq!(outputs, expected, "the outputs, in the order of the inputs");
    peak.load(SeqCst)
}

/// Panics unless at most `limit` jobs ran at once, and exactly `limit` did at some point.
pub fn check() {
    super::support::block_on_paused(async {
        for limit in [3, 8] {
            let peak = peak_with_limit(limit).await;
            assert_eq!(
                peak, limit,
                "limit {limit}: expected {limit} jobs at once at the peak, saw {peak}"
            );
        }
    });
}
