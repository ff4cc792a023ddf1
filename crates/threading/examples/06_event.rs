//! # Listing 3.6: `Event`: a start signal and a stop signal
//!
//! Python's `threading.Event` in its two classic uses, with this crate's [`threading::Event`]
//! (std has none; `src/event.rs` builds it from `Mutex` + `Condvar` and explains how):
//!
//! - **Start gate**: workers get ready, then `wait()` until the main thread `set()`s the event, so
//!   they all start together.
//! - **Stop flag**: workers loop `while !stop.is_set()`, main sets it when it wants them to finish,
//!   then joins them. (Cooperative: a thread cannot be killed from outside, in Rust or Python; it
//!   must check.) Instead of sleeping between rounds, a worker can `stop.wait_timeout(period)`, which
//!   is a sleep that ends early when stop is set.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 06_event
//! ```
//!
//! What to expect: a timed wait that gives up (`false`), three workers starting together, each
//! doing a few rounds (the counts vary), and all three stopping after the stop event.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^waiting 50 ms for an event nobody sets: false$
//! expect: ^worker-\d stopped after \d+ rounds$
//! expect: ^3 workers started together and stopped on the stop event$
//! ```

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use crossbeam_channel::bounded;
use threading::Event;

const WORKERS: usize = 3;

fn main() -> Result<()> {
    let nobody_sets = Event::new();
    let was_set = nobody_sets.wait_timeout(Duration::from_millis(50));
    println!("waiting 50 ms for an event nobody sets: {was_set}");

    // ANCHOR: start_stop
    let start = Event::new();
    let stop = Event::new();
    let (progress_tx, progress_rx) = bounded::<usize>(WORKERS);
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (1..=WORKERS)
            .map(|id| {
                let (start, stop, progress_tx) =
                    (&start, &stop, progress_tx.clone());
                s.spawn(move || {
                    start.wait(); // the start gate
                    let mut rounds = 0_u64;
                    // The stop flag; `wait_timeout` is the pause between
                    // rounds, cut short by stop.
                    while !stop.wait_timeout(Duration::from_millis(5)) {
                        rounds += 1;
                        if rounds == 1 {
                            let _ = progress_tx.send(id); // "I am running"
                        }
                    }
                    println!("worker-{id} stopped after {rounds} rounds");
                })
            })
            .collect();
        start.set(); // everyone goes
        for _ in 0..WORKERS {
            progress_rx
                .recv_timeout(Duration::from_secs(10))
                .context("waiting for every worker to complete a round")?;
        }
        stop.set(); // everyone stops
        for worker in workers {
            worker.join().map_err(|_| anyhow!("a worker panicked"))?;
        }
        Ok(())
    })?;
    // ANCHOR_END: start_stop
    println!(
        "{WORKERS} workers started together and stopped on the stop event"
    );
    Ok(())
}
