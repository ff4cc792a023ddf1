//! # Listing 2.14: many processes, one log writer
//!
//! The parent starts a [`LogWriter`](multiprocessing::logging::LogWriter) on its stderr, installs
//! its sender as the `tracing` subscriber of every process (itself included), and starts a few
//! workers that log with the ordinary `tracing::info!` / `warn!` macros. Every record crosses to
//! the writer as one message and comes out as one whole line, stamped with the name and pid of the
//! process that logged it. This is the Rust form of Python's advice for multiprocess logging:
//! a `QueueHandler` in every process and one `QueueListener` that writes.
//!
//! One more process, `faulty`, logs a line and then panics. Its panic does not take anything else
//! down: it reaches the parent as a value, `Error::Panicked` with the message and the source
//! location, and the parent logs it through the same writer. (The child's panic hook also prints
//! the panic on the child's own stderr, as Rust always does.)
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 14_logging
//! cargo run -p multiprocessing --example 14_logging -- --workers 8 --records 100 2>log.txt
//! RUST_LOG=debug cargo run -p multiprocessing --example 14_logging
//! ```
//!
//! What to expect: log lines on stderr like
//! `[  0.004s] INFO  worker-2 (pid 12345) 14_logging: step 1 of 3 done item=7`, from all
//! workers mixed in time order but never mixed *within* a line; then a summary on stdout.
//! Times and pids vary.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^wrote 13 records from 5 processes through one writer$
//! expect: ^\[ *\d+\.\d{3}s\] INFO  worker-1 \(pid \d+\) 14_logging: step 3 of 3 done
//! expect: ^\[ *\d+\.\d{3}s\] WARN  worker-2 \(pid \d+\) 14_logging: even workers warn once
//! expect: ^\[ *\d+\.\d{3}s\] INFO  MainProcess \(pid \d+\) 14_logging: all 3 workers joined$
//! expect: ^\[ *\d+\.\d{3}s\] ERROR MainProcess \(pid \d+\) 14_logging: faulty panicked: disk full \(simulated\) location=.*14_logging\.rs:\d+:\d+$
//! ```
use std::time::Duration;

use clap::Parser;
use multiprocessing::logging::{LogSender, LogWriter};
use multiprocessing::{Error, Process};
use serde::{Deserialize, Serialize};

/// Worker processes log through one writer on stderr; `RUST_LOG` sets the
/// level (default: info).
#[derive(Parser)]
struct Args {
    /// How many worker processes log.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// How many records each worker logs.
    #[arg(long, default_value_t = 3)]
    records: u32,
}

#[derive(Serialize, Deserialize)]
struct Job {
    log: LogSender,
    records: u32,
    worker: u32,
}

// ANCHOR: worker
fn work(job: Job) -> anyhow::Result<()> {
    // First thing in the child: send every `tracing` event to the parent's
    // writer.
    job.log.install()?;
    for step in 1..=job.records {
        let item = job.worker * 100 + step;
        tracing::info!(item, "step {step} of {} done", job.records);
    }
    if job.worker.is_multiple_of(2) {
        tracing::warn!("even workers warn once, to show the level");
    }
    Ok(())
}
// ANCHOR_END: worker

// ANCHOR: faulty
fn faulty(log: LogSender) {
    log.install().expect("install the log forwarder");
    tracing::info!("about to fail");
    panic!("disk full (simulated)");
}

/// Joins the faulty process: its panic arrives as a value, and is logged
/// like anything else.
fn report_faulty(faulty: Process<()>) -> anyhow::Result<()> {
    match faulty.join() {
        Err(Error::Panicked { message, location }) => {
            tracing::error!(%location, "faulty panicked: {message}");
            Ok(())
        }
        Err(other) => Err(other.into()),
        Ok(()) => anyhow::bail!("the faulty process was supposed to panic"),
    }
}
// ANCHOR_END: faulty

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let writer = LogWriter::to_stderr()?;
    writer.sender().install()?; // the parent logs through the same writer
    let workers = (1..=args.workers)
        .map(|worker| {
            let job =
                Job { log: writer.sender(), records: args.records, worker };
            Process::builder()
                .name(format!("worker-{worker}"))
                .spawn_fallible(work, job)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let faulty =
        Process::builder().name("faulty").spawn(faulty, writer.sender())?;
    for worker in workers {
        worker.join()?;
    }
    tracing::info!("all {} workers joined", args.workers);
    report_faulty(faulty)?;
    // Joined first, so every child's records are queued ahead of this flush.
    let stats = writer.finish(Duration::from_secs(10))?;
    println!(
        "wrote {} records from {} processes through one writer",
        stats.records,
        args.workers + 2
    );
    Ok(())
}
// ANCHOR_END: main
