//! The exercise checker: `cargo run -p exercises`.
//!
//! ```text
//! cargo run -p exercises                      status: which exercises are solved, and the next one
//! cargo run -p exercises -- check ch1/01      check one attempt (ch1/01, ch1/01_slug or its folder)
//! cargo run -p exercises -- hint ch1/01       show its hint
//! cargo run -p exercises -- list              list the exercises
//! ```
//!
//! Every check runs in a child process, `exercises __run <id> <variant>`, which the checker kills at
//! the exercise's deadline (see `exercises::runner` for why). `check ID --stub` and
//! `check ID --solution` check the committed stub or solution instead of the attempt: that is for
//! authors of exercises.
//!
//! The arguments are few and fixed, so they are read by hand rather than with a parser crate.

#![forbid(unsafe_code)]

use std::fs;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, bail};
use exercises::runner::{self, Outcome};
use exercises::{EXERCISES, Exercise, Variant};

/// How many checks run at once in the status view (each is a process; machines may have 2 cores).
const PARALLEL_CHECKS: usize = 2;

const USAGE: &str = "\
The exercise checker.

usage:
  cargo run -p exercises                       which exercises you have solved, and the next one's hint
  cargo run -p exercises -- check ID           check your attempt at one exercise
  cargo run -p exercises -- hint ID            show an exercise's hint
  cargo run -p exercises -- list               list the exercises
  cargo run -p exercises -- check ID --stub    (authors) check the committed stub; --solution likewise

ID is ch1/01, ch1/01_thread_result, or the exercise's folder.
Your attempts are exercises/attempts/chN_NN_slug.rs; delete one to start that exercise again.";

fn main() -> ExitCode {
    // Chapter 2's exercises start processes by re-executing this binary; `init()` is what makes such
    // a child run its function and exit. Nothing may come before it (it would run again in every
    // child), which is why the arguments are read only after it.
    multiprocessing::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[&str]) -> Result<ExitCode> {
    match args {
        [] | ["status"] => status(),
        ["list"] => Ok(list()),
        ["hint", id] => hint(id),
        ["check", id] => check(id, Variant::Attempt),
        ["check", id, "--stub"] => check(id, Variant::Stub),
        ["check", id, "--solution"] => check(id, Variant::Solution),
        ["__run", id, variant] => run_in_this_process(id, variant),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("I do not understand `{}`.\n\n{USAGE}", args.join(" ")),
    }
}

/// The child's side of every check (hidden: the checker and the tests start it).
fn run_in_this_process(id: &str, variant: &str) -> Result<ExitCode> {
    let exercise = exercises::find(id)?;
    let variant =
        Variant::parse(variant).with_context(|| format!("unknown variant `{variant}`"))?;
    Ok(runner::run_here(exercise, variant))
}

fn list() -> ExitCode {
    println!("{:<8} {:<7} {:<44} folder", "id", "chapter", "title");
    for exercise in EXERCISES {
        println!(
            "{:<8} {:<7} {:<44} {}",
            exercise.short_id(),
            exercise.chapter,
            exercise.title,
            exercise.folder()
        );
    }
    ExitCode::SUCCESS
}

fn hint(id: &str) -> Result<ExitCode> {
    let exercise = exercises::find(id)?;
    println!(
        "Hint for {} ({}):\n\n{}",
        exercise.short_id(),
        exercise.title,
        exercise.hint.trim_end()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(id: &str, variant: Variant) -> Result<ExitCode> {
    let exercise = exercises::find(id)?;
    let checked = match variant {
        Variant::Attempt => {
            if !exercise.attempt_path().exists() {
                create_attempt(exercise)?;
            }
            warn_if_stale(exercise);
            exercise.attempt_file()
        }
        Variant::Stub => format!("{}/stub.rs", exercise.folder()),
        Variant::Solution => format!("{}/solution.rs", exercise.folder()),
    };
    println!(
        "Checking {} ({}): {checked}, deadline {} s",
        exercise.short_id(),
        exercise.title,
        exercise.deadline_secs
    );
    let outcome = check_one(exercise, variant)?;
    println!("\n{}", outcome.explain());
    if outcome.is_solved() {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "\nEdit {checked} and check again; for a hint: cargo run -p exercises -- hint {}",
        exercise.short_id()
    );
    Ok(ExitCode::FAILURE)
}

fn check_one(exercise: &Exercise, variant: Variant) -> Result<Outcome> {
    let exe = std::env::current_exe().context("cannot find the checker's own executable")?;
    runner::check_in_child(&exe, exercise, variant, exercise.deadline())
        .with_context(|| format!("cannot run the check of {}", exercise.short_id()))
}

fn status() -> Result<ExitCode> {
    for exercise in EXERCISES.iter().filter(|e| !e.attempt_path().exists()) {
        create_attempt(exercise)?;
    }
    for exercise in EXERCISES {
        warn_if_stale(exercise);
    }
    println!(
        "\nChecking {} exercises, each in its own process with a deadline ({PARALLEL_CHECKS} at a time)...\n",
        EXERCISES.len()
    );
    let outcomes = check_all()?;
    print_table(&outcomes);
    let solved = outcomes.iter().filter(|o| o.is_solved()).count();
    println!("\n{solved} of {} solved.", EXERCISES.len());
    match EXERCISES
        .iter()
        .zip(&outcomes)
        .find(|(_, outcome)| !outcome.is_solved())
    {
        Some((next, outcome)) => print_next(next, outcome),
        None => println!("Every exercise is solved. Well done!"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks every attempt, [`PARALLEL_CHECKS`] at a time; the outcomes come back in exercise order.
fn check_all() -> Result<Vec<Outcome>> {
    let next_index = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    thread::scope(|scope| {
        for _ in 0..PARALLEL_CHECKS {
            let sender = sender.clone();
            let next_index = &next_index;
            scope.spawn(move || {
                loop {
                    let index = next_index.fetch_add(1, Ordering::Relaxed);
                    let Some(exercise) = EXERCISES.get(index) else {
                        break;
                    };
                    // The receiver outlives this scope, so the send cannot fail.
                    let _ = sender.send((index, check_one(exercise, Variant::Attempt)));
                }
            });
        }
    });
    // Every worker has finished and dropped its sender; drop ours so the iteration below ends.
    drop(sender);
    let mut results: Vec<(usize, Result<Outcome>)> = receiver.into_iter().collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

fn print_table(outcomes: &[Outcome]) {
    println!("  {:<24} {:<40} status", "exercise", "title");
    for (exercise, outcome) in EXERCISES.iter().zip(outcomes) {
        println!(
            "  {:<24} {:<40} {}",
            exercise.id(),
            exercise.title,
            outcome.summary()
        );
    }
}

fn print_next(exercise: &Exercise, outcome: &Outcome) {
    println!("\nNext: {} \"{}\"", exercise.short_id(), exercise.title);
    println!("  edit:  {}", exercise.attempt_file());
    println!(
        "  check: cargo run -p exercises -- check {}",
        exercise.short_id()
    );
    println!("\nWhat the check said:\n{}", outcome.explain());
    println!("\nHint:\n{}", exercise.hint.trim_end());
}

/// Starts an attempt: copies the stub into `exercises/attempts/`.
fn create_attempt(exercise: &Exercise) -> Result<()> {
    let path = exercise.attempt_path();
    let folder = exercises::workspace_root().join("exercises/attempts");
    fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    fs::write(&path, exercise.stub_source)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "Started {}: copied its stub to {} (edit that file).",
        exercise.short_id(),
        exercise.attempt_file()
    );
    Ok(())
}

/// Says so when an attempt changed after this checker was built, so its result would be stale.
fn warn_if_stale(exercise: &Exercise) {
    if !exercise.attempt_is_current() {
        eprintln!(
            "note: {} changed after this checker was built, so it checks the older version; \
             run the checker with `cargo run -p exercises`, which rebuilds it first",
            exercise.attempt_file()
        );
    }
}
