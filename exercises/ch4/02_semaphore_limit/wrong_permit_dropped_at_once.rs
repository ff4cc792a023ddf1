//! # Exercise 4.2, a wrong attempt: `let _ = semaphore.acquire()` drops the permit at once
//!
//! `let _ = value;` does not bind the value: it is dropped at the end of that statement. So each
//! task takes a permit and gives it back before its job starts, and nothing is limited. (Python's
//! `async with semaphore:` has no such trap; in Rust, name the guard: `let _permit = ...`.)
//!
//! Fails: by a panic: the check sees every job running at once instead of at most `limit`.

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
                let _ = semaphore.acquire().await.expect("never closed");
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
