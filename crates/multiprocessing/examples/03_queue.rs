//! # Listing 2.3: a queue between processes, the racy consumer, and the end of the stream
//!
//! A producer process puts numbered items into a [`Queue`]; a consumer process takes them out.
//! The listing runs the consumer twice:
//!
//! 1. **Racy**, as in the articles' producer/consumer listing: "while the queue is not empty, get".
//!    The producer is slow (each item takes `--item-ms` to make), so when the consumer first looks
//!    the queue *is* empty — nothing has been put yet — and the consumer quits having received
//!    nothing. Emptiness is a fact about one instant, not about the future: it cannot tell
//!    "nothing yet" from "nothing ever again".
//! 2. **Correct**: `while let Some(item) = rx.get()?`. `get` waits, and returns `None` only when
//!    every `Sender` is gone — the producer finished and dropped its handle, in its own process —
//!    and every item has been handed out. That is the end-of-stream signal Python lacks (Python
//!    programs put a sentinel such as `None` once per consumer instead).
//!
//! Then a [`JoinableQueue`]: two worker processes take tasks and call `task_done`; the parent's
//! `join` returns once every task is done (Python's `JoinableQueue.join()`; a plain Python
//! `Queue` has no `task_done`, and a plain Rust `Receiver` has none either).
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 03_queue
//! cargo run -p multiprocessing --example 03_queue -- --items 100 --item-ms 5 --workers 4
//! ```
//!
//! What to expect: the racy consumer quits with 0 items (it looks before the producer's first
//! item is ready), and all 10 are still in the queue afterwards, unread; the correct consumer gets all of them, in order; the workers' share of the
//! tasks varies from run to run, their total does not.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^racy consumer: the queue looked empty, quit after 0 of 10 items$
//! expect: ^left in the queue, unread: 10 items$
//! expect: ^correct consumer: 10 of 10 items, in order: true$
//! expect: ^join returned: all 8 tasks done$
//! ```

use std::thread;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;
use multiprocessing::queue::{JoinableReceiver, Receiver, Sender};
use multiprocessing::{Error, JoinableQueue, Process, Queue};

/// Producer and consumer processes over a queue: the racy consumer and the correct one.
#[derive(Parser)]
struct Args {
    /// How many items the producer puts.
    #[arg(long, default_value_t = 10)]
    items: u64,
    /// How long the producer works on each item before it puts it, in milliseconds.
    #[arg(long, default_value_t = 100)]
    item_ms: u64,
    /// How many worker processes share the joinable queue's tasks.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// How many tasks go into the joinable queue.
    #[arg(long, default_value_t = 8)]
    tasks: u64,
}

/// The longest the parent waits for anything.
const DEADLINE: Duration = Duration::from_secs(60);

// ANCHOR: producer
/// Makes `count` items, slowly, and puts each one. Returning drops `tx`: this producer is done.
fn producer((tx, count, item_ms): (Sender<u64>, u64, u64)) -> u64 {
    for n in 0..count {
        thread::sleep(Duration::from_millis(item_ms)); // "making" the item
        tx.put(n).expect("put an item");
    }
    count
}
// ANCHOR_END: producer

// ANCHOR: racy
/// The articles' consumer: `while not queue.empty(): item = queue.get()`. A zero timeout is
/// "is there an item right now?", which is all `empty()` can ever answer.
fn racy_consumer(rx: Receiver<u64>) -> Vec<u64> {
    let mut received = Vec::new();
    loop {
        match rx.get_timeout(Duration::ZERO) {
            Ok(Some(item)) => received.push(item),
            Err(Error::Timeout(_)) => break, // "the queue is empty": but only *right now*
            Ok(None) => break,               // the real end of the stream
            Err(other) => panic!("get failed: {other}"),
        }
    }
    received
}
// ANCHOR_END: racy

// ANCHOR: correct
/// Waits for each item; `None` means every producer is gone and the queue is drained.
fn consumer(rx: Receiver<u64>) -> Vec<u64> {
    let mut received = Vec::new();
    while let Some(item) = rx.get().expect("get an item") {
        received.push(item);
    }
    received
}
// ANCHOR_END: correct

// ANCHOR: worker
/// Takes tasks until the end of the stream, marking each one done; returns how many it did.
fn worker(tasks: JoinableReceiver<u64>) -> u64 {
    let mut done = 0;
    while let Some(task) = tasks.get().expect("get a task") {
        thread::sleep(Duration::from_millis(task % 3)); // the "work"
        tasks.task_done().expect("task_done");
        done += 1;
    }
    done
}
// ANCHOR_END: worker

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

    run_joinable(&args)?;
    Ok(())
}

/// Starts the consumer, then the producer, on a fresh queue; returns what the consumer got and
/// how many items nobody read.
fn run_pair(args: &Args, consume: fn(Receiver<u64>) -> Vec<u64>) -> Result<(Vec<u64>, usize)> {
    // ANCHOR: pair
    let (tx, rx) = Queue::<u64>::unbounded()?;
    // The parent keeps a consumer handle too, as a Python parent keeps its `Queue` object: without
    // any consumer left, a put fails (nobody could ever read the item).
    let consumer = Process::spawn(consume, rx.clone())?;
    let producer = Process::spawn(producer, (tx, args.items, args.item_ms))?;
    let received = join(consumer)?;
    join(producer)?;
    let mut left_behind = 0;
    while rx.get_timeout(DEADLINE)?.is_some() {
        left_behind += 1;
    }
    // ANCHOR_END: pair
    Ok((received, left_behind))
}

fn run_joinable(args: &Args) -> Result<()> {
    // ANCHOR: joinable
    let (tasks, tasks_rx) = JoinableQueue::<u64>::unbounded()?;
    let workers = (0..args.workers)
        .map(|_| Process::spawn(worker, tasks_rx.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    drop(tasks_rx); // the parent only produces
    for task in 0..args.tasks {
        tasks.put(task)?;
    }
    tasks.join_timeout(DEADLINE)?; // Python: tasks.join()
    println!("join returned: all {} tasks done", args.tasks);
    drop(tasks); // end of stream: the workers' loops end
    for (i, worker) in workers.into_iter().enumerate() {
        println!("worker {i} did {} tasks", join(worker)?);
    }
    // ANCHOR_END: joinable
    Ok(())
}

/// Joins with a deadline.
fn join<R>(mut process: Process<R>) -> Result<R>
where
    R: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    match process.join_timeout(DEADLINE)? {
        Some(value) => Ok(value),
        None => {
            process.kill()?;
            bail!("{} did not finish within {DEADLINE:?}", process.name())
        }
    }
}
