//! # Exercise 2.8, a wrong attempt: the setup is counted after the barrier, not before
//!
//! The mistake: every worker waits at the same barrier, but it records its setup as done only
//! after the barrier has opened. The barrier then guarantees nothing about the counter: a worker
//! let through first reads it before the others have added their setups.
//!
//! Fails: by a panic: the workers report fewer setups done than there are workers (the first one
//! through the barrier reads the counter long before the last one has added to it).

use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::Barrier;

/// What each worker gets: its number (higher numbers take longer to set up), the count of
/// finished setups, and the barrier where every worker waits until all have finished.
pub type Job = (u32, Value, Barrier);

/// Each worker's setup: uneven on purpose.
fn set_up(index: u32) {
    std::thread::sleep(Duration::from_millis(20 * u64::from(index)));
}

/// Runs in each worker process; returns how many setups were done when it started.
pub fn worker((index, setups_done, ready): Job) -> i64 {
    set_up(index);
    ready
        .wait_timeout(Duration::from_secs(20))
        .expect("every worker reaches the barrier");
    setups_done.fetch_add(1);
    setups_done.load()
}

/// Runs `workers` workers and returns, for each, the number of finished setups it saw as it
/// started.
pub fn start_together(workers: u32) -> Vec<i64> {
    let setups_done = Value::new(0).expect("shared memory");
    let ready = Barrier::new(workers).expect("a barrier");
    let processes: Vec<_> = (0..workers)
        .map(|index| {
            let job = (index, setups_done.clone(), ready.clone());
            Process::spawn(worker, job).expect("spawn")
        })
        .collect();
    processes
        .into_iter()
        .map(|p| p.join().expect("a worker failed"))
        .collect()
}
