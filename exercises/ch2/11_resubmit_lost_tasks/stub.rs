//! # Exercise 2.11: resubmit what a dead worker lost, and nothing else
//!
//! When a worker process dies mid-task (the out-of-memory killer, a crash in native code),
//! Python's `ProcessPoolExecutor` fails every pending future with `BrokenProcessPool` and takes
//! no more work: the program has to start a new executor and work out what to run again. Here
//! only the lost task fails, with `TaskError::WorkerDied { pid, exitcode }`, and the executor
//! goes on serving, so recovering is a matter of submitting that task again.
//!
//! Write [`run_all`]: submit `f(item)` for every item, wait for the outcomes, and resubmit each
//! item whose worker died, up to `attempts` runs in all per item. Return one outcome per item,
//! in input order. A task that *panicked* ran to its end and failed on its own: running it again
//! would fail again, so do not resubmit it.
//!
//! Check your work with `cargo run -p exercises -- check ch2/11`; stuck?
//! `cargo run -p exercises -- hint ch2/11`.

use multiprocessing::pool::{ProcessPoolExecutor, TaskError};

/// Runs `f` on every item; an item whose worker died is run again, at most `attempts` times in
/// all. Returns the outcomes in input order.
pub fn run_all(
    executor: &ProcessPoolExecutor,
    f: fn(u64) -> u64,
    items: &[u64],
    attempts: u32,
) -> Vec<Result<u64, TaskError>> {
    let _ = (executor, f, items, attempts);
    todo!("submit every item, then resubmit those whose outcome is TaskError::WorkerDied")
}
