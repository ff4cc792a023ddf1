//! The checks of exercise 3.3, run against the stub, the solution and the reader's attempt alike.
//!
//! Waits that should end are bounded by generous timeouts, so a latch that loses a wake-up fails
//! with a message instead of hanging (and the checker's deadline catches anything else).

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::imp::CountDownLatch;

const GENEROUS: Duration = Duration::from_secs(5);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    counts_down_to_zero_and_no_further();
    a_latch_at_zero_does_not_block();
    a_timed_wait_gives_up_while_the_count_is_above_zero();
    every_waiter_is_released_when_workers_count_down();
}

fn counts_down_to_zero_and_no_further() {
    let latch = CountDownLatch::new(2);
    assert_eq!(latch.count(), 2);
    latch.count_down();
    assert_eq!(latch.count(), 1);
    latch.count_down();
    latch.count_down();
    assert_eq!(latch.count(), 0, "count_down below zero stays at zero");
}

fn a_latch_at_zero_does_not_block() {
    let latch = CountDownLatch::new(0);
    assert!(
        latch.wait_timeout(Duration::ZERO),
        "a latch created at 0 is open"
    );
    latch.wait();
}

fn a_timed_wait_gives_up_while_the_count_is_above_zero() {
    let latch = CountDownLatch::new(1);
    assert!(
        !latch.wait_timeout(Duration::from_millis(30)),
        "nobody counted down: wait_timeout must return false"
    );
    assert_eq!(latch.count(), 1, "waiting does not change the count");
}

fn every_waiter_is_released_when_workers_count_down() {
    const WORKERS: usize = 4;
    const WAITERS: usize = 3;
    for round in 0..20 {
        let latch = Arc::new(CountDownLatch::new(WORKERS));
        let (released_tx, released_rx) = mpsc::channel();
        let waiters: Vec<_> = (0..WAITERS)
            .map(|_| {
                let (latch, released_tx) = (Arc::clone(&latch), released_tx.clone());
                thread::spawn(move || {
                    let opened = latch.wait_timeout(GENEROUS);
                    released_tx.send(opened).unwrap();
                })
            })
            .collect();
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let latch = Arc::clone(&latch);
                thread::spawn(move || latch.count_down())
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        for _ in 0..WAITERS {
            let opened = released_rx
                .recv_timeout(GENEROUS * 2)
                .expect("a waiter still blocked after every worker counted down");
            assert!(
                opened,
                "round {round}: a waiter timed out although all {WORKERS} workers counted down (a lost wake-up?)"
            );
        }
        for waiter in waiters {
            waiter.join().unwrap();
        }
        latch.wait();
    }
}
