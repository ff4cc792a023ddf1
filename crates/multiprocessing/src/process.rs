//! [`Process`]: run a function in a child process and get its result back (Python's
//! `multiprocessing.Process`, with the return value that Python makes you send through a `Queue`).
//!
//! # Starting
//!
//! [`Process::spawn`] checks what it can (the argument serializes, the child can be asked for),
//! writes the function and the argument into the child's instructions channel and returns, like
//! Python's `start()`. With the fork server, the server forks the child and reports its pid and
//! later its exit status (see `forkserver`); with the spawn method, the OS starts the program again
//! and the watcher in `startup` finishes the conversation with the child on a thread of its own.
//! Errors of the start-up that come later (the fork failed, the child died or hung before it
//! connected) are reported by `join`. When `spawn` itself fails, the half-started child is killed
//! and reaped.
//!
//! # Joining
//!
//! The child sends exactly one message, its outcome, and exits. `join` first receives that message
//! and only then waits for the exit, in that order: a large result is sent in fragments that the
//! child can only finish writing while the parent reads, so waiting for the exit first could wait
//! forever (the same trap as Python's "joining processes that use queues"). If the channel closes
//! with no message, the child died without reporting and the exit status says how: [`Error::Died`].
//!
//! # Dropping
//!
//! Python joins non-daemon children when the interpreter exits and terminates daemon ones. Rust
//! has no interpreter exit, so `Drop` does it per handle:
//! - a **non-daemon** `Process` is joined: `drop` blocks until the child finishes, and a result that
//!   was never read is thrown away (a panic was already printed by the child on its stderr; a death
//!   by a signal or `exit` is printed by `drop` on stderr). If the child never finishes, `drop` never
//!   returns, so join or kill children you no longer want. If the parent thread is already panicking,
//!   `drop` kills the child instead of waiting, so a failed assertion cannot turn into a hang;
//! - a **daemon** `Process` is killed (SIGKILL) and reaped.
//!
//! Either way no zombie is left behind. And if the parent process itself dies (even by SIGKILL),
//! every child dies with it (`PR_SET_PDEATHSIG`; see `spawner` for why one thread forks them all).

use std::ffi::OsString;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipc_channel::ipc::{self, IpcOneShotServer, IpcReceiver, IpcSender, OpaqueIpcReceiver};
use ipc_channel::{IpcError, TryRecvError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bootstrap::{self, Header, Hello, Outcome};
use crate::child::{Running, StartMethod, StillStarting};
use crate::fnid::{Fingerprint, FnIdentity};
use crate::forkserver::{self, ForkError, Forked};
use crate::platform::{self, ChildHandle, StopSignal};
use crate::startup::{self, Start, StartFailure, StartReport};

/// How long [`Process::spawn`] waits, by default, for a child to connect back.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_PROCESS_NUMBER: AtomicUsize = AtomicUsize::new(1);

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
///   by a signal or by `exit` is printed by `drop` on stderr). If the child never finishes, `drop`
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
    child: Running,
    /// The start-up watcher's report (spawned children only), until it has been received (see `startup`).
    startup: Option<StartReport>,
    /// Why the child never ran its function, once known.
    start_failure: Option<StartFailure>,
    /// The channel the `Outcome<R>` arrives on, untyped so that `Drop` (which cannot require
    /// `R: Deserialize`) can drain it; `None` before start-up finished, and once the outcome was
    /// read or the channel closed.
    results: Option<OpaqueIpcReceiver>,
    /// An outcome that was read but not yet handed out (by `join_timeout` waiting for the exit).
    outcome: Option<Outcome<R>>,
    /// The exit status once reaped.
    status: Option<ExitStatus>,
    /// The result was handed out by a join.
    joined: bool,
}

/// Options for starting a process: [`Process::builder`], then [`spawn`](Builder::spawn).
#[derive(Debug, Clone)]
pub struct Builder {
    name: Option<String>,
    daemon: bool,
    env: Vec<(OsString, OsString)>,
    start_timeout: Duration,
    start_method: Option<StartMethod>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: name `"Process-N"`, not a daemon, the parent's environment, a 30 s start-up limit.
    pub fn new() -> Self {
        Builder {
            name: None,
            daemon: false,
            env: Vec::new(),
            start_timeout: DEFAULT_START_TIMEOUT,
            start_method: None,
        }
    }

    /// The process's name (Python's `name=`); the child sees it as
    /// [`current_process_name()`](crate::current_process_name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A daemon process is killed when its `Process` is dropped; a non-daemon one is joined
    /// (Python's `daemon=`; see [`Process`], "Dropping").
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    /// Sets an environment variable for the child, on top of the inherited environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long to wait for the child to connect back before killing it and failing with
    /// [`Error::Timeout`]. The time covers whatever `main` does before [`init()`](crate::init).
    /// Only the [`Spawn`](StartMethod::Spawn) method has such a wait: a forked child is running
    /// the crate's code from its first instant.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// How to start the child (Python's `get_context(method).Process`); see [`StartMethod`].
    /// Without this, the fork server is used when it runs, and the spawn method otherwise.
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = Some(method);
        self
    }

    /// Starts a child process that runs `f(arg)`; see [`Process::spawn`].
    pub fn spawn<A, R>(self, f: fn(A) -> R, arg: A) -> Result<Process<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        start(self, f, arg)
    }
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
        start(Builder::new(), f, arg)
    }

    /// Waits for the child to finish and returns what its function returned.
    ///
    /// Errors: [`Error::Panicked`] (message and location of the child's panic), [`Error::Died`]
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
        if self.status.is_none() {
            self.status = self.child.try_wait();
        }
        self.status.map(platform::exitcode)
    }

    /// Sends SIGTERM (Python's `terminate()`). The child's default action is to exit at once, so
    /// its function does not finish and `join` returns [`Error::Died`] with `exitcode` `-15`.
    /// A child that has already exited is left alone.
    pub fn terminate(&self) -> Result<(), Error> {
        self.signal(StopSignal::Terminate)
    }

    /// Sends SIGKILL (Python's `kill()`), which the child cannot catch or ignore.
    pub fn kill(&self) -> Result<(), Error> {
        self.signal(StopSignal::Kill)
    }

    fn signal(&self, signal: StopSignal) -> Result<(), Error> {
        if self.status.is_some() {
            return Ok(()); // reaped: the pid may belong to someone else by now
        }
        self.child.signal(signal)
    }

    /// The join state machine: receive the outcome, wait for the exit, hand out the result.
    fn join_until(&mut self, deadline: Option<Instant>) -> Result<Option<R>, Error> {
        if self.joined {
            return Err(Error::AlreadyJoined);
        }
        if !self.finish_start_up(deadline) {
            return Ok(None);
        }
        if let Some(failure) = self.start_failure.take() {
            self.joined = true;
            return Err(self.start_error(failure));
        }
        match self.child.start_error(deadline) {
            Err(StillStarting) => return Ok(None),
            Ok(Some(error)) => {
                self.joined = true;
                self.status = self.child.try_wait();
                return Err(error);
            }
            Ok(None) => {}
        }
        if !self.receive_outcome(deadline)? || !self.wait_for_exit(deadline)? {
            return Ok(None);
        }
        self.joined = true;
        let exitcode = self.status.map(platform::exitcode).unwrap_or(-1);
        match self.outcome.take() {
            Some(Outcome::Returned(value)) => Ok(Some(value)),
            Some(Outcome::Panicked { message, location }) => {
                Err(Error::Panicked { message, location })
            }
            Some(Outcome::Failed(reason)) => Err(Error::Serialization(reason)),
            Some(Outcome::Refused(reason)) => Err(Error::Bootstrap(reason)),
            None => Err(Error::Died { exitcode }),
        }
    }

    /// Receives the start-up watcher's report, if not yet received. `false`: deadline passed.
    fn finish_start_up(&mut self, deadline: Option<Instant>) -> bool {
        let Some(report) = &self.startup else {
            return true;
        };
        match startup::receive(report, deadline) {
            None => return false,
            Some(Ok(results)) => self.results = Some(results),
            Some(Err(failure)) => self.start_failure = Some(failure),
        }
        self.startup = None;
        true
    }

    /// The error for a child that never ran its function. Kills it if it still runs, and reaps it.
    fn start_error(&mut self, failure: StartFailure) -> Error {
        if !matches!(failure, StartFailure::ExitedEarly) {
            let _ = self.child.signal(StopSignal::Kill);
        }
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        let exitcode = self.status.map(platform::exitcode).unwrap_or(-1);
        match failure {
            StartFailure::ExitedEarly if exitcode < 0 => Error::Died { exitcode },
            StartFailure::ExitedEarly => exited_during_start_up(self.child.pid(), exitcode),
            StartFailure::TimedOut(timeout) => Error::Timeout(format!(
                "child process {} to connect back within {timeout:?} (is \
                 multiprocessing::init() the first line of its main()?)",
                self.child.pid()
            )),
            StartFailure::Other(reason) => Error::Bootstrap(reason),
        }
    }

    /// Reads the child's one message, if it has not been read yet. `Ok(false)`: deadline passed.
    fn receive_outcome(&mut self, deadline: Option<Instant>) -> Result<bool, Error> {
        let Some(results) = self.results.take() else {
            return Ok(true);
        };
        let results: IpcReceiver<Outcome<R>> = results.to();
        let received = match deadline {
            None => results.recv().map_err(TryRecvError::IpcError),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    results.try_recv()
                } else {
                    results.try_recv_timeout(left)
                }
            }
        };
        self.outcome = match received {
            Ok(outcome) => Some(outcome),
            Err(TryRecvError::Empty) => {
                self.results = Some(results.to_opaque());
                return Ok(false);
            }
            Err(TryRecvError::IpcError(IpcError::Disconnected)) => None,
            Err(TryRecvError::IpcError(error)) => Some(Outcome::Failed(
                bootstrap::describe_decode_failure(std::any::type_name::<R>(), "result", error),
            )),
        };
        Ok(true)
    }

    /// Waits for the exit status. `Ok(false)`: deadline passed.
    fn wait_for_exit(&mut self, deadline: Option<Instant>) -> Result<bool, Error> {
        if self.status.is_some() {
            return Ok(true);
        }
        self.status = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.child.wait_timeout(left)? {
                    Some(status) => Some(status),
                    None => return Ok(false),
                }
            }
            None => Some(self.child.wait()?),
        };
        Ok(true)
    }
}

impl<R> std::fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.child.known_pid())
            .field("daemon", &self.daemon)
            .field("exitcode", &self.status.map(platform::exitcode))
            .finish_non_exhaustive()
    }
}

impl<R> Drop for Process<R> {
    fn drop(&mut self) {
        // Drop cannot call the bounded methods above (they need `R: Serialize + ...`, and Drop
        // impls may not add bounds), so it works on the fields directly.
        if self.status.is_some() && self.results.is_none() && self.startup.is_none() {
            return;
        }
        if let Some(report) = self.startup.take() {
            if self.daemon || std::thread::panicking() {
                // Dropping `report` is enough: the watcher finishes on its own once the child
                // is gone.
            } else {
                match startup::receive(&report, None) {
                    Some(Ok(results)) => self.results = Some(results),
                    _ => self.start_failure = Some(StartFailure::ExitedEarly),
                }
            }
        }
        if self.daemon || std::thread::panicking() || self.start_failure.is_some() {
            if self.status.is_none() {
                self.status = self.child.kill_and_reap();
            }
            return;
        }
        // Non-daemon: join, draining the result first (see the module docs).
        let reported = match self.results.take() {
            Some(results) => drain(results),
            None => self.outcome.is_some(),
        };
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        if let (false, false, Some(status)) = (reported, self.joined, self.status) {
            eprintln!(
                "multiprocessing: process {:?} (pid {}) was dropped without join; it {} \
                 without sending a result",
                self.name,
                self.child.pid(),
                crate::error::describe_exit(platform::exitcode(status))
            );
        }
    }
}

/// Reads and discards whatever the child sends until it hangs up; `true` if it sent something.
///
/// `Drop` cannot name `R`'s serde bounds, so the channel is retyped to `()`: postcard decodes a
/// unit from any message without reading it, which is all we need to know that one arrived.
fn drain(results: OpaqueIpcReceiver) -> bool {
    let raw: IpcReceiver<()> = results.to();
    let mut reported = false;
    loop {
        match raw.recv() {
            Ok(()) | Err(IpcError::SerializationError(_)) => reported = true,
            Err(_) => return reported,
        }
    }
}

/// Kills and reaps a child unless start-up succeeded: every error path of `start` is covered.
struct StartingChild {
    inner: Option<Running>,
}

impl StartingChild {
    fn child(&mut self) -> &mut Running {
        self.inner
            .as_mut()
            .expect("present until start-up finishes")
    }

    fn finish(mut self) -> Running {
        self.inner.take().expect("present until start-up finishes")
    }
}

impl Drop for StartingChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.inner.take() {
            child.kill_and_reap();
        }
    }
}

/// What every start method needs to know, worked out before anything is started.
struct Plan {
    builder: Builder,
    name: String,
    header: Header,
}

fn start<A, R>(builder: Builder, f: fn(A) -> R, arg: A) -> Result<Process<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    platform::ensure_supported()?;
    if !bootstrap::is_initialized() {
        return Err(Error::NotInitialized);
    }
    platform::check_socket_dir()?;
    let function = FnIdentity::of(f)?;
    let mut fingerprint = Fingerprint::current()?;
    if bootstrap::wants_corrupt_fingerprint(&builder.env) {
        fingerprint = fingerprint.corrupted();
    }
    let name = builder.name.clone().unwrap_or_else(|| {
        format!(
            "Process-{}",
            NEXT_PROCESS_NUMBER.fetch_add(1, Ordering::Relaxed)
        )
    });
    let plan = Plan {
        header: Header {
            name: name.clone(),
            function,
            fingerprint,
        },
        name,
        builder,
    };
    // ANCHOR: choose_method
    if plan.builder.start_method == Some(StartMethod::Spawn) {
        return start_spawned(plan, arg);
    }
    match forkserver::fork(&plan.builder.env) {
        Ok(forked) => start_forked(plan, forked, arg),
        // Without a choice, a fork server that could not start means the spawn method; asked
        // for by name, it is an error that says why.
        Err(ForkError::Unavailable(_)) if plan.builder.start_method.is_none() => {
            start_spawned(plan, arg)
        }
        Err(ForkError::Unavailable(reason)) => Err(Error::Spawn(std::io::Error::other(reason))),
        Err(ForkError::Failed(error)) => Err(error),
    }
    // ANCHOR_END: choose_method
}

/// The fork server has forked the child; hand it its instructions.
fn start_forked<A, R>(plan: Plan, forked: Forked, arg: A) -> Result<Process<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let Forked {
        child,
        instructions,
        results,
    } = forked;
    let mut starting = StartingChild {
        inner: Some(Running::Forked(child)),
    };
    if let Err(error) = send_instructions(&plan, &instructions, arg) {
        return Err(explain_failed_forked_send(error, starting.child()));
    }
    Ok(Process {
        name: plan.name,
        daemon: plan.builder.daemon,
        method: StartMethod::ForkServer,
        child: starting.finish(),
        startup: None,
        start_failure: None,
        results: Some(results),
        outcome: None,
        status: None,
        joined: false,
    })
}

/// Start the program again; the watcher in `startup` finishes the conversation once it connects.
fn start_spawned<A, R>(plan: Plan, arg: A) -> Result<Process<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let (server, server_name) = IpcOneShotServer::<Hello>::new().map_err(Error::Ipc)?;
    let (instructions, instructions_rx) = ipc::channel::<Header>().map_err(Error::Ipc)?;
    let child =
        crate::spawner::spawn(child_command(&plan.builder, &server_name)?).map_err(Error::Spawn)?;
    let pid = child.id();
    let handle = ChildHandle::new(&child);
    let probe = handle.exit_probe();
    let mut starting = StartingChild {
        inner: Some(Running::Spawned { child, handle }),
    };
    let report = startup::watch(Start {
        server,
        server_name,
        instructions: instructions_rx.to_opaque(),
        pid,
        probe,
        timeout: plan.builder.start_timeout,
    })?;

    // The child picks these up when it connects. A large argument fills the channel and blocks
    // here until the child reads it; if the child dies first, the watcher drops the receiving end
    // and the send fails instead of hanging.
    if let Err(error) = send_instructions(&plan, &instructions, arg) {
        return Err(explain_failed_send(error, &report, starting.child()));
    }
    Ok(Process {
        name: plan.name,
        daemon: plan.builder.daemon,
        method: StartMethod::Spawn,
        child: starting.finish(),
        startup: Some(report),
        start_failure: None,
        results: None,
        outcome: None,
        status: None,
        joined: false,
    })
}

/// Writes the header and then the argument into the child's instructions channel.
fn send_instructions<A: Serialize + DeserializeOwned>(
    plan: &Plan,
    instructions: &IpcSender<Header>,
    arg: A,
) -> Result<(), Error> {
    crate::ipc::send_checked(instructions, plan.header.clone(), "the start-up header")?;
    let arguments: IpcSender<A> = instructions.clone().to_opaque().to();
    crate::ipc::send_checked(&arguments, arg, &format!("the argument for {}", plan.name))
}

/// A send into the instructions channel failed: if that is because the child died during
/// start-up, say so (the watcher knows); otherwise the send's own error is the news.
fn explain_failed_send(error: Error, report: &StartReport, child: &mut Running) -> Error {
    if !matches!(error, Error::Ipc(_) | Error::Disconnected) {
        return error;
    }
    match startup::receive(report, Some(Instant::now() + Duration::from_secs(1))) {
        Some(Err(StartFailure::ExitedEarly)) => match child.wait() {
            Ok(status) => exited_during_start_up(child.pid(), platform::exitcode(status)),
            Err(_) => error,
        },
        _ => error,
    }
}

/// The same for a forked child: a send fails when the child is gone, and its status says why.
fn explain_failed_forked_send(error: Error, child: &mut Running) -> Error {
    if !matches!(error, Error::Ipc(_) | Error::Disconnected) {
        return error;
    }
    match child.wait_timeout(Duration::from_secs(1)) {
        Ok(Some(status)) => Error::Bootstrap(format!(
            "forked child process {} {} before it read its instructions",
            child.pid(),
            crate::error::describe_exit(platform::exitcode(status))
        )),
        _ => error,
    }
}

/// `/proc/self/exe` with the bootstrap variable; stdin is `/dev/null` (as in Python's children),
/// stdout and stderr are inherited.
fn child_command(builder: &Builder, server_name: &str) -> Result<Command, Error> {
    let bootstrap_value = bootstrap::bootstrap_value(server_name)?;
    let mut command = platform::self_exe_command();
    command
        .env(bootstrap::BOOTSTRAP_ENV, bootstrap_value)
        .envs(builder.env.iter().map(|(k, v)| (k, v)));
    Ok(command)
}

fn exited_during_start_up(pid: u32, exitcode: i32) -> Error {
    let hint = match exitcode {
        bootstrap::EXIT_BOOTSTRAP_FAILED => " (its stderr says why)",
        bootstrap::EXIT_ORPHANED => " (it found its parent gone)",
        _ => " (does its main() call multiprocessing::init() first?)",
    };
    Error::Bootstrap(format!(
        "child process {pid} {} before connecting to its parent{hint}",
        crate::error::describe_exit(exitcode)
    ))
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

    #[test]
    fn builder_defaults_and_settings() {
        let builder = Builder::new();
        assert_eq!(builder.start_timeout, DEFAULT_START_TIMEOUT);
        assert!(!builder.daemon && builder.name.is_none() && builder.env.is_empty());
        let builder = Process::builder()
            .name("w")
            .daemon(true)
            .env("K", "V")
            .start_timeout(Duration::from_secs(1));
        assert_eq!(builder.name.as_deref(), Some("w"));
        assert!(builder.daemon);
        assert_eq!(builder.env, vec![("K".into(), "V".into())]);
    }
}
