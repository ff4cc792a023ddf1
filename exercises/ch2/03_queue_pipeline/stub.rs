//! # Exercise 2.3: a pipeline of processes over queues that ends when the work does
//!
//! [`squares`] sends numbers through worker *processes*: the parent puts each number on a `tasks`
//! queue, `workers` child processes take numbers from it and put their squares on a `results`
//! queue, and the parent collects the results. Every number must come back squared, exactly once.
//!
//! The numbers come from `source`, which may be slow: a real source (a file being written, a
//! socket, a sensor) goes quiet for a while and then has more. The checks' source does exactly
//! that, in the middle of the stream. This version has two bugs, both about the end of the stream:
//!
//! 1. **The workers stop when the queue looks empty** (Python's `while not queue.empty()`). A
//!    worker that looks before the next number has arrived quits, and so does one that waits a
//!    little while (`get_timeout`) and takes a quiet spell for the end.
//! 2. **The parent waits for an end that cannot come.** It collects results until the `results`
//!    stream ends, but a stream ends only when *every* `Sender` is gone, in every process.
//!
//! Fix both, keeping the signatures. Check your work with `cargo run -p exercises -- check ch2/03`;
//! stuck? `cargo run -p exercises -- hint ch2/03`.

use std::time::Duration;

use multiprocessing::queue::{Receiver, Sender};
use multiprocessing::{Error, Process, Queue};

/// A worker process: squares numbers from `tasks` onto `results`; returns how many it did.
pub fn worker((tasks, results): (Receiver<u64>, Sender<u64>)) -> u64 {
    let mut done = 0;
    // "while not queue.empty()": a zero timeout asks whether a number is there *right now*.
    while let Ok(Some(n)) = tasks.get_timeout(Duration::ZERO) {
        results.put(n * n).expect("put a result");
        done += 1;
    }
    done
}

/// Squares every number `source` yields in `workers` processes (at least one); returns the
/// squares, sorted, and how many numbers each worker did.
pub fn squares(
    source: impl IntoIterator<Item = u64>,
    workers: usize,
) -> Result<(Vec<u64>, Vec<u64>), Error> {
    let (tasks_tx, tasks_rx) = Queue::<u64>::unbounded()?;
    let (results_tx, results_rx) = Queue::<u64>::unbounded()?;
    let children = (0..workers.max(1))
        .map(|_| Process::spawn(worker, (tasks_rx.clone(), results_tx.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    drop(tasks_rx);

    for n in source {
        tasks_tx.put(n)?;
    }
    drop(tasks_tx);

    let mut squares = Vec::new();
    while let Some(square) = results_rx.get()? {
        squares.push(square);
    }
    squares.sort_unstable();
    let done = children
        .into_iter()
        .map(Process::join)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((squares, done))
}
