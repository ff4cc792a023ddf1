//! # Exercise 4.2: limit concurrency with a semaphore
//!
//! [`run_limited`] runs `job` once for every input, each on a task of its own, but with at most
//! `limit` running at any moment, and returns the outputs in the order of `inputs`. In Python:
//! an `asyncio.Semaphore(limit)` and `async with semaphore:` around each job, then `gather`.
//! Use `tokio::sync::Semaphore` (shared through an `Arc`) and `tokio::spawn`.
//!
//! Check your work with `cargo run -p exercises -- check ch4/02`; stuck?
//! `cargo run -p exercises -- hint ch4/02`.

use std::future::Future;

/// Runs `job(input)` for every input, at most `limit` at a time, and returns the outputs in the
/// order of `inputs`. A `limit` of 0 is treated as 1.
pub async fn run_limited<F, Fut>(inputs: Vec<u64>, limit: usize, job: F) -> Vec<u64>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = u64> + Send + 'static,
{
    todo!("spawn a task per input; each holds a semaphore permit while its job runs")
}
