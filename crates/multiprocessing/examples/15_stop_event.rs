//! # Listing 2.15: stopping worker processes with an event, and joining them within a deadline
//!
//! Workers loop `while !stop.is_set()`, doing one small unit of work per round. The parent turns
//! Ctrl-C and SIGTERM into `stop.set()` (with the `ctrlc` crate), then joins every worker against
//! one deadline; a worker that misses it is killed and reported, so nothing is ever left behind.
//!
//! Two details that matter in real programs:
//!
//! - Ctrl-C in a terminal signals the *whole process group*, children included. If the workers
//!   kept the default action they would die mid-round before the event reached them. So each
//!   worker installs a handler that ignores Ctrl-C/SIGTERM: the parent decides when to stop, and
//!   the event is the only way it says so. (If the parent itself is killed, the workers die with
//!   it: `PR_SET_PDEATHSIG` sends them SIGKILL, which cannot be ignored.)
//! - A worker notices the event only between units of work, so a unit must be short (or must
//!   wait with `stop.wait_timeout(..)` instead of sleeping) for the stop to be prompt.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 15_stop_event              # until Ctrl-C or SIGTERM
//! cargo run -p multiprocessing --example 15_stop_event -- --for 2   # sets the event after 2 s
//! cargo run -p multiprocessing --example 15_stop_event -- --workers 8 --for 1
//! ```
//!
//! What to expect: a line saying the workers are running; after Ctrl-C, SIGTERM or `--for`, one
//! line per worker with the rounds it did (the counts vary with how long it ran), then the line
//! saying all were joined within the deadline.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! test-kind: sigterm
//! test-ready: ^3 workers running
//! expect: ^stop requested: setting the stop event$
//! expect: ^worker-2 stopped after \d+ rounds$
//! expect: ^all 3 workers stopped and joined in \d+ ms \(deadline 5000 ms\); none left behind$
//! ```
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::sync::{Barrier, Event};
use serde::{Deserialize, Serialize};

/// Runs worker processes until Ctrl-C or SIGTERM (or `--for` seconds), then
/// stops them with an event and joins them within one deadline.
#[derive(Parser)]
struct Args {
    /// How many worker processes run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    workers: u32,
    /// Set the stop event after this many seconds (default: wait for a signal).
    #[arg(long = "for", value_name = "SECONDS")]
    run_for: Option<f64>,
}

/// How long the parent gives all workers together to exit after the event
/// is set.
const JOIN_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
struct Job {
    stop: Event,
    started: Barrier,
}

// ANCHOR: worker
fn worker(job: Job) -> anyhow::Result<u64> {
    // Ctrl-C reaches every process of the group; the parent alone decides
    // when to stop.
    ctrlc::set_handler(|| {})?;
    job.started.wait()?;
    let mut rounds = 0;
    while !job.stop.is_set()? {
        // One short unit of work, so the stop event is noticed promptly.
        std::thread::sleep(Duration::from_millis(20));
        rounds += 1;
    }
    Ok(rounds)
}
// ANCHOR_END: worker

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let count = args.workers;
    let stop = Event::new()?;
    let on_signal = stop.clone();
    ctrlc::set_handler(move || {
        println!("stop requested: setting the stop event");
        let _ = on_signal.set();
    })?;

    let started = Barrier::new(count + 1)?;
    let mut workers = (1..=count)
        .map(|n| {
            let job = Job { stop: stop.clone(), started: started.clone() };
            Process::builder()
                .name(format!("worker-{n}"))
                .spawn_fallible(worker, job)
        })
        .collect::<Result<Vec<_>, _>>()?;
    started.wait_timeout(Duration::from_secs(30))?;
    println!("{count} workers running; press Ctrl-C (or send SIGTERM) to stop");

    match args.run_for {
        None => stop.wait()?,
        Some(seconds) => {
            let run_for = Duration::try_from_secs_f64(seconds)?;
            if !stop.wait_timeout(run_for)? {
                println!("stop requested: setting the stop event");
                stop.set()?;
            }
        }
    }

    let stopping = Instant::now();
    let deadline = stopping + JOIN_DEADLINE;
    let mut missed = Vec::new();
    for worker in &mut workers {
        let left = deadline.saturating_duration_since(Instant::now());
        match worker.join_timeout(left)? {
            Some(rounds) => {
                println!("{} stopped after {rounds} rounds", worker.name());
            }
            None => {
                worker.kill()?; // missed the deadline: nothing is left
                missed.push(worker.name().to_string());
            }
        }
    }
    if !missed.is_empty() {
        bail!("{missed:?} missed the {JOIN_DEADLINE:?} deadline: killed");
    }
    let took = stopping.elapsed().as_millis();
    let limit = JOIN_DEADLINE.as_millis();
    println!(
        "all {count} workers stopped and joined in {took} ms \
         (deadline {limit} ms); none left behind"
    );
    Ok(())
}
// ANCHOR_END: main
