//! # Listing 4.3: `gather` in Rust: `join!`, `try_join!`, `JoinSet`, and an empty gather
//!
//! `asyncio.gather(a(), b())` runs coroutines concurrently and returns their results in order.
//! Rust has three forms of it:
//!
//! - `tokio::join!(a, b)` polls both futures in this task and returns a tuple of both results;
//! - `tokio::try_join!(a, b)` does the same for `Result`s and returns at the first `Err`,
//!   dropping (cancelling) the others, like `gather` without `return_exceptions=True`;
//! - a `JoinSet` holds spawned tasks and hands their results back as each one finishes
//!   (`asyncio.as_completed`, or a `TaskGroup` that also cancels what is left when dropped).
//!
//! Last, the article's mistake: its `main` starts tasks and then awaits `gather()` with nothing
//! in it, which waits for nothing. Here the same happens with an empty `join_all`: it returns at
//! once, `main` ends, and the runtime drops the tasks before they finish.
//!
//! Run it:
//!
//! ```text
//! cargo run -p coroutines --example 03_gather
//! ```
//!
//! What to expect: the `join!` results (about 300 ms: the longest, not the sum), the first
//! error of `try_join!`, the `JoinSet` results in completion order (fastest first), and that the
//! empty gather waited 0 ms while none of its three tasks had finished.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^join!: \(100, 200, 300\) in \d\.\d\d s$
//! expect: ^try_join!: Err\("step 2 failed"\)$
//! expect: ^JoinSet, as completed: \[100, 200, 300\]$
//! expect: ^empty gather waited \d+ ms; tasks finished: 0 of 3$
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::task::JoinSet;
use tokio::time::sleep;

/// join!, try_join!, JoinSet, and a gather of nothing.
#[derive(Parser)]
struct Args {}

/// Waits `ms` milliseconds and returns `ms`.
async fn wait(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms)).await;
    ms
}

async fn step(n: u64) -> Result<u64, String> {
    sleep(Duration::from_millis(50 * n)).await;
    if n == 2 { Err(format!("step {n} failed")) } else { Ok(n) }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    // ANCHOR: join
    let started = Instant::now();
    let results = tokio::join!(wait(100), wait(200), wait(300));
    let s = started.elapsed().as_secs_f64();
    println!("join!: {results:?} in {s:.2} s");
    let first_error = tokio::try_join!(step(1), step(2), step(3));
    println!("try_join!: {first_error:?}");
    // ANCHOR_END: join

    // ANCHOR: joinset
    let mut tasks = JoinSet::new();
    for ms in [300, 100, 200] {
        tasks.spawn(wait(ms));
    }
    let mut as_completed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        as_completed.push(joined?); // Err if that task panicked
    }
    println!("JoinSet, as completed: {as_completed:?}");
    // ANCHOR_END: joinset

    // ANCHOR: empty_gather
    let finished = Arc::new(AtomicUsize::new(0));
    for ms in [100, 200, 300] {
        let finished = Arc::clone(&finished);
        tokio::spawn(async move {
            wait(ms).await;
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }
    let started = Instant::now();
    let nothing: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    futures::future::join_all(nothing).await; // gather(): waits for nothing
    let (ms, done) =
        (started.elapsed().as_millis(), finished.load(Ordering::SeqCst));
    println!("empty gather waited {ms} ms; tasks finished: {done} of 3");
    // ANCHOR_END: empty_gather
    Ok(()) // the runtime drops the three tasks here, unfinished
}
