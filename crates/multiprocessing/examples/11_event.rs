//! # Listing 2.11: an event across processes: one process tells many
//!
//! Python's `multiprocessing.Event`. Worker processes block in `wait_timeout` until the parent
//! calls `set()`; each reports whether it was woken by the event (`true`) or gave up at its
//! timeout (`false`). `set()` returns once every waiter has been woken, and any later `wait`
//! returns at once, until someone calls `clear()`. The same event is the usual way to tell workers
//! to stop (listing 2.15).
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 11_event
//! cargo run -p multiprocessing --example 11_event -- --workers 8
//! ```
//!
//! What to expect: one line saying that every worker was woken by `set()`.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^event: 4 of 4 workers woken by set\(\)$
//! ```

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::sync::Event;

/// Worker processes wait for an event that the parent sets.
#[derive(Parser)]
struct Args {
    /// How many worker processes wait for the event.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

/// How long a worker waits before giving up (an example must not hang).
const PATIENCE: Duration = Duration::from_secs(30);

// ANCHOR: event
/// True when woken by `set()`, false when the wait timed out.
fn wait_for_go(go: Event) -> Result<bool> {
    Ok(go.wait_timeout(PATIENCE)?)
}

fn event_demo(workers: usize) -> Result<usize> {
    let go = Event::new()?;
    let waiting = (0..workers)
        .map(|_| Process::spawn_fallible(wait_for_go, go.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    go.set()?; // wakes every waiter; any later wait returns at once
    let mut woken = 0;
    for worker in waiting {
        let by_set = worker.join()?;
        woken += usize::from(by_set);
    }
    Ok(woken)
}
// ANCHOR_END: event

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let woken = event_demo(args.workers)?;
    println!("event: {woken} of {} workers woken by set()", args.workers);
    Ok(())
}
