//! The checks of exercise 1.2, run against the stub, the solution and the reader's attempt alike.

use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
///
/// A version that never closes its channel never returns from the first call; the checker then kills
/// it at the deadline.
pub fn check() {
    every_number_is_summed();
    a_producers_panic_is_not_lost();
}

fn every_number_is_summed() {
    let cases: [(&str, Vec<Vec<u64>>); 4] = [
        ("one producer sending 1..=10", vec![(1..=10).collect()]),
        (
            "four producers sending 0..10_000 each",
            vec![(0..10_000).collect(); 4],
        ),
        (
            "three producers, one of them with nothing to send",
            vec![vec![5, 6], vec![], vec![7]],
        ),
        ("no producers at all", vec![]),
    ];
    for (case, batches) in cases {
        let expected: u64 = batches.iter().flatten().sum();
        let got = imp::sum_through_channel(batches);
        assert_eq!(
            got, expected,
            "{case}: expected the sum {expected}, got {got}"
        );
    }
}

/// A batch that yields `numbers`, and panics instead of yielding `fails_at` (if given): a producer
/// that fails halfway.
struct Batch {
    numbers: Range<u64>,
    fails_at: Option<u64>,
}

impl Iterator for Batch {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let number = self.numbers.next()?;
        if Some(number) == self.fails_at {
            panic!("check: this producer's batch fails on purpose at {number}");
        }
        Some(number)
    }
}

fn a_producers_panic_is_not_lost() {
    let batches = vec![
        Batch {
            numbers: 0..100,
            fails_at: None,
        },
        Batch {
            numbers: 0..100,
            fails_at: Some(10),
        },
    ];
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| imp::sum_through_channel(batches)));
    if let Ok(sum) = outcome {
        panic!(
            "a producer panicked after sending 10 of its numbers, but sum_through_channel \
             returned {sum} as if nothing had happened: join the producer threads and pass \
             their panic on"
        );
    }
}
