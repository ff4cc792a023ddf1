//! # Exercise 3.3, a wrong attempt: reaching zero wakes one waiter, not all of them
//!
//! The mistake: everything is right except the wake-up: `notify_one` instead of `notify_all`. With
//! one waiter nobody notices; with several, one is released and the others sleep on, because the
//! condition they wait for will never change again and nobody else will ever notify them.
//!
//! Fails: by a panic: with three waiters, two are still waiting after the count reached zero, and
//! the check's bounded wait for them runs out.

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
            self.reached_zero.notify_one();
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
