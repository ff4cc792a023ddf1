//! # Exercise 2.5: fix the lost updates
//!
//! Several processes add 1 to one counter in shared memory, many times each. In Python:
//!
//! ```python
//! counter = multiprocessing.Value("q", 0)
//! def add(counter, times):
//!     for _ in range(times):
//!         counter.value += 1          # read, add, write back: not one step
//! ```
//!
//! The code below does the same with `multiprocessing::shared::Value`, and the total comes out
//! short: two processes read the same value, both write back that value plus one, and one of the
//! two increments is gone. Make `count_together` return exactly `processes * increments`, keeping
//! the processes (the point is that they run at the same time) and the signatures.
//!
//! Check your work with `cargo run -p exercises -- check ch2/05`; stuck?
//! `cargo run -p exercises -- hint ch2/05`.

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
