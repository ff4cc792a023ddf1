//! Where a [`Process`] is in its life: the [`Stage`] enum, the steps `join` takes through it, and
//! what `Drop` does at each stage.
//!
//! A `Process` follows two things about its child that move independently:
//!
//! - **the child's one message**, the [`Stage`]: has the child connected, has its outcome been
//!   read, has the result been handed out. Only `join`, `join_timeout` and `Drop` move it, and only
//!   forward;
//! - **the operating-system process**: running, or exited and reaped. `Started` (in `start/started.rs`) keeps the exit
//!   status once it has been reaped; `is_alive` and `exitcode` reap without touching the stage,
//!   because a child may exit (and be reaped) before its message has been read: the message waits
//!   in the channel, and `join` still delivers it.
//!
//! ```text
//!  spawn (spawn method)          spawn (fork server)
//!        │                              │
//!        ▼                              │
//!  ┌────────────┐  the watcher reports  │
//!  │ Connecting │── the results channel ┤
//!  └────────────┘                       ▼
//!        │                        ┌───────────┐
//!        │ it died, hung or       │  Running  │  the child runs its function
//!        │ refused before it      └───────────┘
//!        │ connected                    │ its Outcome was read, or the channel closed
//!        │ (killed and reaped;    ┌─────┴─────┐ without one (it died)
//!        │  join returns Err)     │ Reported  │  waiting for the exit status
//!        │                        └───────────┘
//!        │        the fork failed       │ the exit status was reaped: join returns the
//!        │      (join returns Err)      │ value, or the error, panic or death as an Err
//!        ▼              │               ▼
//!  ┌──────────────────────────────────────────┐
//!  │ Joined      a second join: AlreadyJoined │
//!  └──────────────────────────────────────────┘
//! ```
//!
//! | call | `Connecting` | `Running` | `Reported` | `Joined` |
//! |---|---|---|---|---|
//! | `join` | waits for the watcher, then goes on; a start-up failure ends in `Joined` with its error | waits for the fork report and the message | waits for the exit | `Err(AlreadyJoined)` |
//! | `join_timeout` | the same, but at the deadline it stays where it got to and returns `Ok(None)` | the same | the same | `Err(AlreadyJoined)` |
//! | `is_alive`, `exitcode` | reap if exited; the stage does not change | the same | the same | the status reaped by `join` |
//! | `terminate`, `kill` | signal, unless already reaped | the same | the same | nothing (reaped) |
//! | `Drop`, non-daemon | waits for the watcher, then as `Running` | reads and discards the message, waits for the exit | waits for the exit | nothing |
//! | `Drop`, daemon or while panicking | kill and reap | kill and reap | kill and reap | nothing |
//!
//! Why `join` reads the message *before* it waits for the exit: a large result is written in
//! fragments that the child can only finish while the parent reads, so waiting for the exit first
//! could wait forever (the trap of Python's "joining processes that use queues").

use std::time::Instant;

use ipc_channel::ipc::{IpcReceiver, OpaqueIpcReceiver};
use ipc_channel::{IpcError, TryRecvError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Process;
use crate::Error;
use crate::platform;
use crate::start::parent::Results;
use crate::start::protocol::{Outcome, describe_decode_failure};
use crate::start::spawn::{self, StartReport};
use crate::start::started::StillStarting;

/// See the module docs for the drawing.
pub(super) enum Stage<R> {
    /// Spawn method only: the watcher has not yet reported whether the child connected back.
    Connecting(StartReport),
    /// The child has its instructions (or, forked, is about to); its outcome arrives here. The
    /// channel is untyped so that `Drop`, which cannot require `R: Deserialize`, can drain it.
    Running(OpaqueIpcReceiver),
    /// The outcome has been read (`None`: the channel closed without one, so the child died);
    /// the exit status has not been reaped yet.
    Reported(Option<Outcome<R>>),
    /// `join` has handed out the result or an error, and the child has been reaped.
    Joined,
}

impl<R> Process<R>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    /// The join state machine: take steps until the result is handed out (`Ok(Some)` or `Err`)
    /// or `deadline` passes (`Ok(None)`, staying at the stage reached).
    pub(super) fn join_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Option<R>, Error> {
        loop {
            // Every arm either moves to the next stage or puts its stage back and returns.
            self.stage = match std::mem::replace(&mut self.stage, Stage::Joined) {
                Stage::Joined => return Err(Error::AlreadyJoined),
                Stage::Connecting(report) => match spawn::receive(&report, deadline) {
                    None => {
                        self.stage = Stage::Connecting(report);
                        return Ok(None);
                    }
                    Some(Ok(results)) => Stage::Running(results),
                    Some(Err(failure)) => return Err(failure.into_error(&mut self.child)),
                },
                Stage::Running(results) => match self.child.start_error(deadline) {
                    Err(StillStarting) => {
                        self.stage = Stage::Running(results);
                        return Ok(None);
                    }
                    Ok(Some(fork_failed)) => {
                        self.child.try_wait();
                        return Err(fork_failed);
                    }
                    Ok(None) => match receive_outcome::<R>(results, deadline) {
                        Ok(outcome) => Stage::Reported(outcome),
                        Err(results) => {
                            self.stage = Stage::Running(results);
                            return Ok(None);
                        }
                    },
                },
                Stage::Reported(outcome) => match self.child.wait_until(deadline) {
                    Ok(Some(status)) => {
                        return hand_out(outcome, platform::exitcode(status));
                    }
                    Ok(None) => {
                        self.stage = Stage::Reported(outcome);
                        return Ok(None);
                    }
                    Err(error) => {
                        self.stage = Stage::Reported(outcome);
                        return Err(error);
                    }
                },
            };
        }
    }
}

/// Reads the child's one message until `deadline`; `Err` gives the channel back if the deadline
/// passed first. `Ok(None)`: the channel closed without a message.
fn receive_outcome<R>(
    results: OpaqueIpcReceiver,
    deadline: Option<Instant>,
) -> Result<Option<Outcome<R>>, OpaqueIpcReceiver>
where
    R: Serialize + DeserializeOwned,
{
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
    match received {
        Ok(outcome) => Ok(Some(outcome)),
        Err(TryRecvError::Empty) => Err(results.to_opaque()),
        Err(TryRecvError::IpcError(IpcError::Disconnected)) => Ok(None),
        Err(TryRecvError::IpcError(error)) => Ok(Some(Outcome::Unsendable(
            describe_decode_failure(std::any::type_name::<R>(), "result", error),
        ))),
    }
}

/// What `join` returns for an outcome, once the child has been reaped with `exitcode`.
fn hand_out<R>(outcome: Option<Outcome<R>>, exitcode: i32) -> Result<Option<R>, Error> {
    match outcome {
        Some(Outcome::Returned(value)) => Ok(Some(value)),
        Some(Outcome::Failed(message)) => Err(Error::Failed { message }),
        Some(Outcome::Panicked { message, location }) => {
            Err(Error::Panicked { message, location })
        }
        Some(Outcome::Unsendable(reason)) => Err(Error::Serialization(reason)),
        Some(Outcome::Refused(reason)) => Err(Error::Bootstrap(reason)),
        None => Err(Error::Died { exitcode }),
    }
}

impl<R> Drop for Process<R> {
    /// Python joins non-daemon children at exit and terminates daemon ones; see the table in the
    /// module docs. `Drop` cannot call `join_until` (it needs `R: Deserialize`, and a `Drop` impl
    /// may not add bounds), so it works on the stage directly.
    fn drop(&mut self) {
        let kill = self.daemon || std::thread::panicking();
        let reported = match std::mem::replace(&mut self.stage, Stage::Joined) {
            Stage::Joined => return,
            _ if kill => {
                // A `Connecting` watcher finishes on its own once the child is gone.
                self.child.kill_and_reap();
                return;
            }
            Stage::Connecting(report) => match spawn::receive(&report, None) {
                Some(Ok(results)) => drain(results),
                _ => {
                    self.child.kill_and_reap();
                    return;
                }
            },
            Stage::Running(results) => drain(results),
            Stage::Reported(outcome) => Drained::from(outcome),
        };
        let Ok(status) = self.child.wait() else {
            return;
        };
        let news = match reported {
            Drained::Nothing => format!(
                "it {} without sending a result",
                crate::error::describe_exit(platform::exitcode(status))
            ),
            Drained::Failure(news) => news,
            // A value nobody asked for; a panic the child printed on its stderr already.
            Drained::Quiet => return,
        };
        eprintln!(
            "multiprocessing: process {:?} (pid {}) was dropped without join; {news}",
            self.name,
            self.child.pid(),
        );
    }
}

/// What a dropped `Process` learned from its child's channel.
enum Drained {
    /// The channel closed without a message: the child died.
    Nothing,
    /// A value, or a panic (which the child printed itself): nothing to say.
    Quiet,
    /// A failure that nobody else will print (an `Err` the function returned, a result that
    /// could not be sent), said in words.
    Failure(String),
}

impl<R> From<Option<Outcome<R>>> for Drained {
    fn from(outcome: Option<Outcome<R>>) -> Self {
        match outcome {
            None => Drained::Nothing,
            Some(Outcome::Returned(_) | Outcome::Panicked { .. }) => Drained::Quiet,
            Some(Outcome::Failed(message)) => {
                Drained::Failure(format!("its function returned an error: {message}"))
            }
            Some(Outcome::Unsendable(reason) | Outcome::Refused(reason)) => {
                Drained::Failure(format!("it reported: {reason}"))
            }
        }
    }
}

/// Reads and discards whatever the child sends until it hangs up, and says what it was.
///
/// `Drop` cannot name `R`'s serde bounds, so the channel is retyped to `Outcome<()>`: postcard
/// writes the variant's index first, and a `()` in place of the value reads nothing, so every
/// variant decodes (the value's bytes are skipped) and the failures keep their text.
fn drain(results: OpaqueIpcReceiver) -> Drained {
    let raw: IpcReceiver<Outcome<()>> = results.to();
    let mut drained = Drained::Nothing;
    loop {
        match raw.recv() {
            Ok(outcome) => drained = Drained::from(Some(outcome)),
            Err(IpcError::SerializationError(_)) => drained = Drained::Quiet,
            Err(_) => return drained,
        }
    }
}

impl<R> From<Results> for Stage<R> {
    /// The stage a freshly launched child starts in.
    fn from(results: Results) -> Self {
        match results {
            Results::Connecting(report) => Stage::Connecting(report),
            Results::Open(results) => Stage::Running(results),
        }
    }
}

impl<R> std::fmt::Debug for Stage<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Connecting(_) => "Connecting",
            Stage::Running(_) => "Running",
            Stage::Reported(_) => "Reported",
            Stage::Joined => "Joined",
        })
    }
}
