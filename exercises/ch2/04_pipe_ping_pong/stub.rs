//! # Exercise 2.4: a child that answers over a pipe until the parent hangs up
//!
//! [`ask_squares`] starts a child process running [`square_server`] and talks to it over a two-way
//! pipe: for each number the parent sends, the child replies with its square. When the parent has
//! no more numbers it hangs up, and the child returns how many requests it answered.
//!
//! This version has two bugs:
//!
//! 1. **The child treats the hang-up as a failure.** When the parent's end is gone, `recv` returns
//!    `Err(Error::Disconnected)` — that is the normal end of the conversation, not a crash.
//! 2. **The parent waits for the child while still holding its end** of the pipe. The child is
//!    waiting for the next request, the parent for the child to finish: neither ever moves.
//!
//! Fix both, keeping the signatures. Check your work with `cargo run -p exercises -- check ch2/04`;
//! stuck? `cargo run -p exercises -- hint ch2/04`.

use multiprocessing::pipe::{self, Connection};
use multiprocessing::{Error, Process};

/// The child: answers each number with its square until the parent hangs up; returns how many
/// requests it answered.
pub fn square_server(parent: Connection<u64, u64>) -> u64 {
    let mut answered = 0;
    loop {
        match parent.recv() {
            Ok(n) => {
                parent.send(n * n).expect("send the reply");
                answered += 1;
            }
            Err(error) => panic!("lost the parent after {answered} requests: {error}"),
        }
    }
}

/// Asks a child process for the square of each number, in order; returns the replies and the
/// child's count of answered requests.
pub fn ask_squares(numbers: &[u64]) -> Result<(Vec<u64>, u64), Error> {
    let (parent, child_end) = pipe::pipe::<u64, u64>()?;
    let child = Process::spawn(square_server, child_end)?;
    let mut replies = Vec::new();
    for &n in numbers {
        parent.send(n)?;
        replies.push(parent.recv()?);
    }
    let answered = child.join()?;
    drop(parent);
    Ok((replies, answered))
}
