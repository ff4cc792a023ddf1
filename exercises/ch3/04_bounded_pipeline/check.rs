//! The checks of exercise 3.4, run against the stub, the solution and the reader's attempt alike.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{imp, support};

/// How long the producer of [`a_quiet_producer_loses_nothing`] stays quiet once every consumer
/// is waiting.
const QUIET: Duration = Duration::from_secs(3);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    every_item_is_processed_exactly_once();
    a_quiet_producer_loses_nothing();
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

/// How many items most scenarios send: enough for the consumers to race each other many times, few
/// enough that a rendezvous channel (one hand-over per item) is quick on a loaded machine.
const ITEMS: u64 = 300;

fn every_item_is_processed_exactly_once() {
    for (capacity, consumers) in [(0, 1), (1, 3), (4, 2), (64, 4)] {
        let mut next = 0_u64;
        let mut results = imp::pipeline(
            || {
                next += 1;
                (next <= ITEMS).then_some(next)
            },
            capacity,
            consumers,
            slow_double,
        );
        results.sort_unstable();
        let expected: Vec<u64> = (1..=ITEMS).map(|n| n * 2).collect();
        assert_eq!(
            results.len(),
            expected.len(),
            "capacity {capacity}, {consumers} consumers: {} results for {ITEMS} items (consumers that stop at an empty queue lose items)",
            results.len()
        );
        assert_eq!(
            results, expected,
            "capacity {capacity}, {consumers} consumers: each item doubled, exactly once"
        );
    }
}

/// The producer goes quiet halfway, as a real one does (a slow disk, a quiet socket). It does not
/// merely sleep: it waits until every consumer thread is asleep waiting for an item (Linux shows a
/// thread's state in `/proc`; see `support`), then stays quiet for [`QUIET`] while it watches them,
/// and ends the stream at once if one of them ends: a consumer that ends before the stream has
/// ended has taken a quiet spell for the end.
fn a_quiet_producer_loses_nothing() {
    const CONSUMERS: usize = 2;
    let before: BTreeSet<u32> = support::thread_ids().into_iter().collect();
    let me = support::current_tid();
    let mut ended_early: Option<usize> = None;
    let mut next = 0_u64;
    let mut results = imp::pipeline(
        || {
            next += 1;
            if next == ITEMS / 2 {
                let consumers: Vec<Option<u32>> = support::thread_ids()
                    .into_iter()
                    .filter(|tid| !before.contains(tid) && Some(*tid) != me)
                    .map(Some)
                    .collect();
                support::wait_until_blocked(
                    &consumers,
                    QUIET * 2,
                    "the consumers to wait for items",
                );
                let gone = |tids: &[Option<u32>]| {
                    tids.iter()
                        .filter(|tid| tid.is_some_and(|tid| support::thread_state(tid).is_none()))
                        .count()
                };
                support::poll_until(QUIET, || gone(&consumers) > 0);
                if gone(&consumers) > 0 {
                    ended_early = Some(gone(&consumers));
                    return None;
                }
            }
            (next <= ITEMS).then_some(next)
        },
        4,
        CONSUMERS,
        slow_double,
    );
    if let Some(gone) = ended_early {
        panic!(
            "the producer went quiet after {} items, and {gone} of the {CONSUMERS} consumer threads \
             ended within {QUIET:?} of quiet, before the stream had ended: a quiet channel is not \
             the end of the stream (recv_timeout's Err means \"nothing came in time\"; the end is \
             when every sender is gone)",
            ITEMS / 2 - 1
        );
    }
    results.sort_unstable();
    let expected: Vec<u64> = (1..=ITEMS).map(|n| n * 2).collect();
    assert_eq!(
        results, expected,
        "every item doubled exactly once, even from a producer that goes quiet"
    );
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
            (n < ITEMS).then_some(n)
        },
        CAPACITY,
        CONSUMERS,
        |n| {
            started.fetch_add(1, Ordering::SeqCst);
            slow_double(n)
        },
    );
    assert_eq!(results.len() as u64, ITEMS, "every item processed");
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
