//! The checks of exercise 3.2, run against the stub, the solution and the reader's attempt alike.
//!
//! A version that can deadlock usually does within the first few thousand opposite transfers, and
//! always does on the transfer to the same account; the checker then kills it at the deadline.
//!
//! "Both accounts locked while the money moves" is checked without relying on luck: the check holds
//! the lock of the account the money goes *to*, starts a transfer, and waits until the transfer's
//! thread is asleep, stuck on a lock (Linux shows it in `/proc`; see `support`). At that moment the
//! money must not have left the other account: a transfer that already took it holds it in neither
//! account, where any other thread could see the total short.

use std::sync::mpsc;
use std::sync::{Mutex, TryLockError};
use std::thread;
use std::time::Duration;

use super::imp::{self, Account};
use super::support;

/// How long the check waits for a thread to start, or to block.
const WAIT: Duration = Duration::from_secs(5);

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
    the_money_is_never_in_neither_account();
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

fn the_money_is_never_in_neither_account() {
    // Both directions, so that whichever order an attempt locks in, one of them has it wait for
    // the check's lock while it may already hold the other.
    for (from_id, to_id) in [(1, 2), (2, 1)] {
        let (from, to) = (account(from_id, 100), account(to_id, 0));
        let (from, to) = (&from, &to);
        let held = to.balance.lock().unwrap();
        thread::scope(|s| {
            let (tid_tx, tid_rx) = mpsc::channel();
            let transfer = thread::Builder::new()
                .name("check: one transfer".into())
                .spawn_scoped(s, move || {
                    let _ = tid_tx.send(support::current_tid());
                    imp::transfer(from, to, 30);
                })
                .expect("the check can start a thread");
            let tid = tid_rx
                .recv_timeout(WAIT)
                .expect("the transfer's thread started");
            support::wait_until_blocked(&[tid], WAIT, "the transfer waiting for a lock");
            match from.balance.try_lock() {
                Ok(balance) => assert_eq!(
                    *balance, 100,
                    "while account {to_id} was locked by someone else, the transfer took the money \
                     out of account {from_id} ({} left) and was still waiting to put it in: the \
                     money was in neither account. Hold both locks while the money moves",
                    *balance
                ),
                // The transfer holds `from` and waits for `to`: as it should.
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Poisoned(_)) => panic!("account {from_id}'s lock is poisoned"),
            }
            drop(held);
            transfer.join().expect("the transfer finished");
        });
        assert_eq!(
            (balance(from), balance(to)),
            (70, 30),
            "30 from account {from_id} to account {to_id}"
        );
    }
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
