//! The exercises, and what the checker needs to run them.
//!
//! An exercise is a folder `exercises/chN/NN_slug/` holding a task (`stub.rs`), a reference answer
//! (`solution.rs`), one set of checks for both (`check.rs`), a hint (`hint.md`) and its settings
//! (`exercise.toml`: title, chapter, deadline). `build.rs` turns every folder into a module with three
//! variants, `stub`, `solution` and `attempt`, each compiling the same `check.rs` against different
//! code, and lists them all in [`EXERCISES`].
//!
//! Three decisions shape the crate:
//!
//! - **The committed stub stays a stub.** A reader edits a copy in `exercises/attempts/` (the checker
//!   makes it; git ignores it). The stub is then always the task as written, and the workspace tests
//!   can prove that every stub *fails* its checks next to every solution that passes them: a check
//!   that a stub passes would be a check that proves nothing.
//! - **Every check runs in a child process.** A concurrency exercise that goes wrong tends to hang
//!   (a lock never released, a channel never closed), not to crash. A thread that is stuck cannot be
//!   stopped from outside in Rust, or in any language with real OS threads; a process can be killed.
//!   So the checker re-executes itself (`exercises __run <id> <variant>`) and kills that child at the
//!   exercise's deadline: the reader gets "it may be deadlocked" instead of a frozen terminal. The
//!   child also contains a panic, an abort or a stack overflow in the attempt. See [`runner`].
//! - **Deadlines are per exercise**, set in `exercise.toml`, short enough that a deadlocked attempt
//!   is reported quickly and long enough for a slow debug build to finish the real work.
//!
//! A consequence of compiling the attempt into the crate: while an attempt does not compile, neither
//! does the checker, and cargo shows the compiler's errors. That is the first check.

#![forbid(unsafe_code)]

use std::fmt;
use std::path::{Path, PathBuf};

pub mod runner;

/// The generated modules, one per exercise folder (see `build.rs`).
///
/// Loading `check.rs` once per variant (and the stub twice while there is no attempt) is the point,
/// so clippy's `duplicate_mod` does not apply here.
#[allow(clippy::duplicate_mod)]
pub mod catalog {
    include!(concat!(env!("OUT_DIR"), "/exercises.rs"));
}

pub use catalog::EXERCISES;

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
    /// How long the checks may run before the attempt counts as deadlocked.
    pub deadline_secs: u64,
    /// The contents of `hint.md`.
    pub hint: &'static str,
    /// The contents of `stub.rs` (copied to start an attempt).
    pub stub_source: &'static str,
    /// The attempt compiled into this build, or `None` when there was none and the stub stood in.
    pub attempt_source: Option<&'static str>,
    /// The check function of each variant.
    pub checks: Checks,
}

/// The `check()` of one exercise, compiled against each variant of the code under test.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Against `stub.rs`.
    pub stub: fn(),
    /// Against `solution.rs`.
    pub solution: fn(),
    /// Against the reader's attempt (or the stub, when there is no attempt).
    pub attempt: fn(),
}

/// Which code a check runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The committed stub.
    Stub,
    /// The reference solution.
    Solution,
    /// The reader's attempt.
    Attempt,
}

impl Variant {
    /// All variants, in the order the tests mention them.
    pub const ALL: [Variant; 3] = [Variant::Stub, Variant::Solution, Variant::Attempt];

    /// The name used on the command line (`stub`, `solution`, `attempt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Stub => "stub",
            Variant::Solution => "solution",
            Variant::Attempt => "attempt",
        }
    }

    /// Parses a name produced by [`Variant::as_str`].
    pub fn parse(text: &str) -> Option<Variant> {
        Variant::ALL
            .into_iter()
            .find(|variant| variant.as_str() == text)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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

    /// The exercise's folder, relative to the workspace root.
    pub fn folder(&self) -> String {
        format!("exercises/ch{}/{}", self.chapter, self.name)
    }

    /// The reader's attempt, relative to the workspace root.
    pub fn attempt_file(&self) -> String {
        format!("exercises/attempts/ch{}_{}.rs", self.chapter, self.name)
    }

    /// The reader's attempt, as an absolute path.
    pub fn attempt_path(&self) -> PathBuf {
        workspace_root().join(self.attempt_file())
    }

    /// The check function compiled against `variant`.
    pub fn check_fn(&self, variant: Variant) -> fn() {
        match variant {
            Variant::Stub => self.checks.stub,
            Variant::Solution => self.checks.solution,
            Variant::Attempt => self.checks.attempt,
        }
    }

    /// The deadline as a [`std::time::Duration`].
    pub fn deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.deadline_secs)
    }

    /// Whether the attempt file on disk is what this build compiled (so a result is not stale).
    ///
    /// A missing file counts as current when the build had none either (the stub stood in).
    pub fn attempt_is_current(&self) -> bool {
        match std::fs::read_to_string(self.attempt_path()) {
            Ok(on_disk) => on_disk == self.attempt_source.unwrap_or(self.stub_source),
            Err(_) => self.attempt_source.is_none(),
        }
    }
}

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> &'static Path {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir)
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

/// [`find`] over any list of exercises (the tests use it with their own lists).
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
        for variant in Variant::ALL {
            assert_eq!(Variant::parse(variant.as_str()), Some(variant));
        }
        assert_eq!(Variant::parse("stubb"), None);
    }
}
