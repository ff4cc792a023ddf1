//! Model checks of `Event` and `Semaphore` with loom: every interleaving of the threads, up to a
//! bound on preemptions, is run, and a thread left waiting forever (a lost wake-up) is reported as a
//! deadlock.
//!
//! Only compiled in the loom build (the primitives then use loom's `Mutex` and `Condvar`, see
//! `src/facade.rs`):
//!
//! ```text
//! RUSTFLAGS="--cfg threading_loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p threading --release --test loom
//! ```
//!
//! Timeouts: loom 0.7 does not model time. Its `Condvar::wait_timeout` simply waits (its source says
//! "TODO: implement timing out"), so a timed wait can only end by a notification here. The models
//! below therefore check that the *timed* paths also wake up on `set` / on a release (a timeout
//! long enough never to expire); that a timeout actually expires is tested in `tests/event.rs` and
//! `tests/semaphore.rs` with real time.
#![cfg(threading_loom)]

use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use threading::{Event, Semaphore};

/// Long enough never to expire during a model run (and loom would not expire it anyway).
const NEVER: Duration = Duration::from_secs(3600);

#[test]
fn event_set_wakes_a_waiter_whatever_the_interleaving() {
    loom::model(|| {
        let event = Arc::new(Event::new());
        let setter = {
            let event = Arc::clone(&event);
            thread::spawn(move || event.set())
        };
        event.wait();
        assert!(event.is_set());
        setter.join().unwrap();
    });
}

#[test]
fn event_set_then_clear_still_releases_a_thread_that_was_waiting() {
    loom::model(|| {
        let event = Arc::new(Event::new());
        let waiter = {
            let event = Arc::clone(&event);
            thread::spawn(move || event.wait())
        };
        // Pulse only once the waiter is really blocked; a waiter that only looked at the flag
        // would wake up, find it cleared, and sleep forever: loom reports that as a deadlock.
        while event.waiting() == 0 {
            thread::yield_now();
        }
        event.set();
        event.clear();
        waiter.join().unwrap();
        assert!(!event.is_set());
        assert_eq!(event.waiting(), 0);
    });
}

#[test]
fn event_timed_wait_wakes_on_set() {
    loom::model(|| {
        let event = Arc::new(Event::new());
        let setter = {
            let event = Arc::clone(&event);
            thread::spawn(move || event.set())
        };
        assert!(event.wait_timeout(NEVER));
        setter.join().unwrap();
    });
}

/// `threads` threads (the main one included) each take a permit of a `permits`-permit semaphore
/// once; asserts that there are never more holders than permits, and that nobody is left waiting.
fn contend(permits: usize, threads: usize, timed: bool) {
    loom::model(move || {
        let semaphore = Arc::new(Semaphore::new(permits));
        let holders = Arc::new(AtomicUsize::new(0));
        let take_turn = {
            let (semaphore, holders) = (Arc::clone(&semaphore), Arc::clone(&holders));
            move || {
                let _permit = if timed {
                    semaphore
                        .acquire_timeout(NEVER)
                        .expect("the timeout never expires")
                } else {
                    semaphore.acquire()
                };
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(now <= permits, "{now} holders with {permits} permits");
                holders.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let others: Vec<_> = (1..threads)
            .map(|_| thread::spawn(take_turn.clone()))
            .collect();
        take_turn();
        for other in others {
            other.join().unwrap();
        }
        assert_eq!(semaphore.available_permits(), permits);
    });
}

#[test]
fn semaphore_one_permit_three_threads() {
    contend(1, 3, false);
}

#[test]
fn semaphore_two_permits_three_threads() {
    contend(2, 3, false);
}

#[test]
fn semaphore_timed_acquire_one_permit_three_threads() {
    contend(1, 3, true);
}

#[test]
fn semaphore_release_reaches_a_waiter_despite_a_try_acquire_barging_in() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.acquire();
        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || drop(semaphore.acquire()))
        };
        let barger = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.try_acquire().is_some())
        };
        drop(held);
        let _barged = barger.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
    });
}
