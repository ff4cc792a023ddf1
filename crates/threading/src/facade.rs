//! The synchronization types this crate is built on: std's, or loom's for model checking.
//!
//! [`Event`](crate::Event) and [`Semaphore`](crate::Semaphore) are a few lines of `Mutex` + `Condvar`
//! each, and a few lines are enough to hide a lost wake-up that shows up once in a million runs. An
//! ordinary test cannot find such a bug on purpose; [loom](https://docs.rs/loom) can. Loom runs a test
//! many times and, on each run, picks a different interleaving of the threads at every
//! synchronization point, until it has tried all of them (up to a bound). For that it needs its own
//! `Mutex`, `Condvar`, `Arc`, atomics and `thread::spawn`, which record every step.
//!
//! So the primitives do not name `std::sync` directly: they take their types from here. In a normal
//! build these are std's. Built with `RUSTFLAGS="--cfg threading_loom"` they are loom's, and
//! `tests/loom.rs` explores the primitives' interleavings (tokio does the same with its `loom` module).
//!
//! Why a cfg of our own and not the customary `--cfg loom`: `RUSTFLAGS` reaches every crate in the
//! build, and some dependencies of this workspace (tokio, pulled in by reqwest) change behaviour
//! under `cfg(loom)` and then no longer compile. `threading_loom` only means something to this crate.
//!
//! The module is public so that tests written against it run under both builds.

/// Atomics: std's, or loom's under `cfg(threading_loom)`.
#[cfg(threading_loom)]
pub use loom::sync::atomic;
#[cfg(threading_loom)]
pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard, WaitTimeoutResult};
/// Threads: std's, or loom's under `cfg(threading_loom)` (only `spawn` and `JoinHandle` exist in both).
#[cfg(threading_loom)]
pub use loom::thread;

/// Atomics: std's, or loom's under `cfg(threading_loom)`.
#[cfg(not(threading_loom))]
pub use std::sync::atomic;
#[cfg(not(threading_loom))]
pub use std::sync::{Arc, Condvar, Mutex, MutexGuard, WaitTimeoutResult};
/// Threads: std's, or loom's under `cfg(threading_loom)` (only `spawn` and `JoinHandle` exist in both).
#[cfg(not(threading_loom))]
pub use std::thread;

/// Locks `mutex`, ignoring poisoning.
///
/// A `Mutex` is *poisoned* when a thread panics while holding it, to warn the next user that the data
/// may be half-updated. The primitives in this crate hold their locks only around a few integer
/// operations that cannot panic, so their data is always consistent and the warning carries no
/// information: we take the guard out of the `PoisonError` and carry on.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits on `condvar` until `ready(&mut state)` says yes, or until `deadline` passes (`None`: no
/// deadline). Returns the guard and whether `ready` said yes.
///
/// This is the one loop both primitives need, written once, with the two rules of condition
/// variables in it:
///
/// - **Check, then wait, in a loop.** The predicate is checked under the lock *before* the first
///   wait (the event may have happened already: waiting then would sleep forever, the lost
///   wake-up), and again after every wake-up (wake-ups can be spurious, or another thread may have
///   taken what we were woken for).
/// - **Wait for the time that is left**, not the full timeout again after each wake-up; otherwise a
///   stream of spurious wake-ups would extend the wait forever.
///
/// The predicate is checked before the deadline, so a waiter that is woken just as its time runs out
/// still takes what it was woken for.
// ANCHOR: wait_until
pub(crate) fn wait_until<'a, T>(
    condvar: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<std::time::Instant>,
    mut ready: impl FnMut(&mut T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    loop {
        if ready(&mut guard) {
            return (guard, true);
        }
        guard = match deadline {
            None => condvar
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Some(deadline) => {
                let now = std::time::Instant::now();
                if now >= deadline {
                    return (guard, false);
                }
                condvar
                    .wait_timeout(guard, deadline - now)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
        };
    }
}
// ANCHOR_END: wait_until

/// The instant `timeout` from now, or `None` (wait forever) if that is too far away to represent.
pub(crate) fn deadline_after(timeout: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}
