//! # Listing 2.20: coroutines inside processes (the articles' hybrid)
//!
//! The articles end chapter 2 with two programs. The first is a coroutine `download(url)` that
//! prints, sleeps a second and prints again, run twice with `asyncio.gather`: both finish after
//! one second, not two. The second is the hybrid: `Pool(2).map(worker, urls)`, where each worker
//! process runs an event loop of its own. Processes give the parallelism (one runtime per core,
//! each a separate crash domain); coroutines give each process many requests in flight.
//!
//! Here each pool worker builds its own tokio runtime and fetches its share of the URLs with
//! chapter 4's `fetch_all` (one client, at most `--limit` requests in flight).
//!
//! **Where the runtime starts matters.** `#[tokio::main]` starts the runtime's worker threads
//! before the first line of `main`, so `multiprocessing::init()` would run in a process that
//! already has threads. Forking such a process is unsound (only the forking thread survives, and
//! any lock another thread held stays locked), so `init()` then cannot start the fork server and
//! the crate falls back to the spawn method: every worker starts as a fresh program, which works
//! but costs more per worker. So `main` here is a plain function: `init()` first, then a runtime
//! built by hand, and a worker builds its runtime inside the worker, after it has started.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 20_async_in_processes
//! cargo run -p multiprocessing --example 20_async_in_processes -- --pages 200 --limit 50
//! ```
//!
//! What to expect: the two downloads start together and end together, about one second later;
//! then each page with its length and the worker process that fetched it, and a summary line.
//! With the local site's 50 ms per page, 20 pages in 2 processes × 5 in flight take about two
//! rounds of 50 ms, against a full second for one page at a time.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^start downloading https://example\.com/a$
//! expect: ^both downloads done in 1\.\d+ s$
//! expect: ^page 1: 10240 bytes \(worker \d+\)$
//! expect: ^20 pages in 2 processes, 20 fetched, in \d+\.\d+ s$
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use coroutines::fetch;
use multiprocessing::pool::Pool;
use testbed::Site;

#[derive(Parser)]
#[command(
    about = "Coroutines inside pool workers: each process runs its own tokio runtime"
)]
struct Args {
    /// How many pages of the local site to fetch.
    #[arg(long, default_value_t = 20)]
    pages: u64,
    /// How many worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// How many requests each worker keeps in flight.
    #[arg(long, default_value_t = 5)]
    limit: usize,
}

// ANCHOR: download
/// The article's coroutine: announce, wait a second (as if downloading), announce again.
async fn download(url: &str) {
    println!("start downloading {url}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("done downloading {url}");
}
// ANCHOR_END: download

// ANCHOR: worker
/// Runs in a pool worker: a runtime of its own, its share of the URLs
/// fetched concurrently. Each page's length, or why there is none.
type Outcome = Result<usize, String>;
fn fetch_share((urls, limit): (Vec<String>, usize)) -> (u32, Vec<Outcome>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let client = fetch::client(Duration::from_secs(5)).expect("a client");
    let pages =
        runtime.block_on(fetch::fetch_all(&client, urls, limit, |_| {}));
    let length = |page: fetch::Page| page.body.len();
    let outcomes = pages.into_iter().map(|page| page.map(length));
    (
        std::process::id(),
        outcomes.map(|o| o.map_err(|e| e.to_string())).collect(),
    )
}
// ANCHOR_END: worker

fn main() -> Result<()> {
    multiprocessing::init(); // first, before any thread exists
    let args = Args::parse();

    // ANCHOR: gather
    let runtime =
        tokio::runtime::Runtime::new().context("starting a runtime")?;
    let started = Instant::now();
    runtime.block_on(async {
        tokio::join!(
            download("https://example.com/a"),
            download("https://example.com/b")
        )
    });
    // ANCHOR_END: gather
    println!("both downloads done in {:.2} s", started.elapsed().as_secs_f64());
    drop(runtime);

    let site = Site::start().context("starting the local site")?;
    let urls: Vec<String> =
        (1..=args.pages).map(|n| site.page_url(n)).collect();
    // ANCHOR: hybrid
    let workers = args.workers.max(1);
    let share = |w| urls.iter().skip(w).step_by(workers).cloned().collect();
    let shares: Vec<(Vec<String>, usize)> =
        (0..workers).map(|w| (share(w), args.limit)).collect();
    let pool = Pool::new(workers)?;
    let started = Instant::now();
    let per_worker = pool.map(fetch_share, shares)?;
    // ANCHOR_END: hybrid
    let elapsed = started.elapsed();
    let mut lines = Vec::new(); // (page number, worker pid, outcome)
    for (w, share) in per_worker.into_iter().enumerate() {
        let (pid, outcomes) =
            share.with_context(|| format!("worker {w}'s share"))?;
        for (i, outcome) in outcomes.into_iter().enumerate() {
            lines.push((1 + w + i * workers, pid, outcome));
        }
    }
    lines.sort_by_key(|&(page, ..)| page);
    let mut fetched = 0;
    for (page, pid, outcome) in lines {
        fetched += usize::from(outcome.is_ok());
        match outcome {
            Ok(bytes) => println!("page {page}: {bytes} bytes (worker {pid})"),
            Err(why) => println!("page {page}: failed: {why} (worker {pid})"),
        }
    }
    println!(
        "{} pages in {workers} processes, {fetched} fetched, in {:.2} s",
        urls.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
