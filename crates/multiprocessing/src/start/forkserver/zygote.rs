//! The fork server's own side: start-up, the request loop, the fork, and a forked child's first
//! steps before it joins the common path (`child::run_instructions`).
//!
//! **This module has `unsafe` code** (one of the crate's three such modules), for three things
//! Rust cannot check:
//!
//! - **`fork()`.** Sound here because the server has exactly one thread: it checks that at
//!   start-up (`/proc/self/task` has one entry) and never starts one. So the copy is complete: no
//!   lock in it can be held by a thread that does not exist in the copy.
//! - **Changing an environment variable** (`set_var`, `remove_var`). Unsound only while another
//!   thread could read the environment; the server and a freshly forked child have one thread.
//! - **Signal dispositions** (`SIG_IGN`, `SIG_DFL` for SIGINT): no handler code runs, so there is
//!   nothing to get wrong in a handler.
//!
//! The server's loop waits on one [`IpcReceiverSet`]: the parent's requests, and one *sentinel*
//! channel per child. A child holds the only sender of its sentinel, so the channel closes when the
//! child exits (the kernel closes its files), and the server then reaps it with `waitpid` and
//! reports the status. Python's forkserver watches its children the same way (a pipe per child).

#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::Duration;

use ipc_channel::TrySelectError;
use ipc_channel::ipc::{
    self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender, OpaqueIpcReceiver,
    OpaqueIpcSender,
};
use rustix::fd::OwnedFd;
use rustix::process::{Pid, Signal, WaitOptions};

use super::{Event, FORKSERVER_ENV, ForkRequest, Greeting, Request};
use crate::platform::{self, StopSignal};
use crate::start::child;
use crate::start::protocol::{BootstrapSpec, EXIT_BOOTSTRAP_FAILED, EXIT_ORPHANED};

/// How often the server looks again at a child whose sentinel closed but which has not exited
/// (it replaced itself with another program through `exec`, which closes the sentinel).
const LINGER_POLL: Duration = Duration::from_millis(10);

/// How long the server waits for a child whose sentinel just closed to finish exiting (the kernel
/// closes a process's files a moment before it becomes a zombie that can be reaped).
const EXIT_GRACE: Duration = Duration::from_millis(1);

/// `init()` in a process started with [`FORKSERVER_ENV`]: become the fork server and never return.
/// Returns only if the variable was not meant for this program (inherited by another executable).
pub(crate) fn zygote_main(value: OsString) {
    let spec = match BootstrapSpec::parse(FORKSERVER_ENV, value) {
        Ok(spec) if spec.is_for_this_executable() => spec,
        Ok(_) => return,
        Err(problem) => {
            eprintln!("multiprocessing: ignoring {problem}");
            return;
        }
    };
    match platform::die_with_parent(spec.parent_pid) {
        Ok(true) => {}
        Ok(false) => std::process::exit(EXIT_ORPHANED),
        Err(problem) => greet_and_exit(&spec, Greeting::Refused(problem)),
    }
    if let Err(problem) = ensure_single_threaded() {
        greet_and_exit(&spec, Greeting::Refused(problem));
    }
    prepare();
    let (requests, requests_rx) = match ipc::channel::<Request>() {
        Ok(channel) => channel,
        Err(e) => greet_and_exit(&spec, Greeting::Refused(format!("no channel: {e}"))),
    };
    let mut server = match Zygote::new(requests_rx) {
        Ok(server) => server,
        Err(e) => {
            greet_and_exit(&spec, Greeting::Refused(format!("no receiver set: {e}")))
        }
    };
    if greet(
        &spec,
        Greeting::Ready {
            pid: std::process::id(),
            requests,
        },
    )
    .is_err()
    {
        std::process::exit(EXIT_BOOTSTRAP_FAILED);
    }
    match server.serve() {
        Served::ParentGone => std::process::exit(0),
        Served::Failed(problem) => {
            eprintln!("multiprocessing: the fork server stops: {problem}");
            std::process::exit(EXIT_BOOTSTRAP_FAILED)
        }
        Served::InChild(child) => {
            // We are a fresh child: the server's channels are not ours to keep.
            drop(server);
            child.run()
        }
    }
}

fn greet(spec: &BootstrapSpec, greeting: Greeting) -> Result<(), String> {
    let sender = IpcSender::<Greeting>::connect(spec.server_name.clone())
        .map_err(|e| format!("cannot connect to the parent: {e}"))?;
    sender.send(greeting).map_err(|e| e.to_string())
}

fn greet_and_exit(spec: &BootstrapSpec, greeting: Greeting) -> ! {
    let _ = greet(spec, greeting);
    std::process::exit(EXIT_BOOTSTRAP_FAILED)
}

/// `fork` is only sound in a process with one thread (see the module docs).
// ANCHOR: single_threaded
fn ensure_single_threaded() -> Result<(), String> {
    let threads = std::fs::read_dir("/proc/self/task")
        .map_err(|e| format!("cannot count threads in /proc/self/task: {e}"))?
        .count();
    if threads == 1 {
        Ok(())
    } else {
        Err(format!(
            "main() had started {} other thread(s) before it called \
             multiprocessing::init() (an async runtime's #[main] does), and forking a \
             process with several threads is not safe; call init() first, before \
             anything starts threads",
            threads - 1
        ))
    }
}
// ANCHOR_END: single_threaded

/// Everything the server does once, so that each child does not.
fn prepare() {
    platform::name_after_program();
    // SAFETY: SIG_IGN installs no handler; the server has one thread (checked just before).
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    // SAFETY: one thread (checked just before), so nothing reads the environment meanwhile.
    unsafe { std::env::remove_var(FORKSERVER_ENV) };
    // Computed once here, inherited by every child: the child checks its instructions against
    // them without reading /proc/self/maps again.
    let _ = crate::start::fnid::Fingerprint::current();
    let _ = platform::exe_code_ranges();
}

/// How the loop ended.
enum Served {
    /// The parent's requests channel closed: the parent has exited.
    ParentGone,
    /// Something the server cannot go on without failed.
    Failed(String),
    /// We are in a child that was just forked.
    InChild(ForkedChildStart),
}

struct Zygote {
    pid: u32,
    set: IpcReceiverSet,
    /// The receiver set's id of the parent's requests channel.
    requests: u64,
    /// Children not yet reaped, by the parent's number for them.
    children: HashMap<u64, Child>,
    /// Receiver-set id of each child's sentinel → the child's number.
    sentinels: HashMap<u64, u64>,
    /// Children whose sentinel closed, waiting to be reaped.
    exiting: Vec<u64>,
}

struct Child {
    pid: Pid,
    /// A handle for waiting on this very process (none on kernels older than 5.3).
    pidfd: Option<OwnedFd>,
    events: IpcSender<Event>,
}

impl Zygote {
    fn new(requests: IpcReceiver<Request>) -> std::io::Result<Zygote> {
        let mut set = IpcReceiverSet::new()?;
        let requests = set.add(requests)?;
        Ok(Zygote {
            pid: std::process::id(),
            set,
            requests,
            children: HashMap::new(),
            sentinels: HashMap::new(),
            exiting: Vec::new(),
        })
    }

    fn serve(&mut self) -> Served {
        loop {
            let selected = if self.exiting.is_empty() {
                self.set.select()
            } else {
                match self.set.try_select_timeout(LINGER_POLL) {
                    Err(TrySelectError::Empty) => Ok(Vec::new()),
                    Err(TrySelectError::IoError(e)) => Err(e),
                    Ok(selected) => Ok(selected),
                }
            };
            let selected = match selected {
                Ok(selected) => selected,
                Err(e) => {
                    return Served::Failed(format!("waiting for requests failed: {e}"));
                }
            };
            let mut selected = selected.into_iter();
            while let Some(result) = selected.next() {
                match result {
                    IpcSelectionResult::MessageReceived(id, message)
                        if id == self.requests =>
                    {
                        match message.to::<Request>() {
                            Ok(Request::Fork(request)) => {
                                if let Some(child) = self.fork(request) {
                                    // The rest of this batch is the server's business. Decoding
                                    // the requests turns the channel ends they carry into values
                                    // that close when dropped (an undecoded one would leak).
                                    for rest in selected {
                                        if let IpcSelectionResult::MessageReceived(_, m) =
                                            rest
                                        {
                                            let _ = m.to::<Request>();
                                        }
                                    }
                                    return Served::InChild(child);
                                }
                            }
                            Ok(Request::Signal { child, signal }) => {
                                self.signal(child, signal)
                            }
                            Err(e) => eprintln!(
                                "multiprocessing: fork server: bad request: {e}"
                            ),
                        }
                    }
                    IpcSelectionResult::ChannelClosed(id) if id == self.requests => {
                        return Served::ParentGone;
                    }
                    IpcSelectionResult::ChannelClosed(id) => {
                        if let Some(child) = self.sentinels.remove(&id) {
                            self.exiting.push(child);
                        }
                    }
                    // Sentinels carry no messages.
                    IpcSelectionResult::MessageReceived(..) => {}
                }
            }
            self.reap();
        }
    }

    /// Forks one child. Returns `Some` in the child, `None` in the server.
    fn fork(&mut self, request: ForkRequest) -> Option<ForkedChildStart> {
        let ForkRequest {
            child: number,
            env,
            instructions,
            to_parent,
            events,
        } = request;
        let (sentinel, sentinel_rx) = match ipc::channel::<()>() {
            Ok(channel) => channel,
            Err(e) => {
                let _ =
                    events.send(Event::ForkFailed(format!("no sentinel channel: {e}")));
                return None;
            }
        };
        // ANCHOR: fork
        // SAFETY: this process has exactly one thread (see the module docs), so the child
        // is a complete copy and may go on running Rust code, allocating included.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // The child: `events` and `sentinel_rx` are the server's; they close as we
            // return.
            return Some(ForkedChildStart {
                server_pid: self.pid,
                env,
                instructions,
                to_parent,
                sentinel,
            });
        }
        // ANCHOR_END: fork
        drop((sentinel, instructions, to_parent));
        if pid < 0 {
            let error = std::io::Error::last_os_error();
            let _ = events.send(Event::ForkFailed(format!("fork failed: {error}")));
            return None;
        }
        let pid = Pid::from_raw(pid).expect("fork returned a positive pid");
        match self.set.add(sentinel_rx) {
            Ok(id) => {
                self.sentinels.insert(id, number);
            }
            Err(e) => {
                // Without its sentinel we would never notice its exit: do not let it run.
                let _ = rustix::process::kill_process(pid, Signal::KILL);
                let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
                let _ = events
                    .send(Event::ForkFailed(format!("cannot watch the child: {e}")));
                return None;
            }
        }
        let pidfd = platform::pidfd_for(pid);
        let _ = events.send(Event::Forked {
            pid: pid.as_raw_nonzero().get() as u32,
        });
        self.children.insert(number, Child { pid, pidfd, events });
        None
    }

    /// Signals a child that has not been reaped: its pid is still its own.
    fn signal(&self, number: u64, signal: StopSignal) {
        let Some(child) = self.children.get(&number) else {
            return; // already reaped: nothing to stop
        };
        let _ =
            platform::send_signal(child.pidfd.as_ref(), child.pid, signal.to_signal());
    }

    /// Reaps the children whose sentinel closed and reports their status; keeps those that have
    /// not exited yet for the next round.
    fn reap(&mut self) {
        let exiting = std::mem::take(&mut self.exiting);
        for number in exiting {
            let Some(child) = self.children.get(&number) else {
                continue;
            };
            match reap_soon(child) {
                Some(wait_status) => {
                    let child = self.children.remove(&number).expect("looked up above");
                    let _ = child.events.send(Event::Exited { wait_status });
                }
                None => self.exiting.push(number),
            }
        }
    }
}

/// Reaps `child` if it has exited or does so within [`EXIT_GRACE`]; its raw wait status.
fn reap_soon(child: &Child) -> Option<i32> {
    if let Some(status) = try_reap(child.pid) {
        return Some(status);
    }
    if let Some(pidfd) = &child.pidfd {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        let grace = Timespec::try_from(EXIT_GRACE).expect("a millisecond fits");
        let _ = poll(&mut fds, Some(&grace));
    }
    try_reap(child.pid)
}

fn try_reap(pid: Pid) -> Option<i32> {
    match rustix::process::waitpid(Some(pid), WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Some(status.as_raw()),
        Ok(None) => None,
        // Not our child any more (cannot happen: we are its only reaper): report it as killed
        // rather than wait forever.
        Err(_) => Some(libc::SIGKILL),
    }
}

/// What a freshly forked child needs to become the parent's child process.
struct ForkedChildStart {
    server_pid: u32,
    env: Vec<(OsString, OsString)>,
    instructions: OpaqueIpcReceiver,
    to_parent: OpaqueIpcSender,
    sentinel: IpcSender<()>,
}

impl ForkedChildStart {
    fn run(self) -> ! {
        let ForkedChildStart {
            server_pid,
            env,
            instructions,
            to_parent,
            sentinel,
        } = self;
        // SAFETY: SIG_DFL installs no handler. The server ignores SIGINT; its children must not.
        unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
        match platform::die_with_parent(server_pid) {
            Ok(true) => {}
            Ok(false) => std::process::exit(EXIT_ORPHANED),
            Err(problem) => child::exit_child(Err(problem)),
        }
        for (key, value) in env {
            // SAFETY: a fork of the single-threaded server that has started no thread yet, so
            // nothing reads the environment meanwhile.
            unsafe { std::env::set_var(key, value) };
        }
        #[cfg(feature = "test-hooks")]
        crate::start::test_hook::before_connect();
        let result = child::run_instructions(instructions.to(), to_parent);
        // `exit_child` ends the process without running destructors, so the sentinel stays open
        // until the kernel closes it at the exit, which is how the server learns of it.
        let _sentinel = sentinel;
        child::exit_child(result)
    }
}
