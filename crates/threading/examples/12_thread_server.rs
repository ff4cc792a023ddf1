//! # Listing 3.12: a thread-per-connection server with a cap, limits and a graceful shutdown
//!
//! The line-protocol server of `threading::server` as a program: every client gets its own OS
//! thread, at most `--max-connections` at once (one more is told `ERR too many connections`), lines
//! are bounded, silent clients are dropped after `--idle-timeout` seconds. Ctrl-C or SIGTERM stops
//! it gracefully: no new clients, live connections closed, every thread joined, a summary printed,
//! exit status 0.
//!
//! The signal handler does not shut anything down itself: it runs on a thread of its own (the
//! `ctrlc` crate's), and all it does is send a message on a channel. The main thread waits on that
//! channel and does the shutdown in ordinary code, where it can take locks and report errors.
//!
//! Run it, then talk to it from another terminal:
//!
//! ```text
//! cargo run -p threading --example 12_thread_server
//! cargo run -p threading --example 12_thread_server -- --addr 127.0.0.1:0 --max-connections 2
//! printf 'PING\nECHO hello\nQUIT\n' | nc 127.0.0.1 8000
//! cargo run --release -p threading --example 12_thread_server -- --addr 127.0.0.1:0 --measure 50
//! ```
//!
//! The last one measures: it runs the `testbed` load client against the server (50 connections
//! here, 1000 checked round trips each), prints round trips per second, and shuts down.
//!
//! What to expect: `listening on 127.0.0.1:8000` (with port 0, the port the system picked), then
//! nothing until Ctrl-C, then a line such as `shut down in 1.2 ms: 3 served, 0 turned away, 0 idle
//! timeouts, 0 broken, 1 closed at shutdown`.
//!
//! Checked by `tests/examples.rs` (it runs the `testbed` load client against the server, then sends
//! SIGTERM):
//!
//! ```text
//! test-kind: line-server
//! test-args: --addr 127.0.0.1:0
//! expect: ^listening on 127\.0\.0\.1:\d+$
//! expect: ^shut down in .*: \d+ served, 0 turned away, 0 idle timeouts, 0 broken
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use testbed::load::{self, LoadConfig};
use threading::server::{self, ServerConfig};

/// A thread-per-connection server for the testbed line protocol (PING, ECHO <text>, QUIT). Runs
/// until Ctrl-C or SIGTERM.
#[derive(Parser)]
struct Args {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: String,
    /// Clients served at once; one more is turned away.
    #[arg(long, default_value_t = 128)]
    max_connections: usize,
    /// Seconds a client may stay silent before it is disconnected.
    #[arg(long, default_value_t = 30)]
    idle_timeout: u64,
    /// Measure instead of waiting for a signal: run the testbed load client against the server with
    /// this many connections (1000 round trips each, every reply checked), print round trips per
    /// second, and shut down.
    #[arg(long, value_name = "CONNECTIONS")]
    measure: Option<usize>,
}

// ANCHOR: main
fn main() -> Result<()> {
    let args = Args::parse();
    let config = ServerConfig {
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        ..ServerConfig::default()
    };
    // Install the handler before announcing the address: whoever reads that
    // line may signal us right away.
    let (stop, stop_requested) = crossbeam_channel::bounded(1);
    ctrlc::set_handler(move || {
        // A second Ctrl-C while stopping changes nothing.
        let _ = stop.try_send(());
    })
    .context("could not install the Ctrl-C / SIGTERM handler")?;

    let server = server::spawn(args.addr.as_str(), config)?;
    println!("listening on {}", server.local_addr());

    match args.measure {
        Some(connections) => measure(server.local_addr(), connections)?,
        None => stop_requested
            .recv()
            .context("the signal handler's channel closed")?,
    }
    let report = server.shutdown()?;
    let stats = report.stats;
    println!(
        "shut down in {:.1?}: {} served, {} turned away, {} idle timeouts, \
         {} broken, {} closed at shutdown",
        report.elapsed,
        stats.accepted,
        stats.rejected,
        stats.idle_timeouts,
        stats.broken,
        report.closed
    );
    Ok(())
}
// ANCHOR_END: main

/// Loads the server with `connections` clients of 1000 round trips each and prints the rate.
fn measure(addr: SocketAddr, connections: usize) -> Result<()> {
    let config = LoadConfig {
        connections,
        round_trips: 1000,
        timeout: Duration::from_secs(10),
    };
    let report = load::run(addr, &config)?;
    println!(
        "{} round trips over {} connections in {:.2?}: {:.0} per second",
        report.round_trips,
        report.connections,
        report.elapsed,
        report.per_second()
    );
    Ok(())
}
