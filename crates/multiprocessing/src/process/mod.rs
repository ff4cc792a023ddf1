//! [`Process`]: run a function in a child process and get its result back (Python's
//! `multiprocessing.Process`, with the return value that Python makes you send through a `Queue`).
//!
//! This is the handle a program holds; how the child comes to run the function is the start-up
//! path in `start/`. Here:
//!
//! - `mod.rs`: [`Process`] and its public methods;
//! - `builder.rs`: [`Builder`], the options (name, daemon, environment, start method);
//! - `state.rs`: the `Stage` enum (connecting, running, reported, joined), the steps `join` takes
//!   through it, and what `Drop` does at each stage, drawn in its module docs.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::platform::{self, StopSignal};
use crate::start::StartMethod;
use crate::start::fnid::FnIdentity;
use crate::start::parent;
use crate::start::started::Started;

mod builder;
mod state;

pub use builder::{Builder, DEFAULT_START_TIMEOUT};
use state::Stage;

/// A child process running a `fn(A) -> R`; its result comes back through [`join`](Process::join).
///
/// ```no_run
/// use multiprocessing::Process;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// fn main() -> Result<(), multiprocessing::Error> {
///     multiprocessing::init();
///     let child = Process::spawn(square, 7)?;
///     assert_eq!(child.join()?, 49);
///     Ok(())
/// }
/// ```
///
/// # Starting
///
/// [`Process::spawn`] returns as soon as the child has been asked for, like Python's `start()`:
/// the function and its argument are already on their way, and the child picks them up when it
/// runs (a fraction of a millisecond later through the fork server, the default; a millisecond or
/// so with [`StartMethod::Spawn`]). So a value that cannot be serialized is an error from `spawn`,
/// and so is a child that cannot be started at all; a child that dies or hangs before it reads its
/// instructions is an error from `join` ([`Error::Bootstrap`], or [`Error::Died`] if a signal
/// killed it, or [`Error::Timeout`] after [`Builder::start_timeout`] with the spawn method).
///
/// # Joining
///
/// The child sends one message, its outcome, and exits. [`join`](Process::join) receives the
/// message first and then waits for the exit: a large result is written in fragments that the child
/// can only finish while the parent reads, so waiting for the exit first could wait forever. A
/// channel that closes with no message means the child died: [`Error::Died`] with its exit status.
///
/// # Dropping
///
/// Python joins non-daemon children when the interpreter exits and terminates daemon ones. Rust
/// has no interpreter exit, so each handle does it when dropped:
/// - a **non-daemon** `Process` is joined: `drop` blocks until the child finishes. A result that
///   was never read is thrown away (a panic was already printed by the child on its stderr; a death
///   by a signal or by `exit`, and an `Err` from a [`spawn_fallible`](Process::spawn_fallible)
///   function, are printed by `drop` on stderr). If the child never finishes, `drop`
///   never returns, so join or kill the children you no longer want. If the dropping thread is
///   already panicking, `drop` kills the child instead, so a failed assertion cannot become a hang.
/// - a **daemon** `Process` ([`Builder::daemon`]) is killed with SIGKILL and reaped.
///
/// Either way no zombie is left. If the parent process dies, even by SIGKILL, its children die
/// with it (Linux's `PR_SET_PDEATHSIG`; the crate starts every child from one long-lived thread,
/// because the kernel ties that signal to the thread that started the child).
pub struct Process<R> {
    name: String,
    daemon: bool,
    method: StartMethod,
    /// The operating-system process: pid, exit status once reaped, signals.
    child: Started,
    /// How far the child's one message has come (see `state.rs`).
    stage: Stage<R>,
}

impl Process<()> {
    /// A [`Builder`] for a named or daemon process: `Process::builder().name("worker").spawn(f, x)`.
    pub fn builder() -> Builder {
        Builder::new()
    }
}

impl<R> Process<R>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    /// Starts a child process that runs `f(arg)`, and returns as soon as the OS has started it
    /// (Python's `Process(target=f, args=(arg,)).start()`); see "Starting" above.
    ///
    /// `f` must be a plain function (or a closure that captures nothing), because the child finds
    /// it by its address in the executable; data goes in `arg`. `arg` travels with ipc-channel's
    /// `send`, so it may contain channel ends and the crate's queues and locks.
    ///
    /// Errors: [`Error::NotInitialized`] if [`init()`](crate::init) was not called;
    /// [`Error::Serialization`] or [`Error::TooManyHandles`] if `arg` cannot be sent;
    /// [`Error::Spawn`] if the OS could not start the child; [`Error::SocketPathTooLong`] for a
    /// long `TMPDIR`; [`Error::Unsupported`] off Linux.
    pub fn spawn<A>(f: fn(A) -> R, arg: A) -> Result<Process<R>, Error>
    where
        A: Serialize + DeserializeOwned,
    {
        Builder::new().spawn(f, arg)
    }

    /// Like [`spawn`](Process::spawn), for a function that may fail: `f` returns
    /// `Result<T, E>` for any error type that can be displayed, `anyhow::Error` included (it need
    /// not be serializable). [`join`](Process::join) then returns the `T` of an `Ok`, and turns an
    /// `Err` into [`Error::Failed`] carrying the error's text, taken in the child with
    /// `format!("{e:#}")` so that anyhow's chain of contexts survives. A panic is still
    /// [`Error::Panicked`], and the child's exit code after an `Err` is 1, as after an exception
    /// in Python.
    ///
    /// ```no_run
    /// use multiprocessing::{Error, Process};
    ///
    /// fn parse_port(text: String) -> Result<u16, std::num::ParseIntError> {
    ///     text.parse()
    /// }
    ///
    /// fn main() -> Result<(), Error> {
    ///     multiprocessing::init();
    ///     let good = Process::spawn_fallible(parse_port, "8080".to_string())?;
    ///     assert_eq!(good.join()?, 8080);
    ///     let bad = Process::spawn_fallible(parse_port, "eighty".to_string())?;
    ///     match bad.join() {
    ///         Err(Error::Failed { message }) => assert_eq!(message, "invalid digit found in string"),
    ///         other => panic!("expected the child's error, got {other:?}"),
    ///     }
    ///     Ok(())
    /// }
    /// ```
    ///
    /// Why a constructor of its own: `spawn` already takes any serializable `R`, a
    /// `Result<T, String>` included, and hands it back whole as the value; one function cannot
    /// also give a `Result` with a non-serializable error a meaning of its own (that would need
    /// specialization, which stable Rust does not have).
    pub fn spawn_fallible<A, E>(
        f: fn(A) -> Result<R, E>,
        arg: A,
    ) -> Result<Process<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        E: std::fmt::Display,
    {
        Builder::new().spawn_fallible(f, arg)
    }

    /// Waits for the child to finish and returns what its function returned.
    ///
    /// Errors: [`Error::Failed`] (the child's function returned `Err`, with
    /// [`spawn_fallible`](Process::spawn_fallible)), [`Error::Panicked`] (message and location of
    /// the child's panic), [`Error::Died`]
    /// (exited or killed without a result; `exitcode` as in Python), [`Error::Serialization`]
    /// (the result or the argument could not be decoded), [`Error::Bootstrap`] (the child exited
    /// before it connected back, or refused to run), [`Error::Timeout`] (it did not connect back
    /// within the start-up timeout, and was killed), [`Error::AlreadyJoined`].
    pub fn join(mut self) -> Result<R, Error> {
        match self.join_until(None)? {
            Some(value) => Ok(value),
            None => unreachable!("a join without a deadline always finishes"),
        }
    }

    /// Like [`join`](Process::join) but gives up after `timeout`: `Ok(None)` means the child is
    /// still running (Python's `join(timeout)`, after which you check `is_alive()`).
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<Option<R>, Error> {
        self.join_until(Some(Instant::now() + timeout))
    }

    /// The child's process id. A child of the fork server may not have been forked yet when
    /// `spawn` returns; then this waits until it has (a fraction of a millisecond). It is 0 if the
    /// fork failed, and `join` returns the error.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The process's name (`"Process-N"` unless the builder named it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process was started as a daemon.
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// How the process was started.
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// Whether the child is still running. Does not block. (A child that has finished its
    /// function but is still writing a large result counts as running.)
    pub fn is_alive(&mut self) -> bool {
        self.exitcode().is_none()
    }

    /// Python's `exitcode`: `None` while running, then the exit status (0 after a normal return,
    /// 1 after a panic), or minus the signal number if a signal ended it (`-9`, `-15`).
    pub fn exitcode(&mut self) -> Option<i32> {
        self.child.try_wait().map(platform::exitcode)
    }

    /// Sends SIGTERM (Python's `terminate()`). The child's default action is to exit at once, so
    /// its function does not finish and `join` returns [`Error::Died`] with `exitcode` `-15`.
    /// A child that has already exited is left alone.
    pub fn terminate(&self) -> Result<(), Error> {
        self.child.signal(StopSignal::Terminate)
    }

    /// Sends SIGKILL (Python's `kill()`), which the child cannot catch or ignore.
    pub fn kill(&self) -> Result<(), Error> {
        self.child.signal(StopSignal::Kill)
    }

    /// Starts a child that runs the function `identify` names; both `spawn`s come here.
    fn start<A>(
        builder: Builder,
        identify: impl FnOnce() -> Result<FnIdentity, Error>,
        arg: A,
    ) -> Result<Process<R>, Error>
    where
        A: Serialize + DeserializeOwned,
    {
        let launched = parent::launch(&builder, identify, arg)?;
        Ok(Process {
            name: launched.name,
            daemon: builder.daemon,
            method: launched.method,
            child: launched.child,
            stage: Stage::from(launched.results),
        })
    }
}

impl<R> std::fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.child.known_pid())
            .field("daemon", &self.daemon)
            .field("stage", &self.stage)
            .field("exitcode", &self.child.reaped().map(platform::exitcode))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    /// libtest's `main` never calls `init()`, so this binary is exactly the program the check is
    /// for: a child of it would run the whole test harness again instead of `double`.
    #[test]
    fn spawn_without_init_is_refused_before_anything_starts() {
        match Process::spawn(double, 1) {
            Err(Error::NotInitialized) => {}
            other => panic!("expected NotInitialized, got {:?}", other.map(|p| p.pid())),
        }
    }
}
