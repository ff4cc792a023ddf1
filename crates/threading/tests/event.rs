//! Tests of `threading::Event`: set/wait, clear, timeouts, many waiters.

use std::sync::Arc;
use std::time::Duration;

use testbed::wait::{DEADLINE, within};
use threading::Event;

#[test]
fn a_new_event_is_not_set_and_a_wait_for_it_times_out() {
    let event = Event::new();
    assert!(!event.is_set());
    assert!(
        !event.wait_timeout(Duration::from_millis(20)),
        "nobody set the event"
    );
}

#[test]
fn waiting_for_an_event_that_is_already_set_returns_at_once() {
    let event = Arc::new(Event::new());
    event.set();
    assert!(event.is_set());
    let waiter = Arc::clone(&event);
    within("wait() on an event that is set", DEADLINE, move || {
        waiter.wait()
    });
    assert!(
        event.wait_timeout(Duration::ZERO),
        "a set event with a zero timeout"
    );
}

#[test]
fn set_wakes_every_waiter() {
    let event = Arc::new(Event::new());
    let (woke_tx, woke_rx) = crossbeam_channel::unbounded();
    let waiters: Vec<_> = (0..4)
        .map(|id| {
            let event = Arc::clone(&event);
            let woke_tx = woke_tx.clone();
            std::thread::spawn(move || {
                event.wait();
                woke_tx.send(id).expect("the test is listening");
            })
        })
        .collect();
    event.set();
    let mut woke: Vec<i32> = (0..4)
        .map(|_| {
            woke_rx
                .recv_timeout(DEADLINE)
                .expect("a waiter to wake after set()")
        })
        .collect();
    woke.sort_unstable();
    assert_eq!(woke, [0, 1, 2, 3]);
    for waiter in waiters {
        waiter.join().expect("a waiter panicked");
    }
}

#[test]
fn a_timed_wait_returns_true_when_set_from_another_thread() {
    let event = Arc::new(Event::new());
    let setter = Arc::clone(&event);
    let waiter = std::thread::spawn({
        let event = Arc::clone(&event);
        move || event.wait_timeout(DEADLINE)
    });
    setter.set();
    assert!(
        waiter.join().expect("the waiter panicked"),
        "wait_timeout saw the set"
    );
}

#[test]
fn clear_makes_later_waits_block_again() {
    let event = Event::new();
    event.set();
    event.clear();
    assert!(!event.is_set());
    assert!(
        !event.wait_timeout(Duration::from_millis(20)),
        "the event was cleared"
    );
    event.set();
    assert!(event.wait_timeout(Duration::ZERO));
}

#[test]
fn an_enormous_timeout_does_not_overflow_and_still_sees_the_set() {
    let event = Arc::new(Event::new());
    event.set();
    let waiter = Arc::clone(&event);
    assert!(within("wait_timeout(Duration::MAX)", DEADLINE, move || {
        waiter.wait_timeout(Duration::MAX)
    }));
}

#[test]
fn debug_shows_the_flag() {
    let event = Event::new();
    assert_eq!(format!("{event:?}"), "Event { is_set: false }");
}

#[test]
fn a_set_then_clear_pulse_releases_a_thread_that_was_already_waiting() {
    let event = Arc::new(Event::new());
    let waiter = {
        let event = Arc::clone(&event);
        std::thread::spawn(move || event.wait_timeout(DEADLINE))
    };
    // Wait (with a deadline) until the waiter is really blocked inside `wait`.
    let started = std::time::Instant::now();
    while event.waiting() == 0 {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out waiting for the waiter to block"
        );
        std::thread::yield_now();
    }
    event.set();
    event.clear();
    assert!(
        waiter.join().expect("the waiter panicked"),
        "the pulse must release the waiter, although the flag is clear again"
    );
    assert_eq!(event.waiting(), 0);
    assert!(!event.is_set());
}
