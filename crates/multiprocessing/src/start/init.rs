//! [`init()`]: the first line of `main`, where a process learns which of three parts it plays.
//!
//! Every process of a program that uses this crate runs the same executable, so each must find
//! out, before it does anything else, what it is:
//!
//! | the environment has | the process is | `init()` |
//! |---|---|---|
//! | neither variable | the parent (the program a user started) | starts the fork server, returns |
//! | `MULTIPROCESSING_FORKSERVER` | the fork server | serves until the parent exits; never returns |
//! | [`BOOTSTRAP_ENV`] | a spawned child | runs the function it is asked to, exits; never returns |
//!
//! (A forked child needs no variable: it is a copy of the fork server, already past `init()`.)

use std::sync::atomic::{AtomicBool, Ordering};

use super::child::{child_main, quiet_checked_sends};
use super::forkserver;
use super::protocol::{BOOTSTRAP_ENV, BootstrapSpec};

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Call this first in `main` of every program that starts processes: Rust's
/// `if __name__ == "__main__":`.
///
/// A child process is this same program started again. In a child, `init` connects to the parent,
/// runs the function the parent asked for, sends back its result (or its panic), and **exits the
/// process: it never returns**. In the parent (no [`BOOTSTRAP_ENV`] in the environment) it starts
/// the fork server, waits until it is ready (a few milliseconds, once per program; see
/// [`StartMethod`](crate::StartMethod)) and returns. The fork server is this program started once
/// more, and its `init()` never returns either: it serves until the parent exits.
///
/// So everything in `main` *before* `init()` runs again in every child, like module-level code in
/// Python under the *spawn* start method: keep it out (no argument parsing, no printing, no
/// servers before `init()`). [`Process::spawn`](crate::Process::spawn) returns
/// [`Error::NotInitialized`](crate::Error::NotInitialized) if `init` was never called, because a
/// child of such a program would run the whole of `main` again instead of the function.
///
/// ```no_run
/// fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// fn main() {
///     multiprocessing::init(); // a child runs its function here and exits
///     // the parent's program starts here
///     let child = multiprocessing::Process::spawn(double, 21).expect("spawn");
///     assert_eq!(child.join().expect("join"), 42);
/// }
/// ```
pub fn init() {
    INITIALIZED.store(true, Ordering::SeqCst);
    if let Some(value) = std::env::var_os(forkserver::FORKSERVER_ENV) {
        forkserver::zygote_main(value); // never returns in the fork server
    }
    let Some(value) = std::env::var_os(BOOTSTRAP_ENV) else {
        quiet_checked_sends(); // the parent
        forkserver::start_early();
        return;
    };
    match BootstrapSpec::parse(BOOTSTRAP_ENV, value) {
        Ok(spec) if spec.is_for_this_executable() => child_main(spec),
        // Inherited by a different program that also uses this crate: not addressed to us.
        Ok(_) => quiet_checked_sends(),
        Err(problem) => {
            eprintln!("multiprocessing: ignoring {BOOTSTRAP_ENV}: {problem}");
            quiet_checked_sends();
        }
    }
}

/// Whether [`init()`] has run in this process.
pub(crate) fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::SeqCst)
}
