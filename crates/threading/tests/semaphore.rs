//! Tests of `threading::Semaphore`: the permit count, RAII release, timeouts, contention.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use testbed::wait::{DEADLINE, within};
use threading::Semaphore;

#[test]
fn permits_are_counted_and_given_back_on_drop() {
    let semaphore = Semaphore::new(2);
    let first = semaphore.acquire();
    let second = semaphore.try_acquire().expect("a second permit is free");
    assert_eq!(semaphore.available_permits(), 0);
    assert!(
        semaphore.try_acquire().is_none(),
        "a third holder must be refused"
    );
    drop(first);
    assert_eq!(semaphore.available_permits(), 1);
    drop(second);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn acquire_timeout_gives_up_when_no_permit_comes_free() {
    let semaphore = Semaphore::new(1);
    let _held = semaphore.acquire();
    assert!(
        semaphore
            .acquire_timeout(Duration::from_millis(20))
            .is_none()
    );
    assert_eq!(
        semaphore.available_permits(),
        0,
        "a failed acquire takes nothing"
    );
}

#[test]
fn a_zero_permit_semaphore_refuses_everyone() {
    let semaphore = Semaphore::new(0);
    assert!(semaphore.try_acquire().is_none());
    assert!(
        semaphore
            .acquire_timeout(Duration::from_millis(1))
            .is_none()
    );
}

#[test]
fn a_waiter_gets_the_permit_another_thread_releases() {
    let semaphore = Arc::new(Semaphore::new(1));
    let held = semaphore.acquire();
    let waiter = std::thread::spawn({
        let semaphore = Arc::clone(&semaphore);
        move || semaphore.acquire_timeout(DEADLINE).is_some()
    });
    drop(held);
    assert!(
        waiter.join().expect("the waiter panicked"),
        "the released permit reached the waiter"
    );
}

#[test]
fn a_panicking_holder_still_gives_its_permit_back() {
    let semaphore = Arc::new(Semaphore::new(1));
    let holder = std::thread::spawn({
        let semaphore = Arc::clone(&semaphore);
        move || {
            let _permit = semaphore.acquire();
            panic!("failing while holding the permit");
        }
    });
    assert!(holder.join().is_err(), "the holder panics");
    assert_eq!(
        semaphore.available_permits(),
        1,
        "unwinding dropped the permit"
    );
}

#[test]
fn never_more_holders_than_permits_under_contention() {
    const PERMITS: usize = 3;
    const THREADS: usize = 8;
    const ROUNDS: usize = 200;
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let holders = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let sections = Arc::new(AtomicUsize::new(0));
    let (s, h, m, n) = (
        Arc::clone(&semaphore),
        Arc::clone(&holders),
        Arc::clone(&most_at_once),
        Arc::clone(&sections),
    );
    within("8 threads taking turns on 3 permits", DEADLINE, move || {
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    for _ in 0..ROUNDS {
                        let _permit = s.acquire();
                        let now = h.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        h.fetch_sub(1, Ordering::SeqCst);
                        n.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
    });
    let most = most_at_once.load(Ordering::SeqCst);
    assert!(
        (1..=PERMITS).contains(&most),
        "{most} holders at once with {PERMITS} permits"
    );
    assert_eq!(sections.load(Ordering::SeqCst), THREADS * ROUNDS);
    assert_eq!(semaphore.available_permits(), PERMITS);
}

#[test]
fn an_enormous_timeout_does_not_overflow() {
    let semaphore = Arc::new(Semaphore::new(1));
    let waiter = Arc::clone(&semaphore);
    let got = within(
        "acquire_timeout(Duration::MAX) with a free permit",
        DEADLINE,
        move || waiter.acquire_timeout(Duration::MAX).is_some(),
    );
    assert!(got);
    assert_eq!(
        semaphore.available_permits(),
        1,
        "the permit was dropped again"
    );
}

#[test]
fn debug_shows_the_free_permits() {
    let semaphore = Semaphore::new(3);
    let _permit = semaphore.acquire();
    assert_eq!(
        format!("{semaphore:?}"),
        "Semaphore { available_permits: 2 }"
    );
}
