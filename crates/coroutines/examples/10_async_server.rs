//! # Listing 4.10: an async line-protocol server with a cap, limits and a graceful shutdown
//!
//! The server of `coroutines::server` as a program: every client is a tokio task, at most
//! `--max-connections` at once (one more is told `ERR too many connections`), lines are bounded,
//! silent clients are dropped after `--idle-timeout` seconds. The same protocol and promises as
//! chapter 3's thread server (listing 3.12), so the same load client measures both.
//!
//! Ctrl-C or SIGTERM starts a graceful stop: no new clients, every connection ends at its next
//! read, and the program waits up to `--grace` seconds for the tasks; a client stuck in the middle
//! of a reply is dropped when the grace period ends. A second Ctrl-C forces the stop at once.
//! Either way a summary is printed and the exit status is 0.
//!
//! Run it, then talk to it from another terminal:
//!
//! ```text
//! cargo run -p coroutines --example 10_async_server
//! cargo run -p coroutines --example 10_async_server -- --addr 127.0.0.1:0 --max-connections 2
//! printf 'PING\nECHO hello\nQUIT\n' | nc 127.0.0.1 8000
//! ```
//!
//! What to expect: `listening on 127.0.0.1:8000` (with port 0, the port the system picked), then
//! nothing until Ctrl-C, then a line such as `shut down in 0.3 ms (Drained): 3 served, 0 turned
//! away, 0 idle timeouts, 0 broken, 1 closed at shutdown, 0 forced, 0 tasks left`.
//!
//! Checked by `tests/examples.rs` (it runs the `testbed` load client against the server, then sends
//! SIGTERM):
//!
//! ```text
//! test-kind: line-server
//! test-args: --addr 127.0.0.1:0
//! expect: ^listening on 127\.0\.0\.1:\d+$
//! expect: ^shut down in .* \(Drained\): \d+ served, 0 turned away, 0 idle timeouts, 0 broken
//! expect: 0 tasks left$
//! ```

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use coroutines::server::{self, ServerConfig};
use coroutines::shutdown::Shutdown;

/// An async server for the testbed line protocol (PING, ECHO <text>, QUIT).
/// Runs until Ctrl-C or SIGTERM; a second Ctrl-C forces the stop.
#[derive(Parser)]
struct Args {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: String,
    /// Clients served at once; one more is turned away.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a client may stay silent before it is disconnected.
    #[arg(long, default_value_t = 30)]
    idle_timeout: u64,
    /// Seconds a graceful stop waits for the connections to end.
    #[arg(long, default_value_t = 5)]
    grace: u64,
}

// ANCHOR: main
#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let config = ServerConfig {
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        shutdown_timeout: Duration::from_secs(args.grace),
    };
    let shutdown = Shutdown::new(config.shutdown_timeout);
    // Install the handlers before announcing the address: whoever reads that
    // line may signal us right away.
    shutdown
        .listen_for_signals()
        .context("could not install the Ctrl-C / SIGTERM handlers")?;
    let server =
        server::spawn_with(args.addr.as_str(), config, shutdown.clone())
            .await
            .with_context(|| {
                format!("could not start the server on {}", args.addr)
            })?;
    println!("listening on {}", server.local_addr());

    shutdown.requested().await;
    eprintln!("stopping: Ctrl-C again to force");
    let report = server.shutdown().await?;
    let stats = report.stats;
    println!(
        "shut down in {:.1?} ({:?}): {} served, {} turned away, {} idle timeouts, \
         {} broken, {} closed at shutdown, {} forced, {} tasks left",
        report.elapsed,
        report.outcome,
        stats.accepted,
        stats.rejected,
        stats.idle_timeouts,
        stats.broken,
        report.closed,
        report.forced,
        report.tasks_left
    );
    Ok(())
}
// ANCHOR_END: main
