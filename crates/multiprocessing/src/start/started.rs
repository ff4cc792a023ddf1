//! A started child, as the parent holds it, whichever method started it: its pid, its exit
//! status, and the signals the parent can send it. This is where the two methods still differ
//! after start-up:
//!
//! - A **spawned** child is our own child process (a `std::process::Child`): we wait for it and
//!   signal it ourselves, through a pidfd (see `platform`).
//! - A **forked** child is the fork server's child (see `forkserver`): the server reaps it and
//!   reports the status, and signals it on our behalf.
//!
//! Either way the exit status, once reaped, is kept here, and a child that has been reaped is
//! never signalled again: its pid may already belong to another process.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use super::forkserver::ForkedChild;
pub(crate) use super::forkserver::StillStarting;
use crate::Error;
use crate::platform::{ChildHandle, StopSignal};

/// A started child.
#[derive(Debug)]
pub(crate) enum Started {
    Spawned {
        child: Child,
        handle: ChildHandle,
        /// The exit status, once reaped.
        reaped: Option<ExitStatus>,
    },
    Forked(ForkedChild),
}

impl Started {
    /// A child that the spawn method started.
    pub(crate) fn spawned(child: Child, handle: ChildHandle) -> Started {
        Started::Spawned {
            child,
            handle,
            reaped: None,
        }
    }

    /// The pid; for a forked child, waits until the fork server has reported it. 0 for a fork
    /// that failed.
    pub(crate) fn pid(&self) -> u32 {
        match self {
            Started::Spawned { child, .. } => child.id(),
            Started::Forked(child) => child.pid().unwrap_or(0),
        }
    }

    /// The pid if known without waiting (for `Debug`).
    pub(crate) fn known_pid(&self) -> Option<u32> {
        match self {
            Started::Spawned { child, .. } => Some(child.id()),
            Started::Forked(child) => child.known_pid(),
        }
    }

    /// Why the child never started, for a fork that failed; waits for the fork server's answer
    /// until `deadline` (`None`: as long as it takes).
    pub(crate) fn start_error(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<Error>, StillStarting> {
        match self {
            Started::Spawned { .. } => Ok(None),
            Started::Forked(child) => child.start_error(deadline),
        }
    }

    /// The exit status if the child has been reaped already. Does not block or reap.
    pub(crate) fn reaped(&self) -> Option<ExitStatus> {
        match self {
            Started::Spawned { reaped, .. } => *reaped,
            Started::Forked(child) => child.reaped(),
        }
    }

    /// The exit status, if the child has exited (reaping it). Does not block.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        match self {
            Started::Spawned { child, reaped, .. } => {
                if reaped.is_none() {
                    *reaped = child.try_wait().ok().flatten();
                }
                *reaped
            }
            Started::Forked(child) => child.try_wait(),
        }
    }

    /// Waits for the exit status.
    pub(crate) fn wait(&mut self) -> Result<ExitStatus, Error> {
        match self {
            Started::Spawned { child, reaped, .. } => {
                let status = child.wait().map_err(Error::Ipc)?;
                *reaped = Some(status);
                Ok(status)
            }
            Started::Forked(child) => Ok(child.wait()),
        }
    }

    /// Waits for the exit status until `deadline` (`None`: as long as it takes); `Ok(None)` if
    /// the deadline passed first.
    pub(crate) fn wait_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Option<ExitStatus>, Error> {
        match deadline {
            None => self.wait().map(Some),
            Some(deadline) => {
                self.wait_timeout(deadline.saturating_duration_since(Instant::now()))
            }
        }
    }

    /// Waits at most `timeout` for the exit status.
    pub(crate) fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ExitStatus>, Error> {
        match self {
            Started::Spawned {
                reaped: Some(status),
                ..
            } => Ok(Some(*status)),
            Started::Spawned { child, handle, .. } => {
                if handle.wait_exit(child, timeout)? {
                    self.wait().map(Some)
                } else {
                    Ok(None)
                }
            }
            Started::Forked(child) => Ok(child.wait_timeout(timeout)),
        }
    }

    /// Sends SIGTERM or SIGKILL, unless the child has been reaped (then it is done already, and
    /// its pid may name another process by now).
    pub(crate) fn signal(&self, signal: StopSignal) -> Result<(), Error> {
        if self.reaped().is_some() {
            return Ok(());
        }
        match self {
            Started::Spawned { handle, .. } => handle.signal(signal),
            Started::Forked(child) => child.signal(signal),
        }
    }

    /// Kills the child and reaps it.
    pub(crate) fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        let _ = self.signal(StopSignal::Kill);
        self.wait().ok()
    }
}
