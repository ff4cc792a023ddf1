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
//! What to expect: about a microsecond and under half a KiB per task; tens of microseconds and
//! several KiB resident per thread. The figures vary from run to run and machine to machine.
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

/// `VmRSS` and `VmSize` from `/proc/self/status`, in KiB; `None` off Linux.
type Memory = Option<(u64, u64)>;

fn memory_kib() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    };
    Some((field("VmRSS:")?, field("VmSize:")?))
}

/// Prints the resident (and reserved) KiB per item between two readings.
fn report_memory(what: &str, n: usize, before: Memory, after: Memory) {
    let Some(((rss0, vm0), (rss1, vm1))) = before.zip(after) else {
        return println!("{n} {what}: memory not measured (Linux only)");
    };
    let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / n as f64;
    let (rss, vm) = (per(rss0, rss1), per(vm0, vm1));
    println!("{n} {what}: {rss:.3} KiB resident each, {vm:.0} KiB reserved");
}

fn micros_each(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

// ANCHOR: parked_tasks
/// Parks `count` tasks on one channel, reading the memory while they wait.
async fn park_tasks(count: usize) -> Result<()> {
    let before = memory_kib();
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
    report_memory("parked tasks", count, before, memory_kib());
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
    let per = micros_each(started.elapsed(), n);
    println!("{n} threads spawned and joined: {per:.1} µs per thread");
    let before = memory_kib();
    let (parked, release) =
        (Arc::new(Barrier::new(n + 1)), Arc::new(Barrier::new(n + 1)));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (parked, release) = (Arc::clone(&parked), Arc::clone(&release));
            std::thread::spawn(move || drop((parked.wait(), release.wait())))
        })
        .collect();
    parked.wait();
    report_memory("parked threads", n, before, memory_kib());
    release.wait();
    handles.into_iter().for_each(|h| h.join().expect("no panic"));
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let n = args.tasks;
    // Parked memory first, while the heap is fresh: memory freed by an earlier
    // phase would be reused and hide the cost.
    runtime.block_on(park_tasks(n))?;
    let per = micros_each(runtime.block_on(spawn_and_join_tasks(n))?, n);
    println!("{n} tasks spawned and joined: {per:.3} µs per task");
    threads(args.threads)
}
