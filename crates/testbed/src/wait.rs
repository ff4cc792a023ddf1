//! Deadlines for tests: the two ways every test in this workspace waits for something that could
//! hang.
//!
//! A concurrency bug rarely fails a test; it hangs it. A test that hangs says nothing about what it
//! was waiting for, and on CI it ends only when the whole job is killed. So no test here waits
//! without a deadline, and when the deadline passes the test fails with a message that names what it
//! was waiting for: "timed out after 20s waiting for the pool's third result" points at the bug.
//!
//! - [`within`] runs a blocking call (a `join`, a `recv`, a `wait` on a condition) on a thread of its
//!   own and gives up on it at the deadline. The stuck thread is left behind, which is why the test
//!   must fail then: nothing can stop a thread from outside (see the threading chapter).
//! - [`wait_until`] polls a condition that has nothing to wait on (a counter in shared memory, a
//!   process that should have gone from `/proc`). It sleeps a millisecond between looks, which is a
//!   poll with a deadline, not a sleep used as synchronization: the test goes on the moment the
//!   condition holds, however slow the machine.
//!
//! Tests of code that has its own timeouts (`recv_timeout`, `join_timeout`, `tokio::time::timeout`)
//! use those directly; these two are for everything else.

use std::time::{Duration, Instant};

/// The deadline the workspace's tests use for a wait that should take milliseconds: generous,
/// because a shared two-core machine can be very slow; it only matters when something is broken.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `f` on a new thread and returns its result, or panics naming `what` if it has not finished
/// after `deadline` (a deadlock, a lost wake-up). A panic inside `f` is resumed on the caller's
/// thread, so an assertion inside `f` fails the test as if it had run there.
///
/// ```
/// use std::time::Duration;
/// let answer = testbed::wait::within("the answer", Duration::from_secs(5), || 6 * 7);
/// assert_eq!(answer, 42);
/// ```
pub fn within<T: Send + 'static>(
    what: &str,
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
    let worker = std::thread::Builder::new()
        .name(format!("within: {what}"))
        .spawn(move || {
            let _ = done_tx.send(f());
        })
        .unwrap_or_else(|e| panic!("cannot start a thread to wait for {what}: {e}"));
    match done_rx.recv_timeout(deadline) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends its result before it ends"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("timed out after {deadline:?} waiting for {what}")
        }
    }
}

/// Waits until `condition` holds, looking every millisecond, or panics after `deadline` naming
/// `what`. For state that has no notification to wait on.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let done = Arc::new(AtomicBool::new(false));
/// let setter = {
///     let done = done.clone();
///     std::thread::spawn(move || done.store(true, Ordering::Release))
/// };
/// testbed::wait::wait_until("the flag", Duration::from_secs(5), || done.load(Ordering::Acquire));
/// setter.join().unwrap();
/// ```
pub fn wait_until(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let give_up = Instant::now() + deadline;
    while !condition() {
        assert!(
            Instant::now() < give_up,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_returns_the_value_and_resumes_a_panic() {
        assert_eq!(within("a value", DEADLINE, || 7), 7);
        let panic = std::panic::catch_unwind(|| within("a panic", DEADLINE, || panic!("inner")))
            .expect_err("the inner panic reaches the caller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"inner"));
    }

    #[test]
    fn within_names_what_it_waited_for_when_time_runs_out() {
        let (_keep_open, never) = std::sync::mpsc::channel::<()>();
        let panic = std::panic::catch_unwind(|| {
            within(
                "a message that never comes",
                Duration::from_millis(20),
                move || {
                    let _ = never.recv();
                },
            )
        })
        .expect_err("the deadline passes");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(
            message.contains("waiting for a message that never comes"),
            "{message}"
        );
    }

    #[test]
    fn wait_until_fails_naming_the_condition() {
        let panic = std::panic::catch_unwind(|| {
            wait_until(
                "a condition that never holds",
                Duration::from_millis(20),
                || false,
            )
        })
        .expect_err("the deadline passes");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(
            message.contains("a condition that never holds"),
            "{message}"
        );
    }
}
