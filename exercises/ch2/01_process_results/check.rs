//! The checks of exercise 2.1, run against the stub, the solution and the reader's attempt alike.
//!
//! To see that the children run *at the same time*, the work the check hands them starts by waiting
//! at a barrier (from `multiprocessing::sync`) for all of them: the barrier opens only when every
//! child is running at once. A version that joins each child before starting the next leaves its
//! first child alone at the barrier; that child gives up after [`START_GATE`] and panics with a
//! message saying so.

use std::time::Duration;

use multiprocessing::Error;
use multiprocessing::sync::Barrier;

use super::{imp, support};

/// How long a child waits for its siblings before concluding that they were not started.
const START_GATE: Duration = Duration::from_secs(3);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    results_come_back_in_order_from_processes_running_at_once();
    no_jobs_no_results();
    a_panicking_child_is_an_error_and_nothing_is_left_behind();
}

/// The work for the first check: waits until every child is running, then counts the words.
/// Returns (the pid of the process that counted, the number of words).
fn count_when_all_are_running((text, everyone): (String, Barrier)) -> (u32, usize) {
    if let Err(error) = everyone.wait_timeout(START_GATE) {
        panic!(
            "this child waited {START_GATE:?} for all {} children to be running at the same time \
             ({error}): start every process before joining the first",
            everyone.parties()
        );
    }
    (std::process::id(), text.split_whitespace().count())
}

/// The work for the last check: counts the words; panics on an empty text.
fn count_words(text: String) -> (u32, usize) {
    assert!(!text.trim().is_empty(), "empty text: nothing to count");
    (std::process::id(), text.split_whitespace().count())
}

fn texts(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn results_come_back_in_order_from_processes_running_at_once() {
    let input = texts(&["one", "one two three", "a b", "the quick brown fox jumps"]);
    let expected: Vec<usize> = input.iter().map(|t| t.split_whitespace().count()).collect();
    let everyone = Barrier::new(input.len() as u32).expect("the check can create a barrier");
    let jobs: Vec<(String, Barrier)> = input.into_iter().map(|t| (t, everyone.clone())).collect();
    let answers = imp::run_in_processes(jobs, count_when_all_are_running)
        .unwrap_or_else(|error| panic!("no child should fail on these texts, but: {error}"));
    let counts: Vec<usize> = answers.iter().map(|(_, words)| *words).collect();
    assert_eq!(
        counts, expected,
        "the word counts must come back in the order of the texts"
    );
    let mut pids: Vec<u32> = answers.iter().map(|(pid, _)| *pid).collect();
    assert!(
        !pids.contains(&std::process::id()),
        "every job must run in a child process, not in the caller's process"
    );
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 4, "each job needs a process of its own");
}

fn no_jobs_no_results() {
    let answers = imp::run_in_processes(Vec::new(), count_words);
    assert!(
        matches!(&answers, Ok(answers) if answers.is_empty()),
        "no jobs: expected Ok([]), got {answers:?}"
    );
}

fn a_panicking_child_is_an_error_and_nothing_is_left_behind() {
    let input = texts(&["fine", "", "also fine"]);
    match imp::run_in_processes(input, count_words) {
        Err(Error::Panicked { message, .. }) => assert!(
            message.contains("empty text"),
            "the error should carry the child's panic message, got {message:?}"
        ),
        Err(other) => {
            panic!("expected Error::Panicked from the child with the empty text, got {other}")
        }
        Ok(answers) => panic!("an empty text makes count_words panic, but got Ok({answers:?})"),
    }
    let left = support::child_processes();
    assert!(
        left.is_empty(),
        "every child must be joined (or dropped) before returning; still there: {left:?}"
    );
}
