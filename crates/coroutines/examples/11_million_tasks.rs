//! # Listing 4.11: a million tasks, and what "lightweight" means in numbers
//!
//! The articles say coroutines are lighter than threads: cheaper to create and to switch, with no
//! stack of their own. This listing measures it. It parks `--tasks` tokio tasks on one channel and
//! reads the memory they take, then spawns and joins as many again and times them; then it does
//! the same with `--threads` OS threads.
//!
//! A parked task is its future's state (here a few dozen bytes) plus tokio's task header, in one
//! heap allocation. A parked thread is a kernel task plus a stack: 2 MiB of address space reserved,
//! of which only the pages touched are resident. Memory is read from `/proc/self/status`
//! (`VmRSS`, `VmSize`), so those lines are Linux-only; elsewhere they say so and the times remain.
//!
//! The runtime has one thread, as asyncio's event loop does, so the figures compare with
//! Python's (asyncio: about 6.4 µs and 1.43 KiB per task on the machine this book was measured on).
//!
//! Run it (the figures only mean something in a release build):
//!
//! ```text
//! cargo run -p coroutines --release --example 11_million_tasks
//! cargo run -p coroutines --release --example 11_million_tasks -- --tasks 100000 --threads 1000
//! ```
//!
//! What to expect: well under a microsecond and well under a KiB per task; tens of microseconds
//! and several KiB resident per thread. The figures vary from run to run and machine to machine.
//!
//! Checked by `tests/examples.rs` (scaled down for the debug build the tests use):
//!
//! ```text
//! test-args: --tasks 100000 --threads 500
//! expect: ^100000 tasks spawned and joined in .*: .* µs per task$
//! expect: ^100000 parked tasks: (.* KiB per task|memory not measured)
//! expect: ^500 threads spawned and joined in .*: .* µs per thread$
//! expect: ^500 parked threads: (.* KiB resident per thread|memory not measured)
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
fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    };
    Some((field("VmRSS:")?, field("VmSize:")?))
}

// ANCHOR: parked_tasks
/// Parks `count` tasks on one channel; returns the resident KiB they added.
async fn park_tasks(count: usize) -> Result<Option<f64>> {
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
    let after = memory_kib();
    release.send(true)?;
    for task in tasks {
        ensure!(task.await?, "a task was woken without the value");
    }
    Ok(before.zip(after).map(|((rss0, _), (rss1, _))| (rss1 - rss0) as f64))
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
fn threads(count: usize) -> Result<()> {
    let started = Instant::now();
    let handles: Vec<_> =
        (0..count).map(|i| std::thread::spawn(move || i)).collect();
    let sum: usize =
        handles.into_iter().map(|h| h.join().expect("no panic")).sum();
    let per = started.elapsed().as_secs_f64() * 1e6 / count as f64;
    ensure!(
        sum == count * count.saturating_sub(1) / 2,
        "a result went missing"
    );
    println!(
        "{count} threads spawned and joined in {:.2?}: {per:.1} µs per thread",
        started.elapsed()
    );

    let before = memory_kib();
    let all_parked = Arc::new(Barrier::new(count + 1));
    let release = Arc::new(Barrier::new(count + 1));
    let parked: Vec<_> = (0..count)
        .map(|_| {
            let (all_parked, release) =
                (Arc::clone(&all_parked), Arc::clone(&release));
            std::thread::spawn(move || {
                all_parked.wait();
                release.wait();
            })
        })
        .collect();
    all_parked.wait();
    let after = memory_kib();
    release.wait();
    parked.into_iter().for_each(|h| h.join().expect("no panic"));
    match before.zip(after) {
        Some(((rss0, vm0), (rss1, vm1))) => println!(
            "{count} parked threads: {:.1} KiB resident per thread, {:.0} KiB of address space each",
            (rss1 - rss0) as f64 / count as f64,
            (vm1 - vm0) as f64 / count as f64
        ),
        None => {
            println!("{count} parked threads: memory not measured (Linux only)")
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let n = args.tasks;
    // Parked memory first, while the heap is fresh: memory freed by an earlier
    // phase would be reused and hide the cost.
    match runtime.block_on(park_tasks(n))? {
        Some(kib) => println!(
            "{n} parked tasks: {:.1} MiB resident, {:.3} KiB per task",
            kib / 1024.0,
            kib / n as f64
        ),
        None => println!("{n} parked tasks: memory not measured (Linux only)"),
    }
    let elapsed = runtime.block_on(spawn_and_join_tasks(n))?;
    let per = elapsed.as_secs_f64() * 1e6 / n as f64;
    println!(
        "{n} tasks spawned and joined in {elapsed:.2?}: {per:.3} µs per task"
    );
    threads(args.threads)
}
