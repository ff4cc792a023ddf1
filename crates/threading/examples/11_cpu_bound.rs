//! # Listing 3.11: CPU-bound work in 1, 2, … threads: no GIL, so it scales
//!
//! The articles' sum of squares (`sum(n * n for n in range(number))` with `number = 10_000_000`), split
//! across threads. In CPython, threads take turns holding the GIL, so two threads doing arithmetic
//! take as long as one (the issue's measurement: 1.08 × for two threads); Python programs use
//! processes for this. Rust threads run on separate cores at once, so the time drops with each core
//! added, up to the number of cores.
//!
//! Two details make the figures honest:
//!
//! - **`u128`.** The total for 10^7 is 333 333 283 333 335 000 000, more than `u64::MAX` (about
//!   1.8 × 10^19). Python's integers grow as needed; in Rust a `u64` would overflow (a panic in a
//!   debug build, a silently wrong answer in release). `u128` holds it exactly, and the listing
//!   prints the same number Python prints.
//! - **`std::hint::black_box` on each number.** Without it, LLVM recognises the loop as a sum of
//!   squares and replaces it with the closed formula n(n-1)(2n-1)/6: the "CPU-bound" loop then takes
//!   nanoseconds, whatever `number` is, and the threads have nothing to speed up. Hiding only the
//!   bound (`black_box(number)`) is not enough, the formula works for any bound; hiding each value
//!   is. `--unguarded` runs the plain loop to show the trap (in a release build).
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
    #[arg(long)]
    max_threads: Option<u64>,
    /// Time each thread count this many times and keep the fastest (less noise).
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// Also time the plain loop without `black_box`, to see the optimizer's shortcut.
    #[arg(long)]
    unguarded: bool,
}

// ANCHOR: sum
/// Σ n² over `numbers`, computed one number at a time.
fn sum_of_squares(numbers: Range<u64>) -> u128 {
    let mut total: u128 = 0;
    for n in numbers {
        // `black_box` hides the value from the optimizer, so it cannot use the closed formula.
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}
// ANCHOR_END: sum

/// The same loop without `black_box`: in a release build LLVM turns it into a formula.
fn sum_of_squares_unguarded(numbers: Range<u64>) -> u128 {
    let mut total: u128 = 0;
    for n in numbers {
        total += u128::from(n) * u128::from(n);
    }
    total
}

// ANCHOR: split
/// Splits `0..number` into `threads` contiguous ranges, sums each in its own thread, adds up.
fn sum_in_threads(number: u64, threads: u64) -> Result<u128> {
    let chunk = number.div_ceil(threads);
    thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|i| {
                let range = (i * chunk).min(number)..((i + 1) * chunk).min(number);
                s.spawn(move || sum_of_squares(range))
            })
            .collect();
        parts
            .into_iter()
            .map(|part| {
                part.join()
                    .map_err(|_| anyhow!("a summing thread panicked"))
            })
            .sum()
    })
}
// ANCHOR_END: split

/// Runs `f` `rounds` times; returns its (identical) result and the fastest time.
fn fastest<T: PartialEq>(rounds: u32, mut f: impl FnMut() -> Result<T>) -> Result<(T, Duration)> {
    let mut best: Option<(T, Duration)> = None;
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let value = f()?;
        let elapsed = started.elapsed();
        if let Some((previous, _)) = &best {
            ensure!(*previous == value, "two rounds gave different totals");
        }
        if best.as_ref().is_none_or(|(_, t)| elapsed < *t) {
            best = Some((value, elapsed));
        }
    }
    best.ok_or_else(|| anyhow!("no round ran"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cores = thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let max_threads = args.max_threads.unwrap_or(cores.max(2)).max(1);
    println!(
        "{cores} cores available; summing n^2 for n < {}",
        args.number
    );

    let mut one_thread = None;
    for threads in 1..=max_threads {
        let (total, elapsed) = fastest(args.rounds, || sum_in_threads(args.number, threads))?;
        if threads == 1 {
            println!("sum of n^2 for n < {} = {total}", args.number);
            println!("1 thread: {:.4} s", elapsed.as_secs_f64());
            one_thread = Some((total, elapsed));
        } else if let Some((expected, base)) = one_thread {
            ensure!(
                total == expected,
                "{threads} threads gave a different total"
            );
            let speedup = base.as_secs_f64() / elapsed.as_secs_f64();
            println!(
                "{threads} threads: {:.4} s, speedup {speedup:.2}×",
                elapsed.as_secs_f64()
            );
        }
    }

    if args.unguarded {
        let (total, elapsed) = fastest(args.rounds, || {
            Ok(sum_of_squares_unguarded(0..black_box(args.number)))
        })?;
        println!(
            "without black_box, 1 thread: {total} in {:.9} s (a release build computes the formula instead of the loop)",
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}
