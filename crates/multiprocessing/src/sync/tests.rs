//! Thread-level tests of the primitives (the process-level ones are in `tests/sync.rs`).
//!
//! Every thread is its own session, so threads exercise the same broker paths as processes,
//! including "a holder went away": a thread that ends closes its session.
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use testbed::wait::{DEADLINE, within};

use super::*;

#[test]
fn a_held_lock_times_out_for_others_and_is_free_after_release() {
    let lock = Lock::new().unwrap();
    let guard = lock.acquire().unwrap();
    let other = lock.clone();
    let got = within("a timed acquire", DEADLINE, move || {
        other
            .acquire_timeout(Duration::from_millis(50))
            .unwrap()
            .is_some()
    });
    assert!(!got, "another thread acquired a held lock");
    drop(guard);
    let other = lock.clone();
    let got = within("an acquire of a free lock", DEADLINE, move || {
        other.acquire_timeout(DEADLINE).unwrap().is_some()
    });
    assert!(got, "the released lock was not acquired");
}

#[test]
fn a_lock_taken_twice_by_one_thread_is_refused_not_deadlocked() {
    let lock = Lock::new().unwrap();
    let _guard = lock.acquire().unwrap();
    let error = lock.acquire().err().expect("second acquire must fail");
    assert!(
        matches!(error, SyncError::Refused(ref why) if why.contains("RLock")),
        "{error}"
    );
}

#[test]
fn an_rlock_is_reentrant_and_free_only_after_the_last_guard() {
    let lock = RLock::new().unwrap();
    let outer = lock.acquire().unwrap();
    let inner = lock.acquire().unwrap();
    drop(inner);
    let other = lock.clone();
    let got = within("an RLock still held", DEADLINE, move || {
        other
            .acquire_timeout(Duration::from_millis(50))
            .unwrap()
            .is_some()
    });
    assert!(!got, "the RLock was free while one level was still held");
    drop(outer);
    let other = lock.clone();
    let got = within("a released RLock", DEADLINE, move || {
        other.acquire_timeout(DEADLINE).unwrap().is_some()
    });
    assert!(got);
}

#[test]
fn a_lock_held_by_a_thread_that_ended_passes_on_with_a_warning() {
    let lock = Lock::new().unwrap();
    let holder = lock.clone();
    within(
        "a thread that takes the lock and leaks its guard",
        DEADLINE,
        move || {
            std::mem::forget(holder.acquire().unwrap());
        },
    );
    // The thread ended with the lock held: its session closed, so the broker frees the lock.
    let guard = lock
        .acquire_timeout(DEADLINE)
        .unwrap()
        .expect("the lock of an ended thread was never released");
    assert!(guard.previous_holder_died());
}

#[test]
fn a_semaphore_admits_at_most_its_permits() {
    let semaphore = Semaphore::new(2).unwrap();
    let first = semaphore.acquire().unwrap();
    let _second = semaphore.acquire().unwrap();
    let other = semaphore.clone();
    let third = within("a third permit", DEADLINE, move || {
        other
            .acquire_timeout(Duration::from_millis(50))
            .unwrap()
            .is_some()
    });
    assert!(!third, "a third permit was granted by Semaphore(2)");
    drop(first);
    let other = semaphore.clone();
    let third = within("a returned permit", DEADLINE, move || {
        other.acquire_timeout(DEADLINE).unwrap().is_some()
    });
    assert!(third);
}

#[test]
fn an_event_wakes_a_waiter_and_times_out_when_not_set() {
    let event = Event::new().unwrap();
    assert!(!event.is_set().unwrap());
    assert!(!event.wait_timeout(Duration::from_millis(20)).unwrap());
    let waiter = event.clone();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(waiter.wait_timeout(DEADLINE));
    });
    event.set().unwrap();
    let woken = rx
        .recv_timeout(DEADLINE)
        .expect("the waiter never returned");
    assert!(
        woken.unwrap(),
        "the waiter timed out although the event was set"
    );
    event.clear().unwrap();
    assert!(!event.is_set().unwrap());
}

#[test]
fn a_condition_wait_releases_the_lock_and_a_notify_wakes_it() {
    let condition = Condition::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let waiter = condition.clone();
    thread::spawn(move || {
        let mut guard = waiter.acquire().unwrap();
        tx.send("waiting").unwrap();
        let notified = guard.wait_timeout(DEADLINE);
        let _ = tx.send(if matches!(notified, Ok(true)) {
            "notified"
        } else {
            "not"
        });
    });
    assert_eq!(rx.recv_timeout(DEADLINE).unwrap(), "waiting");
    // Acquiring succeeds only once the waiter's `wait` has released the lock.
    let guard = condition.acquire().unwrap();
    guard.notify(1).unwrap();
    drop(guard);
    assert_eq!(rx.recv_timeout(DEADLINE).unwrap(), "notified");
}

#[test]
fn a_condition_wait_times_out_and_holds_the_lock_again() {
    let condition = Condition::new().unwrap();
    let mut guard = condition.acquire().unwrap();
    assert!(!guard.wait_timeout(Duration::from_millis(20)).unwrap());
    let other = condition.clone();
    let got = within(
        "a condition's lock after a timed-out wait",
        DEADLINE,
        move || other.acquire_timeout_for_test(),
    );
    assert!(!got, "the lock was free after wait_timeout returned");
}

impl Condition {
    fn acquire_timeout_for_test(&self) -> bool {
        self.handle
            .acquire(Some(Duration::from_millis(50)))
            .unwrap()
            .is_some()
    }
}

#[test]
fn a_barrier_releases_all_parties_with_distinct_indices() {
    let barrier = Barrier::new(3).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        let (barrier, tx) = (barrier.clone(), tx.clone());
        thread::spawn(move || {
            let _ = tx.send(barrier.wait());
        });
    }
    let mut indices: Vec<u32> = (0..3)
        .map(|_| {
            rx.recv_timeout(DEADLINE)
                .expect("a party never passed")
                .unwrap()
        })
        .collect();
    indices.sort();
    assert_eq!(indices, vec![0, 1, 2]);
}

#[test]
fn a_barrier_breaks_when_a_waiter_times_out() {
    let barrier = Barrier::new(3).unwrap();
    let other = barrier.clone();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(other.wait());
    });
    let error = barrier.wait_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(error, SyncError::Timeout(_)), "{error}");
    let other_result = rx
        .recv_timeout(DEADLINE)
        .expect("the other party never returned");
    assert!(
        matches!(other_result, Err(SyncError::BrokenBarrier)),
        "{other_result:?}"
    );
    assert!(matches!(barrier.wait(), Err(SyncError::BrokenBarrier)));
}

#[test]
fn a_barrier_of_zero_parties_is_an_error() {
    assert!(matches!(
        Barrier::new(0),
        Err(SyncError::InvalidArgument(_))
    ));
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Lock>();
    assert_send_sync::<RLock>();
    assert_send_sync::<Semaphore>();
    assert_send_sync::<Event>();
    assert_send_sync::<Condition>();
    assert_send_sync::<Barrier>();
}
