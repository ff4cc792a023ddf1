//! The little harness shared by `tests/queue.rs` and `tests/pipe.rs` (both `harness = false`).
//!
//! Tests run one after another under `catch_unwind`; a watchdog ends the run with a message if it
//! hangs (children die with the parent: `PR_SET_PDEATHSIG`); every wait in a test has its own
//! deadline; the last check is that no child process is left behind.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use multiprocessing::{Error, Process};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Generous: the machine may be busy. A wait that takes this long has hung.
pub const DEADLINE: Duration = Duration::from_secs(30);
const WHOLE_RUN_DEADLINE: Duration = Duration::from_secs(240);

/// Runs the tests, prints libtest-like lines, exits 1 on a failure.
pub fn run(tests: &[(&str, fn())]) {
    let (finished, watch) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(WHOLE_RUN_DEADLINE) {
            eprintln!("watchdog: the tests did not finish within {WHOLE_RUN_DEADLINE:?}");
            std::process::exit(2);
        }
    });
    let mut failed = Vec::new();
    for (name, test) in tests {
        let started = Instant::now();
        match panic::catch_unwind(AssertUnwindSafe(test)) {
            Ok(()) => println!("test {name} ... ok ({:.0?})", started.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let leftovers = children_of(std::process::id());
    drop(finished);
    if !leftovers.is_empty() {
        println!("FAILED: processes left behind: {leftovers:?}");
        failed.push("no_process_left_behind");
    }
    if failed.is_empty() {
        println!("test result: ok. {} passed", tests.len());
    } else {
        println!("test result: FAILED. failures: {failed:?}");
        std::process::exit(1);
    }
}

/// Joins with a deadline; running into it kills the child and fails the test.
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

/// Pids whose parent is `pid` (from `/proc/*/stat`).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|candidate| parent_of(*candidate) == Some(pid))
        .collect()
}

/// The parent pid in `/proc/PID/stat` (the 4th field, after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}
