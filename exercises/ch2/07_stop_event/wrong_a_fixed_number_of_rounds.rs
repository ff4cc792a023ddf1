//! # Exercise 2.7, a wrong attempt: the workers do a fixed number of rounds and ignore the event
//!
//! The mistake: the event is created, shared and set, but the worker loops a fixed number of
//! times ("that should be about long enough") and never looks at it. With the right numbers it
//! even returns at about the right time, but it stops when *it* decides, not when it is told:
//! asked to stop at once, it carries on; left running longer, it quits early.
//!
//! Fails: by a panic: the check stops the workers at once in one run and lets them work in the
//! other, and this worker does the same number of rounds in both.

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

/// Runs in each worker process; returns how many rounds it did.
pub fn worker((_stop, started): Job) -> u64 {
    started.wait().expect("the barrier");
    let mut rounds = 0;
    for _ in 0..20 {
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
