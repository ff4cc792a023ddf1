//! Tests of the test runner in `support`: the usual libtest flags do what libtest does with them,
//! a hung test is named when the watchdog ends the run, and a process left behind fails the run.
//!
//! Each test runs this very binary again as a plain program (not a `multiprocessing` child) with
//! [`SAMPLES_ENV`] set: then `main` registers a few sample tests instead of the real ones, and the
//! test reads what the runner printed and how it exited. A sample run starts no test of this list,
//! so nothing recurses.

mod support;

use std::process::{ExitCode, Output};
use std::time::Duration;

use multiprocessing::Process;

/// Set (to anything) in a run of this binary that should register the samples.
const SAMPLES_ENV: &str = "HARNESS_TEST_SAMPLES";

/// The watchdog's deadline for the samples: short, because one of them hangs on purpose.
const SAMPLE_DEADLINE: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    multiprocessing::init();
    if std::env::var_os(SAMPLES_ENV).is_some() {
        return samples();
    }
    support::run(
        tests![
            list_names_every_test_and_runs_none,
            exact_runs_only_the_test_of_that_name,
            a_filter_runs_every_test_whose_name_contains_it,
            skip_leaves_out_the_tests_whose_names_contain_it,
            a_hung_test_is_named_and_ends_the_run,
            a_process_left_behind_fails_the_run,
        ],
        support::TEST_DEADLINE,
    )
}

// ---- the samples, run in a child of the real tests -------------------------------------------

const SAMPLES: [&str; 5] = [
    "sample_alpha",
    "sample_alpha_beta",
    "sample_gamma",
    "hangs_forever",
    "leaves_a_process_behind",
];

/// Without a filter only the first three run: the other two would fail the run by design.
fn samples() -> ExitCode {
    let wanted = std::env::var(SAMPLES_ENV).unwrap_or_default();
    let all: &[support::Test] = tests![
        sample_alpha,
        sample_alpha_beta,
        sample_gamma,
        hangs_forever,
        leaves_a_process_behind,
    ];
    let tests: Vec<support::Test> = all
        .iter()
        .copied()
        .filter(|(name, _)| wanted == "all" || !SAMPLES[3..].contains(name))
        .collect();
    support::run(&tests, SAMPLE_DEADLINE)
}

fn sample_alpha() {}

fn sample_alpha_beta() {}

fn sample_gamma() {}

fn hangs_forever() {
    loop {
        std::thread::park();
    }
}

fn block(_: ()) {
    loop {
        std::thread::park();
    }
}

fn leaves_a_process_behind() {
    let child = Process::builder()
        .daemon(true)
        .spawn(block, ())
        .expect("spawn");
    // `pid` waits until the fork server has forked it, so the process exists before the check.
    assert_ne!(child.pid(), 0, "forked");
    std::mem::forget(child); // never killed, never reaped: the final check must notice
}

// ---- the tests --------------------------------------------------------------------------------

/// Runs this binary with the samples registered (`all`: the failing two too) and `args`.
fn run_samples(which: &str, args: &[&str]) -> Output {
    support::run_this_binary(&[(SAMPLES_ENV, which)], args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The names of the tests the run reported as passed (`test NAME ... ok`, the name padded).
fn passed(output: &Output) -> Vec<String> {
    stdout(output)
        .lines()
        .filter_map(|line| line.strip_prefix("test ")?.strip_suffix(" ... ok"))
        .map(|name| name.trim_end().to_string())
        .collect()
}

fn list_names_every_test_and_runs_none() {
    let output = run_samples("all", &["--list"]);
    assert!(output.status.success(), "{output:?}");
    let listed: Vec<String> = stdout(&output)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    assert_eq!(listed, SAMPLES, "{}", stdout(&output));
    assert!(passed(&output).is_empty(), "--list ran tests: {output:?}");
}

fn exact_runs_only_the_test_of_that_name() {
    let output = run_samples("", &["--exact", "sample_alpha"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(passed(&output), ["sample_alpha"], "{}", stdout(&output));
    assert!(
        stdout(&output).contains("2 filtered out"),
        "{}",
        stdout(&output)
    );
}

fn a_filter_runs_every_test_whose_name_contains_it() {
    let output = run_samples("", &["alpha"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        passed(&output),
        ["sample_alpha", "sample_alpha_beta"],
        "{}",
        stdout(&output)
    );
}

fn skip_leaves_out_the_tests_whose_names_contain_it() {
    let output = run_samples("", &["--skip", "alpha"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(passed(&output), ["sample_gamma"], "{}", stdout(&output));
}

fn a_hung_test_is_named_and_ends_the_run() {
    let output = run_samples("all", &["--exact", "hangs_forever"]);
    assert_eq!(output.status.code(), Some(101), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("test hangs_forever did not finish within"),
        "{stderr}"
    );
}

fn a_process_left_behind_fails_the_run() {
    let output = run_samples("all", &["--exact", "leaves_a_process_behind"]);
    assert_eq!(
        passed(&output),
        ["leaves_a_process_behind"],
        "the test itself passes: {output:?}"
    );
    assert!(!output.status.success(), "the run fails: {output:?}");
    assert!(
        stdout(&output).contains("the tests left these processes behind"),
        "{}",
        stdout(&output)
    );
}
