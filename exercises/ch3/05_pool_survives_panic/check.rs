//! The checks of exercise 3.5, run against the stub, the solution and the reader's attempt alike.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use super::imp::{self, Job};

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    plain_jobs_return_their_values_in_order();
    one_worker_survives_a_panic_and_runs_the_rest();
    several_panics_with_several_workers();
}

fn job(value: u64) -> Job {
    Box::new(move || value * value)
}

/// The threads the jobs ran on, recorded by the jobs themselves.
#[derive(Clone, Default)]
struct Threads(Arc<Mutex<HashSet<ThreadId>>>);

impl Threads {
    /// Wraps `job` so that it records its thread first.
    fn record(&self, job: Job) -> Job {
        let threads = self.clone();
        Box::new(move || {
            threads.0.lock().unwrap().insert(thread::current().id());
            job()
        })
    }

    fn seen(&self) -> HashSet<ThreadId> {
        self.0.lock().unwrap().clone()
    }
}

fn plain_jobs_return_their_values_in_order() {
    let outcomes = imp::run_all((0..20).map(job).collect(), 4);
    let expected: Vec<Result<u64, String>> = (0..20).map(|n| Ok(n * n)).collect();
    assert_eq!(
        outcomes, expected,
        "one outcome per job, in the order of the jobs"
    );
}

fn one_worker_survives_a_panic_and_runs_the_rest() {
    let threads = Threads::default();
    let jobs: Vec<Job> = vec![job(1), Box::new(|| panic!("boom")), job(3), job(4)];
    let jobs = jobs.into_iter().map(|j| threads.record(j)).collect();
    let outcomes = imp::run_all(jobs, 1);
    assert_eq!(
        outcomes,
        [Ok(1), Err("boom".to_owned()), Ok(9), Ok(16)],
        "with a single worker, the jobs after the panicking one must still run"
    );
    let seen = threads.seen();
    assert_eq!(
        seen.len(),
        1,
        "with a single worker, every job runs on that one thread, the panicking one included \
         (a pool does not replace a worker per panic); they ran on {} threads",
        seen.len()
    );
    assert!(
        !seen.contains(&thread::current().id()),
        "the jobs must run on the pool's worker, not on the thread that called run_all"
    );
}

fn several_panics_with_several_workers() {
    let threads = Threads::default();
    let jobs: Vec<Job> = (0..12)
        .map(|n| -> Job {
            if n % 4 == 3 {
                Box::new(move || panic!("job {n} failed"))
            } else {
                job(n)
            }
        })
        .map(|j| threads.record(j))
        .collect();
    let outcomes = imp::run_all(jobs, 3);
    assert!(
        threads.seen().len() <= 3,
        "12 jobs on a pool of 3 workers ran on {} threads: the pool keeps its workers",
        threads.seen().len()
    );
    for (n, outcome) in outcomes.iter().enumerate() {
        let expected = if n % 4 == 3 {
            Err(format!("job {n} failed"))
        } else {
            Ok((n * n) as u64)
        };
        assert_eq!(
            outcome, &expected,
            "job {n} (a formatted panic message arrives as a String)"
        );
    }
    assert_eq!(outcomes.len(), 12, "one outcome per job");
}
