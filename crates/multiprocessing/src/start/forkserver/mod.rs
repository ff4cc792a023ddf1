//! The fork server: children started in a fraction of the time, by forking a small process that
//! has already started (Python's `forkserver` start method).
//!
//! # Why
//!
//! Starting a child by re-executing the program (the *spawn* start method, see `spawn.rs`) costs
//! about 1.5 ms of CPU on the machines this book was measured on, and almost none of it is ours:
//! the kernel maps the executable again, the dynamic loader resolves every symbol again, and the C
//! library asks the CPU what it supports again (on a virtual machine each of those `cpuid`
//! questions is a trip to the hypervisor). A task of a few milliseconds cannot win that back.
//!
//! `fork` copies a running process instead, and is cheap when the process is small. But forking
//! the *parent* is unsafe in Rust: only the forking thread survives in the copy, and a lock that
//! another thread held at that moment (the allocator's, stdout's, a `Mutex` of the program's)
//! stays locked forever in it. So we fork a process that has **only one thread**: the fork
//! server, started once, by re-executing the program like any spawned child, which then waits for
//! requests and forks itself for each child.
//!
//! ```text
//!  parent                         fork server (one thread)            child
//!  ──────                         ────────────────────────            ─────
//!  init(): start the server ────▶ init(): ready, send requests end
//!  spawn: Fork { channel ends } ─▶ fork() ─────────────────────────▶  (a copy of the server)
//!         ◀── Forked { pid }        watch the child's sentinel         read header + argument,
//!  header + argument ─────────────────────────────────────────────▶   run f, send Outcome
//!  join: recv Outcome ◀────────────────────────────────────────────
//!         ◀── Exited { status }    sentinel closed: waitpid           exit
//! ```
//!
//! # What changes for the child
//!
//! - **Its parent is the server.** Only a parent can read a child's exit status, so the server
//!   reaps its children and reports each status on the child's own `events` channel; the
//!   [`ForkedChild`] handle reads it. Signals go through the server too (`Request::Signal`): it
//!   signals a pid only while the child is unreaped, so the pid cannot belong to someone else yet.
//! - **Dying with the parent takes two steps.** The server dies with the parent and the child dies
//!   with the server (`PR_SET_PDEATHSIG` both times), so a parent killed by SIGKILL still leaves no
//!   orphans behind.
//! - **It inherits the server, not the parent.** Environment variables, the working directory and
//!   open files are those of the parent *when `init()` started the server*, plus what
//!   [`Builder::env`](crate::Builder::env) adds. A variable the parent sets later is not seen (the
//!   same as in Python's forkserver). Use the spawn method when the child must see the parent as
//!   it is now.
//! - **Ctrl-C.** A terminal sends SIGINT to the whole process group. The server ignores it (it must
//!   outlive the parent's clean-up), and every child sets it back to the default.
//!
//! The server starts in `init()` of the main process and `init()` waits until it is ready (a few
//! milliseconds, once per program). A child process that starts processes of its own starts its
//! own server the first time it does. If the server cannot start, for instance because `main` had
//! already started threads when it called `init()` (`#[tokio::main]` does), processes are started
//! with the spawn method instead, unless the fork server was asked for explicitly.

mod zygote;

use std::cell::OnceCell;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ipc_channel::TryRecvError;
use ipc_channel::ipc::{self, IpcOneShotServer, IpcReceiver, IpcSender};
use ipc_channel::ipc::{OpaqueIpcReceiver, OpaqueIpcSender};
use serde::{Deserialize, Serialize};

use super::protocol::{self, Header};
use super::spawn::{self, StartFailure};
use crate::Error;
use crate::platform::{self, StopSignal};

pub(crate) use zygote::zygote_main;

/// The variable that tells a process it is the fork server, and where its parent listens: the
/// same `"<parent pid>:<exe device>:<exe inode>:<socket path>"` as [`BOOTSTRAP_ENV`](crate::BOOTSTRAP_ENV).
pub(crate) const FORKSERVER_ENV: &str = "MULTIPROCESSING_FORKSERVER";

/// How long `init()` waits for the server to be ready before starting children by spawning.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's first message, through the one-shot server the parent listens on.
#[derive(Serialize, Deserialize)]
enum Greeting {
    /// Ready: where to send requests.
    Ready {
        pid: u32,
        requests: IpcSender<Request>,
    },
    /// The server cannot serve (it is not single-threaded, say), and why.
    Refused(String),
    /// From the parent to itself, to wake up an `accept` it gave up on.
    Abandon,
}

/// What the parent asks of the server.
#[derive(Serialize, Deserialize)]
enum Request {
    Fork(ForkRequest),
    Signal { child: u64, signal: StopSignal },
}

/// One child to fork, with the ends of its channels that the child will own.
#[derive(Serialize, Deserialize)]
struct ForkRequest {
    /// A number of the parent's, to name the child in later `Signal` requests.
    child: u64,
    /// Variables to set in the child, on top of the server's environment.
    env: Vec<(OsString, OsString)>,
    /// Where the child reads its header and argument (an `IpcReceiver<Header>`).
    instructions: OpaqueIpcReceiver,
    /// Where the child sends its outcome.
    to_parent: OpaqueIpcSender,
    /// Where the server reports the pid and, later, the exit status.
    events: IpcSender<Event>,
}

/// What the server reports about one child, on that child's `events` channel.
#[derive(Serialize, Deserialize)]
enum Event {
    Forked {
        pid: u32,
    },
    ForkFailed(String),
    /// The raw wait status, as `waitpid` returned it.
    Exited {
        wait_status: i32,
    },
}

/// The parent's connection to its fork server.
pub(crate) struct ForkServer {
    pid: u32,
    requests: Mutex<IpcSender<Request>>,
    /// The server's `Child`, kept so that a server that died can be reaped when it is replaced.
    process: Mutex<Child>,
}

enum Slot {
    NotStarted,
    Running(Arc<ForkServer>),
    Unavailable(String),
}

static SERVER: Mutex<Slot> = Mutex::new(Slot::NotStarted);
static NEXT_CHILD: AtomicU64 = AtomicU64::new(1);

fn slot() -> MutexGuard<'static, Slot> {
    SERVER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Called by `init()` in the main process: start the server now, so that the first `spawn` does
/// not pay for it. A failure is remembered and reported by the spawns that need the server.
pub(crate) fn start_early() {
    if platform::ensure_supported().is_ok() {
        let _ = server();
    }
}

/// The pid of this process's fork server, if one runs (see [`StartMethod`](crate::StartMethod)).
/// The server is a child of this process that lives as long as it does; the children it forks are
/// its children, not ours. Tests that look for processes left behind use this to tell them apart.
pub fn server_pid() -> Option<u32> {
    match &*slot() {
        Slot::Running(server) => Some(server.pid),
        _ => None,
    }
}

/// The running server, started on first use.
fn server() -> Result<Arc<ForkServer>, String> {
    let mut slot = slot();
    match &*slot {
        Slot::Running(server) => return Ok(server.clone()),
        Slot::Unavailable(reason) => return Err(reason.clone()),
        Slot::NotStarted => {}
    }
    let started = ForkServer::start().map(Arc::new);
    *slot = match &started {
        Ok(server) => Slot::Running(server.clone()),
        Err(reason) => Slot::Unavailable(reason.clone()),
    };
    started
}

/// Replaces a server that has died (unless another thread already did) and returns the new one.
fn replace(dead: &Arc<ForkServer>) -> Result<Arc<ForkServer>, String> {
    let mut slot = slot();
    if let Slot::Running(current) = &*slot
        && !Arc::ptr_eq(current, dead)
    {
        return Ok(current.clone());
    }
    {
        let mut process = dead.process.lock().unwrap_or_else(|p| p.into_inner());
        let _ = process.kill();
        let _ = process.wait();
    }
    let started = ForkServer::start().map(Arc::new);
    *slot = match &started {
        Ok(server) => Slot::Running(server.clone()),
        Err(reason) => Slot::Unavailable(reason.clone()),
    };
    started
}

/// Why a fork did not happen.
pub(crate) enum ForkError {
    /// There is no fork server (it could not start); `spawn` may use the spawn method instead.
    Unavailable(String),
    /// Anything else.
    Failed(Error),
}

/// A child the server forked, with the parent's ends of its channels.
pub(crate) struct Forked {
    pub(crate) child: ForkedChild,
    /// Where the parent writes the header and the argument.
    pub(crate) instructions: IpcSender<Header>,
    /// Where the child's outcome arrives.
    pub(crate) results: OpaqueIpcReceiver,
}

/// Forks a child through this process's fork server, starting (or restarting) the server if
/// needed.
pub(crate) fn fork(env: &[(OsString, OsString)]) -> Result<Forked, ForkError> {
    let server = server().map_err(ForkError::Unavailable)?;
    match server.fork(env) {
        Err(ServerGone) => {
            let server = replace(&server).map_err(ForkError::Unavailable)?;
            server.fork(env).map_err(|ServerGone| {
                ForkError::Failed(Error::Spawn(std::io::Error::other(
                    "the fork server died twice in a row while starting a child",
                )))
            })?
        }
        Ok(result) => result,
    }
    .map_err(ForkError::Failed)
}

/// The server hung up: it died, or was killed.
struct ServerGone;

impl ForkServer {
    /// Starts the server by re-executing this program, and waits until it is ready.
    fn start() -> Result<ForkServer, String> {
        platform::check_socket_dir().map_err(|e| e.to_string())?;
        let (listener, listener_name) = IpcOneShotServer::<Greeting>::new()
            .map_err(|e| format!("cannot listen: {e}"))?;
        let spec =
            protocol::bootstrap_value(&listener_name).map_err(|e| e.to_string())?;
        let mut command = platform::self_exe_command();
        command
            .env(FORKSERVER_ENV, spec)
            .env_remove(protocol::BOOTSTRAP_ENV);
        let mut process = spawn::exec(command)
            .map_err(|e| format!("cannot start the fork server: {e}"))?;
        let pid = process.id();
        let accepted = spawn::accept_within(
            listener,
            &listener_name,
            SERVER_START_TIMEOUT,
            || process.try_wait().ok().flatten().is_some(),
            Greeting::Abandon,
        );
        let failure = match accepted {
            Ok((
                _,
                Greeting::Ready {
                    pid: ready,
                    requests,
                },
            )) if ready == pid => {
                return Ok(ForkServer {
                    pid,
                    requests: Mutex::new(requests),
                    process: Mutex::new(process),
                });
            }
            Ok((_, Greeting::Ready { pid: other, .. })) => {
                format!("process {other} answered instead of the fork server {pid}")
            }
            Ok((_, Greeting::Refused(reason))) => reason,
            Ok((_, Greeting::Abandon)) => "its start-up was abandoned".into(),
            Err(StartFailure::ExitedEarly) => "it exited during start-up".into(),
            Err(StartFailure::TimedOut(limit)) => {
                format!("it was not ready within {limit:?}")
            }
            Err(StartFailure::Other(reason)) => reason,
        };
        let _ = process.kill();
        let _ = process.wait();
        Err(format!(
            "the fork server (pid {pid}) did not start: {failure}"
        ))
    }

    /// Asks the server for one child. Does not wait for the fork: the pid arrives later on the
    /// child's `events` channel (see [`ForkedChild`]), so that starting several children in a row
    /// costs the parent a few sends, not a round trip each through a machine whose cores the
    /// first children already keep busy.
    fn fork(
        self: &Arc<Self>,
        env: &[(OsString, OsString)],
    ) -> Result<Result<Forked, Error>, ServerGone> {
        let channels = || -> std::io::Result<_> {
            Ok((
                ipc::channel::<Header>()?,
                ipc::channel::<()>()?,
                ipc::channel::<Event>()?,
            ))
        };
        let ((instructions, instructions_rx), (to_parent, results), (events_tx, events)) =
            match channels() {
                Ok(channels) => channels,
                Err(error) => return Ok(Err(Error::Ipc(error))),
            };
        let child = NEXT_CHILD.fetch_add(1, Ordering::Relaxed);
        self.send(Request::Fork(ForkRequest {
            child,
            env: env.to_vec(),
            instructions: instructions_rx.to_opaque(),
            to_parent: to_parent.to_opaque(),
            events: events_tx,
        }))?;
        Ok(Ok(Forked {
            child: ForkedChild {
                server: self.clone(),
                child,
                started: OnceCell::new(),
                events: Some(events),
                status: None,
            },
            instructions,
            results: results.to_opaque(),
        }))
    }

    fn send(&self, request: Request) -> Result<(), ServerGone> {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests.send(request).map_err(|_| ServerGone)
    }
}

/// The parent's handle on a child the fork server forked. Its first event says whether the fork
/// happened (and the pid), the second when it exited.
pub(crate) struct ForkedChild {
    server: Arc<ForkServer>,
    child: u64,
    /// The first event, once received.
    started: OnceCell<Started>,
    /// `None` once the exit status has been read (or the server is gone).
    events: Option<IpcReceiver<Event>>,
    status: Option<ExitStatus>,
}

#[derive(Debug)]
enum Started {
    Running { pid: u32 },
    Failed(String),
}

/// The fork server has not said yet whether the fork happened.
pub(crate) struct StillStarting;

impl ForkedChild {
    /// The pid, waiting for the fork if it has not been reported yet; `None` if it failed.
    pub(crate) fn pid(&self) -> Option<u32> {
        match self.started(None) {
            Ok(Started::Running { pid }) => Some(*pid),
            _ => None,
        }
    }

    /// The pid if the fork has been reported already.
    pub(crate) fn known_pid(&self) -> Option<u32> {
        match self.started.get() {
            Some(Started::Running { pid }) => Some(*pid),
            _ => None,
        }
    }

    /// Why the fork failed, if it did, waiting for the server's answer until `deadline`.
    pub(crate) fn start_error(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<Error>, StillStarting> {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        Ok(match self.started(left)? {
            Started::Failed(reason) => {
                Some(Error::Spawn(std::io::Error::other(reason.clone())))
            }
            Started::Running { .. } => None,
        })
    }

    /// The first event, waiting at most `timeout` for it (`None`: as long as it takes).
    fn started(&self, timeout: Option<Duration>) -> Result<&Started, StillStarting> {
        if let Some(started) = self.started.get() {
            return Ok(started);
        }
        let started = match self.next_event(timeout)? {
            Ok(Event::Forked { pid }) => Started::Running { pid },
            Ok(Event::ForkFailed(reason)) => Started::Failed(reason),
            Ok(Event::Exited { .. }) => {
                Started::Failed("the fork server reported an exit before the fork".into())
            }
            Err(()) => {
                Started::Failed("the fork server died before it forked the child".into())
            }
        };
        Ok(self.started.get_or_init(|| started))
    }

    /// The next event; `Ok(Err(()))` if the server hung up.
    fn next_event(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Result<Event, ()>, StillStarting> {
        let Some(events) = &self.events else {
            return Ok(Err(()));
        };
        let received = match timeout {
            None => events.recv().map_err(TryRecvError::IpcError),
            Some(timeout) if timeout.is_zero() => events.try_recv(),
            Some(timeout) => events.try_recv_timeout(timeout),
        };
        match received {
            Ok(event) => Ok(Ok(event)),
            Err(TryRecvError::Empty) => Err(StillStarting),
            Err(TryRecvError::IpcError(_)) => Ok(Err(())),
        }
    }

    /// The exit status if it has been read already. Does not block.
    pub(crate) fn reaped(&self) -> Option<ExitStatus> {
        self.status
    }

    /// The exit status if the child has exited and the server has reaped it. Does not block.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.wait_timeout(Duration::ZERO)
    }

    /// Waits for the exit status.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        self.wait_until(None)
            .expect("a wait without a deadline ends with a status")
    }

    /// Waits at most `timeout` for the exit status.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&mut self, deadline: Option<Instant>) -> Option<ExitStatus> {
        if let Some(status) = self.status {
            return Some(status);
        }
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let status = match self.started(left()).ok()? {
            // It never ran: report the exit code of a start-up that failed.
            Started::Failed(_) => {
                ExitStatus::from_raw(protocol::EXIT_BOOTSTRAP_FAILED << 8)
            }
            Started::Running { .. } => match self.next_event(left()).ok()? {
                Ok(Event::Exited { wait_status }) => ExitStatus::from_raw(wait_status),
                // The server died, and the child with it: the server's `PR_SET_PDEATHSIG` sent
                // it a SIGKILL, so that is the status it ended with.
                Ok(_) | Err(()) => ExitStatus::from_raw(libc::SIGKILL),
            },
        };
        self.events = None;
        self.status = Some(status);
        Some(status)
    }

    /// Asks the server to signal the child. The request queues behind the fork request, so a
    /// child that is still being forked gets it too; a child already reaped is left alone.
    pub(crate) fn signal(&self, signal: StopSignal) -> Result<(), Error> {
        if self.status.is_some() {
            return Ok(());
        }
        // A server that is gone has taken the child with it: nothing left to signal.
        let _ = self.server.send(Request::Signal {
            child: self.child,
            signal,
        });
        Ok(())
    }
}

impl std::fmt::Debug for ForkedChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForkedChild")
            .field("started", &self.started.get())
            .field("server", &self.server.pid)
            .field("status", &self.status)
            .finish()
    }
}
