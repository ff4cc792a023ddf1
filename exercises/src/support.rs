//! What checks may use to *observe* the code under test instead of sleeping: `super::support` in
//! every `check.rs`.
//!
//! A check of concurrent code often has to wait for a state: "every consumer is blocked waiting",
//! "the transfer is stuck on the second lock", "a worker process has ended". Sleeping for a while
//! and hoping the state has been reached is what makes tests flaky on a loaded machine, and it can
//! also let a wrong answer through. Linux shows the state directly: `/proc/self/task/TID/stat`
//! says whether a thread is running or asleep (blocked on a lock, a condition variable, a channel),
//! and `/proc/PID/stat` says which processes are children of which. The functions here read those
//! files and poll them under a deadline, so a check can wait for exactly the moment it needs.
//!
//! Linux only, like chapter 2's processes: elsewhere [`current_tid`] and friends return `None`, and
//! the checks that need them say so in their failure message.

use std::fs;
use std::future::Future;
use std::thread;
use std::time::{Duration, Instant};

/// Polls `done` (every millisecond at first, then every 10 ms) until it returns `true` or
/// `timeout` has passed; returns whether it did.
pub fn poll_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// The Linux id of the calling thread (from `/proc/thread-self`), or `None` off Linux.
pub fn current_tid() -> Option<u32> {
    let link = fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// The ids of this process's threads, from `/proc/self/task`.
pub fn thread_ids() -> Vec<u32> {
    numbered_entries("/proc/self/task")
}

/// The state letter of one of this process's threads (`R` running, `S` asleep waiting for
/// something, `D` in an uninterruptible wait, ...), or `None` when the thread has ended.
pub fn thread_state(tid: u32) -> Option<char> {
    state_in(&format!("/proc/self/task/{tid}/stat"))
}

/// Whether the thread is asleep waiting for something (a lock, a condition variable, a channel,
/// a sleep): state `S`. A thread that is running, runnable, or has ended is not.
pub fn is_blocked(tid: u32) -> bool {
    thread_state(tid) == Some('S')
}

/// Waits until every thread of `tids` is blocked (asleep, waiting for something) or has ended.
///
/// The ids come from [`current_tid`], called by each thread; off Linux they are `None`, nothing can
/// be seen, and this waits a fixed [`BLIND_PAUSE`] instead: the best it can do.
///
/// # Panics
///
/// When `timeout` passes first, with a message naming `what` was waited for.
pub fn wait_until_blocked(tids: &[Option<u32>], timeout: Duration, what: &str) {
    let Some(tids) = tids.iter().copied().collect::<Option<Vec<u32>>>() else {
        thread::sleep(BLIND_PAUSE);
        return;
    };
    let settled = || {
        tids.iter()
            .all(|&tid| matches!(thread_state(tid), Some('S') | None))
    };
    if !poll_until(timeout, settled) {
        let states: Vec<String> = tids
            .iter()
            .map(|&tid| format!("{tid}: {:?}", thread_state(tid)))
            .collect();
        panic!(
            "waited {timeout:?} for {what}, but the threads are still busy (thread: state, where S \
             is asleep and R running): {}",
            states.join(", ")
        );
    }
}

/// What [`wait_until_blocked`] waits where it cannot see threads.
pub const BLIND_PAUSE: Duration = Duration::from_millis(300);

/// A process related to this one: its id and its state letter (`Z` for one that has ended and
/// not been reaped yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildProcess {
    /// The process id.
    pub pid: u32,
    /// The state letter from `/proc/PID/stat`.
    pub state: char,
}

/// The processes this one started that are still there: its own children except the fork server,
/// and the fork server's children (where `multiprocessing` starts processes by default). Ended
/// ones that nobody has reaped yet are included, with state `Z`.
pub fn child_processes() -> Vec<ChildProcess> {
    let server = multiprocessing::fork_server_pid();
    let parents: Vec<u32> = std::iter::once(std::process::id()).chain(server).collect();
    numbered_entries("/proc")
        .into_iter()
        .filter(|pid| Some(*pid) != server)
        .filter_map(|pid| {
            let (parent, state) = parent_and_state(pid)?;
            parents
                .contains(&parent)
                .then_some(ChildProcess { pid, state })
        })
        .collect()
}

/// How many of [`child_processes`] have not ended.
pub fn running_children() -> usize {
    child_processes()
        .iter()
        .filter(|child| child.state != 'Z')
        .count()
}

fn numbered_entries(dir: &str) -> Vec<u32> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The state letter in a `stat` file: the first field after the parenthesised command name.
fn state_in(stat_path: &str) -> Option<char> {
    let stat = fs::read_to_string(stat_path).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// The parent pid and the state in `/proc/PID/stat` (fields 4 and 3).
fn parent_and_state(pid: u32) -> Option<(u32, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((parent, state))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_thread_waiting_on_a_channel_is_seen_blocked_and_then_gone() {
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let waiter = thread::spawn(move || {
            tid_tx.send(current_tid().expect("Linux")).unwrap();
            go_rx.recv().unwrap();
        });
        let tid = tid_rx.recv().unwrap();
        assert!(thread_ids().contains(&tid));
        assert!(
            poll_until(Duration::from_secs(10), || is_blocked(tid)),
            "the waiting thread never showed as blocked (state {:?})",
            thread_state(tid)
        );
        go_tx.send(()).unwrap();
        waiter.join().unwrap();
        assert!(
            poll_until(Duration::from_secs(10), || thread_state(tid).is_none()),
            "the joined thread is still listed"
        );
    }

    #[test]
    fn poll_until_reports_a_condition_that_never_holds() {
        assert!(!poll_until(Duration::from_millis(20), || false));
        assert!(poll_until(Duration::ZERO, || true));
    }
}

/// Runs `future` on a current-thread tokio runtime whose clock starts *paused*, and returns its
/// output.
///
/// On a paused clock, time moves only when every task is waiting on a timer: the runtime then
/// jumps straight to the next deadline. A check of timeouts and sleeps (a `timeout` of 5 s, a
/// request that must be abandoned after 1 s) therefore runs in microseconds of real time and
/// gives the same verdict on a loaded machine as on an idle one. Real I/O still takes real time,
/// and a task that blocks its thread (`std::thread::sleep`) stops the clock too, so a check can
/// use this to catch a blocking call: nothing else makes progress while it blocks.
///
/// An async check that needs the paused clock is written as a plain `pub fn check()` that calls
/// this; `pub async fn check()` runs on a real clock (see `exercises::runtime`).
///
/// # Panics
///
/// When the runtime cannot be built, or when `future` panics.
pub fn block_on_paused<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("the check's paused tokio runtime starts")
        .block_on(future)
}
