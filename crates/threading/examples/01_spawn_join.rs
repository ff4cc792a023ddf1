//! # Listing 3.1: spawn, join, names, and a panic that comes back through `join`
//!
//! Python's `threading.Thread(target=f).start()` followed by `join()`, in Rust. Three differences
//! show up at once:
//!
//! - `join` returns the thread's **return value**; no shared list or queue is needed to get a result
//!   back (in Python, `join()` returns `None`).
//! - A thread that **panics** does not bring the program down: `join` returns `Err` with the panic's
//!   payload, and the caller decides what to do. (Python prints the exception and `join()` returns as
//!   if nothing happened.) The default panic hook still prints the panic on stderr.
//! - `thread::Builder` names a thread; the name shows up in panic messages and debuggers.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 01_spawn_join
//! ```
//!
//! What to expect: three lines `worker-N returned ...` (in the order of the joins, which is not
//! necessarily the order the threads finished), the panic message printed by the panic hook on
//! stderr, and a line saying that `failing-worker` panicked with "boom".
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^worker-1 returned 500500$
//! expect: ^worker-3 returned 4501500$
//! expect: ^failing-worker panicked with "boom"$
//! ```

use std::any::Any;
use std::thread;

use anyhow::{Context, Result, anyhow};

fn main() -> Result<()> {
    // ANCHOR: spawn
    let mut workers = Vec::new();
    for id in 1..=3_u64 {
        let worker = thread::Builder::new()
            .name(format!("worker-{id}"))
            // `move`: the closure takes its own copy of `id`; the thread may
            // outlive this loop.
            .spawn(move || (1..=id * 1000).sum::<u64>())
            .context("starting a worker thread")?;
        workers.push(worker);
    }
    for worker in workers {
        let name = worker.thread().name().unwrap_or("unnamed").to_owned();
        let total = worker.join().map_err(|_| anyhow!("{name} panicked"))?;
        println!("{name} returned {total}");
    }
    // ANCHOR_END: spawn

    // ANCHOR: panic
    let failing = thread::Builder::new()
        .name("failing-worker".to_owned())
        .spawn(|| -> u64 { panic!("boom") })
        .context("starting the failing thread")?;
    match failing.join() {
        Ok(value) => println!("failing-worker unexpectedly returned {value}"),
        Err(payload) => println!(
            "failing-worker panicked with {:?}",
            panic_message(&payload)
        ),
    }
    // ANCHOR_END: panic
    Ok(())
}

// `threading::pool::panic_message` does the same; kept here so this file
// can be copied on its own.
// ANCHOR: message
/// A panic's payload is `Box<dyn Any + Send>`: a `&str` for
/// `panic!("literal")`, a `String` for `panic!("{}", x)`.
fn panic_message(payload: &Box<dyn Any + Send>) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "a non-string payload"
    }
}
// ANCHOR_END: message
