//! # Listing 2.13: a condition across processes: workers begin in a given order
//!
//! Python's `multiprocessing.Condition`. A condition is a lock plus a waiting room. Workers are
//! started in reverse order, yet they *begin* in the order 0, 1, 2, 3: each takes the condition's
//! lock, checks whether a shared `turn` counter names it, and if not, waits (the broker releases
//! the lock while it waits and gives it back before `wait` returns). The worker whose turn it is
//! records its position, advances `turn` and wakes the others, who check again.
//!
//! Always re-check the condition in a loop after waking: a notification means "something
//! changed", not "your turn has come".
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 13_condition
//! cargo run -p multiprocessing --example 13_condition -- --workers 8
//! ```
//!
//! What to expect: the order the workers began in, always `0, 1, 2, …`.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^condition: workers began in the order \[0, 1, 2, 3\]$
//! ```

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::shared::{Array, Value};
use multiprocessing::sync::Condition;
use serde::{Deserialize, Serialize};

/// Worker processes started in reverse order begin in order, by a condition.
#[derive(Parser)]
struct Args {
    /// How many worker processes take turns.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    workers: u32,
}

/// How long a worker waits for its turn before giving up (an example must
/// not hang).
const PATIENCE: Duration = Duration::from_secs(30);

// ANCHOR: condition
#[derive(Serialize, Deserialize)]
struct Turns {
    index: i64,
    condition: Condition,
    turn: Value,
    order: Array,
}

fn begin_in_turn(turns: Turns) -> Result<()> {
    let mut guard = turns.condition.acquire()?;
    while turns.turn.load() != turns.index {
        // Releases the lock while waiting; holds it again on return.
        if !guard.wait_timeout(PATIENCE)? {
            bail!("worker {} was never given its turn", turns.index);
        }
    }
    let position = turns.turn.fetch_add(1);
    // "I began at this position."
    turns.order.store(position as usize, turns.index);
    guard.notify_all()?; // the next worker re-checks `turn`
    Ok(())
}
// ANCHOR_END: condition

fn main() -> Result<()> {
    multiprocessing::init();
    let workers = Args::parse().workers;
    let condition = Condition::new()?;
    let turn = Value::new(0)?;
    let order = Array::zeroed(workers as usize)?;
    // Started in reverse order on purpose: the condition, not the start
    // order, decides.
    let started = (0..workers)
        .rev()
        .map(|index| {
            let turns = Turns {
                index: i64::from(index),
                condition: condition.clone(),
                turn: turn.clone(),
                order: order.clone(),
            };
            Process::spawn_fallible(begin_in_turn, turns)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for worker in started {
        worker.join()?;
    }
    let order = order.to_vec();
    println!("condition: workers began in the order {order:?}");
    let expected: Vec<i64> = (0..i64::from(workers)).collect();
    ensure!(order == expected, "expected the order {expected:?}");
    Ok(())
}
