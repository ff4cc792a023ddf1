//! # Listing 3.7: `Semaphore`: at most N at a time
//!
//! Python's `threading.Semaphore(2)` lets two threads into a section at once, e.g. to limit how many
//! downloads run in parallel. This crate's [`threading::Semaphore`] does the same with a permit that
//! gives itself back when dropped, so an early return or a panic cannot leak it. Each worker counts
//! the holders when it enters (an atomic counter) and records the peak, which proves the limit.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 07_semaphore
//! cargo run -p threading --example 07_semaphore -- --workers 20 --permits 5
//! ```
//!
//! What to expect: each worker entering and leaving (the interleaving varies), then the peak number
//! of holders, never more than the number of permits (usually equal to it).
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^worker-\d+ in \(\d holders\)$
//! expect: ^6 workers, 2 permits: never more than 2 holders at once \(peak \d\)$
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Result, ensure};
use clap::Parser;
use threading::Semaphore;

/// Workers taking turns in a section that admits at most `permits` at a time.
#[derive(Parser)]
struct Args {
    /// How many worker threads.
    #[arg(long, default_value_t = 6)]
    workers: usize,
    /// How many may be in the section at once.
    #[arg(long, default_value_t = 2)]
    permits: usize,
}

fn main() -> Result<()> {
    let Args { workers, permits } = Args::parse();
    let semaphore = Semaphore::new(permits);
    let holders = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);

    // ANCHOR: limited
    thread::scope(|s| {
        for id in 1..=workers {
            let (semaphore, holders, peak) = (&semaphore, &holders, &peak);
            s.spawn(move || {
                // Waits while `permits` others are inside.
                let _permit = semaphore.acquire();
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                println!("worker-{id} in ({now} holders)");
                thread::sleep(Duration::from_millis(20)); // a download, say
                holders.fetch_sub(1, Ordering::SeqCst);
            }); // `_permit` dropped here: the next waiter gets in
        }
    });
    // ANCHOR_END: limited

    let peak = peak.into_inner();
    ensure!(peak <= permits, "{peak} holders at once with {permits} permits");
    println!(
        "{workers} workers, {permits} permits: never more than {permits} holders at once (peak {peak})"
    );
    Ok(())
}
