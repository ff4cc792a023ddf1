//! # Exercise 2.4, a wrong attempt: the parent waits for the child before it hangs up
//!
//! The mistake: the child's side is fixed (a hang-up ends the conversation), but the parent still
//! joins the child while holding its own end of the pipe, and drops it only afterwards. The child
//! waits for the next request, or for the hang-up; the parent waits for the child to finish.
//! Neither ever moves.
//!
//! Fails: at the deadline: the first conversation never ends.

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
    let answered = child.join()?;
    drop(parent);
    Ok((replies, answered))
}
