//! The checks of exercise 3.1, run against the stub, the solution and the reader's attempt alike.

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    matches_the_formula();
    totals_beyond_u64_are_exact();
    odd_thread_counts_work();
}

/// Σ n² for n in 0..n, by the closed formula (n-1)·n·(2n-1)/6, in u128.
fn formula(n: u64) -> u128 {
    if n == 0 {
        return 0;
    }
    let n = u128::from(n);
    (n - 1) * n * (2 * n - 1) / 6
}

fn matches_the_formula() {
    for n in [0, 1, 2, 10, 1_000, 1_000_000] {
        let numbers: Vec<u64> = (0..n).collect();
        for threads in [1, 2, 4] {
            let got = imp::parallel_sum_of_squares(&numbers, threads);
            assert_eq!(
                got,
                formula(n),
                "the sum of squares of 0..{n} with {threads} threads"
            );
        }
    }
}

fn totals_beyond_u64_are_exact() {
    // 10^7 numbers: the articles' total, which Python prints exactly and a u64 cannot hold.
    let numbers: Vec<u64> = (0..10_000_000).collect();
    let got = imp::parallel_sum_of_squares(&numbers, 4);
    assert_eq!(
        got, 333_333_283_333_335_000_000,
        "the sum of squares below 10^7 is 333333283333335000000 (more than u64::MAX): compute in u128"
    );
    let big = vec![1_u64 << 40; 1_000];
    assert_eq!(
        imp::parallel_sum_of_squares(&big, 3),
        1_000 * (1_u128 << 80),
        "1000 squares of 2^40: each square alone is beyond u64"
    );
}

fn odd_thread_counts_work() {
    let numbers: Vec<u64> = (1..=7).collect();
    for threads in [0, 3, 7, 50] {
        assert_eq!(
            imp::parallel_sum_of_squares(&numbers, threads),
            140,
            "1² + … + 7² = 140, with threads = {threads} (0 means one; more threads than numbers is fine)"
        );
    }
}
