//! # Exercise 2.4, solved: a child that answers over a pipe until the parent hangs up
//!
//! - The child matches on `recv`: a value is a request, `Err(Error::Disconnected)` is the parent
//!   hanging up, the normal end of the conversation. Anything else is a real failure.
//! - The parent drops its end *before* joining: that hang-up is what ends the child's loop. Joining
//!   first would wait for a child that waits for the parent.

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
            Err(Error::Disconnected) => return answered,
            Err(other) => panic!("waiting for a request: {other}"),
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
    drop(parent); // hang up: the child's recv now reports Disconnected and its loop ends
    let answered = child.join()?;
    Ok((replies, answered))
}
