//! The test runner shared by this crate's test targets, which spawn processes.
//!
//! libtest cannot run a test binary as a child process (the child would run the tests again), so
//! these targets are `harness = false` and have their own `main`: it calls
//! `multiprocessing::init()` first, then [`run`] hands the tests to `libtest-mimic`, which parses
//! the usual flags (`--list`, `--exact`, `--skip`, `--ignored`, a name filter, `--format`) and
//! prints libtest's report. Around each test this module adds two things libtest does not have:
//!
//! - **a watchdog**: a test that runs past its deadline ends the whole binary with a message that
//!   names it (its children die with the binary, through `PR_SET_PDEATHSIG`);
//! - **a final check** that no child of the test process is left behind.
//!
//! The tests run **one at a time, on the main thread**. They share one fork server (some of them
//! kill it on purpose, or send it SIGINT) and count this process's children, so two at once would
//! see each other's processes. (Threads would not break the parent-death signal: the crate starts
//! every child from one long-lived thread of its own, whichever thread asks; see `start/spawn.rs`.)
//! A `--test-threads` other than 1 is therefore overridden, with a note.
//!
//! Inside a test, every wait has a deadline of its own: [`join`] and [`recv`] here,
//! `testbed::wait::{within, wait_until}` for the rest, all failing with a message that names what
//! was waited for.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses only part of it"
)]

use std::io::Read;
use std::process::{Command, ExitCode, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcReceiver;
use libtest_mimic::{Arguments, Completion, Trial};
use multiprocessing::{Error, Process};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The workspace's deadline for one wait, re-exported for the tests that import it from here.
pub use testbed::wait::DEADLINE;

/// How long one whole test may take before the watchdog ends the run.
pub const TEST_DEADLINE: Duration = Duration::from_secs(120);

/// A named test.
pub type Test = (&'static str, fn());

/// The list of tests for [`run`], each named after its function: `tests![first, second]`.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), $name as fn())),*]
    };
}

/// Runs `tests` (each within `deadline`) as libtest would, then checks that no process is left.
pub fn run(tests: &[Test], deadline: Duration) -> ExitCode {
    run_trials(tests, Needs::Nothing, deadline)
}

/// Like [`run`], for tests that need the crate's `test-hooks` feature. Without the feature they
/// are listed and reported as ignored, with the reason, so that a run of
/// `cargo test -p multiprocessing` says what it did not test instead of skipping it silently.
pub fn run_needing_hooks(tests: &[Test], deadline: Duration) -> ExitCode {
    run_trials(tests, Needs::TestHooks, deadline)
}

/// What a list of tests needs to run.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Nothing,
    TestHooks,
}

const HOOKS_MISSING: &str = "needs the test-hooks feature";

fn run_trials(tests: &[Test], needs: Needs, deadline: Duration) -> ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_some_and(|threads| threads != 1) {
        eprintln!(
            "note: these tests run one at a time (see tests/support); --test-threads ignored"
        );
    }
    args.test_threads = Some(1);
    let runnable = needs == Needs::Nothing || cfg!(feature = "test-hooks");
    if !runnable && !args.list {
        eprintln!(
            "note: the tests of this target need the test-hooks feature; run them with \
             `cargo test -p multiprocessing --features test-hooks` (`cargo test --workspace` \
             turns it on)"
        );
    }
    let watchdog = Watchdog::start(deadline);
    let trials = tests
        .iter()
        .map(|&(name, test)| {
            if !runnable {
                return Trial::ignorable_test(name, || Ok(Completion::ignored_with(HOOKS_MISSING)));
            }
            let watchdog = watchdog.clone();
            Trial::test(name, move || {
                let _watched = watchdog.watch(name);
                test();
                Ok(())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if args.list {
        return ExitCode::SUCCESS;
    }
    let leftovers = leftover_processes();
    if !leftovers.is_empty() {
        println!("FAILED: the tests left these processes behind: {leftovers:?}");
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}

/// Ends the run when one test takes longer than the deadline, naming the test. Tests tell it
/// when they start and end; it sleeps on that channel until the running test's deadline.
#[derive(Clone)]
struct Watchdog {
    events: mpsc::Sender<Option<&'static str>>,
}

impl Watchdog {
    fn start(deadline: Duration) -> Watchdog {
        let (events, incoming) = mpsc::channel::<Option<&'static str>>();
        std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(move || watch_over(incoming, deadline))
            .expect("start the test watchdog");
        Watchdog { events }
    }

    /// Watches the test `name` until the returned guard is dropped (when the test returns or
    /// its panic unwinds).
    fn watch(&self, name: &'static str) -> Watched {
        let _ = self.events.send(Some(name));
        Watched {
            events: self.events.clone(),
        }
    }
}

struct Watched {
    events: mpsc::Sender<Option<&'static str>>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.events.send(None);
    }
}

fn watch_over(incoming: mpsc::Receiver<Option<&'static str>>, deadline: Duration) {
    let mut running: Option<(&'static str, Instant)> = None;
    loop {
        let event = match running {
            None => incoming
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some((_, until)) => {
                incoming.recv_timeout(until.saturating_duration_since(Instant::now()))
            }
        };
        match event {
            Ok(Some(name)) => running = Some((name, Instant::now() + deadline)),
            Ok(None) => running = None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let (name, _) = running.expect("a deadline only while a test runs");
                eprintln!(
                    "\ntest {name} did not finish within {deadline:?}: ending the run (a deadlock?)"
                );
                std::process::exit(101);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Joins with [`DEADLINE`]; running into it kills the child and fails the test.
pub fn join<R>(mut process: Process<R>) -> Result<R, Error>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    match process.join_timeout(DEADLINE) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => {
            let _ = process.kill();
            panic!(
                "child {} did not finish within {DEADLINE:?}",
                process.name()
            );
        }
        Err(error) => Err(error),
    }
}

/// Receives with [`DEADLINE`], naming what was expected.
pub fn recv<T>(receiver: &IpcReceiver<T>, what: &str) -> T
where
    T: Serialize + DeserializeOwned,
{
    receiver
        .try_recv_timeout(DEADLINE)
        .unwrap_or_else(|e| panic!("waiting for {what}: {e:?}"))
}

/// Runs this test binary again as a plain program (not a `multiprocessing` child), with `env`
/// set and `args`, and returns what it printed and how it exited. For tests of what a whole run
/// does: the runner's flags, output on stderr. Kills it, and fails, after [`DEADLINE`].
pub fn run_this_binary(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run this binary again");
    let readers = [
        read_all(child.stdout.take().expect("piped")),
        read_all(child.stderr.take().expect("piped")),
    ];
    let give_up = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the run") {
            break status;
        }
        if Instant::now() >= give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run with {env:?} {args:?} did not end within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let [stdout, stderr] = readers.map(|reader| reader.join().expect("read the output"));
    Output {
        status,
        stdout,
        stderr,
    }
}

fn read_all(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

/// Our children and the fork server's children, but not the fork server itself (it lives as long
/// as this process, by design).
pub fn leftover_processes() -> Vec<u32> {
    let server = multiprocessing::fork_server_pid();
    let mut leftovers: Vec<u32> = children_of(std::process::id())
        .into_iter()
        .filter(|&pid| Some(pid) != server)
        .collect();
    if let Some(server) = server {
        leftovers.extend(children_of(server));
    }
    leftovers
}

/// Whether `pid` still runs: it has a `/proc` entry that is not a zombie.
pub fn is_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rfind(')').and_then(|i| stat[i + 2..].chars().next());
    !matches!(state, Some('Z') | Some('X') | None)
}

/// Sends `signal` to `pid`: for processes no `Process` handle of ours can reach (a grandchild,
/// the fork server), or to play the terminal's part (SIGINT).
pub fn send_signal(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a real pid");
    rustix::process::kill_process(pid, signal).expect("send the signal");
}

/// The pids whose parent is `pid`, from `/proc` (Linux).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| parent_of(child) == Some(pid))
        .collect()
}

/// Field 4 of `/proc/PID/stat`, read after the `)` that ends the command name.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(1)?.parse().ok()
}
