//! # Exercise 3.2, a wrong attempt: one lock at a time
//!
//! The mistake: to avoid the deadlock, the transfer never holds two locks: it locks `from`, takes
//! the money out, unlocks it, then locks `to` and puts the money in. Nothing can deadlock any more,
//! and every transfer completes, but between the two steps the money is in neither account: a
//! thread that locks both accounts then (an audit adding up the balances) sees money missing.
//!
//! Fails: by a panic: the check holds `to`'s lock and finds the money already gone from `from`.

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
    *from.balance.lock().unwrap() -= amount;
    *to.balance.lock().unwrap() += amount;
}
