//! # Exercise 3.6, solved: progress as tasks complete
//!
//! Each thread sends `(index, result)` on a shared channel the moment its task returns, so the
//! receiving loop sees the results in the order the tasks *finish*, and reports each as it comes.
//! The results are put back in input order by their index. The loop ends after `total` messages;
//! every thread is then joined (a panicking task would end the loop early: the thread's sender is
//! dropped without a message, the channel disconnects once all are gone, and the join reports the
//! panic).

use std::thread;

/// A task to run.
pub type Task = Box<dyn FnOnce() -> u64 + Send>;

/// What `on_done` is told when a task finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The position of the finished task in `tasks`.
    pub index: usize,
    /// How many tasks have finished, this one included.
    pub done: usize,
    /// How many tasks there are.
    pub total: usize,
}

/// Runs every task on its own thread; calls `on_done` (on this thread) as each one finishes, in
/// the order they finish; returns the results in the order of `tasks`.
pub fn run_with_progress(tasks: Vec<Task>, mut on_done: impl FnMut(Progress)) -> Vec<u64> {
    let total = tasks.len();
    let (finished_tx, finished_rx) = crossbeam_channel::unbounded();
    let handles: Vec<_> = tasks
        .into_iter()
        .enumerate()
        .map(|(index, task)| {
            let finished_tx = finished_tx.clone();
            thread::spawn(move || {
                let _ = finished_tx.send((index, task()));
            })
        })
        .collect();
    drop(finished_tx);

    let mut results = vec![None; total];
    for (done, (index, result)) in finished_rx.iter().enumerate() {
        results[index] = Some(result);
        on_done(Progress {
            index,
            done: done + 1,
            total,
        });
    }
    for handle in handles {
        handle.join().expect("a task panicked");
    }
    results
        .into_iter()
        .map(|result| result.expect("every task reported"))
        .collect()
}
