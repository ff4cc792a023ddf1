//! # Listing 3.9: a thread pool: `submit`, `as_completed`, `map`, and a task that fails
//!
//! Python's `concurrent.futures.ThreadPoolExecutor`, with this crate's
//! [`threading::ThreadPoolExecutor`] (built on `crossbeam-channel` in `src/pool.rs`):
//!
//! - `submit` queues a closure and returns a future; `as_completed` yields the results in the order
//!   the tasks *finish*, which is what a progress display wants.
//! - `map` returns the results in the order of the *inputs*, whatever the order they finish in.
//! - A task that panics fails alone: its future holds `TaskError::Panicked` with the message, the
//!   other tasks and the worker carry on (the panic hook still prints the panic on stderr).
//! - Leaving `main` drops the pool, which waits for its workers, like the end of Python's `with`
//!   block.
//!
//! The tasks count the primes below a bound by trial division: real CPU work whose duration grows
//! with the bound, so bigger tasks finish later.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 09_thread_pool
//! cargo run -p threading --release --example 09_thread_pool -- --workers 8 --tasks 32 --scale 20000
//! ```
//!
//! What to expect: one line per task as it completes (the order varies, roughly smallest first),
//! one of them the failed task, then `map`'s results in input order.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^task 3 failed: the task panicked: task 3 refuses to count$
//! expect: ^as_completed: 8 tasks reported, 7 succeeded, 1 failed$
//! expect: ^map \(input order\): \[0, 1, 4, 9, 16, 25, 36, 49\]$
//! ```

use anyhow::{Result, ensure};
use clap::Parser;
use threading::{ThreadPoolExecutor, as_completed};

/// Counts primes in a pool of worker threads.
#[derive(Parser)]
struct Args {
    /// Worker threads in the pool.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// How many tasks to submit (task 3 always fails, to show the error path).
    #[arg(long, default_value_t = 8)]
    tasks: u64,
    /// Task i counts the primes below (i + 1) × scale.
    #[arg(long, default_value_t = 2_000)]
    scale: u64,
}

fn count_primes_below(bound: u64) -> usize {
    (2..bound)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count()
}

fn main() -> Result<()> {
    let Args { workers, tasks, scale } = Args::parse();
    let pool = ThreadPoolExecutor::new(workers)?;

    // ANCHOR: as_completed
    let futures = (0..tasks)
        .map(|i| {
            pool.submit(move || {
                if i == 3 {
                    panic!("task {i} refuses to count");
                }
                count_primes_below((i + 1) * scale)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let (mut succeeded, mut failed) = (0, 0);
    for (i, outcome) in as_completed(futures) {
        match outcome {
            Ok(primes) => {
                succeeded += 1;
                println!(
                    "task {i}: {primes} primes below {}",
                    (i as u64 + 1) * scale
                );
            }
            Err(error) => {
                failed += 1;
                println!("task {i} failed: {error}");
            }
        }
    }
    // ANCHOR_END: as_completed
    println!(
        "as_completed: {tasks} tasks reported, {succeeded} succeeded, {failed} failed"
    );
    ensure!(succeeded + failed == tasks, "every task reports exactly once");

    // ANCHOR: map
    let squares =
        pool.map(|n: u64| n * n, 0..8)?.collect::<Result<Vec<_>, _>>()?;
    println!("map (input order): {squares:?}");
    // ANCHOR_END: map
    Ok(())
}
