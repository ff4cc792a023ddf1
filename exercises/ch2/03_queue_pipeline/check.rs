//! The checks of exercise 2.3, run against the stub, the solution and the reader's attempt alike.

use std::time::Duration;

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    a_slow_source_loses_nothing();
    several_workers_share_the_work();
    no_numbers_no_results();
}

fn run(numbers: Vec<u64>, workers: usize, pace: Duration) -> (Vec<u64>, Vec<u64>) {
    imp::squares(numbers, workers, pace).unwrap_or_else(|error| {
        panic!(
            "squares() failed: {error}\n(a put fails with Disconnected when every consumer has \
             gone: did the workers quit before the numbers arrived?)"
        )
    })
}

fn a_slow_source_loses_nothing() {
    let (squares, done) = run((1..=10).collect(), 2, Duration::from_millis(20));
    let expected: Vec<u64> = (1..=10).map(|n| n * n).collect();
    assert_eq!(
        squares, expected,
        "every number squared exactly once, even from a slow source"
    );
    assert_eq!(
        done.iter().sum::<u64>(),
        10,
        "the workers' counts add up to the numbers sent"
    );
}

fn several_workers_share_the_work() {
    let (squares, done) = run((0..300).collect(), 3, Duration::ZERO);
    let expected: Vec<u64> = (0..300).map(|n| n * n).collect();
    assert_eq!(squares, expected, "300 numbers through 3 workers");
    assert_eq!(done.len(), 3, "one count per worker");
    assert_eq!(done.iter().sum::<u64>(), 300);
}

fn no_numbers_no_results() {
    let (squares, done) = run(Vec::new(), 2, Duration::ZERO);
    assert!(squares.is_empty(), "no numbers, no squares");
    assert_eq!(done, vec![0, 0], "both workers ended without work");
}
