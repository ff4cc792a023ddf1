//! # Listing 2.2: start a process, get its result, and wait for it with a deadline
//!
//! Python's `Process(target=f).start()`, `join(timeout)` and `is_alive()`. The first child returns
//! a greeting, and `join` hands it to the parent (Python's `join()` returns `None`). The second
//! computes for a while, and the parent checks on it every 100 ms with `join_timeout`, which says
//! in one call what Python asks with two: still running (`Ok(None)`), or done, with the result.
//!
//! The first line of `main` is `multiprocessing::init()`: every child is this program started
//! again, and `init` is where a child turns off into the function it was sent. Put a `println!`
//! above it and every child prints it too: Python's `if __name__ == "__main__":` guard, made
//! visible.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 02_start_and_join
//! cargo run -p multiprocessing --example 02_start_and_join -- --busy-ms 2000
//! ```
//!
//! What to expect: the greeter's pid, then its result and exit code 0; a few "still alive" lines
//! (how many depends on the machine and on `--busy-ms`), then the busy child's result.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^started greeter \(pid \d+\)$
//! expect: ^returned: join -> Ok\("hello, Ada"\), exitcode 0$
//! expect: ^busy: finished after \d+ checks, join -> Ok\(\d+\), exitcode 0$
//! ```

use std::fmt::Debug;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use multiprocessing::Process;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Start two child processes, join one, and poll the other with `join_timeout`.
#[derive(Parser)]
struct Args {
    /// How long the busy child computes while the parent polls it, in milliseconds.
    #[arg(long, default_value_t = 300)]
    busy_ms: u64,
}

/// The longest the parent waits for any child.
const DEADLINE: Duration = Duration::from_secs(30);

fn greet(name: String) -> String {
    format!("hello, {name}")
}

/// Counts loop rounds for `ms` milliseconds: real work that keeps a core busy.
fn stay_busy(ms: u64) -> u64 {
    let until = Instant::now() + Duration::from_millis(ms);
    let mut rounds: u64 = 0;
    while Instant::now() < until {
        rounds = std::hint::black_box(rounds + 1);
    }
    rounds
}

fn main() -> Result<()> {
    // ANCHOR: guard
    multiprocessing::init(); // a child runs its function here and exits
    let args = Args::parse(); // after init(): a child never gets here
    // ANCHOR_END: guard

    // ANCHOR: returned
    let mut child =
        Process::builder().name("greeter").spawn(greet, "Ada".to_string())?;
    println!("started {} (pid {})", child.name(), child.pid());
    let result = child.join_timeout(DEADLINE);
    if let Ok(None) = result {
        child.kill()?; // hung: end it rather than wait for ever
    }
    println!(
        "returned: join -> {}, exitcode {}",
        show(&result),
        code(&mut child)
    );
    // ANCHOR_END: returned

    // ANCHOR: busy
    let mut busy = Process::spawn(stay_busy, args.busy_ms)?;
    let mut checks = 0;
    let result = loop {
        checks += 1;
        // Python: p.join(timeout=0.1), then p.is_alive(). One call here.
        match busy.join_timeout(Duration::from_millis(100)) {
            Ok(None) => println!("busy child still alive after check {checks}"),
            finished => break finished,
        }
        if checks * 100 > args.busy_ms + DEADLINE.as_millis() as u64 {
            busy.kill().context("killing a child that would not finish")?;
            bail!("the busy child did not finish");
        }
    };
    println!(
        "busy: finished after {checks} checks, join -> {}, exitcode {}",
        show(&result),
        code(&mut busy)
    );
    // ANCHOR_END: busy
    Ok(())
}

/// `Ok(value)` or `Err(message)`, from a `join_timeout`.
fn show<R: Debug>(
    result: &Result<Option<R>, multiprocessing::Error>,
) -> String {
    match result {
        Ok(Some(value)) => format!("Ok({value:?})"),
        Ok(None) => "still running".to_string(),
        Err(error) => format!("Err({error})"),
    }
}

/// The exit code, Python's `p.exitcode`: `None` while the child runs.
fn code<R>(child: &mut Process<R>) -> String
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    child.exitcode().map_or("none (running)".to_string(), |c| c.to_string())
}
