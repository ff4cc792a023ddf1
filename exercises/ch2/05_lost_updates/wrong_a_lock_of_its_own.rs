//! # Exercise 2.5, a wrong attempt: a `std::sync::Mutex` around the increment
//!
//! The mistake: the load and the store are put under a lock, which is the right idea, but the lock
//! is a `std::sync::Mutex` in a `static`. A process shares no memory with another (the counter is
//! shared only because it lives in a shared-memory region), so every process has a lock of its
//! own, and each one locks only itself out. Python has the same trap: a `threading.Lock` at the
//! top of a module protects nothing across `multiprocessing` workers.
//!
//! Fails: by a panic: updates are still lost, and the check counts them.

use std::sync::Mutex;

use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::Barrier;

/// What each process gets (handles travel inside the argument): the shared counter, the barrier
/// that makes every process start counting at the same moment, and how many times to add 1.
pub type Job = (Value, Barrier, u64);

/// "Only one at a time may increment": but this lock exists once per process.
static INCREMENT: Mutex<()> = Mutex::new(());

/// Runs in each child process: adds 1 to the counter `increments` times.
pub fn add((counter, start, increments): Job) {
    start.wait().expect("the barrier");
    for _ in 0..increments {
        let _only_me = INCREMENT.lock().unwrap();
        let seen = counter.load();
        counter.store(seen + 1);
    }
}

/// Starts `processes` processes that each add 1 to one shared counter `increments` times, waits
/// for all of them, and returns the counter.
pub fn count_together(processes: u32, increments: u64) -> i64 {
    let counter = Value::new(0).expect("shared memory");
    let start = Barrier::new(processes).expect("a barrier");
    let workers: Vec<_> = (0..processes)
        .map(|_| {
            let job = (counter.clone(), start.clone(), increments);
            Process::spawn(add, job).expect("spawn")
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker failed");
    }
    counter.load()
}
