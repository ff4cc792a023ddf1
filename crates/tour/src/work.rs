//! The CPU-bound work the process and thread scenarios share: the articles' sum of squares.

use std::hint::black_box;
use std::ops::Range;
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Σ n² for n in `range`, exactly (`u128`: for n < 10⁷ the total is about 3.3 × 10²⁰, beyond
/// `u64`; Python's integers print the same number).
///
/// Every `n` passes through [`black_box`], so the optimizer cannot replace the loop with the
/// closed formula n(n-1)(2n-1)/6 and the scenario measures real work (the chapters explain the
/// trap).
pub fn sum_of_squares(range: Range<u64>) -> u128 {
    let mut total: u128 = 0;
    for n in range {
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}

/// The same sum from the closed formula, to check the loop's answer.
pub fn sum_of_squares_formula(limit: u64) -> u128 {
    let n = u128::from(limit);
    if n == 0 {
        return 0;
    }
    (n - 1) * n * (2 * n - 1) / 6
}

/// Splits `0..limit` into `parts` contiguous ranges of nearly equal length.
pub fn split(limit: u64, parts: u64) -> Vec<Range<u64>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| (limit * i / parts)..(limit * (i + 1) / parts))
        .collect()
}

/// Runs `f` `rounds` times and keeps the fastest time (the least disturbed by other programs).
pub fn best_of<T>(
    rounds: u32,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Duration, T)> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let value = f()?;
        let took = started.elapsed();
        if best.as_ref().is_none_or(|(fastest, _)| took < *fastest) {
            best = Some((took, value));
        }
    }
    best.context("no rounds were run")
}

/// A duration in milliseconds.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_agrees_with_the_formula_and_with_python() {
        assert_eq!(sum_of_squares(0..1000), sum_of_squares_formula(1000));
        // Python: sum(n * n for n in range(10_000_000))
        assert_eq!(
            sum_of_squares_formula(10_000_000),
            333_333_283_333_335_000_000
        );
    }

    #[test]
    fn split_covers_the_range_without_gaps() {
        let ranges = split(10, 3);
        assert_eq!(ranges, vec![0..3, 3..6, 6..10]);
        let total: u128 = ranges.into_iter().map(sum_of_squares).sum();
        assert_eq!(total, sum_of_squares_formula(10));
    }
}
