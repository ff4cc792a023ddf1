//! The checks of exercise 2.3, run against the stub, the solution and the reader's attempt alike.
//!
//! The first check's source goes quiet halfway through the numbers, as a real one does. It does not
//! merely sleep: it waits until it has seen every worker process running (so that they are all
//! waiting for work), then stays quiet for [`QUIET`] while it watches them. A worker that ends
//! before the stream has ended has taken the quiet for the end: that is the bug the check is for,
//! and the source panics at once with a message saying so (the panic passes through `squares`,
//! whose workers have ended, so nothing is left waiting).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{imp, support};

/// How long the source stays quiet once every worker is running.
const QUIET: Duration = Duration::from_secs(3);
/// How long the source waits to see every worker process running before it goes quiet anyway.
const STARTUP: Duration = Duration::from_secs(10);
/// A worker process exists within milliseconds of `Process::spawn`; if none at all has been seen
/// by then, the workers have come and gone already.
const NONE_SEEN: Duration = Duration::from_secs(3);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    a_source_that_goes_quiet_loses_nothing();
    several_workers_share_the_work();
    no_numbers_no_results();
}

/// Yields `numbers`; before the one at `quiet_before`, goes quiet (see the module docs).
struct QuietSource {
    numbers: std::vec::IntoIter<u64>,
    yielded: usize,
    quiet_before: usize,
    workers: usize,
}

impl Iterator for QuietSource {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.yielded == self.quiet_before {
            go_quiet(self.yielded, self.workers);
        }
        self.yielded += 1;
        self.numbers.next()
    }
}

/// Waits until `workers` worker processes have been seen, then watches them for [`QUIET`];
/// panics as soon as one has ended.
fn go_quiet(sent: usize, workers: usize) {
    let started = Instant::now();
    let mut seen = BTreeSet::new();
    let mut ended = Vec::new();
    let mut look = || {
        let now = support::child_processes();
        seen.extend(now.iter().map(|child| child.pid));
        ended = seen
            .iter()
            .copied()
            .filter(|pid| !now.iter().any(|c| c.pid == *pid && c.state != 'Z'))
            .collect();
        (seen.len(), ended.len())
    };
    support::poll_until(STARTUP, || {
        let (seen, ended) = look();
        seen >= workers || ended > 0 || (seen == 0 && started.elapsed() > NONE_SEEN)
    });
    let (seen_count, _) = look();
    if seen_count > 0 {
        support::poll_until(QUIET, || look().1 > 0);
    }
    let (seen_count, ended_count) = look();
    let ended_count = if seen_count == 0 {
        workers
    } else {
        ended_count
    };
    if ended_count > 0 {
        panic!(
            "the source went quiet after {sent} numbers, and {ended_count} of the {workers} worker \
             processes had ended {:.1?} later, before the stream had ended: a quiet queue is not \
             the end of the stream (get_timeout's None means \"nothing came in time\"; get's None \
             means \"the end\")",
            started.elapsed()
        );
    }
}

fn a_source_that_goes_quiet_loses_nothing() {
    let source = QuietSource {
        numbers: (1..=10).collect::<Vec<u64>>().into_iter(),
        yielded: 0,
        quiet_before: 5,
        workers: 2,
    };
    let (squares, done) =
        imp::squares(source, 2).unwrap_or_else(|error| panic!("squares() failed: {error}"));
    let expected: Vec<u64> = (1..=10).map(|n| n * n).collect();
    assert_eq!(
        squares, expected,
        "every number squared exactly once, even from a source that goes quiet"
    );
    assert_eq!(
        done.iter().sum::<u64>(),
        10,
        "the workers' counts add up to the numbers sent"
    );
}

fn run(numbers: Vec<u64>, workers: usize) -> (Vec<u64>, Vec<u64>) {
    imp::squares(numbers, workers).unwrap_or_else(|error| {
        panic!(
            "squares() failed: {error}\n(a put fails with Disconnected when every consumer has \
             gone: did the workers quit before the numbers arrived?)"
        )
    })
}

fn several_workers_share_the_work() {
    let (squares, done) = run((0..300).collect(), 3);
    let expected: Vec<u64> = (0..300).map(|n| n * n).collect();
    assert_eq!(squares, expected, "300 numbers through 3 workers");
    assert_eq!(done.len(), 3, "one count per worker");
    assert_eq!(done.iter().sum::<u64>(), 300);
}

fn no_numbers_no_results() {
    let (squares, done) = run(Vec::new(), 2);
    assert!(squares.is_empty(), "no numbers, no squares");
    assert_eq!(done, vec![0, 0], "both workers ended without work");
}
