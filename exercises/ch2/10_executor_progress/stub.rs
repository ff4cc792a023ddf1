//! # Exercise 2.10: report progress as process-pool tasks complete
//!
//! A long batch should say how far it has got while it runs, not all at once at the end. In
//! Python:
//!
//! ```python
//! with ProcessPoolExecutor(2) as executor:
//!     futures = {executor.submit(f, x): i for i, x in enumerate(items)}
//!     for done, future in enumerate(as_completed(futures), 1):
//!         on_done(futures[future], done, len(items))
//! ```
//!
//! `multiprocessing::pool::as_completed` takes the futures and yields `(index, outcome)` as
//! tasks finish, `index` being the future's position. Write [`run_with_progress`]: call
//! `on_done` once per task as it finishes, and return every outcome in input order.
//!
//! Check your work with `cargo run -p exercises -- check ch2/10`; stuck?
//! `cargo run -p exercises -- hint ch2/10`.

use multiprocessing::pool::{ProcessPoolExecutor, TaskError, as_completed};

/// What `on_done` is told when a task finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The position of the finished task's item in `items`.
    pub index: usize,
    /// How many tasks have finished, this one included.
    pub done: usize,
    /// How many tasks there are.
    pub total: usize,
}

/// Runs `f` on every item in `executor`; calls `on_done` as each task finishes, in the order
/// they finish; returns the outcomes in the order of `items`.
pub fn run_with_progress(
    executor: &ProcessPoolExecutor,
    f: fn(u64) -> u64,
    items: &[u64],
    mut on_done: impl FnMut(Progress),
) -> Vec<Result<u64, TaskError>> {
    let _ = (executor, f, items, &mut on_done);
    todo!("submit every item, then walk as_completed(futures), reporting each as it comes")
}
