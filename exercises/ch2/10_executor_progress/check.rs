//! The checks of exercise 2.10, run against the stub, the solution and the reader's attempt alike.
//!
//! The first item is a gate: its task waits until the first progress report has been made (the
//! check's `on_done` creates a marker folder, which the task looks for), so a report that comes
//! only after every result cannot happen, and the gate's result never comes first. The items carry the
//! check's pid in their upper bits, so that checks running at once use different markers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::imp::{self, Progress};

const LOW: u64 = 1 << 32;
/// How long the gate task waits for the first report before it gives up.
const GATE_PATIENCE: Duration = Duration::from_secs(10);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    let executor = multiprocessing::pool::ProcessPoolExecutor::new(2)
        .expect("the check can start an executor");
    let tag = u64::from(std::process::id()) * LOW;
    let items: Vec<u64> = (0..12).map(|x| tag + x).collect();
    let gate = gate_marker(tag);
    let _ = std::fs::remove_dir(&gate);
    let mut reports: Vec<Progress> = Vec::new();
    let outcomes = imp::run_with_progress(&executor, gated_double, &items, |progress| {
        let _ = std::fs::create_dir(&gate);
        reports.push(progress);
    });
    let _ = std::fs::remove_dir(&gate);
    let expected: Vec<_> = (0..12u64).map(|x| Ok(2 * x)).collect();
    assert_eq!(
        outcomes, expected,
        "expected the doubles of 0..12 in input order (the first task never finishes first)"
    );
    assert_eq!(reports.len(), 12, "one report per task: {reports:?}");
    for (n, report) in reports.iter().enumerate() {
        assert_eq!(
            (report.done, report.total),
            (n + 1, 12),
            "report {n}: {report:?}"
        );
    }
    let mut indices: Vec<usize> = reports.iter().map(|r| r.index).collect();
    assert_ne!(
        indices[0], 0,
        "the gate task cannot finish before the first report: {reports:?}"
    );
    indices.sort_unstable();
    assert_eq!(
        indices,
        (0..12).collect::<Vec<_>>(),
        "each index reported once"
    );
}

fn gate_marker(tag: u64) -> PathBuf {
    std::env::temp_dir().join(format!("ch2-10-{}-gate", tag / LOW))
}

/// Doubles the item; item 0 first waits until the gate marker exists.
fn gated_double(tagged: u64) -> u64 {
    let (tag, item) = (tagged - tagged % LOW, tagged % LOW);
    if item == 0 {
        let give_up = Instant::now() + GATE_PATIENCE;
        while !gate_marker(tag).exists() {
            assert!(
                Instant::now() < give_up,
                "no progress was reported within {GATE_PATIENCE:?} while other tasks had finished"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    2 * item
}
