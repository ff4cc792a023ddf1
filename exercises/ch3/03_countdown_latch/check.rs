//! The checks of exercise 3.3, run against the stub, the solution and the reader's attempt alike.
//!
//! Waits that should end are bounded by generous timeouts, so a latch that loses a wake-up fails
//! with a message instead of hanging (and the checker's deadline catches anything else).
//!
//! "Nobody is released early" is checked step by step, without sleeps: the check counts down one
//! at a time and, after each step, waits until every waiter is asleep again or has returned (Linux
//! shows a thread's state in `/proc`; see `support`). A waiter that returned before the last
//! `count_down` was released early.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::imp::CountDownLatch;
use super::support;

const GENEROUS: Duration = Duration::from_secs(3);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    counts_down_to_zero_and_no_further();
    a_latch_at_zero_does_not_block();
    a_timed_wait_gives_up_while_the_count_is_above_zero();
    nobody_is_released_before_the_count_reaches_zero();
    every_waiter_is_released_when_workers_count_down();
}

fn nobody_is_released_before_the_count_reaches_zero() {
    const COUNT: usize = 3;
    const WAITERS: usize = 3;
    let latch = Arc::new(CountDownLatch::new(COUNT));
    let (tid_tx, tid_rx) = mpsc::channel();
    let (released_tx, released_rx) = mpsc::channel();
    for n in 0..WAITERS {
        let (latch, tid_tx, released_tx) =
            (Arc::clone(&latch), tid_tx.clone(), released_tx.clone());
        // Not joined: if the check fails, a waiter may still be waiting, and must not hold it up.
        thread::Builder::new()
            .name(format!("check: waiter {n}"))
            .spawn(move || {
                let _ = tid_tx.send(support::current_tid());
                let opened = latch.wait_timeout(GENEROUS * 10);
                let _ = released_tx.send((n, opened, latch.count()));
            })
            .expect("the check can start a thread");
    }
    let tids: Vec<Option<u32>> = (0..WAITERS)
        .map(|_| {
            tid_rx
                .recv_timeout(GENEROUS)
                .expect("a waiter thread started")
        })
        .collect();
    support::wait_until_blocked(&tids, GENEROUS, "the waiters to block in wait_timeout");
    for done in 1..COUNT {
        latch.count_down();
        support::wait_until_blocked(&tids, GENEROUS, "the waiters to settle after a count_down");
        if let Ok((n, opened, count)) = released_rx.try_recv() {
            panic!(
                "waiter {n} was released (wait_timeout returned {opened}) after {done} of {COUNT} \
                 count_downs, with the count at {count}: a waiter must wait until the count is \
                 zero, and check it again every time it wakes up"
            );
        }
    }
    latch.count_down();
    for _ in 0..WAITERS {
        let (n, opened, count) = released_rx.recv_timeout(GENEROUS).unwrap_or_else(|_| {
            panic!(
                "a waiter was still waiting {GENEROUS:?} after the count reached zero: reaching \
                 zero must wake every waiter"
            )
        });
        assert!(
            opened,
            "waiter {n}: wait_timeout returned false after the count reached zero"
        );
        assert_eq!(
            count, 0,
            "waiter {n} saw the count at {count} after it was released"
        );
    }
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
