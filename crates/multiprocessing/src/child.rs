//! One running child, however it was started: the parent's view of its exit status and of the
//! signals it can send it.
//!
//! - A **spawned** child is our own child process (a `std::process::Child`): we wait for it and
//!   signal it ourselves, through a pidfd (see `platform`).
//! - A **forked** child is the fork server's child (see `forkserver`): the server reaps it and
//!   reports the status, and signals it on our behalf.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use crate::Error;
use crate::forkserver::ForkedChild;
pub(crate) use crate::forkserver::StillStarting;
use crate::platform::{ChildHandle, StopSignal};

/// How to start a child process (Python's `multiprocessing.set_start_method`, or
/// `get_context(method)` for a single process).
///
/// | method | what happens | cost of a start (measured on the book's machine) |
/// |---|---|---|
/// | [`ForkServer`](StartMethod::ForkServer) (the default) | a small single-threaded server, started by [`init()`](crate::init), forks itself | a fraction of a millisecond |
/// | [`Spawn`](StartMethod::Spawn) | the program is executed again and runs only the function | over a millisecond of CPU |
///
/// Python's third method, *fork* (copy the parent itself), has no safe Rust equivalent: after a
/// `fork` only the forking thread exists, and any lock another thread held stays locked.
///
/// A forked child sees the environment and working directory the parent had when `init()` ran,
/// plus what [`Builder::env`](crate::Builder::env) sets; a spawned child sees the parent's
/// environment as it is when it is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMethod {
    /// Execute `/proc/self/exe` again (Python's *spawn*).
    Spawn,
    /// Fork a pre-started single-threaded server (Python's *forkserver*). If the server could not
    /// start and the method was not chosen explicitly, [`Spawn`](StartMethod::Spawn) is used.
    #[default]
    ForkServer,
}

/// A started child.
#[derive(Debug)]
pub(crate) enum Running {
    Spawned { child: Child, handle: ChildHandle },
    Forked(ForkedChild),
}

impl Running {
    /// The pid; for a forked child, waits until the fork server has reported it. 0 for a fork
    /// that failed.
    pub(crate) fn pid(&self) -> u32 {
        match self {
            Running::Spawned { child, .. } => child.id(),
            Running::Forked(child) => child.pid().unwrap_or(0),
        }
    }

    /// The pid if known without waiting (for `Debug`).
    pub(crate) fn known_pid(&self) -> Option<u32> {
        match self {
            Running::Spawned { child, .. } => Some(child.id()),
            Running::Forked(child) => child.known_pid(),
        }
    }

    /// Why the child never started, for a fork that failed; waits for the fork server's answer
    /// until `deadline` (`None`: as long as it takes).
    pub(crate) fn start_error(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<Error>, StillStarting> {
        match self {
            Running::Spawned { .. } => Ok(None),
            Running::Forked(child) => child.start_error(deadline),
        }
    }

    /// The exit status, if the child has exited. Does not block.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        match self {
            Running::Spawned { child, .. } => child.try_wait().ok().flatten(),
            Running::Forked(child) => child.try_wait(),
        }
    }

    /// Waits for the exit status.
    pub(crate) fn wait(&mut self) -> Result<ExitStatus, Error> {
        match self {
            Running::Spawned { child, .. } => child.wait().map_err(Error::Ipc),
            Running::Forked(child) => Ok(child.wait()),
        }
    }

    /// Waits at most `timeout` for the exit status.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, Error> {
        match self {
            Running::Spawned { child, handle } => {
                if handle.wait_exit(child, timeout)? {
                    child.wait().map(Some).map_err(Error::Ipc)
                } else {
                    Ok(None)
                }
            }
            Running::Forked(child) => Ok(child.wait_timeout(timeout)),
        }
    }

    /// Sends SIGTERM or SIGKILL. The caller guarantees the child has not been reaped through
    /// this handle yet.
    pub(crate) fn signal(&self, signal: StopSignal) -> Result<(), Error> {
        match self {
            Running::Spawned { handle, .. } => handle.signal(signal),
            Running::Forked(child) => child.signal(signal),
        }
    }

    /// Kills the child and reaps it.
    pub(crate) fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        let _ = self.signal(StopSignal::Kill);
        self.wait().ok()
    }
}
