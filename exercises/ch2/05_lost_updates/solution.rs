//! # Exercise 2.5, solved: fix the lost updates
//!
//! `load` then `store` is two steps, and another process can add between them; that update is
//! then overwritten. `fetch_add(1)` is one indivisible atomic instruction: the hardware performs
//! the read, the addition and the write with no room for anyone in between, in every process
//! that maps the memory. No lock is needed, and nothing is slower than it has to be.
//!
//! (Holding a cross-process `Lock` around the load and the store is also correct, and about ten
//! thousand times slower per increment: a lock is for changes no single atomic can make.)

use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::Barrier;

/// What each process gets (handles travel inside the argument): the shared counter, the barrier
/// that makes every process start counting at the same moment, and how many times to add 1.
pub type Job = (Value, Barrier, u64);

/// Runs in each child process: adds 1 to the counter `increments` times.
pub fn add((counter, start, increments): Job) {
    start.wait().expect("the barrier");
    for _ in 0..increments {
        counter.fetch_add(1);
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
