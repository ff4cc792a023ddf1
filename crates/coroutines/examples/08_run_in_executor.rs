//! # Listing 4.8: CPU work handed to `spawn_blocking` while the runtime keeps serving
//!
//! Python's `loop.run_in_executor(None, f)` runs a blocking function on a thread pool and gives
//! the coroutine a future to await; tokio's `spawn_blocking(f)` is the same thing, on the runtime's
//! own pool of blocking threads. The event loop stays free, so other tasks go on running.
//!
//! Here a ticker prints a line every 100 ms while the sum of squares below `--number` is computed
//! on a blocking thread. The same call made directly inside a task would freeze the ticker for the
//! whole computation (listing 4.7 measures that); on a runtime with one thread, as here, so would
//! everything else.
//!
//! Unlike Python's executor threads, tokio's blocking threads run Rust code in parallel with the
//! runtime's: there is no GIL, so CPU work on them really uses another core. For work that must
//! be isolated in another process, chapter 2's process pool is the tool, and the listing does the
//! same sum a second time on it: `ProcessPoolExecutor::submit` returns a future that async code
//! can `.await` (Python's `loop.run_in_executor(ProcessPoolExecutor(), f, x)`), and the ticker
//! keeps ticking meanwhile.
//!
//! `main` is a plain function that calls `multiprocessing::init()` before it builds the runtime:
//! a runtime's threads must not exist yet when the pool's fork server starts (chapter 2,
//! "Async inside processes", explains why).
//!
//! Run it (the computation is long enough to watch in a debug build; in release, raise `--number`):
//!
//! ```text
//! cargo run -p coroutines --example 08_run_in_executor
//! cargo run -p coroutines --release --example 08_run_in_executor -- --number 2000000000
//! ```
//!
//! What to expect: `tick` lines while the computation runs (how many depends on the machine),
//! then the sum, which equals the closed formula's, and how long it took; then the same for the
//! process pool.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! test-args: --number 100000000
//! expect: ^tick 1 at \d+ ms$
//! expect: ^sum of n\^2 for n < 100000000 = 333333328333333350000000 \(matches the formula\)
//! expect: ^the ticker ticked \d+ times while the sum was computed$
//! expect: ^in a pool process: sum of n\^2 for n < 100000000 = 333333328333333350000000 \(matches the formula\)
//! expect: ^the ticker ticked \d+ times while the pool process computed$
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use clap::Parser;
use multiprocessing::pool::ProcessPoolExecutor;
use testbed::work::{sum_of_squares, sum_of_squares_formula};

/// Computes a sum of squares on a blocking thread while a ticker task keeps ticking.
#[derive(Parser)]
struct Args {
    /// Sum n² for n below this.
    #[arg(long, default_value_t = 50_000_000)]
    number: u64,
}

const TICK: Duration = Duration::from_millis(100);

fn main() -> Result<()> {
    multiprocessing::init(); // before the runtime starts any thread
    let args = Args::parse();
    let executor = ProcessPoolExecutor::new(1)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args.number, &executor))
}

/// A ticker that prints every [`TICK`] and counts its ticks, until it is aborted.
fn start_ticker(
    started: Instant,
) -> (tokio::task::JoinHandle<()>, Arc<AtomicU64>) {
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks);
        async move {
            let mut interval = tokio::time::interval(TICK);
            interval.tick().await; // the first tick is immediate
            loop {
                interval.tick().await;
                let n = ticks.fetch_add(1, Ordering::Relaxed) + 1;
                println!("tick {n} at {} ms", started.elapsed().as_millis());
            }
        }
    });
    (ticker, ticks)
}

/// What a pool process runs: a plain `fn`, as every process function is.
fn sum_below(number: u64) -> u128 {
    sum_of_squares(0..number)
}

// ANCHOR: main
async fn run(number: u64, executor: &ProcessPoolExecutor) -> Result<()> {
    let started = Instant::now();
    let (ticker, ticks) = start_ticker(started);
    // Python: await loop.run_in_executor(None, sum_of_squares, number)
    let sum =
        tokio::task::spawn_blocking(move || sum_of_squares(0..number)).await?;
    ticker.abort();
    ensure!(sum == sum_of_squares_formula(number), "the sum is wrong: {sum}");
    println!(
        "sum of n^2 for n < {number} = {sum} (matches the formula), in {:.2?}",
        started.elapsed()
    );
    let ticked = ticks.load(Ordering::Relaxed);
    println!("the ticker ticked {ticked} times while the sum was computed");

    let started = Instant::now();
    let (ticker, ticks) = start_ticker(started);
    // Python: await loop.run_in_executor(ProcessPoolExecutor(), f, number)
    let sum = executor.submit(sum_below, number)?.await?;
    ticker.abort();
    ensure!(sum == sum_of_squares_formula(number), "the sum is wrong: {sum}");
    print!("in a pool process: ");
    println!(
        "sum of n^2 for n < {number} = {sum} (matches the formula), in {:.2?}",
        started.elapsed()
    );
    let ticked = ticks.load(Ordering::Relaxed);
    println!(
        "the ticker ticked {ticked} times while the pool process computed"
    );
    Ok(())
}
// ANCHOR_END: main
