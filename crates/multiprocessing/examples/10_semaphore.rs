//! # Listing 2.10: a semaphore across processes: at most two at a time
//!
//! Python's `multiprocessing.Semaphore(2)`. Five processes each enter a section three times, and
//! at most two may be inside at once. The listing proves the limit with two shared counters:
//! `inside` counts who is in the section now, and `most_inside` keeps the highest value anyone
//! saw. The permit is a guard, given back when it is dropped, so an early return or a `?` cannot
//! keep it (and if a holder's process is killed, the broker gives the permit back).
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 10_semaphore
//! cargo run -p multiprocessing --example 10_semaphore -- --processes 8 --permits 3
//! ```
//!
//! What to expect: one line saying how many were inside at most: the limit, normally (fewer only
//! if the processes never overlapped, which a very slow start could cause).
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^semaphore: at most [12] of 5 processes inside at once \(limit 2\)$
//! ```

use std::time::Duration;

use anyhow::{Result, ensure};
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::shared::Value;
use multiprocessing::sync::Semaphore;
use serde::{Deserialize, Serialize};

/// Processes take turns in a section that at most `--permits` may occupy.
#[derive(Parser)]
struct Args {
    /// How many processes want to enter.
    #[arg(long, default_value_t = 5)]
    processes: u32,
    /// How many may be inside at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    permits: u32,
}

// ANCHOR: semaphore
#[derive(Clone, Serialize, Deserialize)]
struct Section {
    semaphore: Semaphore,
    inside: Value,
    most_inside: Value,
}

fn use_limited_section(section: Section) -> Result<()> {
    for _ in 0..3 {
        // At most `permits` processes get past this line at a time.
        let _permit = section.semaphore.acquire()?;
        let now_inside = section.inside.fetch_add(1) + 1;
        section.most_inside.fetch_max(now_inside);
        // The work the limit protects.
        std::thread::sleep(Duration::from_millis(20));
        section.inside.fetch_sub(1);
    } // each permit is given back when `_permit` is dropped
    Ok(())
}
// ANCHOR_END: semaphore

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let section = Section {
        semaphore: Semaphore::new(args.permits)?,
        inside: Value::new(0)?,
        most_inside: Value::new(0)?,
    };
    let workers = (0..args.processes)
        .map(|_| Process::spawn_fallible(use_limited_section, section.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    for worker in workers {
        worker.join()?;
    }
    let (most, limit) = (section.most_inside.load(), args.permits);
    println!(
        "semaphore: at most {most} of {} processes inside at once (limit {limit})",
        args.processes
    );
    ensure!(most <= i64::from(limit), "the semaphore let {most} processes in");
    Ok(())
}
