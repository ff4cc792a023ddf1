//! # Exercise 3.3, a wrong attempt: every `count_down` wakes the waiters, who do not look again
//!
//! The mistake: `count_down` wakes all waiters each time ("something changed"), and a waiter
//! checks the count once, with `if`, before it sleeps, and not again when it wakes. So the first
//! `count_down` releases everybody, whatever the count. A condition variable's wake-up means "look
//! again", never "it is time": the condition is checked in a loop (`while`, or `wait_while`).
//!
//! Fails: by a panic: the check counts down one step at a time and sees the waiters released
//! after the first step.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Lets threads wait until a count, decremented by other threads, reaches zero.
#[derive(Debug)]
pub struct CountDownLatch {
    remaining: Mutex<usize>,
    reached_zero: Condvar,
}

impl CountDownLatch {
    /// A latch that opens after `count` calls to `count_down` (at once if `count` is 0).
    pub fn new(count: usize) -> Self {
        Self {
            remaining: Mutex::new(count),
            reached_zero: Condvar::new(),
        }
    }

    /// Decrements the count (not below zero); at zero, releases every waiter.
    pub fn count_down(&self) {
        let mut remaining = self.remaining.lock().unwrap();
        *remaining = remaining.saturating_sub(1);
        self.reached_zero.notify_all();
    }

    /// The current count.
    pub fn count(&self) -> usize {
        *self.remaining.lock().unwrap()
    }

    /// Blocks until the count is zero.
    pub fn wait(&self) {
        let remaining = self.remaining.lock().unwrap();
        if *remaining > 0 {
            let _woken = self.reached_zero.wait(remaining).unwrap();
        }
    }

    /// Blocks until the count is zero or `timeout` has passed; `true` if the count reached zero.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let remaining = self.remaining.lock().unwrap();
        if *remaining == 0 {
            return true;
        }
        let (_woken, result) = self.reached_zero.wait_timeout(remaining, timeout).unwrap();
        !result.timed_out()
    }
}
