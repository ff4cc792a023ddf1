//! Tests of `threading::ThreadPoolExecutor`: results, panics, timeouts, map order, as_completed,
//! shutdown with pending tasks, cancellation, and that dropping the pool joins its workers.
//!
//! Tasks that must finish in a given order wait on channels ("gates") opened by the test, never on
//! sleeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use testbed::wait::{DEADLINE, within};
use threading::{PoolError, TaskError, ThreadPoolExecutor, as_completed};

/// A gate: the task blocks on `Receiver::recv` until the test sends (or drops the sender).
fn gate() -> (Sender<()>, Receiver<()>) {
    bounded(1)
}

#[test]
fn a_pool_needs_a_worker() {
    let error = ThreadPoolExecutor::new(0).expect_err("zero workers must be refused");
    assert!(matches!(error, PoolError::NoWorkers));
    assert_eq!(error.to_string(), "a thread pool needs at least one worker");
}

#[test]
fn submit_returns_the_value_through_the_future() {
    let pool = ThreadPoolExecutor::new(2).expect("start the pool");
    assert_eq!(pool.workers(), 2);
    let future = pool.submit(|| "done".len()).expect("submit");
    assert_eq!(
        within("the task's result", DEADLINE, || future.result()),
        Ok(4)
    );
}

#[test]
fn done_result_timeout_and_already_taken() {
    let pool = ThreadPoolExecutor::new(1).expect("start the pool");
    let (open, closed) = gate();
    let mut future = pool
        .submit(move || closed.recv().map(|()| 7))
        .expect("submit");
    assert!(!future.done(), "the task is blocked on its gate");
    assert_eq!(
        future.result_timeout(Duration::from_millis(20)),
        Err(TaskError::TimedOut)
    );
    open.send(()).expect("the task is waiting");
    assert_eq!(
        future.result_timeout(DEADLINE),
        Ok(Ok(7)),
        "the same future, after the timeout"
    );
    assert!(future.done());
    assert_eq!(
        future.result_timeout(DEADLINE),
        Err(TaskError::AlreadyTaken)
    );
}

#[test]
fn a_panicking_task_fails_alone_and_the_worker_survives() {
    // One worker: if the panic killed it, the tasks after the panic would never run.
    let pool = ThreadPoolExecutor::new(1).expect("start the pool");
    let futures: Vec<_> = (0..5)
        .map(|n| {
            pool.submit(move || {
                if n == 2 {
                    panic!("task {n} failed");
                }
                n * 10
            })
            .expect("submit")
        })
        .collect();
    let results: Vec<_> = within("five results", DEADLINE, || {
        futures.into_iter().map(|f| f.result()).collect()
    });
    assert_eq!(
        results,
        [
            Ok(0),
            Ok(10),
            Err(TaskError::Panicked("task 2 failed".to_owned())),
            Ok(30),
            Ok(40)
        ]
    );
    assert_eq!(
        results[2].clone().unwrap_err().to_string(),
        "the task panicked: task 2 failed"
    );
}

#[test]
fn a_static_str_panic_keeps_its_message_too() {
    let pool = ThreadPoolExecutor::new(1).expect("start the pool");
    let future = pool
        .submit(|| -> u8 { panic!("plain literal") })
        .expect("submit");
    assert_eq!(
        within("the panicked task", DEADLINE, || future.result()),
        Err(TaskError::Panicked("plain literal".to_owned()))
    );
}

/// `n` gates, one per task: task `i` blocks until the test opens gate `i`. The test opens them one
/// at a time, so the order in which the tasks finish is the test's choice, not the scheduler's.
fn gates(n: usize) -> (Vec<Sender<()>>, Vec<Receiver<()>>) {
    (0..n).map(|_| gate()).unzip()
}

fn wait_for(gate: &Receiver<()>) {
    gate.recv_timeout(DEADLINE)
        .expect("the test to open this task's gate");
}

#[test]
fn map_returns_results_in_input_order_even_when_they_finish_in_reverse() {
    let pool = ThreadPoolExecutor::new(4).expect("start the pool");
    let (open, closed) = gates(4);
    let (finished_tx, finished_rx) = crossbeam_channel::unbounded();
    let results = pool
        .map(
            move |(index, gate): (usize, Receiver<()>)| {
                wait_for(&gate);
                finished_tx.send(index).expect("the test is listening");
                index * 100
            },
            closed.into_iter().enumerate(),
        )
        .expect("submit all");
    for index in (0..4).rev() {
        open[index].send(()).expect("the task is waiting");
        let finished = finished_rx
            .recv_timeout(DEADLINE)
            .expect("the task whose gate was opened to finish");
        assert_eq!(
            finished, index,
            "only the task whose gate is open can finish"
        );
    }
    let results: Vec<_> = within("map's results", DEADLINE, move || results.collect());
    assert_eq!(results, [Ok(0), Ok(100), Ok(200), Ok(300)]);
}

#[test]
fn as_completed_yields_every_result_in_the_order_they_finish() {
    let pool = ThreadPoolExecutor::new(4).expect("start the pool");
    let (open, closed) = gates(4);
    let futures: Vec<_> = closed
        .into_iter()
        .enumerate()
        .map(|(index, gate)| {
            pool.submit(move || {
                wait_for(&gate);
                if index == 1 {
                    panic!("task 1 fails");
                }
                index
            })
            .expect("submit")
        })
        .collect();
    let mut completed = as_completed(futures).with_deadline(Instant::now() + DEADLINE);
    for index in [2, 0, 3, 1] {
        open[index].send(()).expect("the task is waiting");
        let expected = if index == 1 {
            Err(TaskError::Panicked("task 1 fails".to_owned()))
        } else {
            Ok(index)
        };
        assert_eq!(
            completed.next(),
            Some((index, expected)),
            "task {index} finished next"
        );
    }
    assert_eq!(completed.next(), None, "four futures, four results");
}

#[test]
fn as_completed_with_a_deadline_reports_the_tasks_still_running() {
    let pool = ThreadPoolExecutor::new(2).expect("start the pool");
    let (open, closed) = gate();
    let futures = vec![
        pool.submit(move || closed.recv().is_ok()).expect("submit"),
        pool.submit(|| true).expect("submit"),
    ];
    let deadline = Instant::now() + Duration::from_millis(50);
    let mut completed = as_completed(futures).with_deadline(deadline);
    assert_eq!(
        completed.next(),
        Some((1, Ok(true))),
        "the quick task first"
    );
    assert_eq!(
        completed.next(),
        Some((0, Err(TaskError::TimedOut))),
        "the blocked one times out"
    );
    assert_eq!(completed.next(), None);
    drop(open); // unblocks the task (its recv fails), so the pool's drop can join
}

#[test]
fn shutdown_refuses_new_tasks_but_runs_the_queued_ones() {
    let mut pool = ThreadPoolExecutor::new(1).expect("start the pool");
    let (open, closed) = gate();
    let first = pool.submit(move || closed.recv().is_ok()).expect("submit");
    let queued: Vec<_> = (0..5)
        .map(|n| pool.submit(move || n).expect("submit"))
        .collect();
    pool.shutdown(false);
    assert!(matches!(pool.submit(|| 0), Err(PoolError::ShutDown)));
    open.send(()).expect("the first task is waiting");
    let results: Vec<_> = within("the queued tasks after shutdown", DEADLINE, move || {
        queued.into_iter().map(|f| f.result()).collect()
    });
    assert_eq!(results, [Ok(0), Ok(1), Ok(2), Ok(3), Ok(4)]);
    assert_eq!(
        within("the first task", DEADLINE, || first.result()),
        Ok(true)
    );
    within("shutdown(true) joining the workers", DEADLINE, move || {
        pool.shutdown(true)
    });
}

#[test]
fn cancel_pending_cancels_the_queued_tasks_not_the_running_one() {
    let pool = ThreadPoolExecutor::new(1).expect("start the pool");
    let (started_tx, started_rx) = bounded(1);
    let (open, closed) = gate();
    let running = pool
        .submit(move || {
            started_tx.send(()).expect("the test is listening");
            closed.recv().is_ok()
        })
        .expect("submit");
    let queued: Vec<_> = (0..3)
        .map(|n| pool.submit(move || n).expect("submit"))
        .collect();
    started_rx
        .recv_timeout(DEADLINE)
        .expect("the first task to start on the only worker");
    assert_eq!(pool.cancel_pending(), 3);
    for future in queued {
        assert!(future.done(), "a cancelled task is done");
        assert_eq!(future.result(), Err(TaskError::Cancelled));
    }
    open.send(()).expect("the running task is waiting");
    assert_eq!(
        within("the running task", DEADLINE, || running.result()),
        Ok(true)
    );
}

thread_local! {
    /// Set in a worker thread; its destructor runs when that thread exits.
    static ON_EXIT: std::cell::RefCell<Option<ReportExit>> = const { std::cell::RefCell::new(None) };
}

/// Sends a message when dropped, i.e. when the thread that owns it exits.
struct ReportExit(Sender<()>);

impl Drop for ReportExit {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn dropping_the_pool_waits_for_every_worker_to_exit() {
    const WORKERS: usize = 3;
    let pool = ThreadPoolExecutor::new(WORKERS).expect("start the pool");
    let (exited_tx, exited_rx) = crossbeam_channel::unbounded();
    // The barrier holds each task until all are running, so each lands on its own worker.
    let all_running = Arc::new(Barrier::new(WORKERS));
    let finished = Arc::new(AtomicBool::new(false));
    for _ in 0..WORKERS {
        let (all_running, exited_tx) = (Arc::clone(&all_running), exited_tx.clone());
        let _ = pool
            .submit(move || {
                ON_EXIT.with(|slot| *slot.borrow_mut() = Some(ReportExit(exited_tx)));
                all_running.wait();
            })
            .expect("submit");
    }
    let last = {
        let finished = Arc::clone(&finished);
        pool.submit(move || finished.store(true, Ordering::SeqCst))
            .expect("submit")
    };
    drop(last); // nobody waits for this result: the drop below must still run the task
    within("dropping the pool", DEADLINE, move || drop(pool));
    assert_eq!(
        exited_rx.try_iter().count(),
        WORKERS,
        "every worker exited before drop returned"
    );
    assert!(
        finished.load(Ordering::SeqCst),
        "queued work ran before the drop returned"
    );
}

#[test]
fn one_executor_can_take_tasks_from_several_threads() {
    let pool = ThreadPoolExecutor::new(2).expect("start the pool");
    // `&ThreadPoolExecutor` is shared by the scoped threads: the executor is `Sync`.
    let totals: Vec<u64> = within("tasks submitted from four threads", DEADLINE, move || {
        std::thread::scope(|s| {
            let submitters: Vec<_> = (0..4_u64)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        let futures: Vec<_> = (0..10)
                            .map(|i| pool.submit(move || t * 100 + i).expect("submit"))
                            .collect();
                        futures
                            .into_iter()
                            .map(|f| f.result().expect("the task succeeds"))
                            .sum::<u64>()
                    })
                })
                .collect();
            submitters
                .into_iter()
                .map(|h| h.join().expect("a submitter panicked"))
                .collect()
        })
    });
    assert_eq!(totals, [45, 1045, 2045, 3045]);
}

#[test]
fn as_completed_reports_a_result_taken_earlier() {
    let pool = ThreadPoolExecutor::new(1).expect("start the pool");
    let mut taken = pool.submit(|| 1).expect("submit");
    assert_eq!(taken.result_timeout(DEADLINE), Ok(1));
    let fresh = pool.submit(|| 2).expect("submit");
    let mut completed = as_completed(vec![taken, fresh]);
    assert_eq!(completed.remaining(), 2);
    let mut outcomes: Vec<_> = within("as_completed", DEADLINE, move || {
        completed.by_ref().collect()
    });
    outcomes.sort_by_key(|(index, _)| *index);
    assert_eq!(outcomes, [(0, Err(TaskError::AlreadyTaken)), (1, Ok(2))]);
}
