//! # Exercise 2.6: at most `limit` processes at a time
//!
//! Workers take turns at a resource that only a few may use at once (a licence, a device, a
//! rate-limited service). Each worker enters the section `rounds` times. In Python:
//!
//! ```python
//! sem = multiprocessing.Semaphore(limit)
//! def worker(sem, ...):
//!     for _ in range(rounds):
//!         with sem:
//!             use_the_resource()
//! ```
//!
//! The code below has the section but no limit: every worker walks right in. Make
//! `run_limited` admit at most `limit` workers into the section at once, with
//! `multiprocessing::sync::Semaphore`. The shared counters `inside` and `most_inside` measure
//! what happens; keep them as they are.
//!
//! Check your work with `cargo run -p exercises -- check ch2/06`; stuck?
//! `cargo run -p exercises -- hint ch2/06`.

use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::Barrier;

/// What each worker gets: the barrier that starts them together (so that they compete for the
/// section), the counters `inside` (workers in the section now) and `most_inside` (the most ever
/// seen at once), and the number of rounds.
pub type Job = (Barrier, Value, Value, u32);

/// Uses the limited resource for a moment (the part that needs the limit).
fn use_the_resource(inside: &Value, most_inside: &Value) {
    let now_inside = inside.fetch_add(1) + 1;
    most_inside.fetch_max(now_inside);
    std::thread::sleep(Duration::from_millis(30)); // stands in for real work
    inside.fetch_sub(1);
}

/// Runs in each worker process.
pub fn worker((start, inside, most_inside, rounds): Job) {
    start.wait().expect("the barrier");
    for _ in 0..rounds {
        use_the_resource(&inside, &most_inside);
    }
}

/// Runs `workers` processes that each use the resource `rounds` times, at most `limit` at a time;
/// returns the most workers that were ever inside the section at once.
pub fn run_limited(workers: u32, limit: u32, rounds: u32) -> i64 {
    let _ = limit; // not used yet
    let start = Barrier::new(workers).expect("a barrier");
    let inside = Value::new(0).expect("shared memory");
    let most_inside = Value::new(0).expect("shared memory");
    let processes: Vec<_> = (0..workers)
        .map(|_| {
            let job = (start.clone(), inside.clone(), most_inside.clone(), rounds);
            Process::spawn(worker, job).expect("spawn")
        })
        .collect();
    for process in processes {
        process.join().expect("a worker failed");
    }
    most_inside.load()
}
