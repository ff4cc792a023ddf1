//! The checks of exercise 1.2, run against the stub, the solution and the reader's attempt alike.

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
///
/// A version that never closes its channel never returns from the first call; the checker then kills
/// it at the deadline.
pub fn check() {
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
