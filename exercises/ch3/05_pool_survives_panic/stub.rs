//! # Exercise 3.5: a worker pool that survives a panicking job
//!
//! [`run_all`] runs boxed jobs on `workers` threads that share one queue, and returns one outcome
//! per job, in the order of the jobs: `Ok(value)`, or `Err(message)` if the job panicked. That is
//! what Python's `ThreadPoolExecutor` promises: an exception in one task is stored in that task's
//! future, and the pool carries on.
//!
//! This version does not keep the promise. A job that panics takes its worker thread down with it:
//! its result never arrives, and with one worker, neither do the results of every job queued after
//! it. Fix it, keeping the signature, so that a panicking job yields `Err` with the panic's message
//! (`"boom"` for `panic!("boom")`, `"job 3 failed"` for `panic!("job {} failed", 3)`) and every
//! other job still runs, on the same workers.
//!
//! Check your work with `cargo run -p exercises -- check ch3/05`; stuck?
//! `cargo run -p exercises -- hint ch3/05`.

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
                    let value = job();
                    result_tx.send((index, Ok(value))).unwrap();
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
