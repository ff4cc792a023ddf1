//! The spawn method, the parent's side: start the program again from one long-lived thread, and
//! finish the start-up conversation on a watcher thread so that `spawn` returns at once, like
//! Python's `start()`. (The fork server is itself started this way, once.)
//!
//! # One thread starts every re-executed process
//!
//! Children ask the kernel to kill them when their parent dies (`PR_SET_PDEATHSIG`, see
//! `platform`). For the kernel, the "parent" is the *thread* that forked the child, not the whole
//! process. If a child were started from a short-lived thread (a worker of a thread pool, a test's
//! thread, a scoped thread), the child would be killed the moment that thread finished, while the
//! parent process carries on. So every `fork`/`exec` happens on one thread that the crate starts
//! on first use and that lives as long as the process: requests go to it over a channel and the
//! started `Child` comes back ([`exec`]). The cost is one channel round trip per spawn
//! (microseconds); the start-up of the child itself takes far longer.
//!
//! # Why the watcher, and not a wait in `spawn`
//!
//! Starting a process takes about a millisecond of the child's own work (the kernel loads the
//! program, the runtime starts, the child connects back), and on a machine whose cores are busy,
//! with the children started a moment earlier for instance, every one of the hand-overs in that
//! conversation waits for a free core. A `spawn` that waited for the child would start four
//! children one after another, several milliseconds each; a `spawn` that returns once the OS has
//! started the child lets them start side by side.
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
//!    into an error with the child's exit status ([`StartFailure::into_error`]).

use std::io;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcOneShotServer, IpcReceiver, IpcSender, OpaqueIpcReceiver};
use serde::{Deserialize, Serialize};

use super::protocol::{EXIT_BOOTSTRAP_FAILED, EXIT_ORPHANED, Hello};
use super::started::Started;
use crate::Error;
use crate::platform::{self, ExitProbe, StopSignal};

/// How often the watcher checks for a child that died during start-up.
const START_POLL: Duration = Duration::from_millis(5);

struct ExecRequest {
    command: Command,
    reply: mpsc::SyncSender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Result<mpsc::Sender<ExecRequest>, String>> = OnceLock::new();

/// Starts `command` on the spawner thread and returns the running child.
pub(crate) fn exec(command: Command) -> io::Result<Child> {
    let requests = SPAWNER
        .get_or_init(start_spawner_thread)
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))?;
    let (reply, replies) = mpsc::sync_channel(1);
    requests.send(ExecRequest { command, reply }).map_err(|_| {
        io::Error::other("the multiprocessing spawner thread has stopped")
    })?;
    replies
        .recv()
        .map_err(|_| io::Error::other("the multiprocessing spawner thread has stopped"))?
}

// ANCHOR: spawner
fn start_spawner_thread() -> Result<mpsc::Sender<ExecRequest>, String> {
    let (requests, incoming) = mpsc::channel::<ExecRequest>();
    std::thread::Builder::new()
        .name("multiprocessing-spawner".into())
        .spawn(move || {
            // The sender lives in a static, so this loop ends only when the process does.
            for mut request in incoming {
                let _ = request.reply.send(request.command.spawn());
            }
        })
        .map_err(|e| format!("cannot start the multiprocessing spawner thread: {e}"))?;
    Ok(requests)
}
// ANCHOR_END: spawner

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

impl StartFailure {
    /// The error `join` returns for a child that never ran its function. Kills the child if it
    /// still runs (it hung, or connected wrongly), and reaps it: its exit status is part of the
    /// error.
    pub(crate) fn into_error(self, child: &mut Started) -> Error {
        if !matches!(self, StartFailure::ExitedEarly) {
            let _ = child.signal(StopSignal::Kill);
        }
        let exitcode = child.wait().map(platform::exitcode).unwrap_or(-1);
        match self {
            StartFailure::ExitedEarly if exitcode < 0 => Error::Died { exitcode },
            StartFailure::ExitedEarly => exited_during_start_up(child.pid(), exitcode),
            StartFailure::TimedOut(timeout) => Error::Timeout(format!(
                "child process {} to connect back within {timeout:?} (is \
                 multiprocessing::init() the first line of its main()?)",
                child.pid()
            )),
            StartFailure::Other(reason) => Error::Bootstrap(reason),
        }
    }
}

/// The error for a spawned child that exited before it connected, with a hint from its code.
pub(crate) fn exited_during_start_up(pid: u32, exitcode: i32) -> Error {
    let hint = match exitcode {
        EXIT_BOOTSTRAP_FAILED => " (its stderr says why)",
        EXIT_ORPHANED => " (it found its parent gone)",
        _ => " (does its main() call multiprocessing::init() first?)",
    };
    Error::Bootstrap(format!(
        "child process {pid} {} before connecting to its parent{hint}",
        crate::error::describe_exit(exitcode)
    ))
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
        .map_err(|e| {
            StartFailure::Other(format!("cannot start the accept thread: {e}"))
        })?;
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
pub(crate) fn receive(
    report: &StartReport,
    deadline: Option<Instant>,
) -> Option<StartResult> {
    let received = match deadline {
        None => report
            .recv()
            .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        Some(deadline) => {
            report.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        }
    };
    match received {
        Ok(result) => Some(result),
        Err(mpsc::RecvTimeoutError::Timeout) => None,
        Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(StartFailure::Other(
            "the start-up watcher stopped without a report".into(),
        ))),
    }
}
