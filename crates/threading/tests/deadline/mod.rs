//! A deadline for anything in a test that could hang.

use std::time::Duration;

/// How long a test may wait for something that should take milliseconds. Generous, because CI
/// machines are slow; it only matters when something is broken.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `f` on its own thread and returns its result, or fails the test naming `what` if it takes
/// longer than [`DEADLINE`] (a deadlock, a lost wake-up). A panic inside `f` fails the test too.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let worker = std::thread::spawn(move || {
        let _ = done_tx.send(f());
    });
    match done_rx.recv_timeout(DEADLINE) {
        Ok(value) => value,
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
            panic!("timed out after {DEADLINE:?} waiting for {what}")
        }
    }
}
