//! # Exercise 2.2: tell a panic from a kill
//!
//! A supervisor that restarts workers has to know *how* a worker ended: a bug (a panic) should be
//! reported and probably not retried forever; a worker killed by SIGKILL may have been the victim of
//! the out-of-memory killer; SIGTERM means someone asked it to stop; an exit code is the worker's
//! own verdict. Python shows all of this in `Process.exitcode`: `0`, `1` after an exception, the
//! code given to `sys.exit`, or minus the signal number.
//!
//! `Process::join` returns `Ok(value)`, `Err(Error::Panicked { message, location })` or
//! `Err(Error::Died { exitcode })`, with `exitcode` following Python's signs.
//!
//! The [`classify`] below was written in a hurry: it calls every failure a panic. Make it return
//! the right [`Ending`] for each way a child can end. Keep the signatures: the checks call them.
//! Check your work with `cargo run -p exercises -- check ch2/02`; stuck?
//! `cargo run -p exercises -- hint ch2/02`.

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
        // BUG: not every error is a panic.
        Err(error) => Ending::Panicked(error.to_string()),
    }
}
