//! # Listing 2.12: a barrier across processes: nobody starts before everybody is ready
//!
//! Python's `multiprocessing.Barrier(n)`. Workers do an uneven setup (later workers take longer),
//! count themselves in a shared counter of finished setups, and meet at a barrier. Each reads the
//! counter just after passing it, and every one of them sees all setups done: nobody started
//! before everybody was ready.
//!
//! A barrier breaks when a waiting party dies or a `wait_timeout` runs out, and stays broken: the
//! others get `SyncError::BrokenBarrier` instead of waiting for a party that will never come.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 12_barrier
//! cargo run -p multiprocessing --example 12_barrier -- --workers 8
//! ```
//!
//! What to expect: one line saying that every worker saw every setup done.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^barrier: every worker saw 4 of 4 setups done when it started$
//! ```

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::Barrier;
use serde::{Deserialize, Serialize};

/// Worker processes with uneven setups meet at a barrier before they start.
#[derive(Parser)]
struct Args {
    /// How many worker processes meet at the barrier.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    workers: u32,
}

/// How long a worker waits at the barrier before giving up (an example must
/// not hang).
const PATIENCE: Duration = Duration::from_secs(30);

// ANCHOR: barrier
#[derive(Serialize, Deserialize)]
struct Start {
    index: u32,
    ready: Barrier,
    setups_done: Value,
}

/// Returns how many setups were done when this worker started.
fn set_up_then_start(start: Start) -> Result<i64> {
    // Uneven setup: later workers take longer.
    let setup = Duration::from_millis(10 * u64::from(start.index));
    std::thread::sleep(setup);
    start.setups_done.fetch_add(1);
    // Nobody passes until everybody is here.
    start.ready.wait_timeout(PATIENCE)?;
    Ok(start.setups_done.load())
}
// ANCHOR_END: barrier

fn main() -> Result<()> {
    multiprocessing::init();
    let workers = Args::parse().workers;
    let ready = Barrier::new(workers)?;
    let setups_done = Value::new(0)?;
    let started = (0..workers)
        .map(|index| {
            let start = Start {
                index,
                ready: ready.clone(),
                setups_done: setups_done.clone(),
            };
            Process::spawn_fallible(set_up_then_start, start)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = Vec::new();
    for worker in started {
        seen.push(worker.join()?);
    }
    if seen.iter().any(|&s| s != i64::from(workers)) {
        bail!("a worker started before every setup was done: {seen:?}");
    }
    println!(
        "barrier: every worker saw {workers} of {workers} setups done when it started"
    );
    Ok(())
}
