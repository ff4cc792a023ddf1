//! # Listing 4.6: `select!`, `timeout`, cancellation, and what a dropped future loses
//!
//! In Rust, cancelling a future is dropping it: it is never polled again, and its destructors
//! run (a guard here prints when that happens). Everything below is built on that:
//!
//! - `timeout(d, f)` (Python's `asyncio.wait_for`) drops `f` if `d` passes first;
//! - `select!` (Python's `asyncio.wait(..., return_when=FIRST_COMPLETED)`, then cancelling the
//!   rest) runs the branch that finishes first and drops the others;
//! - a `CancellationToken` asks a task to stop at a point of its own choosing, so it can finish
//!   what it is doing (Python's `task.cancel()` raises `CancelledError` at its next `await`).
//!
//! Dropping a future halfway is safe for memory, but not always for data. `read_line` is not
//! *cancellation safe*: the bytes of a line it had begun to read are lost when a `select!` drops
//! it for a timer branch. `Lines::next_line` keeps partial lines inside the reader, so the same
//! loop with it loses nothing. Use a cancellation-safe method (tokio's docs say which are) in
//! `select!` loops, or keep the future alive across iterations.
//!
//! Run it:
//!
//! ```text
//! cargo run -p coroutines --example 06_select_timeout_cancel
//! ```
//!
//! What to expect: the timeout and the dropped guard, the faster `select!` branch, the worker's
//! clean stop, then the line `read_line` lost part of and the one `next_line` kept whole.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^timeout: gave up after 100 ms; the slow future was dropped unfinished$
//! expect: ^select!: fast won$
//! expect: ^worker stopped cleanly after \d+ rounds$
//! expect: ^read_line in select!: "world"$
//! expect: ^next_line in select!: "hello world"$
//! ```

use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;

/// select!, timeout, cancellation, and cancellation safety.
#[derive(Parser)]
struct Args {}

/// Prints when it is dropped: shows a future being cancelled.
struct Guard(&'static str);
impl Drop for Guard {
    fn drop(&mut self) {
        println!("  {} dropped", self.0);
    }
}

async fn slow(name: &'static str, ms: u64) -> &'static str {
    let _guard = Guard(name);
    sleep(Duration::from_millis(ms)).await;
    name
}

/// A pipe that sends "hello " now and "world\n" 100 ms later.
fn slow_writer() -> BufReader<DuplexStream> {
    let (mut writer, reader) = tokio::io::duplex(64);
    tokio::spawn(async move {
        writer.write_all(b"hello ").await?;
        sleep(Duration::from_millis(100)).await;
        writer.write_all(b"world\n").await
    });
    BufReader::new(reader)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    // ANCHOR: timeout
    let outcome = timeout(Duration::from_millis(100), slow("slow", 1000)).await;
    if outcome.is_err() {
        println!(
            "timeout: gave up after 100 ms; the slow future was dropped unfinished"
        );
    }
    tokio::select! {
        name = slow("fast", 10) => println!("select!: {name} won"),
        name = slow("tortoise", 500) => println!("select!: {name} won"),
    }
    // ANCHOR_END: timeout

    // ANCHOR: token
    let token = CancellationToken::new();
    let worker = tokio::spawn({
        let token = token.clone();
        async move {
            let mut rounds = 0;
            while !token.is_cancelled() {
                sleep(Duration::from_millis(10)).await; // a round of work
                rounds += 1;
            }
            rounds // it finished its round, then stopped
        }
    });
    sleep(Duration::from_millis(55)).await;
    token.cancel();
    println!("worker stopped cleanly after {} rounds", worker.await?);
    // ANCHOR_END: token

    // ANCHOR: cancel_safety
    let mut reader = slow_writer();
    loop {
        let mut line = String::new();
        tokio::select! {
            read = reader.read_line(&mut line) => {
                read?;
                println!("read_line in select!: {:?}", line.trim_end());
                break;
            }
            // This branch drops read_line, and "hello " with it.
            () = sleep(Duration::from_millis(50)) => {}
        }
    }
    let mut lines = slow_writer().lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                println!("next_line in select!: {:?}", line?.unwrap_or_default());
                break;
            }
            () = sleep(Duration::from_millis(50)) => {} // next_line keeps what it read
        }
    }
    // ANCHOR_END: cancel_safety
    Ok(())
}
