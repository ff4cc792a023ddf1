//! The checks of exercise 4.1, run against the stub, the solution and the reader's attempt alike.
//!
//! The lookups sleep on tokio's paused clock, which moves only when every task waits, so the
//! check runs in no real time and gives the same verdict on a busy machine. Each lookup counts
//! itself in flight while it sleeps; the check asserts that all of them were in flight at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use super::imp;

/// Panics unless every lookup ran at the same time and the answers came back in order.
pub fn check() {
    super::support::block_on_paused(async {
        let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let lookup = |id: u64| {
            let (in_flight, peak) = (Arc::clone(&in_flight), Arc::clone(&peak));
            async move {
                let now = in_flight.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                // Later ids answer sooner, so an answer in the wrong place shows.
                tokio::time::sleep(Duration::from_millis(200 - 10 * id)).await;
                in_flight.fetch_sub(1, SeqCst);
                format!("answer {id}")
            }
        };
        let ids: Vec<u64> = (0..10).collect();
        let answers = imp::lookup_all(ids.clone(), lookup).await;
        let expected: Vec<String> = ids.iter().map(|id| format!("answer {id}")).collect();
        assert_eq!(answers, expected, "the answers, in the order of the ids");
        let peak = peak.load(SeqCst);
        assert_eq!(
            peak, 10,
            "expected all 10 lookups in flight at once; at most {peak} were"
        );
    });
}
