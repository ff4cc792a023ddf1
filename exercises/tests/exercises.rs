//! Proves the exercises are sound and the checker behaves.
//!
//! For every exercise: its solution passes its checks, its stub fails them (by a panic or by running
//! into the deadline; both are reported), and it has a hint. A stub that passed would mean the checks
//! prove nothing; a solution that failed would mean the exercise cannot be done.
//!
//! Each check runs as the checker runs it, in a child process (`exercises __run ID VARIANT`), killed
//! after the exercise's deadline plus [`MARGIN`], at most two at a time. Then the checker's own
//! promises: an unknown id is a clear error, and a deadlocked check is killed at its deadline with a
//! message that says it may be deadlocked.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use exercises::runner::{self, Captured, Outcome};
use exercises::{EXERCISES, Exercise, Variant};

/// Extra time on top of an exercise's own deadline: a loaded machine or a debug build may be slow,
/// and the test must not call a correct solution deadlocked.
const MARGIN: Duration = Duration::from_secs(5);

/// How many check processes run at once.
const PARALLEL: usize = 2;

/// The exercise whose stub deadlocks (its channel is never closed).
const DEADLOCKING_STUB: &str = "ch1/02";

fn checker() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_exercises"))
}

/// Runs `check_in_child` for every (exercise, variant) job, [`PARALLEL`] at a time.
fn run_jobs(jobs: &[(&'static Exercise, Variant)]) -> Vec<(String, Variant, Outcome)> {
    let queue = Mutex::new(jobs.iter());
    let results = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                while let Some(&(exercise, variant)) = queue.lock().unwrap().next() {
                    let outcome = runner::check_in_child(
                        checker(),
                        exercise,
                        variant,
                        exercise.deadline() + MARGIN,
                    )
                    .unwrap_or_else(|e| {
                        panic!(
                            "cannot run the checker for {} {variant}: {e}",
                            exercise.id()
                        )
                    });
                    results
                        .lock()
                        .unwrap()
                        .push((exercise.id(), variant, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(id, variant, _)| (id.clone(), variant.as_str()));
    results
}

#[test]
fn every_solution_passes_and_every_stub_fails() {
    assert!(!EXERCISES.is_empty(), "no exercises are registered");
    let jobs: Vec<_> = EXERCISES
        .iter()
        .flat_map(|exercise| [(exercise, Variant::Solution), (exercise, Variant::Stub)])
        .collect();
    let mut problems = Vec::new();
    for (id, variant, outcome) in run_jobs(&jobs) {
        match (variant, &outcome) {
            (Variant::Solution, Outcome::Solved) => println!("{id}: the solution passes"),
            (Variant::Stub, Outcome::Failed { .. }) => {
                println!("{id}: the stub fails its checks (a panic)")
            }
            (Variant::Stub, Outcome::TimedOut { .. }) => {
                println!("{id}: the stub fails its checks (the deadline)")
            }
            (Variant::Solution, _) => problems.push(format!(
                "{id}: the solution does not pass:\n{}",
                outcome.explain()
            )),
            (Variant::Stub, Outcome::Solved) => {
                problems.push(format!(
                    "{id}: the stub PASSES its checks, so they prove nothing"
                ));
            }
            (_, _) => problems.push(format!(
                "{id} {variant}: unexpected outcome:\n{}",
                outcome.explain()
            )),
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

#[test]
fn every_exercise_has_a_hint_and_a_title() {
    for exercise in EXERCISES {
        assert!(
            !exercise.hint.trim().is_empty(),
            "{}: hint.md is empty",
            exercise.folder()
        );
        assert!(
            !exercise.title.trim().is_empty(),
            "{}: the title is empty",
            exercise.folder()
        );
    }
}

/// Guards against a build that missed a new folder: what is on disk is exactly what is registered.
#[test]
fn every_exercise_folder_is_registered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk = BTreeSet::new();
    for chapter in std::fs::read_dir(root)
        .expect("the crate folder is readable")
        .flatten()
    {
        let chapter_name = chapter.file_name().to_string_lossy().into_owned();
        if !chapter_name.starts_with("ch") || !chapter.path().is_dir() {
            continue;
        }
        for folder in std::fs::read_dir(chapter.path())
            .expect("a chapter folder is readable")
            .flatten()
        {
            if folder.path().is_dir() {
                on_disk.insert(format!(
                    "{chapter_name}/{}",
                    folder.file_name().to_string_lossy()
                ));
            }
        }
    }
    let registered: BTreeSet<String> = EXERCISES.iter().map(Exercise::id).collect();
    assert_eq!(
        on_disk, registered,
        "the exercise folders on disk and the registered exercises differ"
    );
}

/// Runs the checker with `args`, failing the test if it has not finished within `deadline`.
fn run_checker(args: &[&str], deadline: Duration) -> Captured {
    let mut command = Command::new(checker());
    command.args(args);
    let captured = runner::run_with_deadline(command, deadline).expect("the checker starts");
    assert!(
        captured.status.is_some(),
        "`exercises {}` did not finish within {deadline:?}",
        args.join(" ")
    );
    captured
}

#[test]
fn an_unknown_id_is_a_clear_error() {
    for args in [
        &["check", "ch99/01"][..],
        &["hint", "ch1/99"],
        &["check", "ch1/01_wrong_slug"],
    ] {
        let captured = run_checker(args, Duration::from_secs(30));
        let status = captured.status.expect("checked by run_checker");
        assert!(
            !status.success(),
            "`exercises {}` should fail, but exited with {status}",
            args.join(" ")
        );
        assert!(
            captured
                .stderr
                .contains(&format!("no exercise matches `{}`", args[1])),
            "`exercises {}` should say that no exercise matches; stderr was:\n{}",
            args.join(" "),
            captured.stderr
        );
        assert!(
            captured.stderr.contains("ch1/01"),
            "the error should list the exercises:\n{}",
            captured.stderr
        );
    }
}

#[test]
fn an_unknown_command_is_a_clear_error() {
    let captured = run_checker(&["frobnicate"], Duration::from_secs(30));
    assert!(
        !captured.status.expect("checked").success(),
        "an unknown command must fail"
    );
    assert!(
        captured.stderr.contains("I do not understand `frobnicate`"),
        "stderr was:\n{}",
        captured.stderr
    );
    assert!(
        captured.stderr.contains("usage:"),
        "the error should show the usage:\n{}",
        captured.stderr
    );
}

#[test]
fn a_deadlocked_check_is_killed_at_its_deadline() {
    let exercise = exercises::find(DEADLOCKING_STUB).expect("the deadlocking warm-up exists");
    let captured = run_checker(
        &["check", DEADLOCKING_STUB, "--stub"],
        exercise.deadline() + MARGIN,
    );
    let status = captured.status.expect("checked by run_checker");
    assert!(
        !status.success(),
        "a deadlocked check must not count as solved"
    );
    let expected = format!(
        "did not finish within {} s: it may be deadlocked",
        exercise.deadline_secs
    );
    assert!(
        captured.stdout.contains(&expected),
        "expected {expected:?} in the checker's output:\n{}",
        captured.stdout
    );
    assert!(
        captured.elapsed >= exercise.deadline(),
        "the checker gave up after {:?}, before the {} s deadline",
        captured.elapsed,
        exercise.deadline_secs
    );
}

#[test]
fn hint_and_list_show_every_exercise() {
    let listed = run_checker(&["list"], Duration::from_secs(30));
    for exercise in EXERCISES {
        assert!(
            listed.stdout.contains(&exercise.short_id()),
            "`list` misses {}:\n{}",
            exercise.id(),
            listed.stdout
        );
        let hint = run_checker(&["hint", &exercise.short_id()], Duration::from_secs(30));
        assert!(
            hint.status.expect("checked").success(),
            "`hint {}` failed:\n{}",
            exercise.short_id(),
            hint.stderr
        );
        let first_line = exercise.hint.lines().next().unwrap_or_default();
        assert!(
            hint.stdout.contains(first_line),
            "`hint {}` does not show hint.md:\n{}",
            exercise.short_id(),
            hint.stdout
        );
    }
}
