//! # Listing 2.2: a process's life: start, is_alive, join, terminate, kill, exit codes
//!
//! Python's `Process` has `start()`, `is_alive()`, `join(timeout)`, `terminate()`, `kill()` and
//! `exitcode`. This listing walks one child through each of them and prints what the parent sees:
//!
//! | how the child ended | `join` returns | `exitcode` |
//! |---|---|---|
//! | its function returned | `Ok(value)` | `0` |
//! | its function panicked | `Err(Error::Panicked { message, location })` | `1` |
//! | it called `std::process::exit(3)` | `Err(Error::Died { exitcode: 3 })` | `3` |
//! | `terminate()` (SIGTERM) | `Err(Error::Died { exitcode: -15 })` | `-15` |
//! | `kill()` (SIGKILL) | `Err(Error::Died { exitcode: -9 })` | `-9` |
//!
//! Negative exit codes are minus the signal number, as in Python. Nothing is silently lost: a
//! panic arrives with its message and its `file:line:column`, and the child also prints it on its
//! stderr, the way a Python child prints its traceback.
//!
//! The first line of `main` is `multiprocessing::init()`: every child is this program started
//! again, and `init` is where a child turns off into the function it was sent. Put a `println!`
//! above it and every child prints it too (Python's `if __name__ == "__main__":` guard, made
//! visible).
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 02_process_lifecycle
//! cargo run -p multiprocessing --example 02_process_lifecycle -- --busy-ms 2000
//! ```
//!
//! `--busy-ms` sets how long the busy child computes while the parent checks on it every 100 ms
//! with `join_timeout` (default 300 ms); how many "still alive" lines appear depends on the machine.
//!
//! What to expect: one block per way to end, each with the value or error `join` returned and the
//! exit code; a panic message from the child on stderr.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^returned: join -> Ok\("hello, Ada"\), exitcode 0$
//! expect: ^busy: finished after \d+ checks, join -> Ok\(\d+\), exitcode 0$
//! expect: ^panicked: join -> Err\(the child process panicked at .*02_process_lifecycle\.rs:\d+:\d+: no such user: Bob\), exitcode 1$
//! expect: ^exited: join -> Err\(the child process exited with code 3 without sending a result\), exitcode 3$
//! expect: ^before terminate: is_alive\(\) = true$
//! expect: ^after join: is_alive\(\) = false$
//! expect: ^terminated: join -> Err\(.*signal 15 \(SIGTERM\).*\), exitcode -15$
//! expect: ^killed: join -> Err\(.*signal 9 \(SIGKILL\).*\), exitcode -9$
//! ```

use std::fmt::Debug;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multiprocessing::Process;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Walk a child process through start, is_alive, join, terminate, kill and exit codes.
#[derive(Parser)]
struct Args {
    /// How long the busy child computes while the parent polls `is_alive()`, in milliseconds.
    #[arg(long, default_value_t = 300)]
    busy_ms: u64,
}

/// The longest the parent waits for any child.
const DEADLINE: Duration = Duration::from_secs(30);

fn greet(name: String) -> String {
    format!("hello, {name}")
}

fn look_up(name: String) -> u32 {
    panic!("no such user: {name}")
}

fn exit_early(code: i32) -> u32 {
    std::process::exit(code)
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

/// Says "started", then waits for a word that never comes (until a signal ends it).
fn wait_forever((started, words): (IpcSender<u32>, IpcReceiver<String>)) -> String {
    started
        .send(std::process::id())
        .expect("tell the parent we started");
    words.recv().unwrap_or_default()
}

fn main() -> Result<()> {
    // ANCHOR: guard
    multiprocessing::init(); // children run their function here and exit; the parent goes on
    let args = Args::parse(); // after init(): a child never gets here
    // ANCHOR_END: guard

    // ANCHOR: returned
    let mut child = Process::builder()
        .name("greeter")
        .spawn(greet, "Ada".to_string())?;
    println!("started {} (pid {})", child.name(), child.pid());
    report("returned", &mut child)?;
    // ANCHOR_END: returned

    // ANCHOR: busy
    let mut busy = Process::spawn(stay_busy, args.busy_ms)?;
    let mut checks = 0;
    let result = loop {
        checks += 1;
        // Python: p.join(timeout=0.1), then p.is_alive(). Here the join says both at once.
        match busy.join_timeout(Duration::from_millis(100)) {
            Ok(None) => println!("busy child still alive after check {checks}"),
            finished => break finished,
        }
        if checks * 100 > args.busy_ms + DEADLINE.as_millis() as u64 {
            busy.kill()?;
            bail!("the busy child did not finish");
        }
    };
    println!(
        "busy: finished after {checks} checks, join -> {}, exitcode {}",
        show(&result),
        code(&mut busy)
    );
    // ANCHOR_END: busy

    // ANCHOR: panicked
    let mut child = Process::spawn(look_up, "Bob".to_string())?;
    report("panicked", &mut child)?;
    // ANCHOR_END: panicked

    let mut child = Process::spawn(exit_early, 3)?;
    report("exited", &mut child)?;

    // ANCHOR: signals
    let (mut child, _keep_waiting) = start_waiting_child()?;
    println!("before terminate: is_alive() = {}", child.is_alive());
    child.terminate()?; // SIGTERM: Python's terminate()
    report("terminated", &mut child)?;
    println!("after join: is_alive() = {}", child.is_alive());

    let (mut child, _keep_waiting) = start_waiting_child()?;
    child.kill()?; // SIGKILL: Python's kill()
    report("killed", &mut child)?;
    // ANCHOR_END: signals
    Ok(())
}

/// Starts a child that blocks, and waits until it says it has started (so the signal hits the
/// running function, not the start-up). The child blocks on a channel whose sender is returned:
/// while the caller holds it, the child has nothing to do but wait; dropped, the child would see
/// the channel close and return on its own.
fn start_waiting_child() -> Result<(Process<String>, IpcSender<String>)> {
    let (started, started_rx) = ipc::channel()?;
    let (words, words_rx) = ipc::channel::<String>()?;
    let child = Process::spawn(wait_forever, (started, words_rx))?;
    let pid = started_rx
        .try_recv_timeout(DEADLINE)
        .map_err(|e| anyhow::anyhow!("waiting for the child to start: {e:?}"))?;
    println!("child {pid} is waiting");
    Ok((child, words))
}

/// Joins with a deadline and prints what `join` returned and the exit code.
fn report<R>(label: &str, child: &mut Process<R>) -> Result<()>
where
    R: Serialize + DeserializeOwned + Send + Debug + 'static,
{
    let result = child.join_timeout(DEADLINE);
    if let Ok(None) = result {
        child.kill().context("killing a child that hung")?;
        bail!("{} did not finish within {DEADLINE:?}", child.name());
    }
    println!(
        "{label}: join -> {}, exitcode {}",
        show(&result),
        code(child)
    );
    Ok(())
}

/// `Ok(value)` or `Err(message)`, from a `join_timeout` that finished.
fn show<R: Debug>(result: &Result<Option<R>, multiprocessing::Error>) -> String {
    match result {
        Ok(Some(value)) => format!("Ok({value:?})"),
        Ok(None) => "still running".to_string(),
        Err(error) => format!("Err({error})"),
    }
}

fn code<R>(child: &mut Process<R>) -> String
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    child
        .exitcode()
        .map_or("none (running)".to_string(), |c| c.to_string())
}
