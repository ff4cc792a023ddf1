//! # Listing 2.4: a queue between processes, the racy consumer, and the end of the stream
//!
//! A producer process puts numbered items into a [`Queue`]; a consumer process takes them out.
//! The listing runs the consumer twice:
//!
//! 1. **Racy**, as in the articles' producer/consumer listing: "while the queue is not empty, get".
//!    The producer is slow (each item takes `--item-ms` to make), so when the consumer first looks
//!    the queue *is* empty, and it quits having received nothing. Emptiness is a fact about one
//!    instant: it cannot tell "nothing yet" from "nothing ever again".
//! 2. **Correct**: `while let Some(item) = rx.get()?`. `get` waits, and returns `None` only when
//!    every `Sender` is gone (the producer finished and dropped its handle, in its own process)
//!    and every item has been handed out: the end-of-stream signal that Python programs make with
//!    a sentinel such as `None`, one per consumer.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 04_queue
//! cargo run -p multiprocessing --example 04_queue -- --items 100 --item-ms 5
//! ```
//!
//! What to expect: the racy consumer quits with 0 items (it looks before the producer's first item
//! is ready), and all of them are still in the queue afterwards, unread; the correct consumer gets
//! all of them, in order.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^racy consumer: the queue looked empty, quit after 0 of 10 items$
//! expect: ^left in the queue, unread: 10 items$
//! expect: ^correct consumer: 10 of 10 items, in order: true$
//! ```

use std::thread;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use multiprocessing::queue::{Receiver, Sender};
use multiprocessing::{Error, Process, Queue};

/// A producer and a consumer process over a queue: the racy consumer, then
/// the correct one.
#[derive(Parser)]
struct Args {
    /// How many items the producer puts.
    #[arg(long, default_value_t = 10)]
    items: u64,
    /// How long the producer works on each item before it puts it, in milliseconds.
    #[arg(long, default_value_t = 100)]
    item_ms: u64,
}

/// The longest the parent waits for an item left in the queue.
const DEADLINE: Duration = Duration::from_secs(60);

// ANCHOR: producer
/// Makes `count` items, slowly, and puts each one. Returning drops `tx`:
/// this producer is done.
fn producer((tx, count, item_ms): (Sender<u64>, u64, u64)) -> u64 {
    for n in 0..count {
        thread::sleep(Duration::from_millis(item_ms)); // "making" the item
        tx.put(n).expect("put an item");
    }
    count
}
// ANCHOR_END: producer

// ANCHOR: racy
/// The articles' consumer: `while not queue.empty(): item = queue.get()`.
/// A zero timeout asks "is there an item right now?", which is all that
/// `empty()` can ever answer.
fn racy_consumer(rx: Receiver<u64>) -> Vec<u64> {
    let mut received = Vec::new();
    loop {
        match rx.get_timeout(Duration::ZERO) {
            Ok(Some(item)) => received.push(item),
            // "The queue is empty": but only *right now*.
            Err(Error::Timeout(_)) => break,
            Ok(None) => break, // the real end of the stream
            Err(other) => panic!("get failed: {other}"),
        }
    }
    received
}
// ANCHOR_END: racy

// ANCHOR: correct
/// Waits for each item; `None` means every producer is gone and the queue
/// is drained.
fn consumer(rx: Receiver<u64>) -> Vec<u64> {
    let mut received = Vec::new();
    while let Some(item) = rx.get().expect("get an item") {
        received.push(item);
    }
    received
}
// ANCHOR_END: correct

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();

    let (racy, left_behind) = run_pair(&args, racy_consumer)?;
    println!(
        "racy consumer: the queue looked empty, quit after {} of {} items",
        racy.len(),
        args.items
    );
    println!("left in the queue, unread: {left_behind} items");

    let (correct, _) = run_pair(&args, consumer)?;
    let in_order = correct.iter().copied().eq(0..args.items);
    println!(
        "correct consumer: {} of {} items, in order: {in_order}",
        correct.len(),
        args.items
    );
    Ok(())
}

/// Starts the consumer, then the producer, on a fresh queue; returns what
/// the consumer got and how many items nobody read.
fn run_pair(
    args: &Args,
    consume: fn(Receiver<u64>) -> Vec<u64>,
) -> Result<(Vec<u64>, usize)> {
    // ANCHOR: pair
    let (tx, rx) = Queue::<u64>::unbounded()?;
    // The parent keeps a consumer handle too, as a Python parent keeps its
    // `Queue` object: with no consumer left, a put fails (nobody could ever
    // read the item).
    let consumer = Process::spawn(consume, rx.clone())?;
    let producer = Process::spawn(producer, (tx, args.items, args.item_ms))?;
    let received = consumer.join()?;
    producer.join()?;
    let mut left_behind = 0;
    while rx.get_timeout(DEADLINE)?.is_some() {
        left_behind += 1;
    }
    // ANCHOR_END: pair
    Ok((received, left_behind))
}
