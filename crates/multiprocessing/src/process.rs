//! [`Process`]: run a function in a child process and get its result back (Python's
//! `multiprocessing.Process`, with the return value that Python makes you send through a `Queue`).
//!
//! # Starting
//!
//! [`Process::spawn`] starts the child *and* waits until the child has connected back and received
//! its function and argument (a millisecond or so). So when `spawn` returns `Ok`, the child is
//! running your function; everything that can go wrong before that (the OS cannot start a process,
//! the argument cannot be serialized, the child dies or hangs during start-up) is an error *from
//! `spawn`*, and the half-started child has been killed and reaped.
//!
//! A child that dies before it connects would leave the parent blocked in `accept()` forever. So
//! `accept` runs on a helper thread that the parent can abandon: the parent waits for its answer in
//! slices of a few milliseconds, and between slices checks whether the child has exited
//! (`try_wait`) or the start-up deadline has passed. If so, it wakes the abandoned `accept` by
//! connecting to its own socket and sending [`Hello::Abandon`], so the helper thread ends and the
//! socket's directory is removed.
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
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcOneShotServer, IpcReceiver, IpcSender, OpaqueIpcReceiver};
use ipc_channel::{IpcError, TryRecvError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bootstrap::{self, Header, Hello, Outcome};
use crate::fnid::{Fingerprint, FnIdentity};
use crate::platform::{self, ChildHandle, StopSignal};

/// How long [`Process::spawn`] waits, by default, for a child to connect back.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the parent checks for a child that died during start-up.
const START_POLL: Duration = Duration::from_millis(5);

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
pub struct Process<R> {
    name: String,
    pid: u32,
    daemon: bool,
    child: Child,
    handle: ChildHandle,
    /// The channel the `Outcome<R>` arrives on, untyped so that `Drop` (which cannot require
    /// `R: Deserialize`) can drain it; `None` once the outcome was read or the channel closed.
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
        }
    }

    /// The process's name (Python's `name=`); the child sees it as
    /// [`current_process_name()`](crate::current_process_name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A daemon process is killed when its `Process` is dropped; a non-daemon one is joined
    /// (Python's `daemon=`, see the [module docs](self) for the details).
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
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
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
    /// Starts a child process that runs `f(arg)` and returns once the child has received them
    /// (Python's `Process(target=f, args=(arg,)).start()`).
    ///
    /// `f` must be a plain function (or a closure that captures nothing), because the child finds
    /// it by its address in the executable; data goes in `arg`. `arg` travels with ipc-channel's
    /// `send`, so it may contain channel ends and the crate's queues and locks.
    ///
    /// Errors: [`Error::NotInitialized`] if [`init()`](crate::init) was not called;
    /// [`Error::Serialization`] or [`Error::TooManyHandles`] if `arg` cannot be sent;
    /// [`Error::Spawn`], [`Error::Bootstrap`], [`Error::Timeout`] if the child could not be
    /// started; [`Error::SocketPathTooLong`] for a long `TMPDIR`; [`Error::Unsupported`] off Linux.
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
    /// (the result or the argument could not be decoded), [`Error::AlreadyJoined`].
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

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process's name (`"Process-N"` unless the builder named it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process was started as a daemon.
    pub fn daemon(&self) -> bool {
        self.daemon
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
            self.status = self.child.try_wait().ok().flatten();
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
        self.handle.signal(signal)
    }

    /// The join state machine: receive the outcome, wait for the exit, hand out the result.
    fn join_until(&mut self, deadline: Option<Instant>) -> Result<Option<R>, Error> {
        if self.joined {
            return Err(Error::AlreadyJoined);
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
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.handle.wait_exit(&mut self.child, left)? {
                return Ok(false);
            }
        }
        self.status = Some(self.child.wait().map_err(Error::Ipc)?);
        Ok(true)
    }
}

impl<R> std::fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.pid)
            .field("daemon", &self.daemon)
            .field("exitcode", &self.status.map(platform::exitcode))
            .finish_non_exhaustive()
    }
}

impl<R> Drop for Process<R> {
    fn drop(&mut self) {
        // Drop cannot call the bounded methods above (they need `R: Serialize + ...`, and Drop
        // impls may not add bounds), so it works on the fields directly.
        if self.status.is_some() && self.results.is_none() {
            return;
        }
        if self.daemon || std::thread::panicking() {
            if self.status.is_none() {
                let _ = self.handle.signal(StopSignal::Kill);
                self.status = self.child.wait().ok();
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
                self.pid,
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
    inner: Option<(Child, ChildHandle)>,
}

impl StartingChild {
    fn child(&mut self) -> &mut Child {
        &mut self
            .inner
            .as_mut()
            .expect("present until start-up finishes")
            .0
    }

    fn finish(mut self) -> (Child, ChildHandle) {
        self.inner.take().expect("present until start-up finishes")
    }
}

impl Drop for StartingChild {
    fn drop(&mut self) {
        if let Some((mut child, handle)) = self.inner.take() {
            let _ = handle.signal(StopSignal::Kill);
            let _ = child.wait();
        }
    }
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

    let (server, server_name) = IpcOneShotServer::<Hello>::new().map_err(Error::Ipc)?;
    let child =
        crate::spawner::spawn(child_command(&builder, &server_name)).map_err(Error::Spawn)?;
    let pid = child.id();
    let handle = ChildHandle::new(&child);
    let mut starting = StartingChild {
        inner: Some((child, handle)),
    };

    let (results, to_child) = accept_child(
        server,
        &server_name,
        starting.child(),
        builder.start_timeout,
    )?;
    let header = Header {
        name: name.clone(),
        function,
        fingerprint,
    };
    let headers: IpcSender<Header> = to_child.to();
    bootstrap::send_checked(&headers, header, "the start-up header")?;
    let arguments: IpcSender<A> = headers.to_opaque().to();
    bootstrap::send_checked(&arguments, arg, &format!("the argument for {name}"))?;

    let (child, handle) = starting.finish();
    Ok(Process {
        name,
        pid,
        daemon: builder.daemon,
        child,
        handle,
        results: Some(results.to_opaque()),
        outcome: None,
        status: None,
        joined: false,
    })
}

/// `/proc/self/exe` with the bootstrap variable; stdin is `/dev/null` (as in Python's children),
/// stdout and stderr are inherited.
fn child_command(builder: &Builder, server_name: &str) -> Command {
    let mut command = Command::new(platform::SELF_EXE);
    #[cfg(unix)]
    if let Some(arg0) = std::env::args_os().next() {
        use std::os::unix::process::CommandExt;
        command.arg0(arg0);
    }
    command
        .env(
            bootstrap::BOOTSTRAP_ENV,
            bootstrap::bootstrap_value(server_name),
        )
        .envs(builder.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    command
}

/// Waits for the child to connect (see the module docs): returns the child→parent channel and the
/// sender for the parent→child channel, or an error if the child exited or the deadline passed.
fn accept_child(
    server: IpcOneShotServer<Hello>,
    server_name: &str,
    child: &mut Child,
    timeout: Duration,
) -> Result<(IpcReceiver<Hello>, ipc_channel::ipc::OpaqueIpcSender), Error> {
    let (accepted, accepts) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("multiprocessing-accept".into())
        .spawn(move || {
            let _ = accepted.send(server.accept());
        })
        .map_err(Error::Spawn)?;
    let deadline = Instant::now() + timeout;
    loop {
        match accepts.recv_timeout(START_POLL) {
            Ok(Ok((receiver, Hello::Child { to_child, .. }))) => return Ok((receiver, to_child)),
            Ok(Ok((_, Hello::Abandon))) => {
                return Err(Error::Bootstrap("start-up was abandoned".into()));
            }
            Ok(Err(error)) => {
                return Err(Error::Bootstrap(format!(
                    "the child (pid {}) connected but did not greet: {error}",
                    child.id()
                )));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::Bootstrap("the accept thread stopped".into()));
            }
        }
        if let Some(status) = child.try_wait().map_err(Error::Ipc)? {
            wake_abandoned_accept(server_name);
            return Err(exited_during_start_up(child.id(), status));
        }
        if Instant::now() >= deadline {
            wake_abandoned_accept(server_name);
            return Err(Error::Timeout(format!(
                "child process {} to connect back within {timeout:?} (is \
                 multiprocessing::init() the first line of its main()?)",
                child.id()
            )));
        }
    }
}

fn exited_during_start_up(pid: u32, status: ExitStatus) -> Error {
    let exitcode = platform::exitcode(status);
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

/// Connects to our own one-shot server so that the thread blocked in its `accept` returns.
fn wake_abandoned_accept(server_name: &str) {
    if let Ok(sender) = IpcSender::<Hello>::connect(server_name.to_string()) {
        let _ = sender.send(Hello::Abandon);
    }
}
