//! The CPU-bound work the workspace measures: the articles' sum of squares, `Σ n²` for `n` below a
//! limit (Python: `sum(n * n for n in range(limit))`).
//!
//! Chapter 2 runs it in processes, chapter 3 in threads, and the tour and the benches time both.
//! They all take it from here, so that "the same work" means the same code. The chapters' listings
//! keep a copy of [`sum_of_squares`] each, so that a reader can copy one file on its own.
//!
//! Two details make the work honest, and both are lessons of the chapters:
//!
//! - **The total is a `u128`.** For `n < 10⁷` it is 333 333 283 333 335 000 000, about 3.3·10²⁰,
//!   and `u64::MAX` is about 1.8·10¹⁹: a `u64` sum overflows from a limit of about 3.8 million on
//!   (a panic in a debug build, a silently wrong total in a release build). Python's integers grow
//!   as needed, so Python prints the exact number; a `u128` holds it exactly too.
//! - **Every number goes through [`black_box`].** LLVM recognises a loop that adds up `n²` and
//!   replaces it with the closed formula, so a plain loop takes nanoseconds whatever the limit, and
//!   there is nothing left to measure. Hiding only the limit is not enough (the formula works for
//!   any limit); hiding each value is.
//!
//! [`sum_of_squares_formula`] is that closed formula, written out: the check that the loop's
//! answer is right, in no time.
//!
//! ```
//! use testbed::work::{split, sum_of_squares, sum_of_squares_formula};
//!
//! let limit = 1_000;
//! let in_parts: u128 = split(limit, 3).into_iter().map(sum_of_squares).sum();
//! assert_eq!(in_parts, sum_of_squares_formula(limit));
//! ```

use std::hint::black_box;
use std::ops::Range;

/// Σ n² for `n` in `numbers`, one number at a time.
///
/// Each `n` passes through [`black_box`], so the optimizer cannot replace the loop with the closed
/// formula: the time it takes is the time of the work (in a release build, about 5 ms for
/// `0..10_000_000` on the machine the book was measured on).
///
/// # Panics
///
/// In a debug build, when the total does not fit in a `u128` (limits above about 10¹³, which
/// would take hours to reach).
pub fn sum_of_squares(numbers: Range<u64>) -> u128 {
    let mut total: u128 = 0;
    for n in numbers {
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}

/// The largest `limit` whose sum of squares below it fits in a `u128`.
pub const MAX_FORMULA_LIMIT: u64 = 10_069_012_961_345;

/// Σ n² for `n < limit`, from the closed formula `(limit - 1)·limit·(2·limit - 1) / 6`.
///
/// The three factors are divided by 2 and by 3 before they are multiplied (one of `limit - 1` and
/// `limit` is even, one of the three factors is a multiple of 3), so the product never exceeds the
/// result and the formula is exact for every limit up to [`MAX_FORMULA_LIMIT`].
///
/// # Panics
///
/// When `limit` is above [`MAX_FORMULA_LIMIT`]: the total does not fit in a `u128`.
pub fn sum_of_squares_formula(limit: u64) -> u128 {
    if limit == 0 {
        return 0;
    }
    let n = u128::from(limit);
    let mut factors = [n - 1, n, 2 * n - 1];
    let even = if factors[0] % 2 == 0 { 0 } else { 1 };
    factors[even] /= 2;
    let multiple_of_three = factors
        .iter()
        .position(|f| f % 3 == 0)
        .expect("one of n - 1, n and 2n - 1 is a multiple of 3");
    factors[multiple_of_three] /= 3;
    factors
        .into_iter()
        .try_fold(1_u128, u128::checked_mul)
        .unwrap_or_else(|| {
            panic!(
                "the sum of squares below {limit} does not fit in a u128 \
                 (limit at most {MAX_FORMULA_LIMIT})"
            )
        })
}

/// Splits `0..limit` into `parts` contiguous ranges of nearly equal length (at least one part),
/// which together cover it exactly: the work of `parts` threads or processes.
pub fn split(limit: u64, parts: u64) -> Vec<Range<u64>> {
    let parts = u128::from(parts.max(1));
    let bound = |i: u128| -> u64 {
        // limit · i / parts ≤ limit, so it fits back in a u64; u128 keeps the product exact.
        u64::try_from(u128::from(limit) * i / parts).expect("at most limit")
    };
    (0..parts).map(|i| bound(i)..bound(i + 1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_agrees_with_the_formula() {
        for limit in [0, 1, 2, 3, 4, 5, 6, 7, 10, 999, 1000, 1001, 65_537] {
            assert_eq!(
                sum_of_squares(0..limit),
                sum_of_squares_formula(limit),
                "limit {limit}"
            );
        }
    }

    #[test]
    fn a_total_beyond_u64_is_exact_and_is_what_python_prints() {
        let limit = 10_000_000;
        let total = sum_of_squares(0..limit);
        assert!(
            total > u128::from(u64::MAX),
            "{total} should not fit in a u64"
        );
        assert_eq!(total, sum_of_squares_formula(limit));
        // Python: sum(n * n for n in range(10_000_000))
        assert_eq!(total, 333_333_283_333_335_000_000);
    }

    #[test]
    fn the_formula_is_exact_up_to_its_limit_and_refuses_beyond() {
        let at_max = sum_of_squares_formula(MAX_FORMULA_LIMIT);
        let next = u128::from(MAX_FORMULA_LIMIT);
        // The next term no longer fits: that is what makes MAX_FORMULA_LIMIT the largest.
        assert!(at_max.checked_add(next * next).is_none());
        // One below: the formula and the last term agree with the formula at the maximum.
        let below = sum_of_squares_formula(MAX_FORMULA_LIMIT - 1);
        let last = u128::from(MAX_FORMULA_LIMIT - 1);
        assert_eq!(below + last * last, at_max);
        let refused = std::panic::catch_unwind(|| sum_of_squares_formula(MAX_FORMULA_LIMIT + 1));
        let message = refused.expect_err("beyond the limit the formula must panic");
        let message = message
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(message.contains("does not fit in a u128"), "{message}");
    }

    #[test]
    fn split_covers_the_range_without_gaps_or_overlaps() {
        assert_eq!(split(10, 3), vec![0..3, 3..6, 6..10]);
        assert_eq!(split(2, 4), vec![0..0, 0..1, 1..1, 1..2]);
        assert_eq!(split(5, 0), vec![0..5]);
        let ranges = split(u64::MAX, 7);
        assert_eq!(ranges.first().map(|r| r.start), Some(0));
        assert_eq!(ranges.last().map(|r| r.end), Some(u64::MAX));
        assert!(ranges.windows(2).all(|pair| pair[0].end == pair[1].start));
        let total: u128 = split(1000, 6).into_iter().map(sum_of_squares).sum();
        assert_eq!(total, sum_of_squares_formula(1000));
    }
}
