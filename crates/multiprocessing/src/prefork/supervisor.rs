//! The parent's side: start N workers, hand each the listener, replace one that dies, and stop
//! them all within a deadline.
//!
//! The supervisor is one thread that waits in `poll` on every worker's control channel and on a
//! wake-up socket of its own. A worker's channel becomes readable only when the worker is gone
//! (a worker never writes to it), so a crash is noticed the moment the kernel closes the dead
//! process's descriptors: no timer, no polling of process states. The dead worker is reaped (its
//! exit status goes to the log), and a new one is started in its slot and given the listener.
//! If starting fails, the slot stays empty and is tried again after [`RETRY_AFTER`], so a worker
//! that crashes at once cannot make the supervisor spin.
//!
//! Shutdown is the wake-up socket: the handle shuts down its end, the supervisor stops
//! replacing, closes its own copy of the listener, tells every worker to stop (shutting down the
//! write side of each control channel: each worker then closes its copy), and joins them against
//! one deadline: the grace period plus [`PreforkConfig::stop_margin`]. Once the last copy is
//! closed, new connections are refused rather than left waiting in a queue nobody reads. A
//! worker that misses the deadline is killed and named in the report.

use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::handoff::HandoffPoint;
use super::worker::{WorkerJob, WorkerReport};
use super::{PreforkConfig, PreforkError, ShutdownReport, WorkerMain};
use crate::Process;

/// How long an empty slot waits before the supervisor tries to start its worker again.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);

/// One running worker.
struct Slot {
    process: Process<WorkerReport>,
    control: UnixStream,
}

/// What the supervisor needs to start a worker.
pub(super) struct Context {
    pub(super) listener: TcpListener,
    pub(super) handoff: HandoffPoint,
    pub(super) config: PreforkConfig,
    pub(super) main: WorkerMain,
}

/// What the handle can read while the server runs.
#[derive(Debug, Default)]
pub(super) struct Status {
    pub(super) pids: Vec<Option<u32>>,
    pub(super) replaced: u64,
}

pub(super) type SharedStatus = Arc<Mutex<Status>>;

pub(super) fn lock(status: &SharedStatus) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts every worker (failing if any cannot start), then the supervisor thread.
pub(super) fn start(
    context: Context,
    status: SharedStatus,
    wake: UnixStream,
) -> Result<JoinHandle<ShutdownReport>, PreforkError> {
    let mut slots = Vec::with_capacity(context.config.workers);
    for index in 0..context.config.workers {
        let slot = start_worker(&context, index)?; // started ones are daemons: dropped = killed
        slots.push(Some(slot));
    }
    lock(&status).pids = slots.iter().map(|slot| slot.as_ref().map(pid)).collect();
    std::thread::Builder::new()
        .name("prefork-supervisor".into())
        .spawn(move || supervise(context, slots, &wake, &status))
        .map_err(|source| PreforkError::Io {
            doing: "starting the supervisor thread",
            source,
        })
}

fn pid(slot: &Slot) -> u32 {
    slot.process.pid()
}

// ANCHOR: start_worker
/// Starts worker `index` and hands it the listener; a worker that does not come for it is
/// killed.
fn start_worker(context: &Context, index: usize) -> Result<Slot, PreforkError> {
    let job = WorkerJob {
        ticket: context.handoff.ticket(),
        config: context.config.worker.clone(),
    };
    let process = Process::builder()
        .name(format!("prefork-worker-{index}"))
        .daemon(true) // dropping the handle kills the worker: nothing is left behind
        .spawn_fallible(context.main, job)
        .map_err(PreforkError::Spawn)?;
    let timeout = context.config.worker.handoff_timeout;
    match context
        .handoff
        .hand_over(&context.listener, process.pid(), timeout)
    {
        Ok(control) => Ok(Slot { process, control }),
        Err(source) => Err(PreforkError::Handoff {
            worker: process.pid(),
            source,
        }),
    }
}
// ANCHOR_END: start_worker

// ANCHOR: supervise
/// Replaces dead workers until woken, then stops them all.
fn supervise(
    context: Context,
    mut slots: Vec<Option<Slot>>,
    wake: &UnixStream,
    status: &SharedStatus,
) -> ShutdownReport {
    loop {
        let (woken, dead) = wait_for_news(&slots, wake);
        if woken {
            break;
        }
        for index in dead {
            if let Some(slot) = slots[index].take() {
                reap(slot);
            }
        }
        for (index, slot) in slots.iter_mut().enumerate() {
            if slot.is_none() {
                match start_worker(&context, index) {
                    Ok(started) => {
                        *slot = Some(started);
                        lock(status).replaced += 1;
                    }
                    Err(error) => {
                        tracing::warn!("could not replace worker {index}: {error}")
                    }
                }
            }
        }
        lock(status).pids = slots.iter().map(|slot| slot.as_ref().map(pid)).collect();
    }
    let replaced = lock(status).replaced;
    stop_workers(context, slots, replaced)
}
// ANCHOR_END: supervise

/// Waits until the handle wakes us or a worker's channel becomes readable (it died). With an
/// empty slot, waits at most [`RETRY_AFTER`].
fn wait_for_news(slots: &[Option<Slot>], wake: &UnixStream) -> (bool, Vec<usize>) {
    let mut fds = vec![PollFd::new(wake, PollFlags::IN)];
    let mut indexes = Vec::new();
    for (index, slot) in slots.iter().enumerate() {
        if let Some(slot) = slot {
            fds.push(PollFd::new(&slot.control, PollFlags::IN));
            indexes.push(index);
        }
    }
    let retry =
        Timespec::try_from(RETRY_AFTER).expect("a short duration fits a timespec");
    let timeout = (indexes.len() < slots.len()).then_some(&retry);
    if poll(&mut fds, timeout).is_err() {
        // Interrupted (the only error poll can return here): look again.
        return (false, Vec::new());
    }
    let woken = !fds[0].revents().is_empty();
    let dead = fds[1..]
        .iter()
        .zip(indexes)
        .filter(|(fd, _)| !fd.revents().is_empty())
        .map(|(_, index)| index)
        .collect();
    (woken, dead)
}

/// Collects a dead worker's exit status, for the log.
fn reap(mut slot: Slot) {
    let pid = slot.process.pid();
    match slot.process.join_timeout(Duration::from_secs(1)) {
        Ok(Some(report)) => tracing::warn!("worker {pid} exited early: {report:?}"),
        Ok(None) => {
            // Its channel closed but it still runs: kill it; dropping the daemon reaps it.
            let _ = slot.process.kill();
            tracing::warn!("worker {pid} closed its control channel; killed");
        }
        Err(error) => tracing::warn!("worker {pid} died: {error}"),
    }
}

// ANCHOR: stop_workers
/// Tells every worker to stop, and joins them all against one deadline.
fn stop_workers(
    context: Context,
    slots: Vec<Option<Slot>>,
    replaced: u64,
) -> ShutdownReport {
    let started = Instant::now();
    let deadline = started + context.config.worker.grace + context.config.stop_margin;
    // Our copy first: once every worker has closed its copy too, connections are refused.
    drop(context);
    let mut slots: Vec<Slot> = slots.into_iter().flatten().collect();
    for slot in &slots {
        // The worker's poll sees end-of-file: its signal to stop.
        let _ = slot.control.shutdown(Shutdown::Write);
    }
    let mut report = ShutdownReport {
        workers: Vec::new(),
        killed: Vec::new(),
        failed: Vec::new(),
        replaced,
        elapsed: Duration::ZERO,
    };
    for slot in &mut slots {
        let pid = slot.process.pid();
        let left = deadline.saturating_duration_since(Instant::now());
        match slot.process.join_timeout(left) {
            Ok(Some(worker)) => report.workers.push(worker),
            Ok(None) => {
                // Missed the deadline: kill it; the drop below reaps it.
                let _ = slot.process.kill();
                report.killed.push(pid);
            }
            Err(error) => report.failed.push(format!("worker {pid}: {error}")),
        }
    }
    drop(slots);
    report.elapsed = started.elapsed();
    report
}
// ANCHOR_END: stop_workers
