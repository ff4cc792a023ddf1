//! # Exercise 3.3: build a countdown latch from `Mutex` and `Condvar`
//!
//! A countdown latch starts at a count; threads call [`CountDownLatch::count_down`] as they finish
//! their part, and [`CountDownLatch::wait`] blocks until the count reaches zero. It is how a main
//! thread waits for "all N workers have started" or "all N parts are loaded" without joining
//! anyone. (Java has `CountDownLatch`; in Python you would build it from a `threading.Condition`, as
//! you will here.)
//!
//! Rules:
//!
//! - `count_down` below zero stays at zero.
//! - `wait` returns at once if the count is already zero, and never misses the moment it reaches
//!   zero, however the threads interleave; nor does it return *before* that moment, however often
//!   a waiting thread is woken.
//! - `wait_timeout` returns `true` if the count reached zero, `false` if the time ran out first.
//!
//! The fields are a suggestion; change them as you like, keeping the public methods.
//!
//! Check your work with `cargo run -p exercises -- check ch3/03`; stuck?
//! `cargo run -p exercises -- hint ch3/03`.

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
        todo!("decrement under the lock; wake the waiters when the count reaches zero")
    }

    /// The current count.
    pub fn count(&self) -> usize {
        todo!()
    }

    /// Blocks until the count is zero.
    pub fn wait(&self) {
        todo!("wait on the condition variable while the count is above zero")
    }

    /// Blocks until the count is zero or `timeout` has passed; `true` if the count reached zero.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        todo!()
    }
}
