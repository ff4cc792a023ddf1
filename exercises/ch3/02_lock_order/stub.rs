//! # Exercise 3.2: fix a deadlock by ordering the locks
//!
//! Each bank account has its own lock. A transfer locks both accounts, so that no other transfer can
//! see the money in neither account or in both. This version compiles and works when one thread
//! runs it. Two threads transferring in opposite directions at the same time, A → B and B → A,
//! can each lock their `from` account and then wait forever for the other's: a deadlock. And a
//! transfer from an account to itself locks the same `Mutex` twice (Rust's `Mutex` is not
//! re-entrant, unlike Python's `RLock`).
//!
//! Run the check: it hangs, and the checker stops it at the deadline. Fix [`transfer`] so that it
//! can never deadlock, keeping the signature and the rule that both accounts are locked while the
//! money moves. Account ids are unique.
//!
//! Check your work with `cargo run -p exercises -- check ch3/02`; stuck?
//! `cargo run -p exercises -- hint ch3/02`.

use std::sync::Mutex;

/// A bank account. `id` is unique among accounts.
#[derive(Debug)]
pub struct Account {
    /// Unique among accounts.
    pub id: u32,
    /// The balance, in cents.
    pub balance: Mutex<i64>,
}

/// Moves `amount` from `from` to `to`, holding both accounts' locks while it does.
pub fn transfer(from: &Account, to: &Account, amount: i64) {
    let mut from_balance = from.balance.lock().unwrap();
    let mut to_balance = to.balance.lock().unwrap();
    *from_balance -= amount;
    *to_balance += amount;
}
