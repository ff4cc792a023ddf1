//! # Listing 2.9: a process killed while it holds a lock, and the lock passed on
//!
//! Python's `multiprocessing.Lock` is a POSIX semaphore, a counter in shared memory that says
//! how many may enter, not who did: a worker killed inside `with lock:` never releases it, and
//! every other process waits for ever. `finally` does not help; nothing runs in a process killed with SIGKILL.
//!
//! Here every lock lives in a broker (a thread of the process that created it, like Python's
//! `Manager`), which sees the holder's process die and passes the lock on. The next holder's guard
//! says `previous_holder_died()`: whatever the lock protected may be half-updated, the same
//! warning a poisoned `std::sync::Mutex` gives.
//!
//! A worker takes the lock, says so through an [`Event`], and is killed; the parent takes the lock
//! straight after.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 09_killed_lock_holder
//! ```
//!
//! What to expect: one line, always the same.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^lock: holder killed \(exitcode -9\); the lock passed on, previous_holder_died = true$
//! ```

use std::time::Duration;

use anyhow::{Context, Result, bail};
use multiprocessing::sync::{Event, Lock};
use multiprocessing::{Error, Process};

/// How long the parent waits for anything before giving up (an example must
/// not hang).
const PATIENCE: Duration = Duration::from_secs(30);

// ANCHOR: killed_holder
fn hold_the_lock_forever((lock, holding): (Lock, Event)) {
    let _guard = lock.acquire().expect("take the lock");
    holding.set().expect("tell the parent we hold it");
    loop {
        std::thread::park(); // hold it until killed
    }
}

fn main() -> Result<()> {
    multiprocessing::init();
    let (lock, holding) = (Lock::new()?, Event::new()?);
    let handles = (lock.clone(), holding.clone());
    let mut holder = Process::spawn(hold_the_lock_forever, handles)?;
    if !holding.wait_timeout(PATIENCE)? {
        holder.kill()?;
        bail!("the holder never took the lock");
    }
    // SIGKILL: no destructor, no `finally`, nothing runs in the holder.
    holder.kill()?;
    let exitcode = match holder.join_timeout(PATIENCE) {
        Err(Error::Died { exitcode }) => exitcode,
        other => bail!("expected the holder to die, got {other:?}"),
    };
    let guard = lock
        .acquire_timeout(PATIENCE)?
        .context("the lock of the killed holder never came back")?;
    let died = guard.previous_holder_died();
    println!(
        "lock: holder killed (exitcode {exitcode}); the lock passed on, \
         previous_holder_died = {died}"
    );
    Ok(())
}
// ANCHOR_END: killed_holder
