//! The checks of exercise 2.4, run against the stub, the solution and the reader's attempt alike.

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    replies_come_back_in_order();
    many_requests();
    a_conversation_with_no_requests();
}

fn ask(numbers: &[u64]) -> (Vec<u64>, u64) {
    imp::ask_squares(numbers).unwrap_or_else(|error| {
        panic!(
            "ask_squares() failed: {error}\n(a child that panics when the parent hangs up: is \
             Disconnected the end of the conversation, or a crash?)"
        )
    })
}

fn replies_come_back_in_order() {
    let (replies, answered) = ask(&[3, 4, 12]);
    assert_eq!(replies, vec![9, 16, 144], "one reply per request, in order");
    assert_eq!(answered, 3, "the child counted three requests");
}

fn many_requests() {
    let numbers: Vec<u64> = (0..500).collect();
    let (replies, answered) = ask(&numbers);
    assert_eq!(replies, numbers.iter().map(|n| n * n).collect::<Vec<_>>());
    assert_eq!(answered, 500);
}

fn a_conversation_with_no_requests() {
    let (replies, answered) = ask(&[]);
    assert!(replies.is_empty());
    assert_eq!(
        answered, 0,
        "a child that was never asked anything answered nothing"
    );
}
