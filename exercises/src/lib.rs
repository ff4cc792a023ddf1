//! The exercises, and what the checker needs to build and run them.
//!
//! An exercise is a folder `exercises/chN/NN_slug/` holding a task (`stub.rs`), a reference answer
//! (`solution.rs`), one set of checks for both (`check.rs`), a hint (`hint.md`), its settings
//! (`exercise.toml`: title, chapter, deadline) and at least one committed wrong attempt
//! (`wrong_*.rs`, a realistic mistake). `build.rs` turns every folder into a module with a variant
//! per committed file, each compiling the same `check.rs` against different code, and lists them all
//! in [`EXERCISES`].
//!
//! Four decisions shape the crate:
//!
//! - **The committed stub stays a stub.** A reader edits a copy in `exercises/attempts/` (the checker
//!   makes it; git ignores it). The stub is then always the task as written, and the workspace tests
//!   can prove that every stub and every wrong attempt *fails* its checks next to every solution that
//!   passes them: a check that a wrong answer passes would be a check that proves nothing.
//! - **An attempt is compiled on its own, and only by the checker.** Nothing in this crate includes
//!   `exercises/attempts/`, so an attempt that does not compile cannot break the workspace's build
//!   or the check of another exercise. The checker builds each attempt as a small program of its own
//!   (see [`attempts`]), reusing the libraries already compiled for the checker.
//! - **Every check runs in a child process.** A concurrency exercise that goes wrong tends to hang
//!   (a lock never released, a channel never closed), not to crash. A thread that is stuck cannot be
//!   stopped from outside in Rust, or in any language with real OS threads; a process can be killed.
//!   So a check runs in a process of its own, killed at the exercise's deadline: the reader gets "it
//!   may be deadlocked" instead of a frozen terminal. The child also contains a panic, an abort or a
//!   stack overflow in the attempt. See [`runner`].
//! - **A result is remembered** (see [`cache`]) under everything that decides it: the attempt's
//!   text, the checks, the deadline and the build of the checker. The status of every exercise is
//!   then read from disk in a fraction of a second, and only what changed is checked again.

#![forbid(unsafe_code)]

use std::fmt;

pub mod attempts;
pub mod cache;
pub mod runner;
pub mod runtime;
pub mod support;

/// The generated modules, one per exercise folder (see `build.rs`).
///
/// Loading `check.rs` once per variant is the point, so clippy's `duplicate_mod` does not apply.
#[allow(clippy::duplicate_mod)]
pub mod catalog {
    include!(concat!(env!("OUT_DIR"), "/exercises.rs"));
}

pub use catalog::{EXERCISES, FIXTURES};

/// One exercise, as registered by its folder.
#[derive(Debug)]
pub struct Exercise {
    /// The chapter, from the `chN` folder (and `exercise.toml`, which must agree).
    pub chapter: u32,
    /// The number within the chapter, from the `NN_` prefix of the folder name.
    pub number: u32,
    /// The folder name, `NN_slug`.
    pub name: &'static str,
    /// The title, from `exercise.toml`.
    pub title: &'static str,
    /// The folder, relative to the workspace root (`exercises/ch1/01_thread_result`).
    pub folder: &'static str,
    /// How long the checks may run before the attempt counts as deadlocked.
    pub deadline_secs: u64,
    /// Whether `check.rs` declares `pub async fn check()`, run on a tokio runtime.
    pub is_async: bool,
    /// The contents of `hint.md`.
    pub hint: &'static str,
    /// The contents of `stub.rs` (copied to start an attempt).
    pub stub_source: &'static str,
    /// The checks compiled against `stub.rs`.
    pub stub: fn(),
    /// The checks compiled against `solution.rs`.
    pub solution: fn(),
    /// The committed wrong attempts, each with its checks.
    pub wrongs: &'static [Wrong],
}

/// A committed wrong attempt: a realistic mistake that the checks must reject.
#[derive(Debug)]
pub struct Wrong {
    /// The file stem, `wrong_one_lock_at_a_time`.
    pub name: &'static str,
    /// The mistake, from the first line of its `//!` header.
    pub title: &'static str,
    /// How the checks reject it, from its `//! Fails:` line.
    pub fails_by: FailsBy,
    /// The checks compiled against it.
    pub run: fn(),
}

/// How a wrong attempt is expected to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailsBy {
    /// An assertion (or the code under test) panics.
    Panic,
    /// It never finishes and the checker kills it at the deadline.
    Deadline,
}

/// Which committed code a check runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The committed stub.
    Stub,
    /// The reference solution.
    Solution,
    /// The wrong attempt at this index of [`Exercise::wrongs`].
    Wrong(usize),
}

impl Exercise {
    /// The full id, `ch1/01_thread_result`.
    pub fn id(&self) -> String {
        format!("ch{}/{}", self.chapter, self.name)
    }

    /// The short id a reader types, `ch1/01`.
    pub fn short_id(&self) -> String {
        format!("ch{}/{:02}", self.chapter, self.number)
    }

    /// The module name, also the attempt's file stem: `ch1_01_thread_result`.
    pub fn module(&self) -> String {
        format!("ch{}_{}", self.chapter, self.name)
    }

    /// The deadline as a [`std::time::Duration`].
    pub fn deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.deadline_secs)
    }

    /// Every committed variant: the stub, the solution, then each wrong attempt.
    pub fn variants(&self) -> impl Iterator<Item = Variant> {
        [Variant::Stub, Variant::Solution]
            .into_iter()
            .chain((0..self.wrongs.len()).map(Variant::Wrong))
    }

    /// The name of `variant` on the command line: `stub`, `solution`, or the wrong attempt's stem.
    pub fn variant_name(&self, variant: Variant) -> &'static str {
        match variant {
            Variant::Stub => "stub",
            Variant::Solution => "solution",
            Variant::Wrong(index) => self.wrongs[index].name,
        }
    }

    /// The variant called `name` (see [`Exercise::variant_name`]).
    pub fn variant_named(&self, name: &str) -> Option<Variant> {
        self.variants().find(|v| self.variant_name(*v) == name)
    }

    /// The checks compiled against `variant`.
    pub fn check_fn(&self, variant: Variant) -> fn() {
        match variant {
            Variant::Stub => self.stub,
            Variant::Solution => self.solution,
            Variant::Wrong(index) => self.wrongs[index].run,
        }
    }

    /// The file of `variant`, relative to the workspace root.
    pub fn variant_file(&self, variant: Variant) -> String {
        format!("{}/{}.rs", self.folder, self.variant_name(variant))
    }
}

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> &'static std::path::Path {
    std::path::Path::new(attempts::facts::WORKSPACE_ROOT)
}

/// An id that names no exercise, or more than one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownExercise {
    /// What the reader typed.
    pub query: String,
}

impl fmt::Display for UnknownExercise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no exercise matches `{}`; the exercises are:",
            self.query
        )?;
        for exercise in EXERCISES {
            write!(f, "\n  {:<8} {}", exercise.short_id(), exercise.title)?;
        }
        write!(f, "\n(write ch1/01 or ch1/01_slug; `list` shows them all)")
    }
}

impl std::error::Error for UnknownExercise {}

/// Finds an exercise by `ch1/01`, `ch1/1`, `ch1/01_thread_result`, or its folder path
/// (`exercises/ch1/01_thread_result/`, as a shell completes it).
pub fn find(query: &str) -> Result<&'static Exercise, UnknownExercise> {
    find_in(EXERCISES, query)
}

/// [`find`] over any list of exercises ([`FIXTURES`], in the tests).
pub fn find_in<'a>(
    exercises: &'a [Exercise],
    query: &str,
) -> Result<&'a Exercise, UnknownExercise> {
    let unknown = || UnknownExercise {
        query: query.to_owned(),
    };
    let (chapter, number, slug) = parse_id(query).ok_or_else(unknown)?;
    exercises
        .iter()
        .find(|e| {
            e.chapter == chapter && e.number == number && slug.is_none_or(|slug| e.name == slug)
        })
        .ok_or_else(unknown)
}

/// Splits `ch1/01_thread_result` into `(1, 1, Some("01_thread_result"))`; `ch1/01` into `(1, 1, None)`.
fn parse_id(query: &str) -> Option<(u32, u32, Option<&str>)> {
    let query = query.trim().trim_end_matches('/');
    let query = query.strip_prefix("./").unwrap_or(query);
    let query = query.strip_prefix("exercises/").unwrap_or(query);
    let query = query.strip_prefix("tests/fixtures/").unwrap_or(query);
    let (chapter, exercise) = query.split_once('/')?;
    let chapter = chapter.strip_prefix("ch")?.parse().ok()?;
    let (number, slug) = match exercise.split_once('_') {
        Some((number, _)) => (number, Some(exercise)),
        None => (exercise, None),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((chapter, number.parse().ok()?, slug))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_every_documented_form() {
        assert_eq!(parse_id("ch1/01"), Some((1, 1, None)));
        assert_eq!(parse_id("ch1/1"), Some((1, 1, None)));
        assert_eq!(parse_id("ch12/07_slug"), Some((12, 7, Some("07_slug"))));
        assert_eq!(
            parse_id("exercises/ch2/03_pool/"),
            Some((2, 3, Some("03_pool")))
        );
        assert_eq!(
            parse_id("./exercises/ch2/03_pool"),
            Some((2, 3, Some("03_pool")))
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "ch1",
            "1/01",
            "chx/01",
            "ch1/",
            "ch1/x1",
            "ch1/_slug",
            "ch1/01/extra_x",
        ] {
            assert_eq!(parse_id(bad), None, "`{bad}` should not parse");
        }
    }

    #[test]
    fn find_checks_the_slug_when_one_is_given() {
        let first = &EXERCISES[0];
        assert_eq!(find(&first.short_id()).map(Exercise::id), Ok(first.id()));
        assert_eq!(find(&first.id()).map(Exercise::id), Ok(first.id()));
        let wrong_slug = format!("ch{}/{:02}_not_this_one", first.chapter, first.number);
        let error = find(&wrong_slug).expect_err("a wrong slug must not match");
        assert!(
            error.to_string().contains(&first.short_id()),
            "the error lists the exercises: {error}"
        );
    }

    #[test]
    fn variants_round_trip_through_their_names() {
        for exercise in EXERCISES.iter().chain(FIXTURES) {
            for variant in exercise.variants() {
                let name = exercise.variant_name(variant);
                assert_eq!(exercise.variant_named(name), Some(variant), "{name}");
            }
            assert_eq!(exercise.variant_named("stubb"), None);
        }
    }

    #[test]
    fn nothing_compiled_into_the_crate_comes_from_the_attempts_folder() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/exercises.rs"));
        assert!(
            !generated.contains("exercises/attempts"),
            "the generated registry must not include the reader's attempts"
        );
    }

    #[test]
    fn fixtures_are_not_exercises() {
        for fixture in FIXTURES {
            assert!(
                find(&fixture.short_id()).is_err(),
                "the fixture {} must not be found among the reader's exercises",
                fixture.id()
            );
        }
    }
}
