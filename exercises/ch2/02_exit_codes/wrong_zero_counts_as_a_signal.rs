//! # Exercise 2.2, a wrong attempt: only a positive exit code counts as an exit
//!
//! The mistake: the test is `exitcode > 0` for an exit, and everything else is taken for a signal.
//! A child that calls `std::process::exit(0)` before returning its value (it had nothing to say,
//! or a library it called exits on its own) then comes out as "killed by signal 0", a signal that
//! does not exist. Zero is an exit code like any other; only a negative `exitcode` is a signal.
//!
//! Fails: by a panic: the check expects `ExitedWith(0)` from a child that calls `exit(0)`.

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
        Err(Error::Died { exitcode }) if exitcode > 0 => Ending::ExitedWith(exitcode),
        Err(Error::Died { exitcode }) => Ending::KilledBySignal(-exitcode),
        Err(other) => Ending::Failed(other.to_string()),
    }
}
