//! # Exercise 2.6, solved: at most `limit` processes at a time
//!
//! A `Semaphore::new(limit)` created in the parent and passed to every worker inside its argument
//! holds `limit` permits. A worker takes one with `acquire()` before the section and gives it back
//! by dropping the guard after it; the others wait in `acquire` meanwhile. Because the permit is a
//! guard, a worker cannot forget to give it back, not even on an early return or a panic; and if a
//! worker process is killed holding one, the semaphore's broker takes it back.

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
        let _permit = permits.acquire().expect("a permit");
        use_the_resource(&inside, &most_inside);
    } // each permit goes back when `_permit` is dropped, at the end of its round
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
