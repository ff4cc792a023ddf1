//! The checks of exercise 2.5, run against the stub, the solution and the reader's attempt alike.

use super::imp;

/// Panics, with a message saying what was expected, unless no update is lost.
///
/// Lost updates need two processes in the middle of an increment at once, so the check counts a
/// lot (and more than once): with four processes on two cores, the unfixed code loses a large
/// share every time. A correct version loses none, ever.
pub fn check() {
    for (processes, increments) in [(2, 1_000), (4, 500_000), (4, 500_000)] {
        let expected = i64::from(processes) * increments as i64;
        let got = imp::count_together(processes, increments);
        assert_eq!(
            got,
            expected,
            "{processes} processes adding 1 {increments} times each: expected {expected}, got \
             {got} ({} updates lost)",
            expected - got
        );
    }
}
