//! # Listing 3.8: channels: Python's `queue.Queue`, with `crossbeam-channel`
//!
//! Passing messages shares work between threads without sharing data: each item moves to the
//! thread that uses it. `crossbeam-channel` has many producers *and* many consumers (std's `mpsc`
//! has one consumer), bounded and unbounded channels, timeouts, and `select!`. Four short scenes:
//! back-pressure (a full `bounded(2)` refuses a third `try_send`, like Python's `put_nowait` on
//! `Queue(maxsize=2)`), the end of the stream when the last sender is dropped (no sentinel, no
//! racy `while not q.empty()`), a `recv_timeout`, and `select!` over two channels.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 08_channels
//! cargo run -p threading --release --example 08_channels -- --items 1000000
//! ```
//!
//! What to expect: the four scenes' results; the rate in scene 2 depends on the machine (millions
//! of items per second in a release build).
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^bounded\(2\): third try_send refused: Full\(3\)$
//! expect: ^received 30000 items from 3 producers, sum 449985000; the loop ended when the last sender was dropped
//! expect: ^recv_timeout on a silent channel: Timeout$
//! expect: ^select!: got both messages, then timed out$
//! ```

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::Parser;
use crossbeam_channel::{RecvTimeoutError, TrySendError};
use crossbeam_channel::{bounded, never, select, unbounded};

/// Four channel scenes: back-pressure, end of stream, timeouts, select.
#[derive(Parser)]
struct Args {
    /// Items per producer in the end-of-stream scene.
    #[arg(long, default_value_t = 10_000)]
    items: u64,
}

const PRODUCERS: u64 = 3;

fn back_pressure() -> Result<()> {
    // ANCHOR: bounded
    let (tx, _rx) = bounded(2);
    tx.send(1)?;
    tx.send(2)?;
    match tx.try_send(3) {
        Err(TrySendError::Full(item)) => {
            println!("bounded(2): third try_send refused: Full({item})")
        }
        other => bail!("expected Full, got {other:?}"),
    }
    // ANCHOR_END: bounded
    Ok(())
}

fn end_of_stream(items: u64) -> Result<()> {
    let started = Instant::now();
    // ANCHOR: end_of_stream
    // Bounded: fast producers cannot outrun memory.
    let (tx, rx) = bounded::<u64>(1024);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..items {
                    tx.send(p * items + i).expect("the consumer is alive");
                }
            }) // this producer's `tx` is dropped here
        })
        .collect();
    // Main's own sender: without this drop the loop below would never end.
    drop(tx);
    let (mut count, mut sum) = (0_u64, 0_u64);
    for item in rx {
        count += 1;
        sum += item;
    } // ends once every sender is gone and the channel is empty
    // ANCHOR_END: end_of_stream
    for producer in producers {
        producer.join().map_err(|_| anyhow!("a producer panicked"))?;
    }
    let total = PRODUCERS * items;
    ensure!(count == total, "received {count} of {total} items");
    ensure!(sum == total * (total - 1) / 2, "wrong sum");
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "received {count} items from {PRODUCERS} producers, sum {sum}; the loop \
         ended when the last sender was dropped ({rate:.0} items/s)"
    );
    Ok(())
}

fn timeout() -> Result<()> {
    // ANCHOR: timeout
    let (_tx, rx) = unbounded::<u64>();
    match rx.recv_timeout(Duration::from_millis(20)) {
        Err(RecvTimeoutError::Timeout) => {
            println!("recv_timeout on a silent channel: Timeout")
        }
        other => bail!("expected a timeout, got {other:?}"),
    }
    // ANCHOR_END: timeout
    Ok(())
}

fn select_two() -> Result<()> {
    // ANCHOR: select
    let (fast_tx, mut fast) = bounded(1);
    let (slow_tx, mut slow) = bounded(1);
    fast_tx.send("fast")?;
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30)); // stands for slow work
        slow_tx.send("slow").expect("the receiver is alive");
    });
    let mut arrivals = Vec::new();
    loop {
        select! {
            recv(fast) -> msg => {
                arrivals.push(msg?);
                // Done with this channel: a `never()` arm is never ready.
                fast = never();
            }
            recv(slow) -> msg => {
                arrivals.push(msg?);
                slow = never();
            }
            default(Duration::from_millis(500)) => break, // nothing for 500 ms
        }
    }
    // ANCHOR_END: select
    sender.join().map_err(|_| anyhow!("the sender panicked"))?;
    arrivals.sort_unstable(); // if both are ready, select! picks either
    ensure!(arrivals == ["fast", "slow"], "got {arrivals:?}");
    println!("select!: got both messages, then timed out");
    Ok(())
}

fn main() -> Result<()> {
    let Args { items } = Args::parse();
    back_pressure().context("back-pressure")?;
    end_of_stream(items).context("end of stream")?;
    timeout().context("timeout")?;
    select_two().context("select")
}
