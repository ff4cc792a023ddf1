//! # Exercise 2.1: collect results from child processes
//!
//! Python's pattern: start one `Process` per piece of work, have each put its result on a `Queue`,
//! then `join` them all. With `multiprocessing::Process` the child *returns* its result and `join`
//! hands it back, so no queue is needed; what is left to get right is the order of operations.
//!
//! Write [`count_in_processes`]: for every text, start a child process that runs [`count_words`]
//! on it, and return the children's answers in the order of the texts.
//!
//! 1. Start **all** the processes before joining the first one, so that they run at the same time
//!    (joining each right after starting it would run them one after another).
//! 2. If a child fails (`count_words` panics on an empty text), return that error, the
//!    `multiprocessing::Error::Panicked` that `join` gives you, and leave no process behind.
//!
//! Keep the signatures: the checks call them. `multiprocessing::init()` is already the first line
//! of the checker's `main`, which is what lets its children run `count_words`. Check your work with
//! `cargo run -p exercises -- check ch2/01`; stuck? `cargo run -p exercises -- hint ch2/01`.

use multiprocessing::{Error, Process};

/// The work one child does: counts the words of `text` and reports which process did it.
///
/// Returns `(pid of the process that counted, number of words)`. Panics on an empty text.
pub fn count_words(text: String) -> (u32, usize) {
    assert!(!text.trim().is_empty(), "empty text: nothing to count");
    (std::process::id(), text.split_whitespace().count())
}

/// Counts the words of every text, each in a child process of its own, all running at once.
///
/// Returns the `(pid, words)` answers in the order of `texts`, or the first error a child reported.
pub fn count_in_processes(texts: Vec<String>) -> Result<Vec<(u32, usize)>, Error> {
    todo!("spawn one process per text, then join them all, in order")
}
