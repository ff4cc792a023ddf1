//! # Listing 2.1: four processes, each summing squares (the articles' "parallel sum of squares")
//!
//! The main process starts four children; each sums `n²` for `n` below ten million and returns
//! its total, which `join` hands to the parent (a Python child could only print it, or put it on
//! a `Queue`). Two things differ from the Python listing, and both are the lesson:
//!
//! - **The total does not fit in a `u64`** (about 3.3·10²⁰ against 1.8·10¹⁹), so it is a `u128`,
//!   and the listing prints Python's exact number and what a `u64` would have wrapped around to.
//! - **The optimizer must not skip the work.** LLVM replaces a loop that adds up `n²` with the
//!   closed formula; `black_box` on each `n` keeps the loop. `--closed-form` shows the trap.
//!
//! Run it (with `--release` for meaningful timings):
//!
//! ```text
//! cargo run --release -p multiprocessing --example 01_sum_of_squares
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --sequential
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --spawn
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --closed-form
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --n 100000000 --tasks 8
//! ```
//!
//! What to expect: four lines with the same total, the `u64` comparison, and the time. On two
//! cores, four processes started through the fork server (the default) take a little more than
//! half the time of `--sequential`; `--spawn` starts each child as a fresh program, which costs
//! most of that gain at this size (not at `--n 100000000`); `--closed-form` takes under a
//! microsecond, because no work was done. Timings vary from run to run and machine to machine.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^task 1: sum of n² for n < 10000000 = 333333283333335000000$
//! expect: ^task 4: sum of n² for n < 10000000 = 333333283333335000000$
//! expect: would have wrapped around to 1291890006563070912$
//! expect: ^4 tasks in 4 processes took \d+\.\d+ s \(.*s\)$
//! ```

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use multiprocessing::{Process, StartMethod};

/// Sum n² for n < N in several processes (the fork server's, by default), and time it.
#[derive(Parser)]
struct Args {
    /// Sum the squares of the numbers below this.
    #[arg(long, default_value_t = 10_000_000)]
    n: u64,
    /// How many tasks (each one sums the same range, as in the articles).
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// Run the tasks one after another in this process, to compare.
    #[arg(long)]
    sequential: bool,
    /// Start each child as a fresh copy of the program instead of through the fork server.
    #[arg(long)]
    spawn: bool,
    /// Leave out `black_box`: the compiler replaces the loop with a formula (the trap).
    #[arg(long)]
    closed_form: bool,
}

// `testbed::work::sum_of_squares` is the same loop; kept here so this file
// can be copied on its own.
// ANCHOR: work
/// Σ n² for n < `limit`, exactly. `black_box` hides each `n` from the
/// optimizer, so it cannot replace the loop with the closed formula.
fn sum_of_squares(limit: u64) -> u128 {
    let mut total: u128 = 0;
    for n in 0..limit {
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}
// ANCHOR_END: work

/// The same sum as the optimizer sees it: a loop it may (and does) turn into a formula.
fn sum_of_squares_closed_form(limit: u64) -> u128 {
    (0..limit).map(|n| u128::from(n) * u128::from(n)).sum()
}

fn main() -> Result<()> {
    // ANCHOR: init
    // A child process starts here too: `init` runs the function it was
    // sent and exits. So nothing may come before this line (not even
    // argument parsing).
    multiprocessing::init();
    // ANCHOR_END: init
    let args = Args::parse();
    let task: fn(u64) -> u128 = if args.closed_form {
        sum_of_squares_closed_form
    } else {
        sum_of_squares
    };
    let method =
        if args.spawn { StartMethod::Spawn } else { StartMethod::ForkServer };

    let started = Instant::now();
    let (totals, place) = if args.sequential {
        let totals = (0..args.tasks).map(|_| task(args.n)).collect();
        (totals, "one after another in this process".to_string())
    } else {
        let totals = run_in_processes(task, args.n, args.tasks, method)?;
        (totals, format!("in {} processes", args.tasks))
    };
    let elapsed = started.elapsed();

    for (number, total) in totals.iter().enumerate() {
        println!("task {}: sum of n² for n < {} = {total}", number + 1, args.n);
    }
    if let Some(&total) = totals.first().filter(|&&t| t > u128::from(u64::MAX))
    {
        // A wrapping u64 sum is the exact sum modulo 2⁶⁴: the low 64 bits.
        println!(
            "that is more than u64::MAX = {}; a u64 sum would have wrapped around to {}",
            u64::MAX,
            total as u64
        );
    }
    let seconds = elapsed.as_secs_f64();
    println!(
        "{} tasks {place} took {seconds:.6} s ({elapsed:.1?})",
        args.tasks
    );
    Ok(())
}

// ANCHOR: spawn
/// Starts one child per task, then joins them all: every child runs while
/// the others start.
fn run_in_processes(
    task: fn(u64) -> u128,
    n: u64,
    tasks: usize,
    method: StartMethod,
) -> Result<Vec<u128>> {
    let children = (0..tasks)
        .map(|_| Process::builder().start_method(method).spawn(task, n))
        .collect::<Result<Vec<_>, _>>()
        .context("starting the worker processes")?;
    children
        .into_iter()
        .map(|child| child.join().context("joining a worker process"))
        .collect()
}
// ANCHOR_END: spawn
