//! # Listing 2.5: a counter in shared memory, and the updates it loses
//!
//! Four processes add 1 to one shared integer, many times each, in three ways:
//!
//! 1. **load, then store** (`let seen = counter.load(); counter.store(seen + 1)`): what
//!    Python's `counter.value += 1` does without `get_lock()`. Two processes read the same value,
//!    both store `seen + 1`, and one increment is lost. The total comes out short.
//! 2. **`fetch_add(1)`**: one indivisible atomic instruction; nothing is lost, and no lock is
//!    needed.
//! 3. **load and store under a cross-process `Lock`**: correct again, and far slower, because
//!    every increment is a round trip to the lock's broker. A lock is for multi-step changes that
//!    no single atomic can do.
//!
//! The processes wait at a `Barrier` before counting, so that they really run at the same time
//! (starting a process takes longer than a short counting loop).
//!
//! Run it:
//!
//! ```text
//! cargo run --release -p multiprocessing --example 05_shared_memory
//! cargo run --release -p multiprocessing --example 05_shared_memory -- --processes 8 --increments 2000000
//! ```
//!
//! What to expect: the first line counts fewer than it should. How many are lost changes from run
//! to run and machine to machine (often a third to a half with several cores, fewer on one
//! core, and on a rare run none at all); the other two lines are always exact.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^load then store : +\d+ of 4000000 counted \(\d+ lost\)$
//! expect: ^fetch_add       : +4000000 of 4000000 counted \(0 lost\)$
//! expect: ^under the Lock  : +8000 of 8000 counted \(0 lost\)$
//! ```
use std::time::Instant;

use anyhow::{Context, bail};
use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::{Barrier, Lock};
use serde::{Deserialize, Serialize};

/// How each process adds to the counter.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum Method {
    LoadThenStore,
    FetchAdd,
    UnderLock,
}

/// Everything a counting process needs: handles to the shared counter, the lock and the
/// barrier travel inside the argument.
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
                let seen = job.counter.load(); // another process may add here...
                job.counter.store(seen + 1); // ...and this overwrites its update
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

/// Runs `processes` processes that each add `increments` with `method`; returns the total.
fn run(method: Method, processes: u32, increments: u64, lock: &Lock) -> anyhow::Result<i64> {
    let counter = Value::new(0)?;
    let start_together = Barrier::new(processes)?;
    let workers = (0..processes)
        .map(|_| {
            let job = Job {
                method,
                counter: counter.clone(),
                lock: lock.clone(),
                start_together: start_together.clone(),
                increments,
            };
            Process::spawn(count_or_report, job)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for worker in workers {
        worker.join()?.map_err(anyhow::Error::msg)?;
    }
    Ok(counter.load())
}

/// A child's error crosses back as a message (`anyhow::Error` is not serializable).
fn count_or_report(job: Job) -> Result<(), String> {
    count(job).map_err(|e| format!("{e:#}"))
}

fn report(label: &str, counted: i64, expected: i64) {
    println!(
        "{label:<16}: {counted:>8} of {expected} counted ({} lost)",
        expected - counted
    );
}

struct Options {
    processes: u32,
    increments: u64,
    locked_increments: u64,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        processes: 4,
        increments: 1_000_000,
        locked_increments: 2_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--processes" => {
                options.processes = value()?
                    .parse()
                    .with_context(|| format!("{arg} takes a number"))?
            }
            "--increments" => {
                options.increments = value()?
                    .parse()
                    .with_context(|| format!("{arg} takes a number"))?
            }
            "--locked-increments" => {
                options.locked_increments = value()?
                    .parse()
                    .with_context(|| format!("{arg} takes a number"))?
            }
            "--help" | "-h" => {
                println!(
                    "usage: 05_shared_memory [--processes N (4)] [--increments N (1000000)] \
                     [--locked-increments N (2000)]\n\
                     Counts with N processes adding to one shared integer three ways."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if options.processes == 0 {
        bail!("--processes must be at least 1");
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    multiprocessing::init();
    let options = parse_options()?;
    let lock = Lock::new()?;
    let n = i64::from(options.processes);

    let expected = n * options.increments as i64;
    let counted = run(
        Method::LoadThenStore,
        options.processes,
        options.increments,
        &lock,
    )?;
    report("load then store", counted, expected);

    let counted = run(
        Method::FetchAdd,
        options.processes,
        options.increments,
        &lock,
    )?;
    report("fetch_add", counted, expected);
    if counted != expected {
        bail!("fetch_add lost updates: that would be a bug in the shared memory");
    }

    let expected = n * options.locked_increments as i64;
    let started = Instant::now();
    let counted = run(
        Method::UnderLock,
        options.processes,
        options.locked_increments,
        &lock,
    )?;
    report("under the Lock", counted, expected);
    if counted != expected {
        bail!("updates under the lock were lost: that would be a bug in the lock");
    }
    println!(
        "(the locked run took {:.2?}: a broker round trip per increment)",
        started.elapsed()
    );
    Ok(())
}
