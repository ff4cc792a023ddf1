//! # Listing 2.4: a pipe, a conversation in both directions
//!
//! Python's `Pipe()` gives two connected ends; each can `send` and `recv`. Here a child process
//! is a small word-counting service, and the two processes talk over one [`pipe`]:
//!
//! 1. the **child** asks first: what is the shortest word that counts as "long"? The parent
//!    answers (the conversation can start from either end);
//! 2. the **parent** sends lines of text; the child replies to each with its word counts;
//! 3. the parent says goodbye and `poll`s (Python's `conn.poll(timeout)`) until the child's
//!    summary is ready; once the child has exited, `recv` reports the hang-up as an error.
//!
//! The two directions have their own types, `pipe::<ParentSays, ChildSays>()`, so neither side
//! can send the other's messages. Then the one-way form (Python's `Pipe(duplex=False)`): the child
//! gets only the writing end, the parent only the reading end.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 04_pipe
//! cargo run -p multiprocessing --example 04_pipe -- --file README.md --min-len 8
//! ```
//!
//! Without `--file` the parent sends a few built-in lines; with it, every line of that file.
//!
//! What to expect: the child's question and the parent's answer, one reply per line, the summary,
//! then `recv` failing because the child is gone; the countdown over the one-way pipe.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^child asks: which length makes a word long\?$
//! expect: ^child: line 1 has 6 words, 3 long$
//! expect: ^child.s summary: 4 lines, 29 words$
//! expect: ^after the child exited: recv -> the other process closed its end of the channel$
//! expect: ^one-way pipe: 3, 2, 1, then the writer hung up$
//! ```

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use multiprocessing::pipe::{self, Connection, PipeWriter};
use multiprocessing::{Error, Process};
use serde::{Deserialize, Serialize};

/// A parent and a child process talking over a pipe, both ways.
#[derive(Parser)]
struct Args {
    /// Send the lines of this file instead of the built-in ones.
    #[arg(long)]
    file: Option<std::path::PathBuf>,
    /// What the parent answers when the child asks which length makes a word long.
    #[arg(long, default_value_t = 6)]
    min_len: usize,
}

/// The longest the parent waits for any message or child.
const DEADLINE: Duration = Duration::from_secs(30);

const LINES: [&str; 4] = [
    "processes share nothing unless they ask",
    "a pipe has exactly two ends",
    "each end can send and receive",
    "when one end hangs up the other one notices and stops",
];

// ANCHOR: messages
/// What the parent says to the child.
#[derive(Serialize, Deserialize, Debug)]
enum ParentSays {
    /// The answer to the child's question.
    MinLen(usize),
    /// Count the words of this line.
    Line(String),
    /// No more lines.
    Bye,
}

/// What the child says to the parent.
#[derive(Serialize, Deserialize, Debug)]
enum ChildSays {
    /// A question for the parent.
    Ask(String),
    /// The reply to one line.
    Counted { words: usize, long: usize },
    /// The reply to `Bye`.
    Summary { lines: usize, words: usize },
}
// ANCHOR_END: messages

// ANCHOR: child
/// The word-counting service: asks its question, then answers lines until `Bye`.
fn word_counter(parent: Connection<ChildSays, ParentSays>) -> Result<(), String> {
    parent
        .send(ChildSays::Ask("which length makes a word long?".into()))
        .map_err(text)?;
    let ParentSays::MinLen(min_len) = parent.recv().map_err(text)? else {
        return Err("expected an answer to the question".into());
    };
    let (mut lines, mut words) = (0, 0);
    loop {
        match parent.recv().map_err(text)? {
            ParentSays::Line(line) => {
                let count = line.split_whitespace().count();
                let long = line
                    .split_whitespace()
                    .filter(|w| w.chars().count() >= min_len)
                    .count();
                (lines, words) = (lines + 1, words + count);
                parent
                    .send(ChildSays::Counted { words: count, long })
                    .map_err(text)?;
            }
            ParentSays::Bye => break,
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    std::thread::sleep(Duration::from_millis(300)); // "writing the summary" while the parent polls
    parent
        .send(ChildSays::Summary { lines, words })
        .map_err(text)
}
// ANCHOR_END: child

fn text(error: Error) -> String {
    error.to_string()
}

// ANCHOR: one_way
/// Gets only the writing end of a one-way pipe.
fn countdown(writer: PipeWriter<u32>) {
    for n in (1..=3).rev() {
        writer.send(n).expect("send");
    }
} // the writer is dropped here: the reader sees the hang-up
// ANCHOR_END: one_way

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    let lines = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::to_string)
            .collect(),
        None => LINES
            .iter()
            .map(|line| line.to_string())
            .collect::<Vec<_>>(),
    };

    // ANCHOR: parent
    let (child_end, parent) = pipe::pipe::<ChildSays, ParentSays>()?;
    let child = Process::spawn(word_counter, child_end)?;

    match parent.recv_timeout(DEADLINE)? {
        ChildSays::Ask(question) => println!("child asks: {question}"),
        other => bail!("expected a question, got {other:?}"),
    }
    parent.send(ParentSays::MinLen(args.min_len))?;
    println!("parent answers: {}", args.min_len);

    for (number, line) in lines.iter().enumerate() {
        parent.send(ParentSays::Line(line.clone()))?;
        match parent.recv_timeout(DEADLINE)? {
            ChildSays::Counted { words, long } => {
                println!("child: line {} has {words} words, {long} long", number + 1);
            }
            other => bail!("expected counts, got {other:?}"),
        }
    }

    parent.send(ParentSays::Bye)?;
    let mut waited = 0;
    while !parent.poll(Duration::from_millis(100))? {
        waited += 1; // free to do other work here; the message waits in the pipe
        if waited * 100 > DEADLINE.as_millis() {
            bail!("no summary within {DEADLINE:?}");
        }
    }
    println!("polled {waited} times before the summary arrived");
    if let ChildSays::Summary { lines, words } = parent.recv()? {
        println!("child's summary: {lines} lines, {words} words");
    }
    join(child)?.map_err(anyhow::Error::msg)?;
    match parent.recv_timeout(DEADLINE) {
        Err(error) => println!("after the child exited: recv -> {error}"),
        Ok(message) => bail!("unexpected {message:?} from a child that exited"),
    }
    // ANCHOR_END: parent

    // ANCHOR: one_way_parent
    let (reader, writer) = pipe::one_way::<u32>()?; // Python: Pipe(duplex=False)
    let child = Process::spawn(countdown, writer)?;
    let mut numbers = Vec::new();
    loop {
        match reader.recv_timeout(DEADLINE) {
            Ok(n) => numbers.push(n.to_string()),
            Err(Error::Disconnected) => break,
            Err(other) => return Err(other.into()),
        }
    }
    println!(
        "one-way pipe: {}, then the writer hung up",
        numbers.join(", ")
    );
    join(child)?;
    // ANCHOR_END: one_way_parent
    Ok(())
}

/// Joins with a deadline.
fn join<R>(mut process: Process<R>) -> Result<R>
where
    R: Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    match process.join_timeout(DEADLINE)? {
        Some(value) => Ok(value),
        None => {
            process.kill()?;
            bail!("{} did not finish within {DEADLINE:?}", process.name())
        }
    }
}
