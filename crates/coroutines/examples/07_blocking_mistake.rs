//! # Listing 4.7: a blocking call inside async code stalls every task
//!
//! Eight tasks each wait `--wait-ms` on a runtime with one thread, while a ticker task tries to
//! tick every 10 ms. Three ways to wait:
//!
//! - `tokio::time::sleep(..).await` hands the thread back to the runtime: the eight waits overlap
//!   (about one wait in all) and the ticker keeps its beat.
//! - `std::thread::sleep(..)` (or a long computation) keeps the thread: the tasks run one after
//!   the other (eight waits in all) and the ticker stops while each one blocks. This is Python's
//!   `time.sleep` inside a coroutine, or `requests.get` where `aiohttp` belonged.
//! - `spawn_blocking(..)` moves the blocking call to tokio's blocking-thread pool (Python's
//!   `run_in_executor`): the runtime's thread stays free.
//!
//! A `std::sync::Mutex` is fine in async code as long as the guard is dropped before the next
//! `.await` (the short lock below); holding it across an `.await` does not even compile inside a
//! spawned task (`crates/coroutines/compile_fail/std_mutex_across_await.rs`).
//!
//! Run it:
//!
//! ```text
//! cargo run -p coroutines --example 07_blocking_mistake
//! cargo run -p coroutines --example 07_blocking_mistake -- --wait-ms 500
//! ```
//!
//! What to expect: three lines with the total time and the longest gap between ticks. With the
//! blocking sleep both are about eight times larger; the figures vary with the machine's load.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^tokio::time::sleep: 8 tasks in \d+ ms, longest tick gap \d+ ms$
//! expect: ^std::thread::sleep: 8 tasks in \d+ ms, longest tick gap \d+ ms$
//! expect: ^spawn_blocking: 8 tasks in \d+ ms, longest tick gap \d+ ms$
//! expect: ^std::sync::Mutex, locked briefly by 8 tasks: 8$
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use tokio::task::JoinSet;

/// Shows a blocking sleep stalling a runtime, beside the two right ways to wait.
#[derive(Parser)]
struct Args {
    /// How long each of the eight tasks waits, in milliseconds.
    #[arg(long, default_value_t = 100)]
    wait_ms: u64,
}

const TASKS: usize = 8;
const TICK: Duration = Duration::from_millis(10);

#[derive(Clone, Copy)]
enum Wait {
    Async,
    Blocking,
    SpawnBlocking,
}

// ANCHOR: waits
async fn wait(how: Wait, length: Duration) {
    match how {
        Wait::Async => tokio::time::sleep(length).await,
        // The mistake: the thread sleeps, and no other task can run on it.
        Wait::Blocking => std::thread::sleep(length),
        Wait::SpawnBlocking => {
            tokio::task::spawn_blocking(move || std::thread::sleep(length))
                .await
                .expect("the blocking sleep does not panic");
        }
    }
}
// ANCHOR_END: waits

/// Runs the eight waits beside a ticker; returns the total time and the longest tick gap.
async fn measure(how: Wait, length: Duration) -> (Duration, Duration) {
    let longest_gap = Arc::new(AtomicU64::new(0)); // in microseconds
    let ticker = tokio::spawn({
        let longest_gap = Arc::clone(&longest_gap);
        async move {
            let mut last = Instant::now();
            loop {
                tokio::time::sleep(TICK).await;
                let gap = last.elapsed().as_micros() as u64;
                longest_gap.fetch_max(gap, Ordering::Relaxed);
                last = Instant::now();
            }
        }
    });
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        tasks.spawn(wait(how, length));
    }
    tasks.join_all().await;
    let elapsed = started.elapsed();
    // One more tick, so that a gap that has just ended is counted.
    tokio::time::sleep(2 * TICK).await;
    ticker.abort();
    let gap = Duration::from_micros(longest_gap.load(Ordering::Relaxed));
    (elapsed, gap)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let length = Duration::from_millis(args.wait_ms);
    // One thread, so that the effect is plain; with more workers, one blocked
    // task stalls only the tasks queued behind it on its worker.
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    for (name, how) in [
        ("tokio::time::sleep", Wait::Async),
        ("std::thread::sleep", Wait::Blocking),
        ("spawn_blocking", Wait::SpawnBlocking),
    ] {
        let (elapsed, gap) = runtime.block_on(measure(how, length));
        println!(
            "{name}: {TASKS} tasks in {} ms, longest tick gap {} ms",
            elapsed.as_millis(),
            gap.as_millis()
        );
    }
    println!(
        "std::sync::Mutex, locked briefly by 8 tasks: {}",
        runtime.block_on(short_lock())
    );
    Ok(())
}

// ANCHOR: short_lock
/// A std lock taken and released between two awaits blocks nobody for long.
async fn short_lock() -> u64 {
    let counter = Arc::new(Mutex::new(0_u64));
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let counter = Arc::clone(&counter);
        tasks.spawn(async move {
            tokio::task::yield_now().await;
            *counter.lock().unwrap() += 1; // the guard is dropped at the `;`
            tokio::task::yield_now().await;
        });
    }
    tasks.join_all().await;
    *counter.lock().unwrap()
}
// ANCHOR_END: short_lock
