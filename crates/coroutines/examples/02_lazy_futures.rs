//! # Listing 4.2: a future does nothing until it is awaited or spawned
//!
//! In Python, calling a coroutine function builds a coroutine object and runs none of its body;
//! forgetting the `await` gets "coroutine ... was never awaited" at run time. Rust's futures are
//! lazy in the same way, and the compiler warns at build time instead (`unused_must_use`).
//!
//! The listing makes a future and shows that its body has not run; then awaits it (it runs, in
//! this task, to the end, before the next line); then hands one to `tokio::spawn`, which starts
//! it on the runtime at once, as `asyncio.create_task` does, while `main` goes on; the
//! `JoinHandle` is awaited for its result.
//!
//! Run it:
//!
//! ```text
//! cargo run -p coroutines --example 02_lazy_futures
//! ```
//!
//! What to expect: "made, not run", then the awaited future's lines, then the spawned task's
//! start line before main's "main goes on" or after it (both can happen: the task runs on
//! another worker thread), and its result.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^made the future; its body has run 0 times$
//! expect: ^awaited: 42, the body has run 1 time$
//! expect: ^spawned task returned 43$
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;

/// Futures are lazy: await or spawn them.
#[derive(Parser)]
struct Args {}

static RUNS: AtomicUsize = AtomicUsize::new(0);

async fn answer(plus: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    println!("  the body runs");
    tokio::time::sleep(Duration::from_millis(10)).await;
    42 + plus
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    // ANCHOR: lazy
    let future = answer(0); // builds the future; nothing runs yet
    let runs = RUNS.load(Ordering::SeqCst);
    println!("made the future; its body has run {runs} times");
    let value = future.await; // now it runs, to the end
    let runs = RUNS.load(Ordering::SeqCst);
    println!("awaited: {value}, the body has run {runs} time");
    // ANCHOR_END: lazy

    // ANCHOR: spawn
    let task = tokio::spawn(answer(1)); // starts now, on the runtime
    println!("main goes on while the task runs");
    let value = task.await?; // Err only if the task panicked
    println!("spawned task returned {value}");
    // ANCHOR_END: spawn
    Ok(())
}
