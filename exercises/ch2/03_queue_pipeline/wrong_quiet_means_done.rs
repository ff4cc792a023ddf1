//! # Exercise 2.3, a wrong attempt: a worker takes a second of quiet for the end of the stream
//!
//! The mistake: the parent's extra `results` sender is dropped (so collecting ends), and the
//! workers no longer quit on a queue that is empty *right now*; but they wait only a second for the
//! next number, and take `get_timeout`'s `None` ("nothing arrived in time") for the end of the
//! stream. Against a source that never pauses that long it works; against one that does, every
//! worker quits, and the numbers that come after the pause have nobody to take them.
//!
//! Fails: by a panic: the check's source goes quiet for longer than a second, sees the workers end
//! meanwhile, and says so.

use std::time::Duration;

use multiprocessing::queue::{Receiver, Sender};
use multiprocessing::{Error, Process, Queue};

/// A worker process: squares numbers from `tasks` onto `results`; returns how many it did.
pub fn worker((tasks, results): (Receiver<u64>, Sender<u64>)) -> u64 {
    let mut done = 0;
    // "If nothing comes for a second, the work is done."
    while let Ok(Some(n)) = tasks.get_timeout(Duration::from_secs(1)) {
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
    drop(results_tx);

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
