//! # Listing 3.8: channels: Python's `queue.Queue`, with `crossbeam-channel`
//!
//! Passing messages is the easiest way to share work between threads: the data moves to the thread
//! that uses it, and nothing is shared. `crossbeam-channel` is the crate to use: many producers
//! *and* many consumers (std's `mpsc` has one consumer), bounded and unbounded, timeouts, and
//! `select!` over several channels. Four short scenes:
//!
//! 1. **Back-pressure**: `bounded(2)` holds two items; a third `try_send` is refused with `Full`
//!    (a plain `send` would wait until a consumer makes room). Python's `Queue(maxsize=2)` does the
//!    same with `put_nowait` / `queue.Full`.
//! 2. **End of stream by dropping senders**: three producers, one consumer `for item in rx`. The loop
//!    ends when the last sender is dropped and the queue is empty. No sentinel value, and no racy
//!    `while not q.empty()` (which can see an empty queue before the producers have started).
//! 3. **Timeouts**: `recv_timeout` on a channel nobody sends on returns `Timeout`.
//! 4. **`select!`**: wait on two channels at once, with a timeout; take whichever is ready
//!    (the `fast` message is there at once, the `slow` one after 30 ms; if both are ready, `select!`
//!    picks one at random).
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
use crossbeam_channel::{RecvTimeoutError, TrySendError, bounded, never, select, unbounded};

/// The four channel scenes; `--items` sets how many items each producer sends in scene 2.
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
    let (tx, rx) = bounded::<u64>(1024); // bounded: fast producers cannot outrun memory
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..items {
                    tx.send(p * items + i)
                        .expect("the consumer outlives the producers");
                }
            }) // this producer's `tx` is dropped here
        })
        .collect();
    drop(tx); // main's own sender: without this drop the loop below would never end

    let (mut count, mut sum) = (0_u64, 0_u64);
    for item in rx {
        count += 1;
        sum += item;
    } // ends once every sender is gone and the channel is empty
    // ANCHOR_END: end_of_stream
    for producer in producers {
        producer
            .join()
            .map_err(|_| anyhow!("a producer panicked"))?;
    }
    let total = PRODUCERS * items;
    ensure!(count == total, "received {count} of {total} items");
    ensure!(sum == total * (total - 1) / 2, "wrong sum");
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "received {count} items from {PRODUCERS} producers, sum {sum}; the loop ended when the last sender was dropped ({rate:.0} items/s)"
    );
    Ok(())
}

fn timeout() -> Result<()> {
    // ANCHOR: timeout
    let (_tx, rx) = unbounded::<u64>();
    match rx.recv_timeout(Duration::from_millis(20)) {
        Err(RecvTimeoutError::Timeout) => println!("recv_timeout on a silent channel: Timeout"),
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
                fast = never(); // done with this channel: a `never()` arm is never ready
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
    println!("select!: arrival order {arrivals:?}");
    arrivals.sort_unstable();
    ensure!(
        arrivals == ["fast", "slow"],
        "expected both messages, got {arrivals:?}"
    );
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
