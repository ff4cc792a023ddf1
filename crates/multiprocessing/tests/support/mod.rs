//! The test runner shared by this crate's test targets, which spawn processes.
//!
//! libtest cannot run a test binary as a child process (the child would run the tests again), so
//! these targets are `harness = false` and have their own `main`: it calls
//! `multiprocessing::init()` first, then [`run`] runs each test function in turn under
//! `catch_unwind` and a watchdog. A test that runs past its deadline ends the whole binary with a
//! message naming the test; its children die with it (`PR_SET_PDEATHSIG`). The last check is that
//! no child of the test process is left behind. Arguments that are not flags filter tests by name,
//! as with libtest: `cargo test -p multiprocessing --test sync -- barrier`.
//!
//! Inside a test, every wait has a deadline of its own: [`join`], [`recv`] and [`wait_until`]
//! fail the test with a message naming what was being waited for.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses only part of it"
)]

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcReceiver;
use multiprocessing::{Error, Process};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long one wait inside a test may take. Generous, because the machine may be busy: a wait
/// that takes this long has hung.
pub const DEADLINE: Duration = Duration::from_secs(30);

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

/// Runs `tests` (each within `deadline`) and reports like libtest.
pub fn run(tests: &[Test], deadline: Duration) -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    let current = Arc::new(Mutex::new(("", Instant::now())));
    start_watchdog(current.clone(), deadline);
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in selected {
        *current.lock().unwrap() = (name, Instant::now());
        let started = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(test));
        match outcome {
            Ok(()) => println!("test {name} ... ok ({:.0?})", started.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    *current.lock().unwrap() = ("", Instant::now());
    let leftovers = leftover_processes();
    if !leftovers.is_empty() {
        println!("FAILED: processes left behind: {leftovers:?}");
        failed.push("no_process_left_behind");
    }
    if failed.is_empty() {
        println!("\ntest result: ok. all selected tests passed");
        ExitCode::SUCCESS
    } else {
        println!("\ntest result: FAILED. failures: {failed:?}");
        ExitCode::FAILURE
    }
}

fn start_watchdog(current: Arc<Mutex<(&'static str, Instant)>>, deadline: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let (name, started) = *current.lock().unwrap();
            if !name.is_empty() && started.elapsed() > deadline {
                eprintln!("test {name} did not finish within {deadline:?}: giving up (deadlock?)");
                std::process::exit(101);
            }
        }
    });
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

/// Waits until `condition` holds, checking every millisecond, or panics after `deadline` naming
/// `what`. For state that has no notification to wait on (a barrier's `n_waiting`).
pub fn wait_until(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
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
