//! # Listing 2.19: the game server, pre-forked: N worker processes on one listener
//!
//! The articles' game server starts a new process for every client, with no
//! bound. This one binds once, starts `--workers` processes, and hands each
//! the listening socket (`multiprocessing::prefork`); the workers accept on it
//! side by side, each serving up to `--max-connections` clients on threads, in
//! the `testbed` line protocol (`PING`, `ECHO <text>`, `QUIT`). A worker that
//! dies is replaced. Ctrl-C or SIGTERM stops it: no new clients, live ones get
//! `--grace` seconds to finish, every worker is joined, a summary is printed.
//!
//! Ctrl-C reaches the workers too (a terminal signals the whole process
//! group), so the worker function ignores it: the parent decides when workers
//! stop, and tells them through their control channel.
//!
//! Run it, then talk to it from another terminal:
//!
//! ```text
//! cargo run -p multiprocessing --example 19_game_server
//! cargo run -p multiprocessing --example 19_game_server -- --addr 127.0.0.1:0 --workers 4
//! printf 'PING\nECHO hello\nQUIT\n' | nc 127.0.0.1 8000
//! ```
//!
//! What to expect: `listening on 127.0.0.1:8000` (with port 0, the port the
//! system picked) and the workers' pids; kill one (`kill -9 PID`) and the
//! server goes on with a new one. After Ctrl-C, a line such as `shut down in
//! 3.1ms: 2 workers, 5 served, 0 turned away, 0 idle timeouts, 0 broken, 0
//! closed at shutdown, 1 replaced`.
//!
//! Checked by `tests/examples.rs` (it runs the `testbed` load client against
//! the server, then sends SIGTERM):
//!
//! ```text
//! test-kind: line-server
//! test-args: --addr 127.0.0.1:0 --workers 2
//! expect: ^listening on 127\.0\.0\.1:\d+ with 2 worker processes
//! expect: ^shut down in .*: 2 workers, \d+ served, 0 turned away, 0 idle timeouts, 0 broken
//! ```

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use multiprocessing::prefork::{
    self, PreforkConfig, PreforkError, PreforkServer, WorkerConfig, WorkerJob,
    WorkerReport,
};

/// A pre-fork server for the testbed line protocol (PING, ECHO <text>, QUIT).
/// Runs until Ctrl-C or SIGTERM.
#[derive(Parser)]
struct Args {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: String,
    /// Worker processes accepting connections.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Clients each worker serves at once; one more is turned away.
    #[arg(long, default_value_t = 64)]
    max_connections: usize,
    /// Seconds a client may stay silent before it is disconnected.
    #[arg(long, default_value_t = 30)]
    idle_timeout: u64,
    /// Seconds live clients get to finish after Ctrl-C or SIGTERM.
    #[arg(long, default_value_t = 5)]
    grace: u64,
}

// ANCHOR: worker
/// Each worker process runs this: ignore Ctrl-C (the parent decides when
/// to stop), then serve until the parent says stop.
fn worker(job: WorkerJob) -> Result<WorkerReport, PreforkError> {
    ctrlc::set_handler(|| {}).map_err(|e| PreforkError::Io {
        doing: "ignoring Ctrl-C in a worker",
        source: std::io::Error::other(e),
    })?;
    prefork::serve(job)
}
// ANCHOR_END: worker

// ANCHOR: main
fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let config = PreforkConfig {
        workers: args.workers,
        worker: WorkerConfig {
            max_connections: args.max_connections,
            idle_timeout: Duration::from_secs(args.idle_timeout),
            grace: Duration::from_secs(args.grace),
            ..PreforkConfig::default().worker
        },
        ..PreforkConfig::default()
    };
    // The handler first: whoever reads the address may signal us at once.
    let (stop, stop_requested) = std::sync::mpsc::sync_channel(1);
    ctrlc::set_handler(move || {
        let _ = stop.try_send(()); // a second Ctrl-C changes nothing
    })
    .context("could not install the Ctrl-C / SIGTERM handler")?;

    let server = PreforkServer::bind(args.addr.as_str(), config, worker)?;
    println!(
        "listening on {} with {} worker processes (pids {:?})",
        server.local_addr(),
        args.workers,
        server.worker_pids()
    );
    stop_requested.recv().context("the signal handler's channel closed")?;

    let report = server.shutdown()?;
    let total = report.total();
    println!(
        "shut down in {:.1?}: {} workers, {} served, {} turned away, \
         {} idle timeouts, {} broken, {} closed at shutdown, {} replaced",
        report.elapsed,
        report.workers.len(),
        total.accepted,
        total.rejected,
        total.idle_timeouts,
        total.broken,
        total.cut_at_shutdown,
        report.replaced
    );
    if !report.is_clean() {
        bail!("killed {:?}, failed {:?}", report.killed, report.failed);
    }
    Ok(())
}
// ANCHOR_END: main
