//! # Exercise 3.5, solved: a worker pool that survives a panicking job
//!
//! `std::panic::catch_unwind` runs a closure and stops a panic at that point, returning its payload
//! as an `Err`. Each worker runs each job under it, so a panic becomes that job's outcome and the
//! worker goes on with the queue. The payload is a `&str` for `panic!("literal")` and a `String`
//! for a formatted message. (The default panic hook still prints the panic on stderr.)

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::thread;

/// A job for the pool.
pub type Job = Box<dyn FnOnce() -> u64 + Send>;

/// Runs `jobs` on `workers` threads (at least one); returns each job's outcome in the order of
/// `jobs`: its value, or its panic message.
pub fn run_all(jobs: Vec<Job>, workers: usize) -> Vec<Result<u64, String>> {
    let count = jobs.len();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<(usize, Job)>();
    let (result_tx, result_rx) = crossbeam_channel::unbounded();
    for entry in jobs.into_iter().enumerate() {
        job_tx.send(entry).unwrap();
    }
    drop(job_tx); // the workers stop when the queue is empty

    let handles: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let (job_rx, result_tx) = (job_rx.clone(), result_tx.clone());
            thread::spawn(move || {
                for (index, job) in job_rx {
                    // `AssertUnwindSafe`: the job is consumed; nothing it touched is used afterwards.
                    let outcome = panic::catch_unwind(AssertUnwindSafe(job))
                        .map_err(|payload| panic_message(payload.as_ref()));
                    result_tx.send((index, outcome)).unwrap();
                }
            })
        })
        .collect();
    drop(result_tx); // the loop below ends when every worker is gone

    let mut outcomes: Vec<Option<Result<u64, String>>> = (0..count).map(|_| None).collect();
    for (index, outcome) in result_rx {
        outcomes[index] = Some(outcome);
    }
    for handle in handles {
        let _ = handle.join();
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| {
            outcome.unwrap_or_else(|| Err(format!("job {index} never reported (its worker died)")))
        })
        .collect()
}

/// The text of a panic's payload (`threading::pool::panic_message` is the library's; an exercise
/// stays a file of its own).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a payload that is not text".to_owned()
    }
}
