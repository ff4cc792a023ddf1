//! The parent's side of one worker slot: start a worker, feed it, read its replies, notice when
//! it dies, settle what it had, start the next one.
//!
//! Each slot has a **supervisor thread** for its whole life and, per worker it starts, a
//! **feeder thread**. Why two: ipc-channel's `send` blocks while the other side is not reading
//! (a large message is written in fragments, and about 280 small ones fill the socket). If one
//! thread both sent tasks and read replies, a 1 MiB task could block in `send` while the worker
//! blocks sending its 1 MiB reply to a parent that is not reading: a deadlock. With one thread
//! per direction, the reader always drains, so the worker always finishes its send, so it always
//! reads the next task. The feeder keeps at most `in_flight_per_worker` tasks unanswered, so the
//! worker never waits for work between tasks (the next one is already in its socket) and a
//! slow worker cannot hoard the queue.
//!
//! ```text
//!   queue ──feeder──▶ tasks ──▶ worker process ──▶ replies ──supervisor──▶ deliver
//!                  (≤ in_flight_per_worker unanswered)        │ reply channel closed?
//!                                                             ▼
//!                     exit status: fail or retry the front job, requeue the rest, respawn
//! ```
//!
//! The worker answers in order, so the oldest unanswered job is the one running: when the
//! worker dies, that one job is lost (it fails with the pid and the exit status, or goes back to
//! the queue if `retries` allows), and the ones behind it never started, so they go back to the
//! front of the queue untouched. A per-task timeout is measured from the moment a job became the
//! front one; past it the supervisor kills the worker and the job fails with `Timeout`.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use ipc_channel::{IpcError, TryRecvError};

use super::core::{Delivery, Job, Shared, lock_worker};
use super::error::TaskError;
use super::wire::{Initializer, Reply, TaskMessage, WorkerSetup};
use crate::Error;

/// A started worker's two channel ends, as the parent keeps them.
pub(crate) struct Worker {
    pid: u32,
    tasks: IpcSender<TaskMessage>,
    replies: IpcReceiver<Reply>,
}

/// How a worker's time in its slot ended.
enum Ended {
    /// Its reply channel closed: it exited or was killed.
    Exited,
    /// The front job ran past the time limit, and the worker was killed for it.
    TimedOut,
}

/// Starts a worker process for `slot` and stores it there.
pub(crate) fn start_worker(shared: &Shared, slot: usize) -> Result<Worker, Error> {
    let (tasks, task_end) = ipc::channel::<TaskMessage>().map_err(Error::Ipc)?;
    let (reply_end, replies) = ipc::channel::<Reply>().map_err(Error::Ipc)?;
    let setup = WorkerSetup {
        tasks: task_end,
        replies: reply_end,
        initializer: shared
            .config
            .initializer
            .clone()
            .map(|(function, argument)| Initializer { function, argument }),
    };
    let process = shared
        .config
        .process
        .clone()
        .name(format!("PoolWorker-{slot}"))
        .daemon(true)
        .spawn(super::worker::worker_main, setup)?;
    let pid = process.pid();
    *lock_worker(&shared.workers[slot]) = Some(process);
    if shared.lock().terminated {
        // `terminate` may have looked at this slot before the process was stored in it.
        if let Some(process) = lock_worker(&shared.workers[slot]).as_ref() {
            let _ = process.kill();
        }
    }
    Ok(Worker {
        pid,
        tasks,
        replies,
    })
}

/// Starts the supervisor thread of `slot`, with its first worker already started.
pub(crate) fn supervise(
    shared: Arc<Shared>,
    slot: usize,
    first: Worker,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("pool-slot-{slot}"))
        .spawn(move || supervise_slot(&shared, slot, first))
        .expect("the OS could not start a pool supervisor thread")
}

fn supervise_slot(shared: &Arc<Shared>, slot: usize, first: Worker) {
    let mut next = Some(first);
    loop {
        let worker = match next.take() {
            Some(worker) => worker,
            None => match start_worker(shared, slot) {
                Ok(worker) => worker,
                Err(error) => {
                    shared.break_pool(format!(
                        "a replacement worker did not start: {error}"
                    ));
                    return;
                }
            },
        };
        let pid = worker.pid;
        shared.lock().slots[slot].feeding = true;
        let feeder = start_feeder(shared.clone(), slot, worker.tasks);
        let ended = read_replies(shared, slot, &worker.replies);
        shared.lock().slots[slot].feeding = false;
        shared.changed.notify_all();
        let _ = feeder.join();
        let exitcode = reap(shared, slot);
        settle_lost_jobs(shared, slot, &ended, pid, exitcode);
        if shared.lock().finished() {
            return;
        }
    }
}

fn start_feeder(
    shared: Arc<Shared>,
    slot: usize,
    tasks: IpcSender<TaskMessage>,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("pool-feeder-{slot}"))
        .spawn(move || feed(&shared, slot, &tasks))
        .expect("the OS could not start a pool feeder thread")
}

/// Sends jobs to the worker, at most `in_flight_per_worker` unanswered, until the slot stops
/// feeding, the pool is finished or the worker has had `max_tasks_per_child`. Dropping `tasks`
/// on return is what tells an idle worker to exit.
fn feed(shared: &Shared, slot: usize, tasks: &IpcSender<TaskMessage>) {
    let limit = shared.config.max_tasks_per_child.unwrap_or(usize::MAX);
    for _ in 0..limit {
        let Some(message) = next_message(shared, slot) else {
            return;
        };
        if tasks.send(message).is_err() {
            return; // the worker died; the supervisor settles the job
        }
    }
}

/// Waits for a job this slot may send, moves it to the slot's in-flight list, and returns the
/// message for it. `None`: stop feeding.
fn next_message(shared: &Shared, slot: usize) -> Option<TaskMessage> {
    let mut state = shared.lock();
    loop {
        if !state.slots[slot].feeding || state.finished() {
            return None;
        }
        if state.slots[slot].in_flight.len() < shared.config.in_flight_per_worker
            && let Some(job) = state.queue.pop_front()
        {
            let message = TaskMessage {
                id: job.id,
                function: job.function,
                arguments: job.arguments.clone(),
            };
            let slot = &mut state.slots[slot];
            if slot.in_flight.is_empty() {
                slot.front_since = Some(Instant::now());
            }
            slot.in_flight.push_back(job);
            return Some(message);
        }
        state = shared
            .changed
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// Reads replies and delivers them until the worker's reply channel closes, or the front job
/// runs past the time limit.
fn read_replies(shared: &Shared, slot: usize, replies: &IpcReceiver<Reply>) -> Ended {
    loop {
        let received = match shared.config.timeout {
            None => replies.recv().map_err(|error| match error {
                IpcError::Disconnected => TryRecvError::IpcError(IpcError::Disconnected),
                other => TryRecvError::IpcError(other),
            }),
            Some(limit) => {
                let due = shared.lock().slots[slot]
                    .front_since
                    .map(|since| since + limit);
                let wait = due
                    .map_or(limit, |due| due.saturating_duration_since(Instant::now()));
                replies.try_recv_timeout(wait)
            }
        };
        match received {
            Ok(reply) => deliver_reply(shared, slot, reply),
            Err(TryRecvError::Empty) => {
                if front_is_overdue(shared, slot) {
                    kill_worker(shared, slot);
                    return Ended::TimedOut;
                }
            }
            Err(TryRecvError::IpcError(_)) => return Ended::Exited,
        }
    }
}

fn front_is_overdue(shared: &Shared, slot: usize) -> bool {
    let Some(limit) = shared.config.timeout else {
        return false;
    };
    let state = shared.lock();
    let slot = &state.slots[slot];
    !slot.in_flight.is_empty()
        && slot
            .front_since
            .is_some_and(|since| since.elapsed() >= limit)
}

fn deliver_reply(shared: &Shared, slot: usize, reply: Reply) {
    let mut state = shared.lock();
    let slot_state = &mut state.slots[slot];
    let Some(job) = slot_state.in_flight.pop_front() else {
        return; // cannot happen: a worker answers only what it was sent
    };
    debug_assert_eq!(job.id, reply.id, "a worker answers its tasks in order");
    slot_state.front_since = Some(Instant::now());
    state.outstanding -= 1;
    drop(state);
    shared.changed.notify_all();
    (job.deliver)(Delivery::Outcomes(reply.outcomes));
}

fn kill_worker(shared: &Shared, slot: usize) {
    if let Some(process) = lock_worker(&shared.workers[slot]).as_ref() {
        let _ = process.kill();
    }
}

/// Joins the slot's worker process; returns its exit code in Python's convention.
fn reap(shared: &Shared, slot: usize) -> i32 {
    let Some(process) = lock_worker(&shared.workers[slot]).take() else {
        return 0;
    };
    let pid = process.pid();
    match process.join() {
        Ok(()) => 0,
        Err(Error::Died { exitcode }) => exitcode,
        Err(Error::Panicked { message, .. }) => {
            // Task panics are caught in the worker; only the initializer's can end it this way.
            shared.break_pool(format!("worker {pid}: {message}"));
            101
        }
        Err(other) => {
            shared.break_pool(format!("worker {pid} failed: {other}"));
            1
        }
    }
}

/// After a worker ended: the front job failed (or goes back for a retry), the others never
/// started and go back to the front of the queue, in order.
fn settle_lost_jobs(
    shared: &Shared,
    slot: usize,
    ended: &Ended,
    pid: u32,
    exitcode: i32,
) {
    let mut state = shared.lock();
    let mut lost: Vec<Job> = state.slots[slot].in_flight.drain(..).collect();
    state.slots[slot].front_since = None;
    let mut failed: Vec<(Job, TaskError)> = Vec::new();
    let stop = if state.terminated {
        Some(TaskError::Terminated)
    } else {
        state.broken.clone().map(TaskError::NoWorker)
    };
    if let Some(failure) = stop {
        failed.extend(lost.drain(..).map(|job| (job, failure.clone())));
    } else if !lost.is_empty() {
        // ANCHOR: lost
        let mut front = lost.remove(0);
        match ended {
            Ended::TimedOut => {
                let limit = shared.config.timeout.expect("a timeout was set");
                failed.push((front, TaskError::Timeout { limit }));
            }
            Ended::Exited if front.deaths < shared.config.retries => {
                front.deaths += 1;
                lost.insert(0, front);
            }
            Ended::Exited => {
                failed.push((front, TaskError::WorkerDied { pid, exitcode }))
            }
        }
        // ANCHOR_END: lost
    }
    for job in lost.into_iter().rev() {
        state.queue.push_front(job);
    }
    state.outstanding -= failed.len();
    drop(state);
    shared.changed.notify_all();
    for (job, failure) in failed {
        (job.deliver)(Delivery::Failed(failure));
    }
}

/// Starts every slot's first worker; on failure, the ones started so far are killed.
pub(crate) fn start_all(shared: &Arc<Shared>) -> Result<Vec<JoinHandle<()>>, Error> {
    let mut first = Vec::with_capacity(shared.config.workers);
    for slot in 0..shared.config.workers {
        match start_worker(shared, slot) {
            Ok(worker) => first.push(worker),
            Err(error) => {
                shared.terminate();
                for slot in 0..slot {
                    if let Some(process) = lock_worker(&shared.workers[slot]).take() {
                        let _ = process.join();
                    }
                }
                return Err(error);
            }
        }
    }
    Ok(first
        .into_iter()
        .enumerate()
        .map(|(slot, worker)| supervise(shared.clone(), slot, worker))
        .collect())
}
