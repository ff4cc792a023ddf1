//! The checks of exercise 2.1, run against the stub, the solution and the reader's attempt alike.

use multiprocessing::Error;

use super::imp;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    answers_come_back_in_order_from_other_processes();
    a_panicking_child_is_an_error_and_nothing_is_left_behind();
}

fn texts(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn answers_come_back_in_order_from_other_processes() {
    let input = texts(&["one", "one two three", "a b", "the quick brown fox jumps"]);
    let answers = imp::count_in_processes(input).expect("no child should fail on these texts");
    let counts: Vec<usize> = answers.iter().map(|(_, words)| *words).collect();
    assert_eq!(
        counts,
        vec![1, 3, 2, 5],
        "the word counts must come back in the order of the texts"
    );
    let mut pids: Vec<u32> = answers.iter().map(|(pid, _)| *pid).collect();
    assert!(
        !pids.contains(&std::process::id()),
        "every text must be counted in a child process, not in the caller's process"
    );
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 4, "each text needs a process of its own");
    assert_eq!(
        imp::count_in_processes(Vec::new()).expect("nothing to do is not an error"),
        Vec::new()
    );
}

fn a_panicking_child_is_an_error_and_nothing_is_left_behind() {
    let input = texts(&["fine", "", "also fine"]);
    match imp::count_in_processes(input) {
        Err(Error::Panicked { message, .. }) => assert!(
            message.contains("empty text"),
            "the error should carry the child's panic message, got {message:?}"
        ),
        Err(other) => {
            panic!("expected Error::Panicked from the child with the empty text, got {other}")
        }
        Ok(answers) => panic!("an empty text makes count_words panic, but got Ok({answers:?})"),
    }
    let left = live_children();
    assert!(
        left.is_empty(),
        "every child must be joined (or dropped) before returning; still running: {left:?}"
    );
}

/// Pids of the children this process started that have not been reaped (from `/proc/*/stat`):
/// its own children except the fork server, and the fork server's children.
fn live_children() -> Vec<u32> {
    let server = multiprocessing::fork_server_pid();
    let parents: Vec<u32> = std::iter::once(std::process::id()).chain(server).collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| Some(*pid) != server)
        .filter(|pid| parent_of(*pid).is_some_and(|parent| parents.contains(&parent)))
        .collect()
}

/// The parent pid in `/proc/PID/stat`: the 4th field, after the parenthesised command name.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}
