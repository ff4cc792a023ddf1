//! # Listing 2.6: a pipe, a conversation in both directions
//!
//! Python's `Pipe()` gives two connected ends; each can `send` and `recv`. A child process is a
//! word-counting service: it asks which length makes a word "long", the parent answers, sends
//! lines, and gets each one's counts back. Then the parent says goodbye, `poll`s (Python's
//! `conn.poll(timeout)`) until the summary is ready, and once the child has exited, `recv`
//! reports the hang-up. Each direction has its own message type: neither side can send the
//! other's messages.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 06_pipe
//! cargo run -p multiprocessing --example 06_pipe -- --min-len 4
//! ```
//!
//! What to expect: the question and the answer, one reply per line, the summary, then `recv`
//! failing because the child is gone.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^child asks: which length makes a word long\?$
//! expect: ^child: line 1 has 6 words, 3 long$
//! expect: ^child.s summary: 4 lines, 29 words$
//! expect: ^after the child exited: recv -> the other process closed its end of the channel$
//! ```

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use clap::Parser;
use multiprocessing::Process;
use multiprocessing::pipe::{self, Connection};
use serde::{Deserialize, Serialize};

/// A parent and a child process talking over a pipe, both ways.
#[derive(Parser)]
struct Args {
    /// The parent's answer to "which length makes a word long?".
    #[arg(long, default_value_t = 6)]
    min_len: usize,
}

/// The longest the parent waits for any message or child.
const DEADLINE: Duration = Duration::from_secs(30);

/// What the parent sends, a line at a time.
const LINES: &str = "processes share nothing unless they ask
a pipe has exactly two ends
each end can send and receive
when one end hangs up the other one notices and stops";

// ANCHOR: messages
/// What the parent says to the child.
#[derive(Serialize, Deserialize, Debug)]
enum ParentSays {
    MinLen(usize), // the answer to the child's question
    Line(String),  // count the words of this line
    Bye,           // no more lines
}

/// What the child says to the parent.
#[derive(Serialize, Deserialize, Debug)]
enum ChildSays {
    Ask(String),                            // a question for the parent
    Counted { words: usize, long: usize },  // the reply to a line
    Summary { lines: usize, words: usize }, // the reply to `Bye`
}
// ANCHOR_END: messages

// ANCHOR: child
/// The word-counting service: a question, then replies until `Bye`.
fn word_counter(parent: Connection<ChildSays, ParentSays>) -> Result<()> {
    let question = ChildSays::Ask("which length makes a word long?".into());
    parent.send(question)?;
    let ParentSays::MinLen(min_len) = parent.recv()? else {
        bail!("expected an answer to the question");
    };
    let (mut lines, mut words) = (0, 0);
    loop {
        match parent.recv()? {
            ParentSays::Line(line) => {
                let all: Vec<&str> = line.split_whitespace().collect();
                let long = all.iter().filter(|w| w.chars().count() >= min_len);
                let (count, long) = (all.len(), long.count());
                (lines, words) = (lines + 1, words + count);
                let reply = ChildSays::Counted { words: count, long };
                parent.send(reply)?;
            }
            ParentSays::Bye => break,
            other => bail!("unexpected {other:?}"),
        }
    }
    // "Writing the summary", while the parent polls.
    std::thread::sleep(Duration::from_millis(300));
    let summary = ChildSays::Summary { lines, words };
    parent.send(summary)?;
    Ok(())
}
// ANCHOR_END: child

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();

    // ANCHOR: parent
    let (child_end, parent) = pipe::pipe::<ChildSays, ParentSays>()?;
    let child = Process::spawn_fallible(word_counter, child_end)?;

    match parent.recv_timeout(DEADLINE)? {
        ChildSays::Ask(question) => println!("child asks: {question}"),
        other => bail!("expected a question, got {other:?}"),
    }
    parent.send(ParentSays::MinLen(args.min_len))?;
    println!("parent answers: {}", args.min_len);

    for (number, line) in (1..).zip(LINES.lines()) {
        parent.send(ParentSays::Line(line.to_string()))?;
        match parent.recv_timeout(DEADLINE)? {
            ChildSays::Counted { words, long } => {
                println!("child: line {number} has {words} words, {long} long");
            }
            other => bail!("expected counts, got {other:?}"),
        }
    }

    parent.send(ParentSays::Bye)?;
    let mut polls = 0;
    while !parent.poll(Duration::from_millis(100))? {
        polls += 1; // free to do other work; the message waits in the pipe
        ensure!(polls * 100 < DEADLINE.as_millis(), "no summary in time");
    }
    println!("polled {polls} times before the summary arrived");
    if let ChildSays::Summary { lines, words } = parent.recv()? {
        println!("child's summary: {lines} lines, {words} words");
    }
    child.join()?;
    match parent.recv_timeout(DEADLINE) {
        Err(error) => println!("after the child exited: recv -> {error}"),
        Ok(message) => bail!("unexpected {message:?} from a finished child"),
    }
    // ANCHOR_END: parent
    Ok(())
}
