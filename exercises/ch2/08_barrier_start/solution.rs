//! # Exercise 2.8, solved: nobody starts before everybody is ready
//!
//! A `Barrier::new(workers)` shared by all workers: each one calls `wait()` after its setup, and
//! `wait` returns for all of them together once the last one has arrived. A worker that reads the
//! counter after `wait` therefore sees every setup done. If a worker died during its setup, the
//! others would wait for it forever, so real code uses `wait_timeout`; here a worker that died at
//! the barrier would break it, and the others would get `SyncError::BrokenBarrier`.

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
    setups_done.fetch_add(1);
    ready
        .wait_timeout(Duration::from_secs(20))
        .expect("every worker reaches the barrier");
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
