//! The checks of exercise 3.6, run against the stub, the solution and the reader's attempt alike.
//!
//! The order in which the tasks finish is forced, without sleeps: task i (all but the last) waits
//! for a gate that `on_done` opens when it is told that task i+1 has finished. So the tasks finish
//! in the order 4, 3, 2, 1, 0, one at a time, and only if progress is reported as they finish. A
//! version that waits for task 0 before reporting anything waits forever; task 0 gives up after
//! [`GATE_TIMEOUT`] and panics with a message saying so.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::imp::{self, Progress, Task};

/// How long a task waits for its gate before concluding that progress is not being reported.
const GATE_TIMEOUT: Duration = Duration::from_secs(3);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    progress_follows_the_order_of_completion();
    no_tasks_no_progress();
}

/// A task that waits for `gate` (if any), then returns `value`.
fn gated(index: usize, gate: Option<Receiver<()>>, value: u64) -> Task {
    Box::new(move || {
        if let Some(gate) = gate {
            gate.recv_timeout(GATE_TIMEOUT).unwrap_or_else(|_| {
                panic!(
                    "task {index} waited {GATE_TIMEOUT:?} for on_done to report task {}: progress must be reported as each task finishes, not in the order the tasks were started",
                    index + 1
                )
            });
        }
        value
    })
}

fn progress_follows_the_order_of_completion() {
    const N: usize = 5;
    // gate i is opened when task i+1 is reported done; the last task has no gate.
    let (openers, gates): (Vec<Sender<()>>, Vec<Receiver<()>>) =
        (0..N - 1).map(|_| bounded(1)).unzip();
    let mut gates = gates.into_iter();
    let tasks: Vec<Task> = (0..N)
        .map(|i| gated(i, gates.next(), (i * 10) as u64))
        .collect();

    let mut reports = Vec::new();
    let results = imp::run_with_progress(tasks, |progress| {
        reports.push(progress);
        if let Some(previous) = progress.index.checked_sub(1) {
            let _ = openers[previous].send(());
        }
    });
    assert_eq!(
        results,
        [0, 10, 20, 30, 40],
        "results in the order of the tasks"
    );
    let expected: Vec<Progress> = (0..N)
        .map(|done| Progress {
            index: N - 1 - done,
            done: done + 1,
            total: N,
        })
        .collect();
    assert_eq!(
        reports, expected,
        "the tasks finish in the order 4, 3, 2, 1, 0; on_done must report them in that order, counting 1..=5"
    );
}

fn no_tasks_no_progress() {
    let mut calls = 0;
    let results = imp::run_with_progress(Vec::new(), |_| calls += 1);
    assert!(results.is_empty());
    assert_eq!(calls, 0, "no tasks, no progress reports");
}
