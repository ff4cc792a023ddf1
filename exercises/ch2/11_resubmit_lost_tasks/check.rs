//! The checks of exercise 2.11, run against the stub, the solution and the reader's attempt alike.
//!
//! The task kills its own worker (`abort`, SIGABRT) the first time it runs on a multiple of 5, and always
//! panics on 13. It remembers runs in marker folders named after the check's process (the item
//! carries that pid in its upper bits), so that checks running at once do not see each other's.

use std::path::PathBuf;

use multiprocessing::pool::{ProcessPoolExecutor, TaskError};

use super::imp;

/// Item numbers live in the low 32 bits; the check's pid in the high ones.
const LOW: u64 = 1 << 32;

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    let executor = ProcessPoolExecutor::new(2).expect("the check can start an executor");
    let tag = u64::from(std::process::id()) * LOW;
    let items: Vec<u64> = (1..=20).map(|x| tag + x).collect();
    let outcomes = imp::run_all(&executor, flaky_square, &items, 3);
    let runs_of_13 = runs(tag, 13);
    cleanup(tag);
    assert_eq!(outcomes.len(), items.len(), "one outcome per item");
    for (item, outcome) in items.iter().map(|i| i % LOW).zip(&outcomes) {
        if item == 13 {
            match outcome {
                Err(TaskError::Panicked { message, .. }) => {
                    assert_eq!(message, "13 is unlucky", "the panic's own message")
                }
                other => panic!("item 13 panics every time: expected Panicked, got {other:?}"),
            }
        } else {
            assert_eq!(
                outcome,
                &Ok(item * item),
                "item {item}: its worker died at most once, so a resubmission should give {}",
                item * item
            );
        }
    }
    assert_eq!(
        runs_of_13, 1,
        "the task that panics ran {runs_of_13} times: a panic is not a lost task, do not resubmit it"
    );
}

fn marker(tag: u64, item: u64, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ch2-11-{}-{item}-{what}", tag / LOW))
}

fn runs(tag: u64, item: u64) -> usize {
    (1..=10)
        .take_while(|run| marker(tag, item, &format!("run{run}")).exists())
        .count()
}

fn cleanup(tag: u64) {
    for item in 1..=20 {
        let _ = std::fs::remove_dir(marker(tag, item, "died"));
        for run in 1..=10 {
            let _ = std::fs::remove_dir(marker(tag, item, &format!("run{run}")));
        }
    }
}

/// Squares the item; kills its own worker on the first run of a multiple of 5; panics on 13.
fn flaky_square(tagged: u64) -> u64 {
    let (tag, item) = (tagged - tagged % LOW, tagged % LOW);
    let run = (1..=10)
        .find(|run| std::fs::create_dir(marker(tag, item, &format!("run{run}"))).is_ok())
        .unwrap_or(10);
    assert!(item != 13, "13 is unlucky");
    if item.is_multiple_of(5) && run == 1 && std::fs::create_dir(marker(tag, item, "died")).is_ok()
    {
        std::process::abort();
    }
    item * item
}
