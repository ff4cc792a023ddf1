//! # Listing 4.11: a million tasks, and what "lightweight" means in numbers
//!
//! Coroutines are said to be lighter than threads. This listing parks `--tasks` tokio tasks on
//! one channel and reads their memory, spawns and joins as many and times them, then does the
//! same with `--threads` OS threads. A parked task is its future's state plus tokio's task
//! header, in one allocation; a parked thread is a kernel task plus a stack (2 MiB reserved, the
//! touched pages resident). Memory comes from `/proc/self/status` (Linux-only). One runtime
//! thread, as asyncio's loop (asyncio: about 6.4 µs and 1.43 KiB per task on the book's machine).
//!
//! Run it in a release build (in debug the figures mean little):
//! `cargo run -p coroutines --release --example 11_million_tasks`.
//!
//! What to expect: about a microsecond and under half a KiB per task, tens of microseconds and
//! several KiB per thread; the figures vary from run to run.
//!
//! Checked by `tests/examples.rs` (scaled down for the debug build the tests use):
//!
//! ```text
//! test-args: --tasks 100000 --threads 500
//! expect: ^100000 tasks spawned and joined: .* µs per task$
//! expect: ^100000 parked tasks: (.* KiB resident each|memory not measured)
//! expect: ^500 threads spawned and joined: .* µs per thread$
//! expect: ^500 parked threads: (.* KiB resident each|memory not measured)
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use clap::Parser;
use tokio::sync::watch;

/// Spawns and parks many tokio tasks and many OS threads, and measures both.
#[derive(Parser)]
struct Args {
    /// How many tasks to spawn.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: usize,
    /// How many OS threads to spawn.
    #[arg(long, default_value_t = 10_000)]
    threads: usize,
}

/// `VmRSS` from `/proc/self/status`, in KiB; `None` off Linux.
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Prints the resident KiB per item between two readings.
fn report_memory(
    what: &str,
    n: usize,
    before: Option<u64>,
    after: Option<u64>,
) {
    match before.zip(after) {
        Some((before, after)) => {
            let each = after.saturating_sub(before) as f64 / n as f64;
            println!("{n} {what}: {each:.3} KiB resident each");
        }
        None => println!("{n} {what}: memory not measured (Linux only)"),
    }
}

// ANCHOR: parked_tasks
/// Parks `count` tasks on one channel, reading the memory while they wait.
async fn park_tasks(count: usize) -> Result<()> {
    let before = resident_kib();
    let (release, parked) = watch::channel(false);
    let started = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (mut parked, started) = (parked.clone(), Arc::clone(&started));
            tokio::spawn(async move {
                started.fetch_add(1, Ordering::Relaxed); // and parks, in the same poll
                parked.changed().await.is_ok()
            })
        })
        .collect();
    while started.load(Ordering::Relaxed) < count {
        tokio::task::yield_now().await; // let the runtime poll them
    }
    report_memory("parked tasks", count, before, resident_kib());
    release.send(true)?;
    for task in tasks {
        ensure!(task.await?, "a task was woken without the value");
    }
    Ok(())
}
// ANCHOR_END: parked_tasks

// ANCHOR: spawn_join
/// Spawns `count` tasks and joins them; returns the time it took.
async fn spawn_and_join_tasks(count: usize) -> Result<Duration> {
    let started = Instant::now();
    let tasks: Vec<_> =
        (0..count).map(|i| tokio::spawn(async move { i })).collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await?;
    }
    let elapsed = started.elapsed();
    ensure!(
        sum == count * count.saturating_sub(1) / 2,
        "a result went missing"
    );
    Ok(elapsed)
}
// ANCHOR_END: spawn_join

/// The same two measurements with OS threads.
fn threads(n: usize) -> Result<()> {
    let started = Instant::now();
    let handles: Vec<_> = (0..n).map(|_| std::thread::spawn(|| ())).collect();
    handles.into_iter().for_each(|h| h.join().expect("no panic"));
    let per = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{n} threads spawned and joined: {per:.1} µs per thread");
    let before = resident_kib();
    let barrier = Arc::new(Barrier::new(n + 1)); // all parked, then released
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                barrier.wait();
            })
        })
        .collect();
    barrier.wait();
    report_memory("parked threads", n, before, resident_kib());
    barrier.wait();
    ensure!(handles.into_iter().all(|h| h.join().is_ok()), "a thread panicked");
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let n = args.tasks;
    // Parked memory first, while the heap is fresh: memory freed by an earlier
    // phase would be reused and hide the cost.
    runtime.block_on(park_tasks(n))?;
    let elapsed = runtime.block_on(spawn_and_join_tasks(n))?;
    let per = elapsed.as_secs_f64() * 1e6 / n as f64;
    println!("{n} tasks spawned and joined: {per:.3} µs per task");
    threads(args.threads)
}
