//! # Exercise 2.7: stop the workers with an event (and find why they never stop)
//!
//! Workers loop, doing one small unit of work per round, until they are told to stop; then the
//! parent joins them and collects how many rounds each did. In Python:
//!
//! ```python
//! stop = multiprocessing.Event()
//! def worker(stop):
//!     rounds = 0
//!     while not stop.is_set():
//!         do_one_unit_of_work(); rounds += 1
//!     return rounds
//! ```
//!
//! The code below uses a plain `bool` instead of an event. It compiles, the parent sets the flag,
//! and yet the workers never stop: the checker kills the attempt at its deadline. Find out why,
//! and fix it with `multiprocessing::sync::Event`, keeping `run_until_stopped`'s signature.
//!
//! The workers must keep going until the event is set, and stop when it is: the checks stop them
//! right away in one run and after a while in another, and compare the rounds.
//!
//! Check your work with `cargo run -p exercises -- check ch2/07`; stuck?
//! `cargo run -p exercises -- hint ch2/07`.

use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::sync::Barrier;

/// What each worker gets: the stop flag (set to `true` by the parent when the workers should stop),
/// and the barrier where every worker and the parent meet, so that all are running before the clock
/// starts.
pub type Job = (bool, Barrier);

/// Stands in for real work: short, so that a stop request is noticed promptly.
fn do_one_unit_of_work() {
    std::thread::sleep(Duration::from_millis(10));
}

/// Whether the parent has asked the workers to stop.
fn stop_requested(stop: &bool) -> bool {
    *stop
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
    let mut stop = false;
    let started = Barrier::new(workers + 1).expect("a barrier");
    let processes: Vec<_> = (0..workers)
        .map(|_| Process::spawn(worker, (stop, started.clone())).expect("spawn"))
        .collect();
    started.wait().expect("the barrier");
    std::thread::sleep(run_for); // let them work
    stop = true;
    processes
        .into_iter()
        .map(|p| p.join().expect("a worker failed"))
        .collect()
}
