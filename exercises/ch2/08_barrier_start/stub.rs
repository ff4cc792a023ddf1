//! # Exercise 2.8: nobody starts before everybody is ready
//!
//! Each worker first does its own setup (loading data, warming a cache), which takes longer for
//! some than for others; then the real work starts, and it must start for all of them at once,
//! with every setup finished (a benchmark, a simulation step, a race). In Python:
//!
//! ```python
//! barrier = multiprocessing.Barrier(n)
//! def worker(barrier, ...):
//!     set_up()
//!     barrier.wait()        # returns for everybody at once, when all n have arrived
//!     start()
//! ```
//!
//! In the code below each worker counts its setup as done in a shared counter, then "starts" and
//! reports how many setups were done at that moment. Without anything in between, the fast workers
//! start early and see only some setups done. Make every worker see all of them, with
//! `multiprocessing::sync::Barrier`, keeping `start_together`'s signature.
//!
//! Check your work with `cargo run -p exercises -- check ch2/08`; stuck?
//! `cargo run -p exercises -- hint ch2/08`.

use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::shared::Value;

/// What each worker gets: its number (higher numbers take longer to set up) and the count of
/// finished setups.
pub type Job = (u32, Value);

/// Each worker's setup: uneven on purpose.
fn set_up(index: u32) {
    std::thread::sleep(Duration::from_millis(20 * u64::from(index)));
}

/// Runs in each worker process; returns how many setups were done when it started.
pub fn worker((index, setups_done): Job) -> i64 {
    set_up(index);
    setups_done.fetch_add(1);
    setups_done.load()
}

/// Runs `workers` workers and returns, for each, the number of finished setups it saw as it
/// started.
pub fn start_together(workers: u32) -> Vec<i64> {
    let setups_done = Value::new(0).expect("shared memory");
    let processes: Vec<_> = (0..workers)
        .map(|index| Process::spawn(worker, (index, setups_done.clone())).expect("spawn"))
        .collect();
    processes
        .into_iter()
        .map(|p| p.join().expect("a worker failed"))
        .collect()
}
