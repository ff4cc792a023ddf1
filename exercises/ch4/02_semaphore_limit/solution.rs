//! # Exercise 4.2, solved: each task holds a permit for as long as its job runs
//!
//! The permit is an owned value (`acquire_owned` on an `Arc<Semaphore>`), moved into the task
//! and dropped when the task ends, so "at most `limit` at a time" holds however the job ends.
//! The handles are awaited in the order of the inputs, which gives the outputs in that order.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Runs `job(input)` for every input, at most `limit` at a time, and returns the outputs in the
/// order of `inputs`. A `limit` of 0 is treated as 1.
pub async fn run_limited<F, Fut>(inputs: Vec<u64>, limit: usize, job: F) -> Vec<u64>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = u64> + Send + 'static,
{
    let semaphore = Arc::new(Semaphore::new(limit.max(1)));
    let job = Arc::new(job);
    let handles: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let (semaphore, job) = (Arc::clone(&semaphore), Arc::clone(&job));
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("never closed");
                job(input).await
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("a job panicked"));
    }
    outputs
}
