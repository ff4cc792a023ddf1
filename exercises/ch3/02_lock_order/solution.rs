//! # Exercise 3.2, solved: fix a deadlock by ordering the locks
//!
//! A deadlock needs a cycle: a thread holding A and waiting for B while another holds B and waits
//! for A. If every thread takes locks in one global order (here: the lower account id first), no
//! cycle can form, because nobody ever waits for a lock "below" one they hold. A transfer to the same
//! account moves nothing, so it returns before locking anything (locking it twice would be the
//! self-deadlock).

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
    if from.id == to.id {
        return;
    }
    // Lock in id order, whichever direction the money goes.
    let (first, second) = if from.id < to.id {
        (from, to)
    } else {
        (to, from)
    };
    let mut first_balance = first.balance.lock().unwrap();
    let mut second_balance = second.balance.lock().unwrap();
    let (from_balance, to_balance) = if from.id < to.id {
        (&mut *first_balance, &mut *second_balance)
    } else {
        (&mut *second_balance, &mut *first_balance)
    };
    *from_balance -= amount;
    *to_balance += amount;
}
