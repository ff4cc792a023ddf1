//! # Listing 3.11: CPU-bound work in 1, 2, … threads: no GIL, so it scales
//!
//! The articles' sum of squares (`sum(n * n for n in range(number))`, `number = 10_000_000`),
//! split across threads. In CPython the threads take turns holding the GIL, so two threads doing
//! arithmetic take as long as one (1.08 × on the machine this book was measured on), and Python
//! programs use processes for this. Rust threads run on separate cores at once, so the time drops
//! with each core added, up to the number of cores.
//!
//! Two details make the figures honest. The total for 10⁷ is more than `u64::MAX`, so it is a
//! `u128` (Python's integers grow as needed; a `u64` would overflow). And LLVM replaces a loop
//! that adds up `n²` with the closed formula, so the loop would take nanoseconds whatever
//! `number` is; `black_box` on each number keeps the loop. `--unguarded` shows the trap.
//!
//! Run it (the figures only mean something in a release build):
//!
//! ```text
//! cargo run -p threading --release --example 11_cpu_bound
//! cargo run -p threading --release --example 11_cpu_bound -- --number 100000000 --max-threads 8 --unguarded
//! ```
//!
//! What to expect: the same exact total for every thread count, and a time that drops with each
//! thread up to the number of cores (about 2 × on 2 cores; less on a busy machine). The times vary.
//!
//! Checked by `tests/examples.rs` (a smaller `number`, to keep the debug-build run short):
//!
//! ```text
//! test-args: --number 1000000 --rounds 1
//! expect: ^sum of n\^2 for n < 1000000 = 333332833333500000$
//! expect: ^1 thread: .* s$
//! expect: ^2 threads: .* s, speedup .*×$
//! ```

use std::hint::black_box;
use std::ops::Range;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use clap::Parser;

/// Sum of squares below `number`, in 1, 2, … threads, with timings.
#[derive(Parser)]
struct Args {
    /// Sum n² for n in 0..number.
    #[arg(long, default_value_t = 10_000_000)]
    number: u64,
    /// Try 1..=max-threads threads (default: the number of cores, at least 2).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_threads: Option<u64>,
    /// Time each thread count this many times and keep the fastest (less noise).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Also time the plain loop without `black_box`, to see the optimizer's shortcut.
    #[arg(long)]
    unguarded: bool,
}

// `testbed::work::sum_of_squares` is the same loop; kept here so this file
// can be copied on its own.
// ANCHOR: sum
/// Σ n² over `numbers`, computed one number at a time.
fn sum_of_squares(numbers: Range<u64>) -> u128 {
    let mut total: u128 = 0;
    for n in numbers {
        // `black_box` hides the value from the optimizer, so it cannot use the
        // closed formula.
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}
// ANCHOR_END: sum

/// The same loop without `black_box`: in a release build LLVM turns it into
/// the formula.
fn sum_of_squares_unguarded(numbers: Range<u64>) -> u128 {
    numbers.map(|n| u128::from(n) * u128::from(n)).sum()
}

// ANCHOR: split
/// Splits `0..number` into `threads` contiguous ranges, sums each in its own
/// thread, and adds up the parts.
fn sum_in_threads(number: u64, threads: u64) -> Result<u128> {
    let chunk = number.div_ceil(threads);
    thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|i| {
                let (start, end) = (i * chunk, (i + 1) * chunk);
                let range = start.min(number)..end.min(number);
                s.spawn(move || sum_of_squares(range))
            })
            .collect();
        parts
            .into_iter()
            .map(|part| part.join().map_err(|_| anyhow!("a thread panicked")))
            .sum()
    })
}
// ANCHOR_END: split

/// Runs `sum` `rounds` times; returns its total and the fastest time.
fn fastest(
    rounds: u32,
    mut sum: impl FnMut() -> Result<u128>,
) -> Result<(u128, Duration)> {
    let (mut total, mut best) = (0, Duration::MAX);
    for _ in 0..rounds {
        let started = Instant::now();
        total = sum()?;
        best = best.min(started.elapsed());
    }
    Ok((total, best))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cores = thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let max_threads = args.max_threads.unwrap_or(cores.max(2));
    let number = args.number;
    println!("{cores} cores available; summing n^2 for n < {number}");

    let sum =
        |threads| fastest(args.rounds, || sum_in_threads(number, threads));
    let (expected, one_thread) = sum(1)?;
    println!("sum of n^2 for n < {number} = {expected}");
    println!("1 thread: {:.4} s", one_thread.as_secs_f64());
    for threads in 2..=max_threads {
        let (total, elapsed) = sum(threads)?;
        ensure!(total == expected, "{threads} threads: a different total");
        let speedup = one_thread.as_secs_f64() / elapsed.as_secs_f64();
        let seconds = elapsed.as_secs_f64();
        println!("{threads} threads: {seconds:.4} s, speedup {speedup:.2}×");
    }

    if args.unguarded {
        let plain = || Ok(sum_of_squares_unguarded(0..black_box(number)));
        let (total, elapsed) = fastest(args.rounds, plain)?;
        println!(
            "without black_box, 1 thread: {total} in {:.9} s (a release build \
             computes the formula instead of the loop)",
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}
