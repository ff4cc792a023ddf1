//! # Exercise 2.2, a wrong attempt: a signal's number keeps Python's minus sign
//!
//! The mistake: `exitcode < 0` is read correctly as "killed by a signal", but the number is passed
//! on as it is, so SIGKILL comes out as `KilledBySignal(-9)`. The variant promises the signal's
//! number, which is positive; the minus sign is only Python's way of marking it inside `exitcode`.
//!
//! Fails: by a panic: the check expects `KilledBySignal(9)` after `kill()`.

use multiprocessing::{Error, Process};

/// How a child process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Its function returned this value.
    Finished(u64),
    /// Its function panicked with this message.
    Panicked(String),
    /// It exited with this code without returning a value (`std::process::exit`).
    ExitedWith(i32),
    /// A signal ended it: the signal's number (9 for SIGKILL, 15 for SIGTERM), positive.
    KilledBySignal(i32),
    /// Something else went wrong (the child could not be joined at all): the error's message.
    Failed(String),
}

/// Waits for `child` and says how it ended.
pub fn classify(child: Process<u64>) -> Ending {
    match child.join() {
        Ok(value) => Ending::Finished(value),
        Err(Error::Panicked { message, .. }) => Ending::Panicked(message),
        Err(Error::Died { exitcode }) if exitcode < 0 => Ending::KilledBySignal(exitcode),
        Err(Error::Died { exitcode }) => Ending::ExitedWith(exitcode),
        Err(other) => Ending::Failed(other.to_string()),
    }
}
