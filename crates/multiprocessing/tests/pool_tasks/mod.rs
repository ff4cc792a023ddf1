//! Task functions and helpers shared by the pool's test targets (`tests/pool.rs`,
//! `tests/pool_executor.rs`). A task must be a plain function of the test binary, so each
//! behaviour a test needs (return, panic, die, hang) is one function here.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses only part of it"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use testbed::wait::{DEADLINE, wait_until};

pub fn identity(x: u64) -> u64 {
    x
}

pub fn square(x: u64) -> u64 {
    x * x
}

/// `square`, except that 0 takes half a second: one slow item at the head of an `imap`, while
/// the other worker races through the rest.
pub fn square_slow_at_zero(x: u64) -> u64 {
    if x == 0 {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    x * x
}

/// Panics for multiples of 20, so that 5 of `0..100` panic.
pub fn square_unless_multiple_of_20(x: u64) -> u64 {
    assert!(!x.is_multiple_of(20), "refusing {x}");
    x * x
}

/// Returns the worker's pid, so a test can see which worker ran a task.
pub fn worker_pid(_: u64) -> u32 {
    std::process::id()
}

/// A task that says it started (its pid, written to `path`) and then never returns: a test
/// waits for the file and kills the worker by that pid, mid-task.
pub fn report_pid_and_hang(path: PathBuf) -> u64 {
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, std::process::id().to_string()).expect("write the pid file");
    std::fs::rename(&temporary, &path).expect("publish the pid file");
    loop {
        std::thread::park();
    }
}

/// The task a test runs next to quick ones: either a number to square, or the one to kill.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Job {
    Square(u64),
    Hang(PathBuf),
}

pub fn run_job(job: Job) -> u64 {
    match job {
        Job::Square(x) => x * x,
        Job::Hang(path) => report_pid_and_hang(path),
    }
}

/// Ends its own worker with `exit(code)`.
pub fn exit_with(code: i32) -> u64 {
    std::process::exit(code)
}

/// Ends its own worker with `abort()` (SIGABRT).
pub fn abort_worker(_: u64) -> u64 {
    std::process::abort()
}

/// The first time (no `marker` file yet) it creates the marker and SIGKILLs its own worker; the
/// second time it returns 7. For the retry test.
pub fn die_once_then_answer(marker: PathBuf) -> u64 {
    if std::fs::create_dir(&marker).is_ok() {
        let me = rustix::process::getpid();
        let _ = rustix::process::kill_process(me, rustix::process::Signal::KILL);
        loop {
            std::thread::park();
        }
    }
    7
}

/// A fresh path in the temporary directory for this test (removed first if it exists).
pub fn scratch_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mp-pool-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&path);
    path
}

/// Waits until the task writing `path` has started, and returns its worker's pid.
pub fn wait_for_pid(path: &Path) -> u32 {
    wait_until("the task to write its pid", DEADLINE, || path.exists());
    let pid = std::fs::read_to_string(path).expect("read the pid file");
    let _ = std::fs::remove_file(path);
    pid.trim().parse().expect("a pid")
}

/// SIGKILLs process `pid`.
pub fn kill(pid: u32) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid is positive");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill the worker");
}

/// A short time limit for the timeout tests: the hanging task never returns, so any limit shows
/// the same thing; short keeps the test fast.
pub const SHORT_LIMIT: Duration = Duration::from_millis(300);
