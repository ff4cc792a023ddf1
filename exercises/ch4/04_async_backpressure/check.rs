//! The checks of exercise 4.4, run against the stub, the solution and the reader's attempt alike.
//!
//! The consumer is slow (each item takes 10 ms of tokio's paused clock, which moves only when
//! every task waits, so no real time passes). When it starts on item `n`, it has taken `n + 1`
//! items out of the channel, so a producer held back by a channel of `capacity` can have sent
//! at most `n + 1 + capacity` items. The check asserts that bound at every item, that every item
//! arrives once and in order, and that the pipeline ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use super::imp;

const ITEMS: u64 = 50;
const CAPACITY: usize = 4;

/// Panics unless the producer is held back by the channel and every item is consumed.
pub fn check() {
    super::support::block_on_paused(async {
        let sent = Arc::new(AtomicU64::new(0));
        let on_sent = {
            let sent = Arc::clone(&sent);
            move |_n: u64| {
                sent.fetch_add(1, SeqCst);
            }
        };
        let consume = |n: u64| {
            let ahead = sent.load(SeqCst);
            let bound = n + 1 + CAPACITY as u64;
            assert!(
                ahead <= bound,
                "while item {n} was being consumed the producer had sent {ahead} items; a channel \
                 of {CAPACITY} allows at most {bound}"
            );
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                n * 10
            }
        };
        let outputs = imp::pipeline(ITEMS, CAPACITY, on_sent, consume).await;
        let expected: Vec<u64> = (0..ITEMS).map(|n| n * 10).collect();
        assert_eq!(outputs, expected, "every item, once, in order");
    });
}
