//! A pre-fork TCP server: the parent binds one listener, N worker processes accept on it, and
//! a supervisor keeps N of them alive.
//!
//! The articles' game server starts **a new process per client**. That isolates clients from
//! each other, but every connection first waits for a process to start (milliseconds each; see
//! `benches/prefork_server.rs`), and nothing bounds how many: a thousand clients are a thousand
//! processes. A pre-fork server (Apache's `prefork`,
//! gunicorn's workers, nginx's worker processes) pays for processes once: it starts a fixed
//! number up front, and each serves many clients in turn. A crash still takes down one worker,
//! not the server, and the supervisor starts a new one.
//!
//! ```text
//!   parent: bind 127.0.0.1:8000 ── HandoffPoint (a Unix socket) ── supervisor thread
//!                 │                        │ SCM_RIGHTS: the listener, then the control channel
//!        ┌────────┴───────┐        ┌───────┴────────┐
//!     worker 0         worker 1   ...    each: poll(listener, control), accept,
//!   (one listener,  one accept queue)          one thread per connection (≤ cap)
//! ```
//!
//! # Getting the listener into the workers
//!
//! With `fork()` the children would simply inherit the socket. This crate's children do not
//! inherit descriptors (they are forked from the fork server, or re-executed, never from the
//! parent; see [`start`](crate::start)), so the parent **sends** the socket: [`handoff`] passes
//! it with `SCM_RIGHTS` over a Unix socket, and the connection stays open as the worker's
//! control channel. All workers then share *one* listening socket and *one* accept queue.
//!
//! The other way is `SO_REUSEPORT`: every worker binds its own listener to the same port, and
//! the kernel spreads new connections over them by a hash of the client's address. It needs no
//! descriptor passing and no shared queue (less contention on many cores), but each listener
//! has its own queue, and that changes what a crash costs:
//!
//! | | one shared listener (this module) | `SO_REUSEPORT`, one listener per worker |
//! |---|---|---|
//! | a worker dies | connections it had accepted are lost; those still queued are taken by the others | the same, **plus** every connection waiting in its own queue is reset |
//! | a worker is slow or full | the others accept what it does not | its share of new clients waits in its queue |
//! | a replacement starts | serves at once: same socket, same queue | joins the hash when it binds; until then its share went to the others |
//! | who may bind the port | only the parent | any process of the same user that sets the option |
//!
//! # Inside a worker
//!
//! [`worker::serve`] collects the listener, then waits in `poll` on it and on its control
//! channel; each accepted client gets a thread up to [`WorkerConfig::max_connections`], and
//! one more is answered [`BUSY_REPLY`]. The protocol is `testbed`'s line protocol, with the
//! contract every chapter's server keeps:
//!
//! | situation | what the server does |
//! |---|---|
//! | a line of at most 1024 bytes | one reply line; `QUIT` is answered `BYE`, then the connection closes |
//! | a longer line | `ERR line too long`, then it closes, without buffering the rest |
//! | a line that is not UTF-8 | `ERR invalid utf-8`, and the connection stays open |
//! | more than `max_connections` clients on one worker | the extra client gets `ERR too many connections` and is closed |
//! | a client silent for `idle_timeout` | it is dropped |
//! | an abrupt disconnect | its thread ends, its descriptors are closed; nobody else notices |
//! | a worker crashes | its clients are cut off; the supervisor starts a new worker at once |
//! | [`PreforkServer::shutdown`] | workers stop accepting, live connections get the grace period, then are closed; workers that miss the deadline are killed and reported |
//!
//! # Stopping, and dying
//!
//! [`PreforkServer::shutdown`] (or dropping the server) stops the supervisor, which tells each
//! worker to stop through its control channel; see `supervisor.rs`. If the parent is killed,
//! even by SIGKILL, the workers die with it (the crate's children get `PR_SET_PDEATHSIG`), and
//! a worker that outlived it for an instant would see its control channel close and stop.
//!
//! A terminal's Ctrl-C goes to the whole process group, workers included; a worker that should
//! stop only when its parent says so ignores it: the listing's worker function installs a
//! handler that does nothing, then calls [`worker::serve`]. That is why the server takes the
//! worker's function ([`WorkerMain`]) rather than always running `serve`.
//!
//! Linux only, like process start-up (the hand-off uses the abstract socket namespace and
//! `SO_PEERCRED`).

pub mod connection;
pub mod handoff;
mod supervisor;
pub mod worker;

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use supervisor::RETRY_AFTER;
pub use worker::{WorkerConfig, WorkerJob, WorkerReport, serve};

/// The reply a client gets when its worker already serves `max_connections` clients.
pub const BUSY_REPLY: &str = "ERR too many connections";

/// The function each worker process runs: [`serve`], or a function of yours that prepares the
/// process (ignores Ctrl-C, sets up logging) and then calls it.
pub type WorkerMain = fn(WorkerJob) -> Result<WorkerReport, PreforkError>;

/// What went wrong with the server itself (a client's misbehaviour is never an error: it is
/// answered and counted in [`WorkerReport`]).
#[derive(Debug, thiserror::Error)]
pub enum PreforkError {
    /// The configuration cannot work (no workers, a cap of zero, a zero timeout).
    #[error("bad pre-fork configuration: {0}")]
    Config(String),
    /// The address could not be bound.
    #[error("could not listen on {addr}")]
    Bind {
        /// The address as given.
        addr: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A worker process could not be started.
    #[error("could not start a worker process")]
    Spawn(#[source] crate::Error),
    /// The listener could not be handed to worker `worker` (a pid).
    #[error("could not hand the listener to worker {worker}")]
    Handoff {
        /// The worker's process id.
        worker: u32,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// Another system call failed.
    #[error("{doing} failed")]
    Io {
        /// What the server was doing.
        doing: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// The server's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreforkConfig {
    /// How many worker processes accept connections.
    pub workers: usize,
    /// Each worker's limits (the cap, the idle timeout, the grace period).
    pub worker: WorkerConfig,
    /// After the grace period, how much longer shutdown waits for a worker to exit before it
    /// kills it.
    pub stop_margin: Duration,
}

impl Default for PreforkConfig {
    /// 2 workers of 64 connections each, 30 s idle timeout, 5 s grace, 2 s margin.
    fn default() -> Self {
        PreforkConfig {
            workers: 2,
            worker: WorkerConfig {
                max_connections: 64,
                idle_timeout: Duration::from_secs(30),
                grace: Duration::from_secs(5),
                handoff_timeout: Duration::from_secs(10),
            },
            stop_margin: Duration::from_secs(2),
        }
    }
}

impl PreforkConfig {
    fn check(&self) -> Result<(), PreforkError> {
        let problem = if self.workers == 0 {
            "workers must be at least 1"
        } else if self.worker.max_connections == 0 {
            "max_connections must be at least 1"
        } else if self.worker.idle_timeout.is_zero() {
            "idle_timeout must be more than zero (a zero socket timeout means none)"
        } else if self.worker.handoff_timeout.is_zero() {
            "handoff_timeout must be more than zero"
        } else {
            return Ok(());
        };
        Err(PreforkError::Config(problem.into()))
    }
}

/// What [`PreforkServer::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The report of each worker that exited in time.
    pub workers: Vec<WorkerReport>,
    /// Workers (pids) that missed the deadline and were killed.
    pub killed: Vec<u32>,
    /// Workers that ended with an error instead of a report.
    pub failed: Vec<String>,
    /// Workers that died while the server ran and were replaced.
    pub replaced: u64,
    /// How long stopping the workers took.
    pub elapsed: Duration,
}

impl ShutdownReport {
    /// The workers' counters added up.
    pub fn total(&self) -> WorkerReport {
        self.workers
            .iter()
            .fold(WorkerReport::default(), |sum, w| WorkerReport {
                accepted: sum.accepted + w.accepted,
                rejected: sum.rejected + w.rejected,
                idle_timeouts: sum.idle_timeouts + w.idle_timeouts,
                broken: sum.broken + w.broken,
                panicked: sum.panicked + w.panicked,
                cut_at_shutdown: sum.cut_at_shutdown + w.cut_at_shutdown,
            })
    }

    /// Whether every worker exited by itself, with a report.
    pub fn is_clean(&self) -> bool {
        self.killed.is_empty() && self.failed.is_empty()
    }
}

/// A running pre-fork server. Dropping it shuts it down too (ignoring the report).
#[derive(Debug)]
pub struct PreforkServer {
    local_addr: SocketAddr,
    status: supervisor::SharedStatus,
    wake: UnixStream,
    supervisor: Option<JoinHandle<ShutdownReport>>,
}

impl PreforkServer {
    /// Binds `addr` (port 0 picks a free port) and starts the workers; see [`start`](Self::start).
    pub fn bind(
        addr: impl ToSocketAddrs,
        config: PreforkConfig,
        main: WorkerMain,
    ) -> Result<PreforkServer, PreforkError> {
        config.check()?;
        let describe = match addr.to_socket_addrs() {
            Ok(addrs) => addrs.map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
            Err(error) => format!("(unresolved: {error})"),
        };
        let listener = TcpListener::bind(addr).map_err(|source| PreforkError::Bind {
            addr: describe,
            source,
        })?;
        PreforkServer::start(listener, config, main)
    }

    /// Serves on `listener` with `config.workers` processes, each running `main`. Returns once
    /// every worker holds the listener, or fails if one could not start (the others are killed).
    pub fn start(
        listener: TcpListener,
        config: PreforkConfig,
        main: WorkerMain,
    ) -> Result<PreforkServer, PreforkError> {
        config.check()?;
        let io_error = |doing| move |source| PreforkError::Io { doing, source };
        let local_addr = listener
            .local_addr()
            .map_err(io_error("reading the address"))?;
        // Non-blocking for every holder: this flag belongs to the socket, which all share.
        listener
            .set_nonblocking(true)
            .map_err(io_error("making the listener non-blocking"))?;
        let handoff = handoff::HandoffPoint::bind()
            .map_err(io_error("binding the hand-off socket"))?;
        let (wake, wake_supervisor) =
            UnixStream::pair().map_err(io_error("creating the wake-up socket"))?;
        let status = Arc::new(Mutex::new(supervisor::Status::default()));
        let context = supervisor::Context {
            listener,
            handoff,
            config,
            main,
        };
        let thread = supervisor::start(context, Arc::clone(&status), wake_supervisor)?;
        Ok(PreforkServer {
            local_addr,
            status,
            wake,
            supervisor: Some(thread),
        })
    }

    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The pids of the workers now running (a slot being refilled is missing).
    pub fn worker_pids(&self) -> Vec<u32> {
        supervisor::lock(&self.status)
            .pids
            .iter()
            .flatten()
            .copied()
            .collect()
    }

    /// How many workers died and were replaced so far.
    pub fn replaced(&self) -> u64 {
        supervisor::lock(&self.status).replaced
    }

    /// Stops accepting, gives live connections the grace period, and joins every worker (killing
    /// those that miss the deadline). The report says what happened; the `Err` is only for a
    /// supervisor thread that panicked (a bug).
    pub fn shutdown(mut self) -> Result<ShutdownReport, PreforkError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<ShutdownReport, PreforkError> {
        let Some(supervisor) = self.supervisor.take() else {
            return Err(PreforkError::Config(
                "the server was already shut down".into(),
            ));
        };
        // End-of-file on the supervisor's end wakes its poll.
        let _ = self.wake.shutdown(Shutdown::Write);
        supervisor.join().map_err(|_| PreforkError::Io {
            doing: "the supervisor thread (it panicked)",
            source: io::Error::other("supervisor panicked"),
        })
    }
}

impl Drop for PreforkServer {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            let _ = self.stop();
        }
    }
}
