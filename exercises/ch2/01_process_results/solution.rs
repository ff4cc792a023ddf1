//! # Exercise 2.1, solved: collect results from child processes
//!
//! Two passes: the first starts every child (`spawn` returns as soon as the child is running), the
//! second joins them in order. Collecting the first pass into a `Result<Vec<_>, _>` stops at the
//! first child that cannot be started; the handles already in the vector are dropped, and dropping
//! a `Process` joins it, so nothing is left behind. In the second pass every child is joined even
//! after one has failed: the results are gathered first, and only then is the first error returned.

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
    let children = texts
        .into_iter()
        .map(|text| Process::spawn(count_words, text))
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<Result<(u32, usize), Error>> =
        children.into_iter().map(Process::join).collect();
    results.into_iter().collect()
}
