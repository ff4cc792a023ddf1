//! The checks of exercise 3.2, run against the stub, the solution and the reader's attempt alike.
//!
//! A version that can deadlock usually does within the first few thousand opposite transfers, and
//! always does on the transfer to the same account; the checker then kills it at the deadline.

use std::sync::Mutex;
use std::thread;

use super::imp::{self, Account};

fn account(id: u32, balance: i64) -> Account {
    Account {
        id,
        balance: Mutex::new(balance),
    }
}

fn balance(account: &Account) -> i64 {
    *account.balance.lock().unwrap()
}

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    one_transfer_moves_the_money();
    opposite_transfers_at_once_do_not_deadlock();
    a_transfer_to_the_same_account_changes_nothing();
}

fn one_transfer_moves_the_money() {
    let (a, b) = (account(1, 100), account(2, 0));
    imp::transfer(&a, &b, 30);
    imp::transfer(&b, &a, 5);
    assert_eq!(
        (balance(&a), balance(&b)),
        (75, 25),
        "100 - 30 + 5 and 30 - 5"
    );
}

fn opposite_transfers_at_once_do_not_deadlock() {
    const ROUNDS: i64 = 50_000;
    let (a, b) = (account(1, 1_000), account(2, 1_000));
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..ROUNDS {
                imp::transfer(&a, &b, 1);
            }
        });
        s.spawn(|| {
            for _ in 0..ROUNDS {
                imp::transfer(&b, &a, 1);
            }
        });
    });
    assert_eq!(
        (balance(&a), balance(&b)),
        (1_000, 1_000),
        "{ROUNDS} transfers each way leave both balances where they started"
    );
}

fn a_transfer_to_the_same_account_changes_nothing() {
    let a = account(7, 50);
    imp::transfer(&a, &a, 20);
    assert_eq!(balance(&a), 50, "moving money from an account to itself");
}
