//! The checks of exercise 1.1, run against the stub, the solution and the reader's attempt alike.

use std::thread;

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    sums_come_back_through_join();
    overflow_is_a_panic_not_a_wrong_number();
    collect_turns_panics_into_errors();
}

// ANCHOR: check
/// The sum of the squares of `0..n`, by the closed formula (n-1)·n·(2n-1)/6, to compare
/// against.
fn expected_sum_of_squares(n: u64) -> u64 {
    (n - 1) * n * (2 * n - 1) / 6
}

fn sums_come_back_through_join() {
    for n in [1, 10, 1_000, 100_000] {
        let handle = imp::spawn_sum_of_squares((0..n).collect());
        assert_ne!(
            handle.thread().id(),
            thread::current().id(),
            "spawn_sum_of_squares must start a new thread"
        );
        let got = imp::collect(handle);
        let expected = expected_sum_of_squares(n);
        assert_eq!(
            got,
            Ok(expected),
            "expected Ok({expected}) for 0..{n}, got {got:?}"
        );
    }
}
// ANCHOR_END: check

fn overflow_is_a_panic_not_a_wrong_number() {
    // 2^32 squared is 2^64, one more than u64::MAX; two squares of 2^32 - 1 overflow the sum.
    for numbers in [vec![1 << 32], vec![(1 << 32) - 1, (1 << 32) - 1]] {
        let shown = format!("{numbers:?}");
        match imp::collect(imp::spawn_sum_of_squares(numbers)) {
            // Rust's own overflow panics ("attempt to add with overflow") exist only where
            // overflow checks are on, as in debug builds; a release build would wrap around.
            Err(message) if message.starts_with("attempt to ") => panic!(
                "for {shown} the thread panicked with the debug build's own overflow check \
                 ({message:?}); a release build has none and would return a wrong number: use \
                 checked arithmetic and panic with a message of your own"
            ),
            Err(message) => assert!(
                message.contains("overflow"),
                "for {shown} the thread should panic with a message about overflow, but said {message:?}"
            ),
            Ok(sum) => panic!(
                "the sum of squares of {shown} does not fit in a u64, but the thread returned {sum}"
            ),
        }
    }
}

fn collect_turns_panics_into_errors() {
    let literal = thread::Builder::new()
        .name("check: deliberate panic".into())
        .spawn(|| -> u64 { panic!("boom") })
        .expect("the check can start a thread");
    let got = imp::collect(literal);
    assert_eq!(
        got,
        Err("boom".to_owned()),
        "collect should turn panic!(\"boom\") into Err(\"boom\"), got {got:?}"
    );

    let formatted = thread::Builder::new()
        .name("check: deliberate panic".into())
        .spawn(|| -> u64 { panic!("boom number {}", 7) })
        .expect("the check can start a thread");
    let got = imp::collect(formatted);
    assert_eq!(
        got,
        Err("boom number 7".to_owned()),
        "a formatted panic message arrives as a String, not a &str: expected Err(\"boom number 7\"), got {got:?}"
    );
}
