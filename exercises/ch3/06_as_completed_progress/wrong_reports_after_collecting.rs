//! # Exercise 3.6, a wrong attempt: results arrive as tasks finish, but are reported at the end
//!
//! The mistake: the threads send their results on a channel the moment they finish, so the order
//! of completion is known; but the receiving loop only collects, and `on_done` is called for each
//! result afterwards. The reports come in the right order, all at once, when the last task is done:
//! a progress bar that jumps from 0 to 100 %.
//!
//! Fails: by a panic: the check's tasks wait for the report of the task before them, which never
//! comes in time, and give up.

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

    let arrivals: Vec<(usize, u64)> = finished_rx.iter().collect();
    let mut results = vec![None; total];
    for (done, &(index, result)) in arrivals.iter().enumerate() {
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
