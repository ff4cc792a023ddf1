//! # Listing 3.5: `Condvar`: wait for a condition, `notify_one` and `notify_all`
//!
//! Python's `threading.Condition` is a lock plus a waiting room; Rust splits it into a `Mutex` (the
//! data) and a `Condvar` (the waiting room), used together. Here three consumers wait for work in a
//! `Mutex<Shelf>`; a producer puts items on the shelf one by one and wakes *one* consumer per item
//! (`notify_one`: one item can only be taken once), then closes the shelf and wakes *all* of them
//! (`notify_all`: every consumer needs to learn that there is nothing more to come).
//!
//! Two rules make it correct:
//!
//! - Wait in a loop on a **predicate**, checked under the lock. `Condvar::wait_while` is that loop:
//!   it returns only when the predicate is false, so a spurious wake-up, or a wake-up whose item
//!   another consumer took first, just waits again. (Python: `cond.wait_for(predicate)`.)
//! - Change the data **under the same lock** before notifying, so a consumer cannot check the
//!   predicate, miss the change, and then sleep through the notification.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 05_condition
//! ```
//!
//! What to expect: six `consumer-N took item M` lines (which consumer gets which item varies from
//! run to run), three `consumer-N saw the shelf closed` lines, then a summary.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^consumer-\d took item \d$
//! expect: ^all 6 items consumed; 3 consumers stopped$
//! ```

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::thread;

use anyhow::{Result, anyhow, ensure};

const ITEMS: u32 = 6;
const CONSUMERS: u32 = 3;

// ANCHOR: shelf
#[derive(Default)]
struct Shelf {
    items: VecDeque<u32>,
    closed: bool,
}

/// Takes the next item, waiting while the shelf is empty and open. `None` once
/// closed and empty.
fn take(shelf: &Mutex<Shelf>, changed: &Condvar) -> Option<u32> {
    let guard = shelf.lock().expect("no thread panics while holding it");
    let mut guard = changed
        .wait_while(guard, |shelf| shelf.items.is_empty() && !shelf.closed)
        .expect("no thread panics while holding it");
    // `None` only when closed: the predicate guarantees it.
    guard.items.pop_front()
}
// ANCHOR_END: shelf

fn main() -> Result<()> {
    let shelf = Mutex::new(Shelf::default());
    let changed = Condvar::new();

    let taken: u32 = thread::scope(|s| -> Result<u32> {
        let consumers: Vec<_> = (1..=CONSUMERS)
            .map(|id| {
                let (shelf, changed) = (&shelf, &changed);
                s.spawn(move || {
                    let mut count = 0;
                    while let Some(item) = take(shelf, changed) {
                        println!("consumer-{id} took item {item}");
                        count += 1;
                    }
                    println!("consumer-{id} saw the shelf closed");
                    count
                })
            })
            .collect();

        // ANCHOR: produce
        for item in 1..=ITEMS {
            shelf.lock().expect("not poisoned").items.push_back(item);
            changed.notify_one(); // one new item: one consumer can take it
        }
        shelf.lock().expect("not poisoned").closed = true;
        // Everyone must see "closed", or some would wait forever.
        changed.notify_all();
        // ANCHOR_END: produce

        consumers
            .into_iter()
            .map(|c| c.join().map_err(|_| anyhow!("a consumer panicked")))
            .sum()
    })?;
    ensure!(taken == ITEMS, "{taken} items taken, {ITEMS} produced");
    println!("all {ITEMS} items consumed; {CONSUMERS} consumers stopped");
    Ok(())
}
