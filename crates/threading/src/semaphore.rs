//! [`Semaphore`]: at most N holders at a time, like Python's `threading.Semaphore`.
//!
//! A semaphore is a counter of free permits. `acquire` takes one, waiting while there are none;
//! giving it back wakes one waiter. Python leaves the giving back to you (`release()`, best in a
//! `with` block); here `acquire` returns a [`SemaphorePermit`] and dropping the permit releases it.
//! That is RAII, the same idea as a `MutexGuard`: the permit cannot be forgotten on an early
//! `return`, a `?` or a panic, and it cannot be released twice. (Python's `Semaphore` also lets any
//! code call `release()` one time too many and silently raise the limit; `BoundedSemaphore` exists
//! to catch that. A permit that only exists while held makes the mistake impossible.)
//!
//! Built from `Mutex<usize>` + `Condvar`, for the same reasons as [`Event`](crate::Event). The one
//! difference: a release frees *one* permit, so it wakes *one* waiter (`notify_one`). That is enough
//! because every waiter, when it wakes, takes a free permit if there is one *before* it looks at its
//! deadline (see `facade::wait_until`): a wake-up is never spent by a thread that then leaves without
//! the permit, so no permit can sit free while threads sleep. `tests/loom.rs` checks that there are
//! never more than N holders and that no waiter is left asleep.
//!
//! Fairness: none. A thread calling `try_acquire` can take a permit just freed for a sleeping
//! waiter; the waiter goes back to sleep until the next release. That is also true of Python's.
//!
//! In production: `std` has no semaphore. For async code use `tokio::sync::Semaphore` (fair, with
//! owned permits); the `async-lock` crate's `Semaphore` works in any executor and also has
//! `acquire_blocking`, so one semaphore can be shared by threads and async tasks. To bound the work
//! waiting for threads, a bounded channel is often simpler (see `examples/08_channels.rs`).

use std::time::Duration;

use crate::facade::{self, Condvar, Mutex};

/// A counting semaphore: at most `permits` threads hold a permit at a time.
///
/// ```
/// use threading::Semaphore;
///
/// let pool = Semaphore::new(2);
/// let first = pool.acquire();
/// let _second = pool.acquire();
/// assert!(pool.try_acquire().is_none(), "two permits are out, a third must be refused");
/// drop(first); // gives the permit back
/// assert!(pool.try_acquire().is_some());
/// ```
pub struct Semaphore {
    available: Mutex<usize>,
    released: Condvar,
}

/// A permit from a [`Semaphore`]; dropping it gives it back and wakes one waiter.
#[must_use = "the permit is released as soon as it is dropped"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` free permits. With 0, every acquire waits (or fails) until...
    /// never: permits only come back from permits handed out, so 0 is only useful in tests.
    pub fn new(permits: usize) -> Self {
        Self {
            available: Mutex::new(permits),
            released: Condvar::new(),
        }
    }

    /// Takes a permit, blocking while none is free.
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.acquire_with(None)
            .expect("without a deadline the wait only ends with a permit")
    }

    /// Takes a permit if one is free right now, without blocking.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let mut available = facade::lock(&self.available);
        take_one(&mut available).then(|| self.permit())
    }

    /// Takes a permit, blocking at most `timeout`; `None` if none came free in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        self.acquire_with(facade::deadline_after(timeout))
    }

    /// How many permits are free right now (it may change the moment this returns).
    pub fn available_permits(&self) -> usize {
        *facade::lock(&self.available)
    }

    // ANCHOR: acquire_with
    fn acquire_with(
        &self,
        deadline: Option<std::time::Instant>,
    ) -> Option<SemaphorePermit<'_>> {
        let available = facade::lock(&self.available);
        let (_available, got_one) =
            facade::wait_until(&self.released, available, deadline, take_one);
        got_one.then(|| self.permit())
    }
    // ANCHOR_END: acquire_with

    fn permit(&self) -> SemaphorePermit<'_> {
        SemaphorePermit { semaphore: self }
    }

    // ANCHOR: release
    fn release(&self) {
        *facade::lock(&self.available) += 1;
        self.released.notify_one();
    }
    // ANCHOR_END: release
}

/// Takes one of the `available` permits if there is one.
fn take_one(available: &mut usize) -> bool {
    match available.checked_sub(1) {
        Some(left) => {
            *available = left;
            true
        }
        None => false,
    }
}

// ANCHOR: permit_drop
impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release();
    }
}
// ANCHOR_END: permit_drop

// Written by hand because loom's `Mutex` is not `Debug`.
impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .finish()
    }
}
