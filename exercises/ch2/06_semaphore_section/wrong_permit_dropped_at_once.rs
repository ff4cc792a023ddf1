//! # Exercise 2.6, a wrong attempt: the permit is given back the moment it is taken
//!
//! The mistake: every worker gets the semaphore and acquires a permit before each round, but binds
//! the guard to `_`. `let _ = ...` does not keep a value: the guard is dropped at the end of that
//! very statement, and the permit goes back before the section starts. (`let _permit = ...` keeps
//! it to the end of the block.) Everything looks limited, and nothing is.
//!
//! Fails: by a panic: the check sees more workers inside the section than the limit.

use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::{Barrier, Semaphore};

/// What each worker gets: the barrier that starts them together, the counters `inside` (workers
/// in the section now) and `most_inside` (the most ever seen at once), the number of rounds, and
/// the permits (one per worker allowed inside at once).
pub type Job = (Barrier, Value, Value, u32, Semaphore);

/// Uses the limited resource for a moment (the part that needs the limit).
fn use_the_resource(inside: &Value, most_inside: &Value) {
    let now_inside = inside.fetch_add(1) + 1;
    most_inside.fetch_max(now_inside);
    std::thread::sleep(Duration::from_millis(30)); // stands in for real work
    inside.fetch_sub(1);
}

/// Runs in each worker process.
pub fn worker((start, inside, most_inside, rounds, permits): Job) {
    start.wait().expect("the barrier");
    for _ in 0..rounds {
        let _ = permits.acquire().expect("a permit");
        use_the_resource(&inside, &most_inside);
    }
}

/// Runs `workers` processes that each use the resource `rounds` times, at most `limit` at a time;
/// returns the most workers that were ever inside the section at once.
pub fn run_limited(workers: u32, limit: u32, rounds: u32) -> i64 {
    let start = Barrier::new(workers).expect("a barrier");
    let inside = Value::new(0).expect("shared memory");
    let most_inside = Value::new(0).expect("shared memory");
    let permits = Semaphore::new(limit).expect("a semaphore");
    let processes: Vec<_> = (0..workers)
        .map(|_| {
            let job = (
                start.clone(),
                inside.clone(),
                most_inside.clone(),
                rounds,
                permits.clone(),
            );
            Process::spawn(worker, job).expect("spawn")
        })
        .collect();
    for process in processes {
        process.join().expect("a worker failed");
    }
    most_inside.load()
}
