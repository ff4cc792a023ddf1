//! [`Event`]: a flag that threads can wait for, like Python's `threading.Event`.
//!
//! std has no event, and building one is the clearest lesson in `Mutex` + `Condvar`:
//!
//! - The **`Mutex`** guards the state. Without it, a waiter could read "not set", get descheduled,
//!   and go to sleep *after* the setter has already announced the change: a lost wake-up, and a
//!   thread asleep forever. Checking the flag and starting to wait must be one step as far as the
//!   setter is concerned, and `Condvar::wait` gives exactly that: it releases the lock and starts
//!   sleeping atomically.
//! - The **`Condvar`** is the waiting room. `set` wakes *every* waiter (`notify_all`): an event is a
//!   broadcast, unlike a semaphore's release which is meant for one.
//! - The state holds a **generation** counter besides the flag. A `set()` immediately followed by
//!   `clear()` must still release the threads that were waiting at the time, as Python's does; a
//!   waiter that only looked at the flag could wake up, find it cleared again and go back to sleep.
//!   Waiters therefore also return when the generation has moved on since they started waiting.
//!   `tests/loom.rs` checks that interleaving.
//!
//! In production: to wait for N threads, `std::sync::Barrier`; for one value set once,
//! `std::sync::OnceLock`; a one-shot "stop" or "ready" signal is often best a channel that is
//! closed (`crossbeam-channel`: drop the sender and every `recv` returns); in async code,
//! `tokio::sync::Notify` or `tokio::sync::watch`, or the `event-listener` crate.

use std::time::Duration;

use crate::facade::{self, Condvar, Mutex};

/// A flag that threads can set, clear and wait for (Python's `threading.Event`).
///
/// Share it by reference (scoped threads) or in an `Arc`.
///
/// ```
/// use std::time::Duration;
/// use threading::Event;
///
/// let ready = Event::new();
/// std::thread::scope(|s| {
///     s.spawn(|| ready.set());
///     assert!(ready.wait_timeout(Duration::from_secs(10)), "the setter never set the event");
/// });
/// assert!(ready.is_set());
/// ```
#[derive(Default)]
pub struct Event {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    is_set: bool,
    /// Incremented by every `set`, so that waiters notice a set even if it was cleared again.
    generation: u64,
    /// How many threads are blocked in `wait` / `wait_timeout` right now.
    waiting: usize,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every thread waiting for it. Setting a set event does nothing more.
    // ANCHOR: event_set
    pub fn set(&self) {
        let mut state = facade::lock(&self.state);
        state.is_set = true;
        state.generation = state.generation.wrapping_add(1);
        // Notify while holding the lock or after releasing it: both are correct here,
        // because the waiters re-check the state under the lock. Holding it keeps the
        // reasoning simple.
        self.changed.notify_all();
    }
    // ANCHOR_END: event_set

    /// Clears the flag: threads that call `wait` from now on block until the next `set`.
    pub fn clear(&self) {
        facade::lock(&self.state).is_set = false;
    }

    /// Whether the flag is set right now (it may change the moment this returns).
    pub fn is_set(&self) -> bool {
        facade::lock(&self.state).is_set
    }

    /// Blocks until the flag is set (returns at once if it is set already).
    pub fn wait(&self) {
        self.wait_with(None);
    }

    /// Blocks until the flag is set or `timeout` has passed. Returns `true` if the event was set,
    /// `false` on timeout (Python's `wait(timeout)` returns the same).
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_with(facade::deadline_after(timeout))
    }

    /// How many threads are waiting for the event right now. For tests and diagnostics: a test
    /// can wait until a thread is really blocked before it sets the event.
    pub fn waiting(&self) -> usize {
        facade::lock(&self.state).waiting
    }

    // ANCHOR: event_wait
    fn wait_with(&self, deadline: Option<std::time::Instant>) -> bool {
        let mut state = facade::lock(&self.state);
        let started_at = state.generation;
        state.waiting += 1;
        let woken = |state: &mut State| state.is_set || state.generation != started_at;
        let (mut state, was_set) =
            facade::wait_until(&self.changed, state, deadline, woken);
        state.waiting -= 1;
        was_set
    }
    // ANCHOR_END: event_wait
}

// Written by hand because loom's `Mutex` is not `Debug`; shows the flag, which is what one wants to see.
impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}
