//! # Exercise 3.6: progress as tasks complete
//!
//! Python's `concurrent.futures.as_completed(futures)` yields each future as soon as it finishes,
//! which is what a progress display needs: "3 of 10 done" should appear when the third task
//! *finishes*, whichever task that is. [`run_with_progress`] runs every task on its own thread and
//! calls `on_done` once per task, on the calling thread, in the order the tasks finish, with the
//! task's index and how many are done so far. It returns the results in the order of the tasks.
//!
//! This version joins the threads in the order they were started and reports after each join. If
//! task 0 is the slowest, nothing is reported until it finishes, and then everything at once, in
//! the wrong order. Fix it, keeping the signature.
//!
//! Check your work with `cargo run -p exercises -- check ch3/06`; stuck?
//! `cargo run -p exercises -- hint ch3/06`.

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
    let handles: Vec<_> = tasks.into_iter().map(thread::spawn).collect();
    let mut results = Vec::with_capacity(total);
    for (index, handle) in handles.into_iter().enumerate() {
        results.push(handle.join().expect("a task panicked"));
        on_done(Progress {
            index,
            done: index + 1,
            total,
        });
    }
    results
}
