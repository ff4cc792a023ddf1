//! # Listing 2.8: a counter in shared memory, and the updates it loses
//!
//! Four processes add 1 to one shared integer, many times each, in three ways:
//!
//! 1. **load, then store**: Python's `counter.value += 1` without `get_lock()`. Two processes
//!    read the same value, both store it plus one, and one increment is lost.
//! 2. **`fetch_add(1)`**: one indivisible atomic instruction; nothing is lost, and no lock is
//!    needed.
//! 3. **load and store under a cross-process `Lock`**: correct again, and far slower: every
//!    increment is a round trip to the lock's broker. A lock is for changes no atomic can make.
//!
//! The processes meet at a `Barrier` first, so that they really count at the same time.
//!
//! Run it:
//!
//! ```text
//! cargo run --release -p multiprocessing --example 08_shared_memory
//! cargo run --release -p multiprocessing --example 08_shared_memory -- --processes 8 --increments 2000000
//! ```
//!
//! What to expect: the first line counts fewer than it should. How many are lost changes from run
//! to run and machine to machine (often a third to a half with several cores, fewer on one core,
//! and on a rare run none at all); the other two lines are always exact.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^load then store : +\d+ of 4000000 counted \(\d+ lost\)$
//! expect: ^fetch_add       : +4000000 of 4000000 counted \(0 lost\)$
//! expect: ^under the Lock  : +8000 of 8000 counted \(0 lost\)$
//! ```

use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::{Barrier, Lock};
use serde::{Deserialize, Serialize};

/// Processes add to one shared integer three ways, and count what is lost.
#[derive(Parser)]
struct Args {
    /// How many processes add to the counter.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    processes: u32,
    /// How many times each process adds 1 (load then store, and fetch_add).
    #[arg(long, default_value_t = 1_000_000)]
    increments: u64,
    /// How many times each process adds 1 under the lock (each is a round trip).
    #[arg(long, default_value_t = 2_000)]
    locked_increments: u64,
}

/// How each process adds to the counter.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum Method {
    LoadThenStore,
    FetchAdd,
    UnderLock,
}

/// Everything a counting process needs: handles to the shared counter, the
/// lock and the barrier travel inside the argument.
#[derive(Serialize, Deserialize)]
struct Job {
    method: Method,
    counter: Value,
    lock: Lock,
    start_together: Barrier,
    increments: u64,
}

// ANCHOR: count
fn count(job: Job) -> anyhow::Result<()> {
    job.start_together.wait()?;
    for _ in 0..job.increments {
        match job.method {
            Method::LoadThenStore => {
                let seen = job.counter.load(); // another process may add...
                job.counter.store(seen + 1); // ...and this overwrites it
            }
            Method::FetchAdd => {
                job.counter.fetch_add(1);
            }
            Method::UnderLock => {
                let _guard = job.lock.acquire()?;
                let seen = job.counter.load();
                job.counter.store(seen + 1);
            } // the guard is dropped here: the lock is released
        }
    }
    Ok(())
}
// ANCHOR_END: count

/// Runs `--processes` processes that each add 1 many times with `method`;
/// prints what they counted and returns how many increments were lost.
fn run(args: &Args, method: Method, lock: &Lock) -> Result<i64> {
    let (increments, label) = match method {
        Method::LoadThenStore => (args.increments, "load then store"),
        Method::FetchAdd => (args.increments, "fetch_add"),
        Method::UnderLock => (args.locked_increments, "under the Lock"),
    };
    let counter = Value::new(0)?;
    let start_together = Barrier::new(args.processes)?;
    let workers = (0..args.processes)
        .map(|_| {
            let job = Job {
                method,
                counter: counter.clone(),
                lock: lock.clone(),
                start_together: start_together.clone(),
                increments,
            };
            Process::spawn_fallible(count, job)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for worker in workers {
        worker.join()?;
    }
    let expected = i64::from(args.processes) * increments as i64;
    let counted = counter.load();
    let lost = expected - counted;
    println!("{label:<16}: {counted:>8} of {expected} counted ({lost} lost)");
    Ok(lost)
}

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let lock = Lock::new()?;
    run(&args, Method::LoadThenStore, &lock)?;
    let lost = run(&args, Method::FetchAdd, &lock)?;
    ensure!(lost == 0, "fetch_add lost updates: a bug in shared memory");
    let started = Instant::now();
    let lost = run(&args, Method::UnderLock, &lock)?;
    ensure!(lost == 0, "updates under the lock were lost: a bug in the lock");
    let took = format!("{:.2?}", started.elapsed());
    println!("(the locked run took {took}: a broker round trip per increment)");
    Ok(())
}
