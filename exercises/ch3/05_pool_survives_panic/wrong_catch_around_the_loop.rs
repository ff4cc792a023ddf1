//! # Exercise 3.5, a wrong attempt: the panic is caught, but around the worker's whole loop
//!
//! The mistake: `catch_unwind` is there, but it wraps the worker's `for` loop instead of each job.
//! The panic is caught (nothing crashes, the panic is even reported as that job's outcome), but
//! the loop it interrupted is over: the worker stops taking jobs, and with one worker, every job
//! queued after the panicking one never runs.
//!
//! Fails: by a panic: with a single worker, the jobs after the panicking one report "never ran".

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
                let mut current = None;
                let finished = panic::catch_unwind(AssertUnwindSafe(|| {
                    for (index, job) in &job_rx {
                        current = Some(index);
                        result_tx.send((index, Ok(job()))).unwrap();
                    }
                }));
                if let (Err(payload), Some(index)) = (finished, current) {
                    let _ = result_tx.send((index, Err(panic_message(payload.as_ref()))));
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
            outcome.unwrap_or_else(|| Err(format!("job {index} never ran (its worker stopped)")))
        })
        .collect()
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a payload that is not text".to_owned()
    }
}
