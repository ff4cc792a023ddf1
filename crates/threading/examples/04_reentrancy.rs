//! # Listing 3.4: re-entrancy: why `Mutex` is not an `RLock`, and what to do instead
//!
//! Python's `RLock` may be acquired again by the thread that already holds it (it counts how deep
//! it is); `Lock` may not. Rust's `Mutex` is like `Lock`: locking it a second time from the thread
//! that holds it never succeeds; with `lock()` the thread waits for itself forever (std documents
//! the outcome as unspecified: it may deadlock or panic). It cannot be made re-entrant cheaply,
//! because `lock()` hands out `&mut T`, and two live `&mut` to the same data would break Rust's
//! aliasing rule.
//!
//! This listing shows, without hanging:
//!
//! 1. The self-deadlock: a method that holds the lock calls another method that locks again. We use
//!    `try_lock` for the inner attempt, so the program reports `WouldBlock` instead of hanging.
//! 2. The idiomatic fix: lock once at the public boundary and pass `&mut` data to private helpers
//!    that never lock.
//! 3. That re-entrancy is not a deadlock cure: two threads taking two locks in opposite orders
//!    deadlock whether the locks are re-entrant or not (each holds what the other needs; an RLock
//!    only lets a thread re-take a lock *it* holds). Barriers force the bad interleaving, `try_lock`
//!    reports it instead of hanging. The fix is one global order of locking.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 04_reentrancy
//! ```
//!
//! What to expect: four lines, always the same.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^re-locking from the holding thread: WouldBlock
//! expect: ^locked once, helpers take &mut: balance 150$
//! expect: ^opposite lock order: thread 1 holds A and cannot get B; thread 2 holds B and cannot get A$
//! expect: ^same lock order: both threads finished$
//! ```

use std::sync::{Barrier, Mutex};
use std::thread;

use anyhow::{Result, ensure};

// ANCHOR: self_deadlock
struct Account {
    balance: Mutex<i64>,
}

impl Account {
    /// Returns `false` instead of waiting when the lock is taken. With `lock()`
    /// instead of `try_lock()`, a caller that holds the lock would wait here
    /// for itself, forever.
    fn try_deposit(&self, amount: i64) -> bool {
        let Ok(mut balance) = self.balance.try_lock() else {
            return false; // `TryLockError::WouldBlock`
        };
        *balance += amount;
        true
    }

    fn deposit_while_holding_the_lock(&self, amount: i64) -> bool {
        let _held = self.balance.lock().expect("not poisoned");
        self.try_deposit(amount) // locks the Mutex this thread already holds
    }
}
// ANCHOR_END: self_deadlock

// ANCHOR: fix
struct Ledger {
    balance: Mutex<i64>,
}

impl Ledger {
    /// The public method locks, once.
    fn deposit_twice(&self, amount: i64) -> i64 {
        let mut balance = self.balance.lock().expect("not poisoned");
        add(&mut balance, amount);
        add(&mut balance, amount);
        *balance
    }
}

/// The helper works on the data, not on the lock: it cannot lock again by
/// mistake.
fn add(balance: &mut i64, amount: i64) {
    *balance += amount;
}
// ANCHOR_END: fix

// ANCHOR: abba
/// Thread 1 locks `a` then `b`; thread 2 locks `b` then `a`. Returns what each
/// could get.
fn opposite_order(a: &Mutex<()>, b: &Mutex<()>) -> (bool, bool) {
    let both_hold_one = Barrier::new(2);
    let both_tried = Barrier::new(2);
    let attempt = |first: &Mutex<()>, second: &Mutex<()>| {
        let _first = first.lock().expect("not poisoned");
        both_hold_one.wait(); // now each thread holds one lock
        let got_second = second.try_lock().is_ok(); // `lock()` here: a deadlock
        both_tried.wait(); // keep holding until the other thread has tried too
        got_second
    };
    thread::scope(|s| {
        let one = s.spawn(|| attempt(a, b));
        let two = s.spawn(|| attempt(b, a));
        (one.join().expect("no panic"), two.join().expect("no panic"))
    })
}
// ANCHOR_END: abba

fn main() -> Result<()> {
    let account = Account { balance: Mutex::new(100) };
    ensure!(
        !account.deposit_while_holding_the_lock(25),
        "a Mutex is not re-entrant: the second lock cannot succeed"
    );
    println!(
        "re-locking from the holding thread: WouldBlock (with lock(), it would wait for itself forever)"
    );

    let ledger = Ledger { balance: Mutex::new(100) };
    println!(
        "locked once, helpers take &mut: balance {}",
        ledger.deposit_twice(25)
    );

    let (a, b) = (Mutex::new(()), Mutex::new(()));
    let (one_got_b, two_got_a) = opposite_order(&a, &b);
    ensure!(
        !one_got_b && !two_got_a,
        "the barriers force both attempts to fail"
    );
    println!(
        "opposite lock order: thread 1 holds A and cannot get B; thread 2 holds B and cannot get A"
    );

    // The fix: every thread takes A before B.
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let _a = a.lock().expect("not poisoned");
                let _b = b.lock().expect("not poisoned");
            });
        }
    });
    println!("same lock order: both threads finished");
    Ok(())
}
