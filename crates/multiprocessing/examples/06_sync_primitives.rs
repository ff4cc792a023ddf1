//! # Listing 2.6: a semaphore, an event, a barrier and a condition across processes
//!
//! Four small demonstrations, each with proof printed next to it:
//!
//! - **`Semaphore(2)`**: five processes take turns in a section that at most two may occupy.
//!   Each process counts itself in and out of a shared `inside` counter and records the highest
//!   value it saw in `most_inside`; the limit holds if that never exceeds 2.
//! - **`Event`**: workers block in `wait_timeout` until the parent calls `set()`; each reports
//!   whether it was woken by the event (rather than by its timeout).
//! - **`Barrier`**: workers do their (uneven) setup, then meet at a barrier; a shared counter of
//!   finished setups, read just after the barrier, shows that nobody started before everybody was
//!   ready.
//! - **`Condition`**: workers started in reverse order still *begin* in the order 0, 1, 2, 3,
//!   because each one waits on a condition until a shared `turn` counter names it.
//! - **A killed holder**: a worker takes a `Lock` and is killed (SIGKILL) while holding it. The
//!   parent still gets the lock, at once, and its guard reports that the previous holder died.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 06_sync_primitives
//! cargo run -p multiprocessing --example 06_sync_primitives -- --workers 6
//! ```
//!
//! What to expect: the semaphore line reports at most 2 inside at once (normally exactly 2); the
//! event line says every worker was woken by `set()`; the barrier line says every worker saw all
//! setups finished; the condition line prints the start order 0, 1, 2, 3; the last line says the
//! lock of the killed worker was passed on.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^semaphore: at most [12] of 5 processes inside at once \(limit 2\)$
//! expect: ^event: 4 of 4 workers woken by set\(\)$
//! expect: ^barrier: every worker saw 4 of 4 setups done when it started$
//! expect: ^condition: workers began in the order \[0, 1, 2, 3\]$
//! expect: ^lock: holder killed \(exitcode -9\); the lock passed on, previous_holder_died = true$
//! ```
use std::time::Duration;

use anyhow::{Context, bail};
use multiprocessing::shared::{Array, Value};
use multiprocessing::sync::{Barrier, Condition, Event, Lock, Semaphore};
use multiprocessing::{Error, Process};
use serde::{Deserialize, Serialize};

/// How long a worker waits for anything before giving up (an example must not hang).
const PATIENCE: Duration = Duration::from_secs(30);

/// Turns a child's error into a message that crosses back to the parent.
fn reported<T>(result: anyhow::Result<T>) -> Result<T, String> {
    result.map_err(|e| format!("{e:#}"))
}

/// Joins every worker, turning a child's reported error into ours.
fn join_all<T>(workers: Vec<Process<Result<T, String>>>) -> anyhow::Result<Vec<T>>
where
    T: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    workers
        .into_iter()
        .map(|w| w.join()?.map_err(anyhow::Error::msg))
        .collect()
}

// ANCHOR: semaphore
#[derive(Serialize, Deserialize)]
struct Section {
    semaphore: Semaphore,
    inside: Value,
    most_inside: Value,
}

fn use_limited_section(section: Section) -> Result<(), String> {
    reported((|| {
        for _ in 0..3 {
            let _permit = section.semaphore.acquire()?; // at most 2 processes past this line
            let now_inside = section.inside.fetch_add(1) + 1;
            section.most_inside.fetch_max(now_inside);
            std::thread::sleep(Duration::from_millis(20)); // the work the limit protects
            section.inside.fetch_sub(1);
        } // each permit is given back when `_permit` is dropped
        Ok(())
    })())
}
// ANCHOR_END: semaphore

fn semaphore_demo() -> anyhow::Result<()> {
    let section = Section {
        semaphore: Semaphore::new(2)?,
        inside: Value::new(0)?,
        most_inside: Value::new(0)?,
    };
    let workers = (0..5)
        .map(|_| {
            let copy = Section {
                semaphore: section.semaphore.clone(),
                inside: section.inside.clone(),
                most_inside: section.most_inside.clone(),
            };
            Process::spawn(use_limited_section, copy)
        })
        .collect::<Result<Vec<_>, _>>()?;
    join_all(workers)?;
    let most = section.most_inside.load();
    println!("semaphore: at most {most} of 5 processes inside at once (limit 2)");
    if most > 2 {
        bail!("the semaphore let {most} processes in");
    }
    Ok(())
}

// ANCHOR: event
fn wait_for_go(go: Event) -> Result<bool, String> {
    reported(go.wait_timeout(PATIENCE).map_err(Into::into)) // true: woken by set()
}

fn event_demo(workers: usize) -> anyhow::Result<()> {
    let go = Event::new()?;
    let waiting = (0..workers)
        .map(|_| Process::spawn(wait_for_go, go.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    go.set()?; // wakes every waiter at once, and any later wait returns immediately
    let woken = join_all(waiting)?.into_iter().filter(|&w| w).count();
    println!("event: {woken} of {workers} workers woken by set()");
    Ok(())
}
// ANCHOR_END: event

// ANCHOR: barrier
#[derive(Serialize, Deserialize)]
struct Start {
    index: usize,
    ready: Barrier,
    setups_done: Value,
}

fn set_up_then_start(start: Start) -> Result<i64, String> {
    reported((|| {
        // Uneven setup: later workers take longer.
        std::thread::sleep(Duration::from_millis(10 * start.index as u64));
        start.setups_done.fetch_add(1);
        start.ready.wait_timeout(PATIENCE)?; // nobody passes until everybody is here
        Ok(start.setups_done.load()) // what this worker saw as it started
    })())
}
// ANCHOR_END: barrier

fn barrier_demo(workers: usize) -> anyhow::Result<()> {
    let ready = Barrier::new(u32::try_from(workers)?)?;
    let setups_done = Value::new(0)?;
    let started = (0..workers)
        .map(|index| {
            let start = Start {
                index,
                ready: ready.clone(),
                setups_done: setups_done.clone(),
            };
            Process::spawn(set_up_then_start, start)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let seen = join_all(started)?;
    if seen.iter().all(|&s| s == workers as i64) {
        println!("barrier: every worker saw {workers} of {workers} setups done when it started");
    } else {
        bail!("a worker started before every setup was done: {seen:?}");
    }
    Ok(())
}

// ANCHOR: condition
#[derive(Serialize, Deserialize)]
struct Turns {
    index: i64,
    condition: Condition,
    turn: Value,
    order: Array,
}

fn begin_in_turn(turns: Turns) -> Result<(), String> {
    reported((|| {
        let mut guard = turns.condition.acquire()?;
        while turns.turn.load() != turns.index {
            // Releases the condition's lock while waiting; holds it again on return.
            if !guard.wait_timeout(PATIENCE)? {
                bail!("worker {} was never given its turn", turns.index);
            }
        }
        let position = turns.turn.fetch_add(1);
        turns.order.store(position as usize, turns.index); // "I began at this position"
        guard.notify_all()?; // the next worker re-checks `turn`
        Ok(())
    })())
}
// ANCHOR_END: condition

fn condition_demo(workers: usize) -> anyhow::Result<()> {
    let condition = Condition::new()?;
    let turn = Value::new(0)?;
    let order = Array::zeroed(workers)?;
    // Started in reverse order on purpose: the condition, not the start order, decides.
    let started = (0..workers)
        .rev()
        .map(|index| {
            let turns = Turns {
                index: index as i64,
                condition: condition.clone(),
                turn: turn.clone(),
                order: order.clone(),
            };
            Process::spawn(begin_in_turn, turns)
        })
        .collect::<Result<Vec<_>, _>>()?;
    join_all(started)?;
    println!("condition: workers began in the order {:?}", order.to_vec());
    Ok(())
}

// ANCHOR: killed_holder
fn hold_the_lock_forever((lock, holding): (Lock, Event)) -> Result<(), String> {
    reported((|| {
        let _guard = lock.acquire()?;
        holding.set()?; // tell the parent we hold it
        loop {
            std::thread::park(); // hold it until killed
        }
    })())
}

fn killed_holder_demo() -> anyhow::Result<()> {
    let (lock, holding) = (Lock::new()?, Event::new()?);
    let mut holder = Process::spawn(hold_the_lock_forever, (lock.clone(), holding.clone()))?;
    if !holding.wait_timeout(PATIENCE)? {
        bail!("the holder never took the lock");
    }
    holder.kill()?; // SIGKILL: no destructor, no `finally`, nothing runs in the holder
    let exitcode = match holder.join_timeout(PATIENCE) {
        Err(Error::Died { exitcode }) => exitcode,
        other => bail!("expected the holder to die, got {other:?}"),
    };
    let guard = lock
        .acquire_timeout(PATIENCE)?
        .context("the lock of the killed holder never came back")?;
    println!(
        "lock: holder killed (exitcode {exitcode}); the lock passed on, previous_holder_died = {}",
        guard.previous_holder_died()
    );
    Ok(())
}
// ANCHOR_END: killed_holder

fn parse_workers() -> anyhow::Result<usize> {
    let mut workers = 4;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => {
                workers = args
                    .next()
                    .context("--workers needs a value")?
                    .parse()
                    .context("--workers takes a number")?;
            }
            "--help" | "-h" => {
                println!(
                    "usage: 06_sync_primitives [--workers N (4)]\n\
                     Semaphore, Event, Barrier and Condition across N worker processes."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if workers == 0 {
        bail!("--workers must be at least 1");
    }
    Ok(workers)
}

fn main() -> anyhow::Result<()> {
    multiprocessing::init();
    let workers = parse_workers()?;
    semaphore_demo()?;
    event_demo(workers)?;
    barrier_demo(workers)?;
    condition_demo(workers)?;
    killed_holder_demo()?;
    Ok(())
}
