//! Proves the exercises are sound: for every exercise, its solution passes its checks, its stub
//! fails them, and every committed wrong attempt fails them the way its `//! Fails:` line says (by
//! a panic, or by running into the deadline). A stub or a wrong attempt that passed would mean the
//! checks prove nothing; a solution that failed would mean the exercise cannot be done.
//!
//! One trial per committed variant, so the usual test flags work (libtest-mimic):
//!
//! ```text
//! cargo test -p exercises --test exercises -- ch3/02          every variant of one exercise
//! cargo test -p exercises --test exercises -- --list          the trials
//! cargo test -p exercises --test exercises -- --skip stub     all but the stubs
//! ```
//!
//! Each check runs as the checker runs it, in a child process (`exercises __run ID VARIANT`),
//! killed at the exercise's deadline; a solution, and a wrong attempt that must fail by a panic,
//! get [`MARGIN`] more, so that a slow machine does not turn a verdict into a timeout. Trials run
//! two at a time by default (`--test-threads` changes it). The fixtures (exercises that only the
//! machinery's tests use, like the async one) are checked the same way.

use std::path::Path;
use std::time::Duration;

use exercises::runner::{self, Outcome};
use exercises::{EXERCISES, Exercise, FIXTURES, FailsBy, Variant};
use libtest_mimic::{Arguments, Failed, Trial};

/// Extra time on top of an exercise's own deadline for what must finish: a loaded machine or a
/// debug build may be slow, and the test must not call a correct solution deadlocked.
const MARGIN: Duration = Duration::from_secs(5);

fn checker() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_exercises"))
}

fn main() {
    let mut arguments = Arguments::from_args();
    if arguments.test_threads.is_none() {
        arguments.test_threads = Some(2);
    }
    let mut trials = Vec::new();
    for exercise in EXERCISES.iter().chain(FIXTURES) {
        trials.push(Trial::test(
            format!("{}/has a title, a hint and a wrong attempt", exercise.id()),
            move || complete(exercise),
        ));
        for variant in exercise.variants() {
            let name = format!("{}/{}", exercise.id(), exercise.variant_name(variant));
            trials.push(Trial::test(name, move || run_variant(exercise, variant)));
        }
    }
    libtest_mimic::run(&arguments, trials).exit();
}

fn complete(exercise: &Exercise) -> Result<(), Failed> {
    let folder = exercise.folder;
    if exercise.title.trim().is_empty() {
        return Err(format!("{folder}: the title is empty").into());
    }
    if exercise.hint.trim().is_empty() {
        return Err(format!("{folder}: hint.md is empty").into());
    }
    if exercise.wrongs.is_empty() {
        return Err(format!("{folder}: no committed wrong attempt").into());
    }
    Ok(())
}

/// What a variant must do, and the deadline to give it.
fn expectation(exercise: &Exercise, variant: Variant) -> (&'static str, Duration) {
    let exact = exercise.deadline();
    match variant {
        Variant::Solution => ("pass", exact + MARGIN),
        // A stub may fail either way; one that hangs is killed at its deadline, as for a reader.
        Variant::Stub => ("fail", exact),
        Variant::Wrong(index) => match exercise.wrongs[index].fails_by {
            FailsBy::Panic => ("fail by a panic", exact + MARGIN),
            FailsBy::Deadline => ("fail at the deadline", exact),
        },
    }
}

fn run_variant(exercise: &Exercise, variant: Variant) -> Result<(), Failed> {
    let (must, deadline) = expectation(exercise, variant);
    let command = runner::variant_command(checker(), exercise, variant);
    let outcome = runner::run_check(command, deadline).map_err(|e| {
        format!(
            "cannot run the checker for {} {}: {e}",
            exercise.id(),
            exercise.variant_name(variant)
        )
    })?;
    let as_it_must = match (must, &outcome) {
        ("pass", outcome) => outcome.is_solved(),
        ("fail", Outcome::Failed { .. } | Outcome::TimedOut { .. }) => true,
        ("fail by a panic", Outcome::Failed { .. }) => true,
        ("fail at the deadline", Outcome::TimedOut { .. }) => true,
        _ => false,
    };
    if as_it_must {
        return Ok(());
    }
    let file = exercise.variant_file(variant);
    let verdict = if outcome.is_solved() {
        "it PASSES the checks, so they do not catch it".to_owned()
    } else {
        format!("it did not: {}", outcome.explain())
    };
    Err(format!("{file} must {must}; {verdict}").into())
}
