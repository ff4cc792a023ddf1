//! # Exercise 2.7, solved: stop the workers with an event
//!
//! The bug: `stop` was copied into each child when it started (a process shares no memory with
//! its parent), so setting the parent's `stop = true` changed nothing the workers could see.
//! Python has the same trap with a global flag. A `multiprocessing::sync::Event` is one flag that
//! every process holding a handle to it sees: `set()` in the parent, `is_set()` in the workers.
//! (An atomic in shared memory, `shared::Value`, would work for the flag too; the event adds
//! `wait`, which lets a waiting process wake the moment it is set.)

use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::sync::{Barrier, Event};

/// What each worker gets: the stop event (set by the parent; the same event in every process), and
/// the barrier where every worker and the parent meet, so that all are running before the clock
/// starts.
pub type Job = (Event, Barrier);

/// Stands in for real work: short, so that a stop request is noticed promptly.
fn do_one_unit_of_work() {
    std::thread::sleep(Duration::from_millis(10));
}

/// Whether the parent has asked the workers to stop.
fn stop_requested(stop: &Event) -> bool {
    stop.is_set().expect("the stop event")
}

/// Runs in each worker process; returns how many rounds it did.
pub fn worker((stop, started): Job) -> u64 {
    started.wait().expect("the barrier");
    let mut rounds = 0;
    while !stop_requested(&stop) {
        do_one_unit_of_work();
        rounds += 1;
    }
    rounds
}

/// Runs `workers` worker processes for about `run_for`, stops them, joins them, and returns the
/// rounds each one did.
pub fn run_until_stopped(workers: u32, run_for: Duration) -> Vec<u64> {
    let stop = Event::new().expect("an event");
    let started = Barrier::new(workers + 1).expect("a barrier");
    let processes: Vec<_> = (0..workers)
        .map(|_| Process::spawn(worker, (stop.clone(), started.clone())).expect("spawn"))
        .collect();
    started.wait().expect("the barrier");
    std::thread::sleep(run_for); // let them work
    stop.set().expect("set the stop event");
    processes
        .into_iter()
        .map(|p| p.join().expect("a worker failed"))
        .collect()
}
