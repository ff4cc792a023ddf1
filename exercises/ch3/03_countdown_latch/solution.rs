//! # Exercise 3.3, solved: a countdown latch from `Mutex` and `Condvar`
//!
//! The count lives in the `Mutex`; the `Condvar` is where waiters sleep. `count_down` changes the
//! count under the lock and, when it reaches zero, wakes *all* waiters (`notify_all`: every one of
//! them is waiting for the same thing). The waits use `Condvar::wait_while` and
//! `wait_timeout_while`, which check the condition before sleeping (so a latch already at zero
//! does not block) and again after every wake-up (so a spurious wake-up does not end the wait).

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
        if *remaining == 0 {
            self.reached_zero.notify_all();
        }
    }

    /// The current count.
    pub fn count(&self) -> usize {
        *self.remaining.lock().unwrap()
    }

    /// Blocks until the count is zero.
    pub fn wait(&self) {
        let remaining = self.remaining.lock().unwrap();
        let _zero = self
            .reached_zero
            .wait_while(remaining, |remaining| *remaining > 0)
            .unwrap();
    }

    /// Blocks until the count is zero or `timeout` has passed; `true` if the count reached zero.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let remaining = self.remaining.lock().unwrap();
        let (remaining, _) = self
            .reached_zero
            .wait_timeout_while(remaining, timeout, |remaining| *remaining > 0)
            .unwrap();
        *remaining == 0
    }
}
