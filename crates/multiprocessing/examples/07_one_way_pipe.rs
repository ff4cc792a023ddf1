//! # Listing 2.7: a one-way pipe: one process writes, the other reads
//!
//! Python's `Pipe(duplex=False)` returns a reading end and a writing end. Here the child gets only
//! the writing end and the parent only the reading end, so each side can do only its half: the
//! types say so, and sending from the reader does not compile. The child counts down and returns;
//! its writer is dropped with it, and the parent's next `recv` reports the hang-up instead of
//! waiting for ever. No "stop" message is needed.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 07_one_way_pipe
//! cargo run -p multiprocessing --example 07_one_way_pipe -- --from 10
//! ```
//!
//! What to expect: the numbers from `--from` (default 3) down to 1, then the hang-up.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^one-way pipe: 3, 2, 1, then the writer hung up$
//! ```

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;
use multiprocessing::pipe::{self, PipeWriter};
use multiprocessing::{Error, Process};

/// A child writes a countdown into a one-way pipe; the parent reads it.
#[derive(Parser)]
struct Args {
    /// Where the countdown starts.
    #[arg(long, default_value_t = 3)]
    from: u32,
}

/// The longest the parent waits for any message or child.
const DEADLINE: Duration = Duration::from_secs(30);

// ANCHOR: one_way
/// Gets only the writing end of a one-way pipe.
fn countdown((writer, from): (PipeWriter<u32>, u32)) {
    for n in (1..=from).rev() {
        writer.send(n).expect("send");
    }
} // the writer is dropped here: the reader sees the hang-up
// ANCHOR_END: one_way

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();

    // ANCHOR: one_way_parent
    // Python: reader, writer = Pipe(duplex=False)
    let (reader, writer) = pipe::one_way::<u32>()?;
    let mut child = Process::spawn(countdown, (writer, args.from))?;
    let mut numbers = Vec::new();
    loop {
        match reader.recv_timeout(DEADLINE) {
            Ok(n) => numbers.push(n.to_string()),
            Err(Error::Disconnected) => break,
            Err(other) => return Err(other.into()),
        }
    }
    let numbers = numbers.join(", ");
    println!("one-way pipe: {numbers}, then the writer hung up");
    if child.join_timeout(DEADLINE)?.is_none() {
        child.kill()?;
        bail!("the writer did not exit within {DEADLINE:?}");
    }
    // ANCHOR_END: one_way_parent
    Ok(())
}
