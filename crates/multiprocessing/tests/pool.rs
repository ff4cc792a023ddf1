//! Tests of `pool::Pool`: results in order, per-item panics, a worker killed mid-task (and by
//! `exit` and `abort`), retries, timeouts, lazy `imap`, large data both ways, worker
//! replacement, the initializer, closing, dropping and terminating.
//!
//! A `harness = false` target (workers re-execute this binary, so `main` calls
//! `multiprocessing::init()` first); see `support` for the watchdog and the final check that no
//! process is left behind. To kill a worker mid-task, the task writes its pid to a file once it
//! runs, and the test kills that pid: no sleeping in the hope that it has started.

mod pool_tasks;
mod support;

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use multiprocessing::pool::{Pool, PoolError, TaskError};
use pool_tasks::*;
use testbed::wait::{DEADLINE, within};

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            map_returns_every_result_in_input_order,
            starmap_and_apply_run_in_workers,
            five_panics_in_a_hundred_fail_only_their_items,
            a_worker_killed_mid_task_fails_only_that_task,
            exit_and_abort_are_named_and_the_pool_goes_on,
            a_lost_task_succeeds_on_retry,
            a_task_past_its_timeout_is_killed_and_the_pool_serves,
            imap_reads_its_input_lazily_and_keeps_order,
            a_slow_first_item_holds_back_the_input_of_an_ordered_imap,
            imap_unordered_yields_every_result,
            large_arguments_and_results_both_ways_do_not_deadlock,
            max_tasks_per_child_replaces_workers,
            the_initializer_runs_once_per_worker,
            a_panicking_initializer_breaks_the_pool_with_a_clear_error,
            closed_pools_refuse_work_and_join_needs_close,
            dropping_the_pool_finishes_what_was_submitted,
            terminate_fails_what_is_running_and_leaves_no_process,
        ],
        support::TEST_DEADLINE,
    )
}

fn values<R: std::fmt::Debug>(outcomes: Vec<Result<R, TaskError>>) -> Vec<R> {
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every task succeeds"))
        .collect()
}

fn map_returns_every_result_in_input_order() {
    let pool = Pool::new(2).unwrap();
    let expected: Vec<u64> = (0..1000).map(|x| x * x).collect();
    assert_eq!(values(pool.map(square, 0..1000).unwrap()), expected);
    assert_eq!(
        values(pool.map_chunked(square, 0..1000, 1).unwrap()),
        expected
    );
    assert_eq!(
        values(pool.map(square, Vec::new()).unwrap()),
        Vec::<u64>::new()
    );
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn starmap_and_apply_run_in_workers() {
    let pool = Pool::new(2).unwrap();
    let sums = pool.starmap(add, (0..50).map(|x| (x, 100 * x))).unwrap();
    assert_eq!(values(sums), (0..50).map(|x| 101 * x).collect::<Vec<_>>());
    let pid = pool.apply(worker_pid, 0).unwrap();
    assert_ne!(pid, std::process::id(), "apply ran in this process");
    assert!(pool.worker_pids().contains(&pid), "{pid} is not a worker");
    let mut handle = pool.apply_async(square, 12).unwrap();
    assert_eq!(handle.get_timeout(DEADLINE), Ok(144));
    assert!(handle.ready());
    assert_eq!(handle.get_timeout(DEADLINE), Err(TaskError::AlreadyTaken));
}

fn five_panics_in_a_hundred_fail_only_their_items() {
    let pool = Pool::new(2).unwrap();
    let outcomes = pool.map(square_unless_multiple_of_20, 0..100).unwrap();
    assert_eq!(outcomes.len(), 100);
    for (x, outcome) in (0..100u64).zip(outcomes) {
        match outcome {
            Ok(value) => {
                assert!(!x.is_multiple_of(20), "{x} should have panicked");
                assert_eq!(value, x * x);
            }
            Err(TaskError::Panicked { message, location }) => {
                assert_eq!(x % 20, 0, "{x} panicked: {message}");
                assert_eq!(message, format!("refusing {x}"));
                assert!(location.contains("pool_tasks"), "location {location}");
            }
            Err(other) => panic!("item {x}: expected a value or a panic, got {other:?}"),
        }
    }
}

/// Runs `jobs` through `map_chunked(.., 1)` on a thread of its own, kills the worker that runs
/// the `Hang` job once it has started, and returns the outcomes and the killed pid.
fn map_and_kill_the_hanging_one(
    pool: Arc<Pool>,
    jobs: Vec<Job>,
    pid_file: &std::path::Path,
) -> (Vec<Result<u64, TaskError>>, u32) {
    let mapping = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.map_chunked(run_job, jobs, 1).unwrap())
    };
    let pid = wait_for_pid(pid_file);
    kill(pid);
    let outcomes = within("the map around a killed worker", DEADLINE, move || {
        mapping.join().expect("the map thread")
    });
    (outcomes, pid)
}

fn a_worker_killed_mid_task_fails_only_that_task() {
    let pool = Arc::new(Pool::new(2).unwrap());
    let pid_file = scratch_path("killed");
    let mut jobs: Vec<Job> = (0..20).map(Job::Square).collect();
    jobs[7] = Job::Hang(pid_file.clone());
    let (outcomes, pid) = map_and_kill_the_hanging_one(pool.clone(), jobs, &pid_file);
    for (x, outcome) in (0..20u64).zip(&outcomes) {
        if x == 7 {
            assert_eq!(
                outcome,
                &Err(TaskError::WorkerDied { pid, exitcode: -9 }),
                "the killed task"
            );
            let message = outcome.as_ref().unwrap_err().to_string();
            assert!(message.contains("SIGKILL"), "{message}");
        } else {
            assert_eq!(outcome, &Ok(x * x), "item {x}");
        }
    }
    assert!(
        !pool.worker_pids().contains(&pid),
        "the dead worker was not replaced"
    );
    assert_eq!(
        values(pool.map(square, 0..10).unwrap()),
        (0..10).map(|x| x * x).collect::<Vec<_>>()
    );
}

fn exit_and_abort_are_named_and_the_pool_goes_on() {
    let pool = Pool::new(2).unwrap();
    match pool.apply(exit_with, 3) {
        Err(TaskError::WorkerDied { exitcode: 3, .. }) => {}
        other => panic!("expected WorkerDied with exit code 3, got {other:?}"),
    }
    match pool.apply(abort_worker, 0) {
        Err(error @ TaskError::WorkerDied { exitcode: -6, .. }) => {
            assert!(error.to_string().contains("SIGABRT"), "{error}");
        }
        other => panic!("expected WorkerDied by SIGABRT, got {other:?}"),
    }
    assert_eq!(pool.apply(square, 9), Ok(81));
}

fn a_lost_task_succeeds_on_retry() {
    let pool = Pool::builder().workers(2).retries(1).build().unwrap();
    let marker = scratch_path("retry-marker");
    assert_eq!(pool.apply(die_once_then_answer, marker.clone()), Ok(7));
    assert!(marker.exists(), "the first attempt did not run");
    let _ = std::fs::remove_dir(&marker);
    // Without retries, the same task fails with the worker's death.
    let strict = Pool::new(1).unwrap();
    match strict.apply(die_once_then_answer, marker.clone()) {
        Err(TaskError::WorkerDied { exitcode: -9, .. }) => {}
        other => panic!("expected WorkerDied by SIGKILL, got {other:?}"),
    }
    let _ = std::fs::remove_dir(&marker);
}

fn a_task_past_its_timeout_is_killed_and_the_pool_serves() {
    let pool = Pool::builder()
        .workers(1)
        .timeout(SHORT_LIMIT)
        .build()
        .unwrap();
    let before = pool.worker_pids();
    let pid_file = scratch_path("timeout");
    let outcome = pool.apply(report_pid_and_hang, pid_file.clone());
    assert_eq!(outcome, Err(TaskError::Timeout { limit: SHORT_LIMIT }));
    let _ = std::fs::remove_file(&pid_file);
    assert_eq!(pool.apply(square, 5), Ok(25), "the pool no longer serves");
    assert_ne!(
        pool.worker_pids(),
        before,
        "the stuck worker was not replaced"
    );
}

/// An input that counts how many items were taken from it.
struct Counted {
    next: u64,
    end: u64,
    pulled: Arc<AtomicUsize>,
}

impl Iterator for Counted {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        (self.next < self.end).then(|| {
            self.pulled.fetch_add(1, Ordering::SeqCst);
            self.next += 1;
            self.next - 1
        })
    }
}

fn imap_reads_its_input_lazily_and_keeps_order() {
    let pool = Pool::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let input = Counted {
        next: 0,
        end: 1000,
        pulled: pulled.clone(),
    };
    let mut results = pool.imap(square, input).unwrap();
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        0,
        "imap read its input before it was asked"
    );
    assert_eq!(results.next(), Some(Ok(0)));
    let after_first = pulled.load(Ordering::SeqCst);
    assert!(
        after_first < 100,
        "one result read, but {after_first} of 1000 items already taken from the input"
    );
    let rest: Vec<u64> = results.map(|outcome| outcome.unwrap()).collect();
    assert_eq!(rest, (1..1000).map(|x| x * x).collect::<Vec<_>>());
    assert_eq!(pulled.load(Ordering::SeqCst), 1000);
}

/// In order, results that came back early wait for the slow first one; they must count against
/// the window, or the input is read without bound behind the slow item.
fn a_slow_first_item_holds_back_the_input_of_an_ordered_imap() {
    let pool = Pool::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let input = Counted {
        next: 0,
        end: 1000,
        pulled: pulled.clone(),
    };
    let mut results = pool.imap(square_slow_at_zero, input).unwrap();
    assert_eq!(results.next(), Some(Ok(0)));
    let after_first = pulled.load(Ordering::SeqCst);
    assert!(
        after_first < 100,
        "the first (slow) result read, but {after_first} of 1000 items already taken from the input"
    );
    assert_eq!(results.count(), 999);
}

fn imap_unordered_yields_every_result() {
    let pool = Pool::new(2).unwrap();
    let mut seen: Vec<u64> = pool
        .imap_unordered(square, 0..500)
        .unwrap()
        .chunksize(7)
        .map(|outcome| outcome.unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..500).map(|x| x * x).collect::<Vec<_>>());
}

const MIB: usize = 1 << 20;

/// Takes 1 MiB and sends 1 MiB back, every byte changed.
fn invert(bytes: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf {
    serde_bytes::ByteBuf::from(bytes.iter().map(|b| !b).collect::<Vec<u8>>())
}

fn large_arguments_and_results_both_ways_do_not_deadlock() {
    let pool = Pool::new(2).unwrap();
    let inputs = (0..200u32).map(|i| serde_bytes::ByteBuf::from(vec![i as u8; MIB]));
    let outcomes = pool.map_chunked(invert, inputs, 1).unwrap();
    assert_eq!(outcomes.len(), 200);
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let bytes = outcome.unwrap_or_else(|e| panic!("task {i}: {e}"));
        assert_eq!(bytes.len(), MIB);
        assert!(
            bytes.iter().all(|&b| b == !(i as u8)),
            "task {i} came back wrong"
        );
    }
}

fn max_tasks_per_child_replaces_workers() {
    let pool = Pool::builder()
        .workers(1)
        .max_tasks_per_child(2)
        .build()
        .unwrap();
    let pids: Vec<u32> = (0..6).map(|i| pool.apply(worker_pid, i).unwrap()).collect();
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        3,
        "6 tasks, 2 per worker, should see 3 workers: {pids:?}"
    );
    for pair in pids.chunks(2) {
        assert_eq!(pair[0], pair[1], "each worker runs 2 tasks: {pids:?}");
    }
}

static INITIALIZED: AtomicU32 = AtomicU32::new(0);
static INITIALIZED_WITH: AtomicU32 = AtomicU32::new(0);

fn count_initialization(value: u32) {
    INITIALIZED.fetch_add(1, Ordering::SeqCst);
    INITIALIZED_WITH.store(value, Ordering::SeqCst);
}

/// What the worker's initializer did: (pid, times it ran, the value it was given).
fn initialization_seen(_: u64) -> (u32, u32, u32) {
    (
        std::process::id(),
        INITIALIZED.load(Ordering::SeqCst),
        INITIALIZED_WITH.load(Ordering::SeqCst),
    )
}

fn the_initializer_runs_once_per_worker() {
    let pool = Pool::builder()
        .workers(2)
        .max_tasks_per_child(3)
        .initializer(count_initialization, 42)
        .build()
        .unwrap();
    let seen = values(pool.map_chunked(initialization_seen, 0..12, 1).unwrap());
    for (pid, runs, value) in &seen {
        assert_eq!((*runs, *value), (1, 42), "worker {pid}: {seen:?}");
    }
    let workers: HashSet<u32> = seen.iter().map(|(pid, _, _)| *pid).collect();
    assert!(workers.len() >= 4, "12 tasks, 3 per worker: {seen:?}");
    assert_eq!(
        INITIALIZED.load(Ordering::SeqCst),
        0,
        "the initializer ran in the parent"
    );
}

fn refuse_to_start(_: u32) {
    panic!("no configuration found");
}

fn a_panicking_initializer_breaks_the_pool_with_a_clear_error() {
    let pool = Pool::builder()
        .workers(1)
        .initializer(refuse_to_start, 0)
        .build()
        .unwrap();
    match pool.apply(square, 3) {
        Err(TaskError::NoWorker(reason)) => {
            assert!(reason.contains("no configuration found"), "{reason}");
        }
        Err(TaskError::Rejected(reason)) => {
            assert!(reason.contains("no configuration found"), "{reason}");
        }
        other => panic!("expected the initializer's panic, got {other:?}"),
    }
    match pool.apply_async(square, 4) {
        Err(PoolError::Broken(reason)) => assert!(reason.contains("no configuration found")),
        other => panic!("expected a broken pool, got {other:?}"),
    }
}

fn closed_pools_refuse_work_and_join_needs_close() {
    assert!(matches!(Pool::new(0), Err(PoolError::NoWorkers)));
    let pool = Pool::new(1).unwrap();
    assert!(matches!(pool.join(), Err(PoolError::NotClosed)));
    let queued = pool.apply_async(square, 6).unwrap();
    pool.close();
    assert!(matches!(
        pool.apply_async(square, 7),
        Err(PoolError::Closed)
    ));
    // `map` submits chunk by chunk, so its items come back refused, each saying why.
    for outcome in pool.map(square, 0..3).unwrap() {
        match outcome {
            Err(TaskError::Rejected(reason)) => assert!(reason.contains("closed"), "{reason}"),
            other => panic!("expected a refusal from a closed pool, got {other:?}"),
        }
    }
    pool.join().unwrap();
    assert_eq!(queued.get(), Ok(36), "close lost a queued task");
}

fn dropping_the_pool_finishes_what_was_submitted() {
    let pool = Pool::new(2).unwrap();
    let handles: Vec<_> = (0..20)
        .map(|x| pool.apply_async(square, x).unwrap())
        .collect();
    let workers = pool.worker_pids();
    within("dropping the pool", DEADLINE, move || drop(pool));
    for (x, handle) in (0..20).zip(handles) {
        assert!(handle.ready(), "task {x} was not finished by drop");
        assert_eq!(handle.get(), Ok(x * x));
    }
    let left = support::leftover_processes();
    assert!(
        workers.iter().all(|pid| !left.contains(pid)),
        "workers left: {left:?}"
    );
}

fn terminate_fails_what_is_running_and_leaves_no_process() {
    let pool = Pool::new(2).unwrap();
    let pid_file = scratch_path("terminate");
    let running = pool
        .apply_async(report_pid_and_hang, pid_file.clone())
        .unwrap();
    let _pid = wait_for_pid(&pid_file);
    let queued: Vec<_> = (0..10)
        .map(|_| pool.apply_async(report_pid_and_hang, scratch_path("never")))
        .collect();
    pool.terminate();
    within("joining a terminated pool", DEADLINE, move || {
        pool.join().unwrap()
    });
    assert_eq!(running.get(), Err(TaskError::Terminated));
    for handle in queued {
        assert_eq!(handle.unwrap().get(), Err(TaskError::Terminated));
    }
    assert_eq!(
        support::leftover_processes(),
        Vec::<u32>::new(),
        "terminate left processes"
    );
}
