//! # Exercise 2.3, solved: a pipeline of processes over queues that ends when the work does
//!
//! Two ends of stream, both made by dropping senders:
//!
//! - The workers wait with `get()`, which returns `None` only when every `tasks` sender is gone
//!   and the queue is drained, never merely because it is empty *now* or has been quiet for a
//!   while. The parent drops its `tasks` sender after the last number: that ends the workers' loops.
//! - The parent collects until the `results` stream ends. Each worker's `results` sender goes away
//!   when its function returns; the parent's own one must go before it starts collecting, or the
//!   stream waits for the parent itself. So the parent hands out clones and drops the original.

use multiprocessing::queue::{Receiver, Sender};
use multiprocessing::{Error, Process, Queue};

/// A worker process: squares numbers from `tasks` onto `results`; returns how many it did.
pub fn worker((tasks, results): (Receiver<u64>, Sender<u64>)) -> u64 {
    let mut done = 0;
    while let Some(n) = tasks.get().expect("get a number") {
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
    drop(results_tx); // only the workers produce results

    for n in source {
        tasks_tx.put(n)?;
    }
    drop(tasks_tx); // the end of the tasks: the workers' loops end once it is drained

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
