//! # Listing 4.9: an async producer/consumer with back-pressure and a clean end
//!
//! Several producer tasks put numbered jobs into one bounded channel; several consumer tasks
//! take them and "work" on each (a short sleep); a job whose number is a multiple of 13 fails.
//! `coroutines::pipeline` does the plumbing: producers wait when the channel is full, the stream
//! ends when the last producer returns (no sentinel, no `queue.empty()` check), and a failed job
//! is a result like any other. Ctrl-C cancels the run: every task stops, and the summary shows
//! what was finished.
//!
//! Python's version is an `asyncio.Queue(maxsize=...)` with producer and consumer tasks, a
//! `queue.join()`, and consumers cancelled by hand once the queue is drained.
//!
//! Run it:
//!
//! ```text
//! cargo run -p coroutines --example 09_async_producer_consumer
//! cargo run -p coroutines --example 09_async_producer_consumer -- --producers 5 --jobs 100
//! ```
//!
//! What to expect: the summary: how many jobs were done and which failed; which consumer did
//! which job varies from run to run.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^60 jobs: 56 done, 4 failed \(13, 26, 39, 52\)$
//! expect: ^cancelled: false$
//! ```

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use coroutines::pipeline::{self, Options, Producer};
use tokio_util::sync::CancellationToken;

/// Producers and consumers over one bounded channel.
#[derive(Parser)]
struct Args {
    /// How many producer tasks.
    #[arg(long, default_value_t = 3)]
    producers: u64,
    /// How many jobs each producer makes.
    #[arg(long, default_value_t = 20)]
    jobs: u64,
    /// How many consumer tasks.
    #[arg(long, default_value_t = 4)]
    consumers: usize,
    /// How many jobs the channel holds before producers wait.
    #[arg(long, default_value_t = 5)]
    capacity: usize,
}

// ANCHOR: work
/// Producer `p` makes jobs `p * jobs + 1 ..= (p + 1) * jobs`.
async fn produce(p: u64, jobs: u64, channel: Producer<u64>) {
    for job in p * jobs + 1..=(p + 1) * jobs {
        // Waits here while the channel is full: back-pressure.
        if channel.send(job).await.is_err() {
            return; // the consumers are gone
        }
    }
} // `channel` is dropped here: this producer is done

async fn work(job: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    match job % 13 {
        0 => Err(format!("job {job} failed")),
        _ => Ok(job),
    }
}
// ANCHOR_END: work

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    // ANCHOR: run
    let options =
        Options { capacity: args.capacity, consumers: args.consumers };
    let jobs = args.jobs;
    let producers = (0..args.producers).map(|p| move |tx| produce(p, jobs, tx));
    let outcome = pipeline::run(options, producers, work, cancel).await?;
    // ANCHOR_END: run
    let mut failed: Vec<String> = Vec::new();
    let mut done = 0;
    for result in &outcome.results {
        match result {
            Ok(_) => done += 1,
            Err(message) => {
                failed.push(message.split(' ').nth(1).unwrap_or("?").into())
            }
        }
    }
    failed.sort_by_key(|job| job.parse::<u64>().unwrap_or(0));
    let total = args.producers * args.jobs;
    let failed_list = failed.join(", ");
    println!(
        "{total} jobs: {done} done, {} failed ({failed_list})",
        failed.len()
    );
    println!("cancelled: {}", outcome.cancelled);
    Ok(())
}
