//! The parent's side of a child's start-up, done on a thread of its own so that `spawn` returns at
//! once, like Python's `start()`.
//!
//! Why not wait in `spawn`: starting a process takes about a millisecond of the child's own work
//! (the kernel loads the program, the runtime starts, the child connects back), and on a machine
//! whose cores are busy, with the children started a moment earlier for instance, every one of the
//! hand-overs in that conversation waits for a free core. A `spawn` that waited for the child would
//! start four children one after another, several milliseconds each; a `spawn` that returns once
//! the OS has started the child lets them start side by side.
//!
//! So `spawn` only starts the child and hands this watcher what the child needs:
//!
//! 1. The parent makes the child's *instructions* channel itself and writes the header (which
//!    function, which name, the executable's fingerprint) and the argument into it right away: a
//!    value that cannot be serialized is still an error *from `spawn`*.
//! 2. The watcher waits for the child to connect to the one-shot server, then sends the child the
//!    receiving end of the instructions channel, and reports the child→parent channel to `join`.
//! 3. A child that dies before it connects would leave `accept()` blocked forever. So `accept`
//!    runs on yet another thread that the watcher can abandon: the watcher waits for its answer in
//!    slices of a few milliseconds, and between slices checks whether the child has exited or the
//!    start-up deadline has passed. If so, it wakes the abandoned `accept` by connecting to its own
//!    socket and sending `Hello::Abandon`, drops the instructions channel (which also unblocks a
//!    `spawn` still writing a large argument into it), and reports the failure; `join` turns it
//!    into an error with the child's exit status.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcOneShotServer, IpcReceiver, IpcSender, OpaqueIpcReceiver};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::bootstrap::Hello;
use crate::platform::ExitProbe;

/// How often the watcher checks for a child that died during start-up.
const START_POLL: Duration = Duration::from_millis(5);

/// Why a child never got to run its function.
#[derive(Debug)]
pub(crate) enum StartFailure {
    /// It exited (or was killed) before it connected back.
    ExitedEarly,
    /// It did not connect back within the start-up deadline.
    TimedOut(Duration),
    /// Anything else, said in words.
    Other(String),
}

/// What the watcher reports: the channel the child's outcome will arrive on, or why there is none.
pub(crate) type StartResult = Result<OpaqueIpcReceiver, StartFailure>;

/// Where the watcher's report arrives.
pub(crate) type StartReport = mpsc::Receiver<StartResult>;

/// Everything the watcher needs about one child.
pub(crate) struct Start {
    pub(crate) server: IpcOneShotServer<Hello>,
    pub(crate) server_name: String,
    /// The receiving end of the child's instructions channel, to hand over once it connects.
    pub(crate) instructions: OpaqueIpcReceiver,
    pub(crate) pid: u32,
    pub(crate) probe: ExitProbe,
    pub(crate) timeout: Duration,
}

/// Starts the watcher thread for one child.
pub(crate) fn watch(start: Start) -> Result<StartReport, Error> {
    let (report, reports) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("multiprocessing-start".into())
        .spawn(move || {
            let _ = report.send(run(start));
        })
        .map_err(Error::Spawn)?;
    Ok(reports)
}

fn run(start: Start) -> StartResult {
    let Start {
        server,
        server_name,
        instructions,
        pid,
        probe,
        timeout,
    } = start;
    let (receiver, hello) = accept_within(
        server,
        &server_name,
        timeout,
        || probe.has_exited(),
        Hello::Abandon,
    )?;
    match hello {
        Hello::Child {
            pid: greeter,
            to_child,
        } if greeter == pid => {
            let to_child: IpcSender<OpaqueIpcReceiver> = to_child.to();
            match to_child.send(instructions) {
                Ok(()) => Ok(receiver.to_opaque()),
                Err(_) if probe.has_exited() => Err(StartFailure::ExitedEarly),
                Err(e) => Err(StartFailure::Other(format!(
                    "could not hand child {pid} its instructions: {e}"
                ))),
            }
        }
        // The socket sits in a private directory, so only a process of the same user could get
        // here; still, never hand our child's function to someone else.
        Hello::Child { pid: greeter, .. } => Err(StartFailure::Other(format!(
            "process {greeter} connected instead of the child {pid}"
        ))),
        Hello::Abandon => Err(StartFailure::Other("start-up was abandoned".into())),
    }
}

/// Waits for the first connection to `server` and its first message, but gives up when
/// `has_exited()` says the process that should connect is gone, or when `timeout` has passed.
///
/// `accept` itself cannot be given a timeout, so it runs on a thread of its own that this function
/// can abandon: it waits for that thread's answer in slices of [`START_POLL`], checking in between.
/// Giving up, it wakes the abandoned `accept` by connecting to the socket itself and sending
/// `abandon`, so the thread finishes instead of blocking for the rest of the program.
pub(crate) fn accept_within<T>(
    server: IpcOneShotServer<T>,
    server_name: &str,
    timeout: Duration,
    mut has_exited: impl FnMut() -> bool,
    abandon: T,
) -> Result<(IpcReceiver<T>, T), StartFailure>
where
    T: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    let (accepted, accepts) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("multiprocessing-accept".into())
        .spawn(move || {
            let _ = accepted.send(server.accept());
        })
        .map_err(|e| StartFailure::Other(format!("cannot start the accept thread: {e}")))?;
    let deadline = Instant::now() + timeout;
    loop {
        match accepts.recv_timeout(START_POLL) {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(_)) if has_exited() => return Err(StartFailure::ExitedEarly),
            Ok(Err(error)) => {
                return Err(StartFailure::Other(format!(
                    "the new process connected but did not greet: {error}"
                )));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(StartFailure::Other("the accept thread stopped".into()));
            }
        }
        let failure = if has_exited() {
            StartFailure::ExitedEarly
        } else if Instant::now() >= deadline {
            StartFailure::TimedOut(timeout)
        } else {
            continue;
        };
        if let Ok(sender) = IpcSender::<T>::connect(server_name.to_string()) {
            let _ = sender.send(abandon);
        }
        return Err(failure);
    }
}

/// Receives the watcher's report, waiting at most until `deadline` (`None`: no limit).
/// `None` means the child is still starting.
pub(crate) fn receive(report: &StartReport, deadline: Option<Instant>) -> Option<StartResult> {
    let received = match deadline {
        None => report
            .recv()
            .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        Some(deadline) => report.recv_timeout(deadline.saturating_duration_since(Instant::now())),
    };
    match received {
        Ok(result) => Some(result),
        Err(mpsc::RecvTimeoutError::Timeout) => None,
        Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(StartFailure::Other(
            "the start-up watcher stopped without a report".into(),
        ))),
    }
}
