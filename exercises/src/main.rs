//! The exercise checker: `cargo run -p exercises`.
//!
//! ```text
//! cargo run -p exercises                      status: which exercises are solved, and the next one
//! cargo run -p exercises -- check ch1/01      check one attempt (ch1/01, ch1/01_slug or its folder)
//! cargo run -p exercises -- hint ch1/01       show its hint
//! cargo run -p exercises -- list              list the exercises
//! ```
//!
//! The status copies any missing attempt from its stub, reports an attempt that is still the stub
//! as "not started" without running it, takes every other result from what it remembers (see
//! `exercises::cache`) unless the attempt changed, and builds and checks only the changed ones: one
//! cargo build for all of them (each attempt its own program, see `exercises::attempts`), then the
//! checks, a few at a time, each in its own process with the exercise's deadline.
//!
//! `check ID --stub`, `--solution` and `--wrong` check the committed files instead of the attempt
//! (for authors of exercises); they run inside this program, `exercises __run <id> <variant>`.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::thread;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use exercises::attempts::{Attempts, Built};
use exercises::cache::{self, Cache};
use exercises::runner::{self, Outcome};
use exercises::{EXERCISES, Exercise, FIXTURES, FailsBy, Variant};

/// The environment variable naming another attempts folder (the tests use a temporary one).
const ATTEMPTS_ENV: &str = "EXERCISES_ATTEMPTS";
/// The environment variable that makes `check` and `hint` find the machinery's test fixtures.
const FIXTURES_ENV: &str = "EXERCISES_FIXTURES";

/// The exercise checker.
#[derive(Parser)]
#[command(
    name = "exercises",
    about = "The exercise checker: which exercises you have solved, and the next one's hint.",
    after_help = "ID is ch1/01, ch1/01_thread_result, or the exercise's folder.\n\
                  Your attempts are exercises/attempts/chN_NN_slug.rs; delete one to start that \
                  exercise again."
)]
struct Cli {
    /// Where your attempts are [default: exercises/attempts, or $EXERCISES_ATTEMPTS].
    #[arg(long, global = true, value_name = "DIR")]
    attempts: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Which exercises you have solved, and the next one's hint (what runs with no command).
    Status,
    /// Check your attempt at one exercise.
    Check {
        /// The exercise: ch1/01, ch1/01_thread_result, or its folder.
        id: String,
        #[command(flatten)]
        committed: Committed,
    },
    /// Show an exercise's hint.
    Hint {
        /// The exercise.
        id: String,
    },
    /// List the exercises.
    List,
    /// Runs one committed variant's check in this process (the checker and the tests start it).
    #[command(name = "__run", hide = true)]
    Run {
        /// The exercise's full id.
        id: String,
        /// `stub`, `solution` or a wrong attempt's name.
        variant: String,
    },
}

/// For authors: check committed code instead of the attempt.
#[derive(Args)]
#[group(multiple = false)]
struct Committed {
    /// (authors) Check the committed stub: it must fail.
    #[arg(long)]
    stub: bool,
    /// (authors) Check the reference solution: it must pass.
    #[arg(long)]
    solution: bool,
    /// (authors) Check the committed wrong attempts, or the one named: each must fail as declared.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    wrong: Option<String>,
}

fn main() -> ExitCode {
    // Chapter 2's exercises start processes by re-executing this binary; `init()` is what makes such
    // a child run its function and exit. Nothing may come before it (it would run again in every
    // child), which is why the arguments are read only after it.
    multiprocessing::init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dir = cli
        .attempts
        .or_else(|| std::env::var_os(ATTEMPTS_ENV).map(PathBuf::from))
        .unwrap_or_else(Attempts::default_dir);
    let exe = std::env::current_exe().context("cannot find the checker's own executable")?;
    let attempts = Attempts::new(dir, &exe);
    match cli.command.unwrap_or(Command::Status) {
        Command::Status => status(&attempts, &exe),
        Command::List => Ok(list()),
        Command::Hint { id } => hint(&id),
        Command::Check { id, committed } => {
            let exercise = find(&id)?;
            if committed.stub {
                check_committed(&exe, exercise, &[Variant::Stub])
            } else if committed.solution {
                check_committed(&exe, exercise, &[Variant::Solution])
            } else if let Some(name) = committed.wrong {
                check_committed(&exe, exercise, &wrong_variants(exercise, &name)?)
            } else {
                check_attempt(&attempts, &exe, exercise)
            }
        }
        Command::Run { id, variant } => {
            let exercise = exercises::find_in(EXERCISES, &id)
                .or_else(|_| exercises::find_in(FIXTURES, &id))?;
            let variant = exercise
                .variant_named(&variant)
                .with_context(|| format!("{} has no variant `{variant}`", exercise.id()))?;
            Ok(runner::run_here(exercise.check_fn(variant)))
        }
    }
}

/// The exercise named `id`; the fixtures too when `EXERCISES_FIXTURES=1` (the tests).
fn find(id: &str) -> Result<&'static Exercise> {
    let with_fixtures = std::env::var_os(FIXTURES_ENV).is_some_and(|v| v == "1");
    match exercises::find(id) {
        Ok(exercise) => Ok(exercise),
        Err(_) if with_fixtures => Ok(exercises::find_in(FIXTURES, id)?),
        Err(unknown) => Err(unknown.into()),
    }
}

fn wrong_variants(exercise: &Exercise, name: &str) -> Result<Vec<Variant>> {
    if name.is_empty() {
        return Ok((0..exercise.wrongs.len()).map(Variant::Wrong).collect());
    }
    match exercise.variant_named(name) {
        Some(variant @ Variant::Wrong(_)) => Ok(vec![variant]),
        _ => {
            let names: Vec<&str> = exercise.wrongs.iter().map(|w| w.name).collect();
            bail!(
                "{} has no wrong attempt `{name}`; it has: {}",
                exercise.short_id(),
                names.join(", ")
            )
        }
    }
}

fn list() -> ExitCode {
    println!("{:<8} {:<7} {:<66} folder", "id", "chapter", "title");
    for exercise in EXERCISES {
        println!(
            "{:<8} {:<7} {:<66} {}",
            exercise.short_id(),
            exercise.chapter,
            exercise.title,
            exercise.folder
        );
    }
    ExitCode::SUCCESS
}

fn hint(id: &str) -> Result<ExitCode> {
    let exercise = find(id)?;
    println!(
        "Hint for {} ({}):\n\n{}",
        exercise.short_id(),
        exercise.title,
        exercise.hint.trim_end()
    );
    Ok(ExitCode::SUCCESS)
}

/// `check ID`: builds and checks the attempt, always (a remembered result is not reused), and
/// remembers the result for the status.
fn check_attempt(attempts: &Attempts, exe: &Path, exercise: &'static Exercise) -> Result<ExitCode> {
    let path = attempts.path(exercise);
    if attempts.start(exercise)? {
        println!(
            "Started {}: copied its stub to {}.",
            exercise.short_id(),
            attempts.show(&path)
        );
    }
    let shown = attempts.show(&path);
    println!(
        "Checking {} ({}): {shown}, deadline {} s",
        exercise.short_id(),
        exercise.title,
        exercise.deadline_secs
    );
    let text = read_attempt(&path)?;
    let key = cache::key(exercise, &text, &cache::checker_identity(exe));
    let outcome = check_changed(attempts, &[exercise])?
        .pop()
        .expect("one exercise, one outcome");
    remember(attempts, exercise, key, &outcome);
    println!("\n{}", outcome.explain());
    if outcome.is_solved() {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "\nEdit {shown} and check again; for a hint: cargo run -p exercises -- hint {}",
        exercise.short_id()
    );
    Ok(ExitCode::FAILURE)
}

/// `check ID --stub/--solution/--wrong`: runs committed code, in this program, and says whether
/// each did what it must (the stub and the wrong attempts fail, the solution passes).
fn check_committed(exe: &Path, exercise: &Exercise, variants: &[Variant]) -> Result<ExitCode> {
    let mut all_as_expected = true;
    for &variant in variants {
        let file = exercise.variant_file(variant);
        println!(
            "Checking {} ({}): {file}, deadline {} s",
            exercise.short_id(),
            exercise.title,
            exercise.deadline_secs
        );
        let command = runner::variant_command(exe, exercise, variant);
        let outcome = runner::run_check(command, exercise.deadline())
            .with_context(|| format!("cannot run the check of {file}"))?;
        let (as_expected, expectation) = match variant {
            Variant::Solution => (outcome.is_solved(), "it must pass"),
            Variant::Stub => (!outcome.is_solved(), "it must fail"),
            Variant::Wrong(index) => match exercise.wrongs[index].fails_by {
                FailsBy::Panic => (
                    matches!(outcome, Outcome::Failed { .. }),
                    "it must fail by a panic",
                ),
                FailsBy::Deadline => (
                    matches!(outcome, Outcome::TimedOut { .. }),
                    "it must fail at the deadline",
                ),
            },
        };
        all_as_expected &= as_expected;
        let verdict = if as_expected { "as it should" } else { "WRONG" };
        println!("\n{}\n({expectation}: {verdict})\n", outcome.explain());
    }
    Ok(if all_as_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn read_attempt(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn remember(attempts: &Attempts, exercise: &Exercise, key: u64, outcome: &Outcome) {
    if let Err(error) = Cache::new(attempts.results_dir()).store(exercise, key, outcome) {
        eprintln!(
            "note: could not remember the result of {}: {error}",
            exercise.short_id()
        );
    }
}

/// How a status row was decided.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    NotStarted,
    Remembered,
    CheckedNow,
}

fn status(attempts: &Attempts, exe: &Path) -> Result<ExitCode> {
    let mut started = 0;
    for exercise in EXERCISES {
        started += usize::from(attempts.start(exercise)?);
    }
    if started > 0 {
        println!(
            "Started {started} exercises: copied their stubs to {}/ (edit the files there).",
            attempts.show(&attempts.dir)
        );
    }
    let identity = cache::checker_identity(exe);
    let remembered = Cache::new(attempts.results_dir());
    let mut rows: Vec<(Outcome, Source)> = Vec::new();
    let mut changed: Vec<(&'static Exercise, u64)> = Vec::new();
    for exercise in EXERCISES {
        let text = read_attempt(&attempts.path(exercise))?;
        let key = cache::key(exercise, &text, &identity);
        let row = if text == exercise.stub_source {
            (Outcome::NotStarted, Source::NotStarted)
        } else if let Some(outcome) = remembered.load(exercise, key) {
            (outcome, Source::Remembered)
        } else {
            changed.push((exercise, key));
            (Outcome::NotStarted, Source::CheckedNow)
        };
        rows.push(row);
    }
    if !changed.is_empty() {
        println!(
            "Checking {} (each built on its own, then run with its deadline)...",
            plural(changed.len(), "changed attempt")
        );
        let to_check: Vec<&Exercise> = changed.iter().map(|(e, _)| *e).collect();
        let outcomes = check_changed(attempts, &to_check)?;
        for ((exercise, key), outcome) in changed.iter().zip(outcomes) {
            remember(attempts, exercise, *key, &outcome);
            let index = EXERCISES
                .iter()
                .position(|e| std::ptr::eq(e, *exercise))
                .expect("it came from EXERCISES");
            rows[index].0 = outcome;
        }
    }
    print_table(&rows);
    // Next: the first exercise you have started and not solved yet, else the first not started.
    let unsolved = || {
        EXERCISES
            .iter()
            .zip(&rows)
            .filter(|(_, (o, _))| !o.is_solved())
    };
    let next = unsolved()
        .find(|(_, (o, _))| *o != Outcome::NotStarted)
        .or_else(|| unsolved().next());
    match next {
        Some((exercise, (outcome, _))) => print_next(attempts, exercise, outcome),
        None => println!("Every exercise is solved. Well done!"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(rows: &[(Outcome, Source)]) {
    println!("\n  {:<7} {:<66} status", "id", "title");
    for (exercise, (outcome, _)) in EXERCISES.iter().zip(rows) {
        println!(
            "  {:<7} {:<66} {}",
            exercise.short_id(),
            exercise.title,
            outcome.summary()
        );
    }
    let count = |source| rows.iter().filter(|(_, s)| *s == source).count();
    let solved = rows.iter().filter(|(o, _)| o.is_solved()).count();
    println!(
        "\n{solved} of {} solved (checked now: {}; remembered: {}; not started: {}).",
        rows.len(),
        count(Source::CheckedNow),
        count(Source::Remembered),
        count(Source::NotStarted),
    );
}

fn print_next(attempts: &Attempts, exercise: &Exercise, outcome: &Outcome) {
    println!("\nNext: {} \"{}\"", exercise.short_id(), exercise.title);
    println!("  edit:  {}", attempts.show(&attempts.path(exercise)));
    println!(
        "  check: cargo run -p exercises -- check {}",
        exercise.short_id()
    );
    println!("\nWhat the check said:\n{}", outcome.explain());
    println!("\nHint:\n{}", exercise.hint.trim_end());
}

/// Builds the attempts of `exercises` (one cargo run) and checks each one that compiled, a few at
/// a time; the outcomes come back in the order of `exercises`.
fn check_changed(attempts: &Attempts, exercises: &[&'static Exercise]) -> Result<Vec<Outcome>> {
    let all: Vec<&Exercise> = EXERCISES.iter().chain(FIXTURES).collect();
    let notes = |line: &str| eprintln!("note: {line}");
    let (built, report) = attempts.build(&all, exercises, &notes)?;
    println!(
        "Built {} in {:.1} s.",
        plural(exercises.len(), "attempt"),
        report.elapsed.as_secs_f64()
    );
    if !report.compiled_others.is_empty() {
        eprintln!(
            "note: cargo also compiled {} for the attempts' programs ({}): they are compiled once \
             for them, the first time or after they change, and reused after that",
            plural(report.compiled_others.len(), "crate"),
            report.compiled_others.join(", ")
        );
    }
    let jobs: Vec<(usize, &Exercise, &Built)> = exercises
        .iter()
        .enumerate()
        .map(|(index, exercise)| (index, *exercise, &built[&exercise.module()]))
        .collect();
    let outcomes: Mutex<Vec<Option<Result<Outcome>>>> =
        Mutex::new((0..exercises.len()).map(|_| None).collect());
    let queue = Mutex::new(jobs.into_iter());
    let workers = thread::available_parallelism().map_or(2, |n| n.get().min(4));
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some((index, exercise, built)) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let outcome = run_built(exercise, built);
                    outcomes.lock().unwrap()[index] = Some(outcome);
                }
            });
        }
    });
    outcomes
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|outcome| outcome.expect("every job ran"))
        .collect()
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn run_built(exercise: &Exercise, built: &Built) -> Result<Outcome> {
    match built {
        Built::DoesNotCompile(errors) => Ok(Outcome::DoesNotCompile {
            errors: errors.clone(),
        }),
        Built::Program(program) => {
            runner::run_check(std::process::Command::new(program), exercise.deadline())
                .with_context(|| format!("cannot run the check of {}", exercise.short_id()))
        }
    }
}
