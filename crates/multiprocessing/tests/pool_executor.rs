//! Tests of `pool::ProcessPoolExecutor`: `submit` and `as_completed` (with and without a
//! deadline), `cancel`, `shutdown` with `cancel_pending`, `map`, a dead worker that fails only
//! its own future (where Python's executor raises `BrokenProcessPool` for all of them), and
//! futures awaited from a tokio runtime.
//!
//! A `harness = false` target (workers re-execute this binary, so `main` calls
//! `multiprocessing::init()` first); see `support` for the watchdog and the final check that no
//! process is left behind.

mod pool_tasks;
mod support;

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use multiprocessing::pool::{ProcessPoolExecutor, TaskError, as_completed};
use pool_tasks::*;
use testbed::wait::{DEADLINE, within};

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            as_completed_yields_every_future_once,
            as_completed_with_a_deadline_gives_up_on_a_stuck_task,
            cancel_takes_a_queued_task_out,
            shutdown_with_cancel_pending_cancels_what_has_not_started,
            executor_map_keeps_input_order,
            a_dead_worker_fails_only_its_own_future,
            futures_can_be_awaited_from_tokio,
        ],
        support::TEST_DEADLINE,
    )
}

fn as_completed_yields_every_future_once() {
    let executor = ProcessPoolExecutor::new(2).unwrap();
    let futures: Vec<_> = (0..50)
        .map(|x| executor.submit(square, x).unwrap())
        .collect();
    let mut seen = HashSet::new();
    for (index, outcome) in as_completed(futures) {
        assert_eq!(outcome, Ok(index as u64 * index as u64), "future {index}");
        assert!(seen.insert(index), "future {index} yielded twice");
    }
    assert_eq!(seen.len(), 50);
}

fn as_completed_with_a_deadline_gives_up_on_a_stuck_task() {
    let executor = ProcessPoolExecutor::new(1).unwrap();
    let pid_file = scratch_path("stuck");
    let stuck = executor
        .submit(report_pid_and_hang, pid_file.clone())
        .unwrap();
    let pid = wait_for_pid(&pid_file);
    let mut waiting = as_completed([stuck]).with_deadline(Instant::now() + SHORT_LIMIT);
    assert_eq!(waiting.next(), Some((0, Err(TaskError::WaitTimedOut))));
    assert_eq!(waiting.next(), None);
    kill(pid);
    assert_eq!(executor.submit(square, 3).unwrap().result(), Ok(9));
}

fn cancel_takes_a_queued_task_out() {
    let executor = ProcessPoolExecutor::new(1).unwrap();
    let pid_file = scratch_path("cancel");
    let blocker = executor
        .submit(report_pid_and_hang, pid_file.clone())
        .unwrap();
    let pid = wait_for_pid(&pid_file);
    // One worker, two tasks sent ahead at most: the last of these is still in the queue.
    let queued: Vec<_> = (0..5)
        .map(|x| executor.submit(square, x).unwrap())
        .collect();
    let last = queued.last().unwrap();
    assert!(last.cancel(), "a queued task could not be cancelled");
    assert!(last.done());
    assert!(!blocker.cancel(), "a running task was cancelled");
    kill(pid);
    let mut outcomes: Vec<_> = queued.into_iter().map(|f| f.result()).collect();
    assert_eq!(outcomes.pop(), Some(Err(TaskError::Cancelled)));
    assert_eq!(outcomes, (0..4).map(|x| Ok(x * x)).collect::<Vec<_>>());
    assert!(
        matches!(blocker.result(), Err(TaskError::WorkerDied { pid: p, exitcode: -9 }) if p == pid)
    );
}

fn shutdown_with_cancel_pending_cancels_what_has_not_started() {
    let executor = ProcessPoolExecutor::new(1).unwrap();
    let pid_file = scratch_path("shutdown");
    let blocker = executor
        .submit(report_pid_and_hang, pid_file.clone())
        .unwrap();
    let pid = wait_for_pid(&pid_file);
    let rest: Vec<_> = (0..6)
        .map(|x| executor.submit(square, x).unwrap())
        .collect();
    let cancelled = executor.shutdown(false, true);
    assert!(
        cancelled >= 5,
        "only {cancelled} of 6 queued tasks cancelled"
    );
    assert!(
        executor.submit(square, 1).is_err(),
        "a shut-down executor took a task"
    );
    kill(pid);
    let outcomes: Vec<_> = rest.into_iter().map(|f| f.result()).collect();
    let cancelled_seen = outcomes
        .iter()
        .filter(|o| **o == Err(TaskError::Cancelled))
        .count();
    assert_eq!(cancelled_seen, cancelled, "{outcomes:?}");
    for (x, outcome) in (0..6u64).zip(&outcomes) {
        assert!(
            *outcome == Err(TaskError::Cancelled) || *outcome == Ok(x * x),
            "task {x}: {outcome:?}"
        );
    }
    assert!(matches!(
        blocker.result(),
        Err(TaskError::WorkerDied { .. })
    ));
    within("shutdown(wait)", DEADLINE, move || {
        executor.shutdown(true, false);
    });
}

fn executor_map_keeps_input_order() {
    let executor = ProcessPoolExecutor::new(2).unwrap();
    let squares: Vec<_> = executor.map(square, 0..100).unwrap().collect();
    assert_eq!(squares, (0..100).map(|x| Ok(x * x)).collect::<Vec<_>>());
}

fn a_dead_worker_fails_only_its_own_future() {
    let executor = ProcessPoolExecutor::new(2).unwrap();
    let pid_file = scratch_path("dead");
    let doomed = executor
        .submit(report_pid_and_hang, pid_file.clone())
        .unwrap();
    let pid = wait_for_pid(&pid_file);
    let others: Vec<_> = (0..20)
        .map(|x| executor.submit(square, x).unwrap())
        .collect();
    kill(pid);
    assert_eq!(
        doomed.result(),
        Err(TaskError::WorkerDied { pid, exitcode: -9 })
    );
    for (x, future) in (0..20u64).zip(others) {
        assert_eq!(future.result(), Ok(x * x), "task {x} after the death");
    }
    // Still serving: Python's executor would raise BrokenProcessPool here.
    assert_eq!(executor.submit(square, 11).unwrap().result(), Ok(121));
}

fn futures_can_be_awaited_from_tokio() {
    let executor = ProcessPoolExecutor::new(2).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let total = runtime.block_on(async {
        let futures: Vec<_> = (1..=10)
            .map(|x| executor.submit(square, x).unwrap())
            .collect();
        let mut total = 0;
        for future in futures {
            let outcome = tokio::time::timeout(DEADLINE, future)
                .await
                .expect("a pool future did not wake its task within the deadline");
            total += outcome.expect("square does not panic");
        }
        total
    });
    assert_eq!(total, (1..=10).map(|x| x * x).sum::<u64>());
}
