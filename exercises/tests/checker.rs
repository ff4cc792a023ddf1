//! The checker's own promises, tested through its command line as a reader uses it.
//!
//! - An attempt is compiled on its own: in an attempts folder where one attempt does not compile,
//!   that exercise is reported as not compiling (with the compiler's errors, paths relative to the
//!   workspace) and another exercise's attempt is checked and solved.
//! - A result is remembered: an unchanged attempt is not run again (its program writes to a marker
//!   file each time it runs, and the file does not grow), a changed one is, and a later build
//!   compiles nothing but the attempt.
//! - An async exercise (a fixture only these tests see) is built and checked like any other, and
//!   one that never finishes is killed at its deadline.
//! - Without cargo, a changed attempt is a clear error; unknown ids and arguments are clear errors.
//!
//! Each test uses an attempts folder of its own under the system's temporary directory (the
//! checker's `--attempts`), so the reader's `exercises/attempts` is never touched. Every run of
//! the checker has a deadline; the first build of attempts may have to compile the libraries they
//! link, which on a loaded machine takes minutes, hence [`FIRST_BUILD`].

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use exercises::runner::{self, Captured};
use exercises::{EXERCISES, Exercise, FIXTURES};

/// The longest a checker run that builds attempts may take (it may compile libraries first).
const FIRST_BUILD: Duration = Duration::from_secs(600);
/// The longest any other checker run may take.
const QUICK: Duration = Duration::from_secs(60);

fn checker() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_exercises"))
}

/// A temporary attempts folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let path =
            std::env::temp_dir().join(format!("exercises-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("the temporary folder can be created");
        Folder(path)
    }

    fn write(&self, exercise: &Exercise, text: &str) {
        fs::write(self.0.join(format!("{}.rs", exercise.module())), text)
            .expect("an attempt can be written");
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn source(exercise: &Exercise, file: &str) -> String {
    let path = exercises::workspace_root().join(exercise.folder).join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs the checker with `args` in the attempts folder `folder`, failing the test if it has not
/// finished within `deadline`.
fn run(folder: Option<&Folder>, args: &[&str], deadline: Duration) -> Captured {
    run_with(folder, args, deadline, |_| {})
}

fn run_with(
    folder: Option<&Folder>,
    args: &[&str],
    deadline: Duration,
    adjust: impl FnOnce(&mut Command),
) -> Captured {
    let mut command = Command::new(checker());
    if let Some(folder) = folder {
        command.arg("--attempts").arg(&folder.0);
    }
    command.args(args);
    adjust(&mut command);
    let captured = runner::run_with_deadline(command, deadline).expect("the checker starts");
    assert!(
        captured.status.is_some(),
        "`exercises {}` did not finish within {deadline:?}; it printed:\n{}\n{}",
        args.join(" "),
        captured.stdout,
        captured.stderr
    );
    captured
}

/// The status-table row of `exercise` in a status output.
fn row<'a>(stdout: &'a str, exercise: &Exercise) -> &'a str {
    let id = exercise.short_id();
    stdout
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("no row for {id} in:\n{stdout}"))
}

fn find(id: &str) -> &'static Exercise {
    exercises::find(id).expect("the exercise exists")
}

#[test]
fn attempts_are_built_one_by_one_and_results_remembered() {
    let folder = Folder::new("one-by-one");
    let broken = find("ch3/01");
    let solved = find("ch1/01");
    // A signature that does not match the checks: the errors are in check.rs, not the attempt.
    folder.write(
        broken,
        &source(broken, "solution.rs")
            .replace("threads: usize) -> u128 {", "threads: usize) -> u64 {"),
    );
    // The solution, plus a line that records every run of its check in a marker file.
    let marker = folder.0.join("runs.txt");
    let recording = source(solved, "solution.rs").replace(
        "pub fn spawn_sum_of_squares(numbers: Vec<u64>) -> JoinHandle<u64> {",
        "pub fn spawn_sum_of_squares(numbers: Vec<u64>) -> JoinHandle<u64> {\n    \
         record_run();",
    ) + "\nfn record_run() {\n    use std::io::Write;\n    \
         let path = std::env::var_os(\"EXERCISES_TEST_MARKER\").unwrap();\n    \
         let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();\n    \
         writeln!(file, \"ran\").unwrap();\n}\n";
    folder.write(solved, &recording);
    let with_marker = |command: &mut Command| {
        command.env("EXERCISES_TEST_MARKER", &marker);
    };
    let runs = || {
        fs::read_to_string(&marker)
            .unwrap_or_default()
            .lines()
            .count()
    };

    let first = run_with(Some(&folder), &[], FIRST_BUILD, with_marker);
    assert!(
        first.status.unwrap().success(),
        "status failed:\n{}",
        first.stderr
    );
    assert!(
        row(&first.stdout, broken).ends_with("not yet: does not compile"),
        "{}",
        first.stdout
    );
    assert!(
        row(&first.stdout, solved).ends_with("solved"),
        "{}",
        first.stdout
    );
    assert!(
        row(&first.stdout, find("ch1/02")).ends_with("not started"),
        "an attempt that is still its stub is not started:\n{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("(checked now: 2; remembered: 0; not started: 15)"),
        "{}",
        first.stdout
    );
    assert!(
        !first.stdout.contains("ch99"),
        "the fixtures must not show in the reader's status:\n{}",
        first.stdout
    );
    let after_first = runs();
    assert!(after_first > 0, "the solved attempt's check did not run");

    let again = run_with(Some(&folder), &[], QUICK, with_marker);
    assert!(
        again
            .stdout
            .contains("(checked now: 0; remembered: 2; not started: 15)"),
        "nothing changed, so both results must be remembered:\n{}",
        again.stdout
    );
    assert!(
        row(&again.stdout, solved).ends_with("solved"),
        "{}",
        again.stdout
    );
    assert!(
        row(&again.stdout, broken).ends_with("not yet: does not compile"),
        "{}",
        again.stdout
    );
    assert_eq!(
        runs(),
        after_first,
        "a remembered result must not run the check again"
    );

    folder.write(solved, &(recording.clone() + "// changed\n"));
    let changed = run_with(Some(&folder), &[], FIRST_BUILD, with_marker);
    assert!(
        changed
            .stdout
            .contains("(checked now: 1; remembered: 1; not started: 15)"),
        "the changed attempt must be checked again, the other remembered:\n{}",
        changed.stdout
    );
    assert!(
        runs() > after_first,
        "the changed attempt's check did not run"
    );
    assert!(
        !changed.stderr.contains("cargo also compiled"),
        "the second build of attempts must compile nothing but the attempt:\n{}",
        changed.stderr
    );

    let errors = run(Some(&folder), &["check", "ch3/01"], QUICK);
    assert_eq!(errors.status.unwrap().code(), Some(1), "{}", errors.stdout);
    assert!(
        errors.stdout.contains("does not compile")
            && errors.stdout.contains("error[E0308]")
            && errors
                .stdout
                .contains("exercises/ch3/01_scoped_sum/check.rs:"),
        "`check` shows rustc's errors, with paths relative to the workspace:\n{}",
        errors.stdout
    );
    assert!(
        !errors.stdout.contains(&format!(
            "{}/exercises/",
            exercises::workspace_root().display()
        )),
        "paths inside the workspace are shown relative to it:\n{}",
        errors.stdout
    );
}

#[test]
fn an_async_exercise_is_checked_like_any_other_and_killed_at_its_deadline() {
    let folder = Folder::new("async");
    let fixture = exercises::find_in(FIXTURES, "ch99/01").expect("the async fixture exists");
    assert!(
        fixture.is_async,
        "the fixture's check is `pub async fn check()`"
    );
    let with_fixtures = |command: &mut Command| {
        command.env("EXERCISES_FIXTURES", "1");
    };
    folder.write(fixture, &source(fixture, "solution.rs"));
    let solved = run_with(
        Some(&folder),
        &["check", "ch99/01"],
        FIRST_BUILD,
        with_fixtures,
    );
    assert_eq!(
        solved.status.unwrap().code(),
        Some(0),
        "the fixture's solution, as an attempt, must be solved:\n{}\n{}",
        solved.stdout,
        solved.stderr
    );
    assert!(
        solved.stdout.contains("solved: every check passed"),
        "{}",
        solved.stdout
    );

    folder.write(fixture, &source(fixture, "wrong_keeps_its_sender.rs"));
    let hung = run_with(
        Some(&folder),
        &["check", "ch99/01"],
        FIRST_BUILD,
        with_fixtures,
    );
    let expected = format!(
        "did not finish within {} s: it may be deadlocked",
        fixture.deadline_secs
    );
    assert!(
        hung.stdout.contains(&expected),
        "expected {expected:?} in:\n{}",
        hung.stdout
    );
    assert_eq!(
        hung.status.unwrap().code(),
        Some(1),
        "a deadlocked attempt is not solved"
    );

    let listed = run(None, &["list"], QUICK);
    assert!(
        !listed.stdout.contains("ch99"),
        "the fixtures must not be listed:\n{}",
        listed.stdout
    );
}

#[test]
fn a_deadlocked_check_is_killed_at_its_deadline() {
    let exercise = find("ch1/02");
    let captured = run(None, &["check", "ch1/02", "--stub"], QUICK);
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
fn without_cargo_a_changed_attempt_is_a_clear_error() {
    let folder = Folder::new("no-cargo");
    let exercise = find("ch1/01");
    folder.write(exercise, &source(exercise, "solution.rs"));
    let empty_path = folder.0.join("no-programs-here");
    fs::create_dir_all(&empty_path).unwrap();
    let captured = run_with(Some(&folder), &["check", "ch1/01"], QUICK, |command| {
        command.env_remove("CARGO").env("PATH", &empty_path);
    });
    assert_eq!(
        captured.status.unwrap().code(),
        Some(2),
        "{}",
        captured.stderr
    );
    assert!(
        captured.stderr.contains("cannot run cargo")
            && captured.stderr.contains("cargo run -p exercises"),
        "the error must say that cargo is needed and how to run the checker:\n{}",
        captured.stderr
    );
}

#[test]
fn an_unknown_id_is_a_clear_error() {
    for args in [
        &["check", "ch99/01"][..],
        &["hint", "ch1/99"],
        &["check", "ch1/01_wrong_slug"],
    ] {
        let captured = run(None, args, QUICK);
        assert_eq!(
            captured.status.unwrap().code(),
            Some(2),
            "{}",
            captured.stderr
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
fn unknown_commands_and_flags_are_rejected() {
    for args in [
        &["frobnicate"][..],
        &["check", "ch1/01", "--frobnicate"],
        &["list", "extra"],
        &["check", "ch1/01", "--stub", "--solution"],
        &["check", "ch1/01", "--wrong", "wrong_no_such_mistake"],
    ] {
        let captured = run(None, args, QUICK);
        let status = captured.status.unwrap();
        assert!(
            !status.success(),
            "`exercises {}` must fail, but exited with {status}",
            args.join(" ")
        );
        assert!(
            captured.stderr.contains("error"),
            "`exercises {}` must say what is wrong:\n{}",
            args.join(" "),
            captured.stderr
        );
    }
}

#[test]
fn hint_and_list_show_every_exercise() {
    let listed = run(None, &["list"], QUICK);
    for exercise in EXERCISES {
        assert!(
            listed.stdout.contains(&exercise.short_id()),
            "`list` misses {}:\n{}",
            exercise.id(),
            listed.stdout
        );
        let hint = run(None, &["hint", &exercise.short_id()], QUICK);
        assert!(
            hint.status.unwrap().success(),
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

/// Guards against a build that missed a new folder: what is on disk is exactly what is registered.
#[test]
fn every_exercise_folder_is_registered() {
    let on_disk = |root: &Path| -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for chapter in fs::read_dir(root).expect("readable").flatten() {
            let chapter_name = chapter.file_name().to_string_lossy().into_owned();
            if !chapter_name.starts_with("ch") || !chapter.path().is_dir() {
                continue;
            }
            for folder in fs::read_dir(chapter.path()).expect("readable").flatten() {
                if folder.path().is_dir() {
                    let name = folder.file_name().to_string_lossy().into_owned();
                    found.insert(format!("{chapter_name}/{name}"));
                }
            }
        }
        found
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registered: BTreeSet<String> = EXERCISES.iter().map(Exercise::id).collect();
    assert_eq!(
        on_disk(root),
        registered,
        "exercise folders and registered exercises differ (a new chapter folder is registered \
         once build.rs runs again: `touch exercises/build.rs`)"
    );
    let fixtures: BTreeSet<String> = FIXTURES.iter().map(Exercise::id).collect();
    assert_eq!(
        on_disk(&root.join("tests/fixtures")),
        fixtures,
        "fixture folders and registered fixtures differ"
    );
}
