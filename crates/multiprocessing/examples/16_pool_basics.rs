//! # Listing 2.16: a process pool, and a worker killed mid-task
//!
//! Python's `multiprocessing.Pool` and `ProcessPoolExecutor`, call by call:
//! `map`, `starmap`, `apply_async`, `imap_unordered`, and `submit` with
//! `as_completed`. Then one task kills its own worker (`abort`) while the
//! others run: that one task fails, naming the worker and the signal, the
//! worker is replaced and the rest finish. (Python's `Pool` would wait for the
//! lost result for ever; its executor would fail every pending future.)
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 16_pool_basics
//! cargo run -p multiprocessing --example 16_pool_basics -- --workers 4 --tasks 40
//! ```
//!
//! What to expect: the squares in input order, the sums, one result, the
//! squares in the order they finished (which varies), the cubes as completed,
//! then the killed task's error with the dead worker's pid, and the count of
//! the others, which all succeeded.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^map: \[0, 1, 4, 9, 16, 25, 36, 49, 64, 81\]$
//! expect: ^starmap: \[0, 11, 22, 33, 44, 55, 66, 77, 88, 99\]$
//! expect: ^apply_async: 1764$
//! expect: ^imap_unordered: 10 results, sum 285$
//! expect: ^as_completed: 10 results, sum 2025$
//! expect: ^task 3: worker \d+ was killed by signal 6 \(SIGABRT\) while running the task$
//! expect: ^the other 9 tasks: 9 succeeded$
//! ```

use anyhow::Result;
use clap::Parser;
use multiprocessing::pool::{Pool, ProcessPoolExecutor, as_completed};

/// A process pool, call by call, and a worker killed mid-task.
#[derive(Parser)]
struct Args {
    /// How many worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// How many tasks in each call.
    #[arg(long, default_value_t = 10)]
    tasks: u64,
}

fn square(x: u64) -> u64 {
    x * x
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn cube(x: u64) -> u64 {
    x * x * x
}

/// Task 3 kills its own worker with SIGABRT, as Python's `os.abort()` would
/// (a crash in native code looks the same to the pool).
fn square_or_die(x: u64) -> u64 {
    if x == 3 {
        std::process::abort();
    }
    x * x
}

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let n = args.tasks;
    // ANCHOR: pool
    // with Pool(2) as pool:
    let pool = Pool::new(args.workers)?;
    // pool.map(square, range(n))
    let squares: Vec<u64> =
        pool.map(square, 0..n)?.into_iter().collect::<Result<_, _>>()?;
    println!("map: {squares:?}");
    // pool.starmap(add, [(x, 10 * x) for x in range(n)])
    let sums: Vec<u64> = pool
        .starmap(add, (0..n).map(|x| (x, 10 * x)))?
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("starmap: {sums:?}");
    // pool.apply_async(square, (42,)).get()
    let answer = pool.apply_async(square, 42)?;
    println!("apply_async: {}", answer.get()?);
    // for r in pool.imap_unordered(square, range(n)): ...
    let mut count = 0;
    let mut total = 0;
    for outcome in pool.imap_unordered(square, 0..n)? {
        count += 1;
        total += outcome?;
    }
    println!("imap_unordered: {count} results, sum {total}");
    // ANCHOR_END: pool

    // ANCHOR: executor
    // with ProcessPoolExecutor(2) as executor:
    let executor = ProcessPoolExecutor::new(args.workers)?;
    // futures = [executor.submit(cube, x) for x in range(n)]
    let futures = (0..n)
        .map(|x| executor.submit(cube, x))
        .collect::<Result<Vec<_>, _>>()?;
    // for future in as_completed(futures): future.result()
    let (mut count, mut total) = (0, 0);
    for (_index, outcome) in as_completed(futures) {
        count += 1;
        total += outcome?;
    }
    println!("as_completed: {count} results, sum {total}");
    // ANCHOR_END: executor

    // ANCHOR: killed
    let outcomes = pool.map_chunked(square_or_die, 0..n, 1)?;
    let mut succeeded = 0;
    for (x, outcome) in (0..n).zip(&outcomes) {
        match outcome {
            Ok(value) if *value == x * x => succeeded += 1,
            Ok(value) => println!("task {x}: wrong value {value}"),
            Err(error) => println!("task {x}: {error}"),
        }
    }
    println!("the other {} tasks: {succeeded} succeeded", n - 1);
    // ANCHOR_END: killed
    Ok(())
}
