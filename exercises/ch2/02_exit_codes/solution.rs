//! # Exercise 2.2, solved: tell a panic from a kill
//!
//! `join`'s error is an enum, so the answer is a `match` on its variants. `Died`'s `exitcode` uses
//! Python's convention: a negative number is minus the signal that ended the child, anything else
//! is the code it exited with. `Error` is `#[non_exhaustive]` (the crate may add variants), so the
//! `match` needs a last arm for everything else.

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
        Err(Error::Died { exitcode }) if exitcode < 0 => Ending::KilledBySignal(-exitcode),
        Err(Error::Died { exitcode }) => Ending::ExitedWith(exitcode),
        Err(other) => Ending::Failed(other.to_string()),
    }
}
