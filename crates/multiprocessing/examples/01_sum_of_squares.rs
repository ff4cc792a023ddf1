//! # Listing 2.1: four processes, each summing squares (the articles' "parallel sum of squares")
//!
//! The boss-and-employees picture: the main process starts four children, each child sums `n²`
//! for `n` below ten million on its own, and the main process waits for all four and prints how
//! long it took. Two things differ from the Python listing, and both are the lesson:
//!
//! - **The total does not fit in a `u64`.** Python's integers grow as needed; the sum is about
//!   3.3·10²⁰ and `u64::MAX` is about 1.8·10¹⁹. So the sum is a `u128`, and the listing prints the
//!   same exact number Python prints, `333333283333335000000`, plus what a `u64` would have
//!   wrapped around to.
//! - **The optimizer must not be allowed to skip the work.** LLVM recognises `Σ n²` and replaces the
//!   loop with the closed formula, so the "CPU-bound" task would take nanoseconds.
//!   `std::hint::black_box` on each `n` hides its value from the optimizer, so the loop really
//!   runs ten million times. `--closed-form` runs the loop without it, to show the trap.
//!
//! And unlike Python, each child *returns* its total: `join` hands it to the parent (Python's
//! children can only print, or put the result on a `Queue`).
//!
//! Run it (build with `--release` for meaningful timings):
//!
//! ```text
//! cargo run --release -p multiprocessing --example 01_sum_of_squares
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --sequential
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --spawn
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --closed-form
//! cargo run --release -p multiprocessing --example 01_sum_of_squares -- --n 100000000 --tasks 8
//! ```
//!
//! What to expect: four lines with the same total, the `u64` comparison, and the elapsed time. In a
//! release build each task takes about five milliseconds. Starting a process through the fork
//! server (the default) costs about a third of a millisecond of CPU, so on two cores four processes
//! take a little more than half the time of `--sequential` (the same four tasks one after another
//! in the main process). `--spawn` starts each child as a fresh copy of the program instead, about
//! a millisecond and a half each, and most of the gain is gone; with `--n 100000000` the tasks are
//! long enough for either to approach the number of cores. `--closed-form` finishes in well under a
//! microsecond: no work was done. Timings vary from run to run and machine to machine.
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

/// Sum n² for n < N in several processes, and time it.
#[derive(Parser)]
struct Args {
    /// Sum the squares of the numbers below this.
    #[arg(long, default_value_t = 10_000_000)]
    n: u64,
    /// How many tasks (each one sums the same range, as in the articles).
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// Run the tasks one after another in this process instead of in child processes.
    #[arg(long)]
    sequential: bool,
    /// Start each child as a fresh copy of the program instead of through the fork server.
    #[arg(long)]
    spawn: bool,
    /// Leave out `black_box`: the compiler replaces the loop with a formula (the trap).
    #[arg(long)]
    closed_form: bool,
}

// ANCHOR: work
/// Σ n² for n < `limit`, exactly. Each step goes through `black_box`, so the optimizer cannot
/// replace the loop with the closed formula `(limit - 1)·limit·(2·limit - 1) / 6`.
fn sum_of_squares(limit: u64) -> u128 {
    let mut total: u128 = 0;
    for n in 0..limit {
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}
// ANCHOR_END: work

// ANCHOR: trap
/// The same sum as the optimizer sees it: a loop it may (and does) turn into a formula.
fn sum_of_squares_closed_form(limit: u64) -> u128 {
    (0..limit).map(|n| u128::from(n) * u128::from(n)).sum()
}
// ANCHOR_END: trap

fn main() -> Result<()> {
    // ANCHOR: init
    // A child process starts here too: `init` runs the function it was sent and exits. So nothing
    // may come before this line (not even argument parsing).
    multiprocessing::init();
    // ANCHOR_END: init
    let args = Args::parse();
    let task: fn(u64) -> u128 = if args.closed_form {
        sum_of_squares_closed_form
    } else {
        sum_of_squares
    };

    let started = Instant::now();
    let totals = if args.sequential {
        (0..args.tasks).map(|_| task(args.n)).collect()
    } else {
        let method = if args.spawn {
            StartMethod::Spawn
        } else {
            StartMethod::ForkServer
        };
        run_in_processes(task, args.n, args.tasks, method)?
    };
    let elapsed = started.elapsed();

    for (number, total) in totals.iter().enumerate() {
        println!(
            "task {}: sum of n² for n < {} = {total}",
            number + 1,
            args.n
        );
    }
    if let Some(&total) = totals.first() {
        explain_u64(total);
    }
    let place = if args.sequential {
        "one after another in this process".to_string()
    } else {
        format!("in {} processes", args.tasks)
    };
    println!(
        "{} tasks {place} took {:.6} s ({elapsed:.1?})",
        args.tasks,
        elapsed.as_secs_f64()
    );
    Ok(())
}

// ANCHOR: spawn
/// Starts one child per task, then joins them all: every child runs while the others start.
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

/// Shows what a `u64` would have made of the total.
fn explain_u64(total: u128) {
    if total > u128::from(u64::MAX) {
        // A wrapping u64 sum is the exact sum modulo 2⁶⁴: the low 64 bits.
        let wrapped = total as u64;
        println!(
            "that is more than u64::MAX = {}; a u64 sum would have wrapped around to {wrapped}",
            u64::MAX
        );
    } else {
        println!("that fits in a u64 (u64::MAX = {})", u64::MAX);
    }
}
