//! # Listing 2.3: how a process ends: a panic, an exit, terminate, kill, and what the parent sees
//!
//! Python's `exitcode`, `terminate()` and `kill()`. This listing ends one child in each way and
//! prints what `join` returned and the exit code:
//!
//! | how the child ended | `join` returns | `exitcode` |
//! |---|---|---|
//! | its function panicked | `Err(Error::Panicked { message, location })` | `1` |
//! | it called `std::process::exit(3)` | `Err(Error::Died { exitcode: 3 })` | `3` |
//! | `terminate()` (SIGTERM) | `Err(Error::Died { exitcode: -15 })` | `-15` |
//! | `kill()` (SIGKILL) | `Err(Error::Died { exitcode: -9 })` | `-9` |
//!
//! Negative exit codes are minus the signal number, as in Python. Nothing is silently lost: a
//! panic arrives with its message and its `file:line:column`, and the child also prints it on its
//! stderr, the way a Python child prints its traceback.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 03_exit_codes
//! ```
//!
//! What to expect: one line per way to end, with the error `join` returned and the exit code,
//! always the same apart from pids; the child's panic message on stderr.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^panicked: join -> Err\(the child process panicked at .*03_exit_codes\.rs:\d+:\d+: no such user: Bob\), exitcode 1$
//! expect: ^exited: join -> Err\(the child process exited with code 3 without sending a result\), exitcode 3$
//! expect: ^before terminate: is_alive\(\) = true$
//! expect: ^after join: is_alive\(\) = false$
//! expect: ^terminated: join -> Err\(.*signal 15 \(SIGTERM\).*\), exitcode -15$
//! expect: ^killed: join -> Err\(.*signal 9 \(SIGKILL\).*\), exitcode -9$
//! ```

use std::fmt::Debug;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multiprocessing::Process;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The longest the parent waits for any child.
const DEADLINE: Duration = Duration::from_secs(30);

fn look_up(name: String) -> u32 {
    panic!("no such user: {name}")
}

fn exit_early(code: i32) -> u32 {
    std::process::exit(code)
}

/// Says "started", then waits for a word that never comes (until a signal
/// ends it).
fn wait_forever(
    (started, words): (IpcSender<u32>, IpcReceiver<String>),
) -> String {
    started.send(std::process::id()).expect("tell the parent");
    words.recv().unwrap_or_default()
}

fn main() -> Result<()> {
    multiprocessing::init(); // a child runs its function here and exits

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
        .map_err(|e| anyhow!("waiting for the child to start: {e:?}"))?;
    println!("child {pid} is waiting");
    Ok((child, words))
}

/// Joins with a deadline and prints what `join` returned and the exit code.
fn report<R>(label: &str, child: &mut Process<R>) -> Result<()>
where
    R: Serialize + DeserializeOwned + Send + Debug + 'static,
{
    let result = child.join_timeout(DEADLINE);
    let shown = match &result {
        Ok(Some(value)) => format!("Ok({value:?})"),
        Ok(None) => {
            child.kill().context("killing a child that hung")?;
            bail!("{} did not finish within {DEADLINE:?}", child.name());
        }
        Err(error) => format!("Err({error})"),
    };
    let code = child.exitcode().map_or("none".into(), |c| c.to_string());
    println!("{label}: join -> {shown}, exitcode {code}");
    Ok(())
}
