//! The checks of exercise 3.4, run against the stub, the solution and the reader's attempt alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    every_item_is_processed_exactly_once();
    the_producer_cannot_run_ahead_of_the_consumers();
    an_empty_stream_ends_at_once();
}

/// A work function that takes a little time, so that the consumers are slower than the producer.
fn slow_double(n: u64) -> u64 {
    let until = Instant::now() + Duration::from_micros(30);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    n * 2
}

fn every_item_is_processed_exactly_once() {
    for (capacity, consumers) in [(0, 1), (1, 3), (4, 2), (64, 4)] {
        let mut next = 0_u64;
        let mut results = imp::pipeline(
            || {
                next += 1;
                (next <= 2_000).then_some(next)
            },
            capacity,
            consumers,
            slow_double,
        );
        results.sort_unstable();
        let expected: Vec<u64> = (1..=2_000).map(|n| n * 2).collect();
        assert_eq!(
            results.len(),
            expected.len(),
            "capacity {capacity}, {consumers} consumers: {} results for 2000 items (consumers that stop at an empty queue lose items)",
            results.len()
        );
        assert_eq!(
            results, expected,
            "capacity {capacity}, {consumers} consumers: each item doubled, exactly once"
        );
    }
}

fn the_producer_cannot_run_ahead_of_the_consumers() {
    const CAPACITY: usize = 4;
    const CONSUMERS: usize = 2;
    let produced = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let mut worst = 0;
    let results = imp::pipeline(
        || {
            let ahead = produced.load(Ordering::SeqCst) - started.load(Ordering::SeqCst);
            worst = worst.max(ahead);
            let n = produced.fetch_add(1, Ordering::SeqCst) as u64;
            (n < 1_000).then_some(n)
        },
        CAPACITY,
        CONSUMERS,
        |n| {
            started.fetch_add(1, Ordering::SeqCst);
            slow_double(n)
        },
    );
    assert_eq!(results.len(), 1_000, "every item processed");
    // In flight: up to CAPACITY in the channel, one per consumer between `recv` and `work`, and the
    // one the producer is sending.
    let limit = CAPACITY + CONSUMERS + 1;
    assert!(
        worst <= limit,
        "the producer ran {worst} items ahead of the consumers; with a channel of {CAPACITY} and {CONSUMERS} consumers it can be at most {limit} ahead (is the channel bounded?)"
    );
}

fn an_empty_stream_ends_at_once() {
    let results = imp::pipeline(|| None, 2, 3, |n| n);
    assert!(results.is_empty(), "no items, no results");
}
