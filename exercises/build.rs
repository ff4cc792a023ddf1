//! Registers the exercises: every folder `exercises/chN/NN_slug/` becomes a module of the crate.
//!
//! The folder *is* the registration, so adding an exercise never means editing a list that can drift
//! out of date. For each folder this script checks `exercise.toml` and the other files, then writes
//! (into `OUT_DIR/exercises.rs`, included by `src/lib.rs`) one module with a variant per committed
//! piece of code:
//!
//! - `stub`: the committed `stub.rs`, which must fail its checks;
//! - `solution`: the reference `solution.rs`, which must pass them;
//! - `wrong_*`: each committed wrong attempt (`wrong_*.rs`, a realistic mistake), which must fail.
//!
//! Each variant is `pub mod imp` (the code under test, by `#[path]`) plus `pub mod check` (the shared
//! `check.rs`, which calls `super::imp`), so one set of checks is compiled against all of them.
//!
//! **The reader's attempts are not compiled here**, nor watched: an attempt that does not compile
//! must never break the build of this crate, of the workspace, or the check of another exercise.
//! The checker builds each attempt on its own, in a package it generates (see `src/attempts.rs`);
//! for that it needs a few facts from the workspace's manifests, which this script also writes
//! (`OUT_DIR/workspace_facts.rs`, see `build/manifest.rs`).
//!
//! Folders under `tests/fixtures/chN/` are registered the same way but listed apart (`FIXTURES`):
//! they exist for the machinery's own tests (an async exercise, for one) and readers never see them.
//!
//! A mistake in a folder stops the build with a message that names the folder and the problem: a
//! half-registered exercise would otherwise be skipped silently by the tests that prove it works.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[path = "build/generate.rs"]
mod generate;
#[path = "build/manifest.rs"]
mod manifest;

/// The files every exercise folder must contain, besides `exercise.toml` and its wrong attempts.
const REQUIRED_FILES: [&str; 4] = ["stub.rs", "solution.rs", "check.rs", "hint.md"];

/// Upper bound for `deadline_secs`: a check that needs longer is too slow for a reader to iterate on.
const MAX_DEADLINE_SECS: u64 = 300;

/// `exercise.toml`, as written by the author of an exercise.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseToml {
    title: String,
    chapter: u32,
    deadline_secs: u64,
}

/// How a committed wrong attempt is expected to fail, from its `//! Fails:` line.
#[derive(Clone, Copy)]
enum FailsBy {
    Panic,
    Deadline,
}

/// One committed wrong attempt, `wrong_<slug>.rs`.
struct WrongAttempt {
    /// The file stem, `wrong_one_lock_at_a_time`, which is also its module name.
    name: String,
    /// The first line of its `//!` header, without the `# `.
    title: String,
    fails_by: FailsBy,
    path: PathBuf,
}

/// One exercise folder, checked.
struct Found {
    chapter: u32,
    number: u32,
    /// The folder's name, `NN_slug`.
    name: String,
    folder: PathBuf,
    /// The folder relative to the workspace root, `exercises/ch1/01_thread_result`.
    relative_folder: String,
    config: ExerciseToml,
    /// Whether `check.rs` declares `pub async fn check()`.
    is_async: bool,
    wrongs: Vec<WrongAttempt>,
}

impl Found {
    /// The Rust module name: `ch1_01_thread_result`.
    fn module(&self) -> String {
        format!("ch{}_{}", self.chapter, self.name)
    }
}

fn main() {
    let crate_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let workspace = crate_dir
        .parent()
        .expect("the exercises crate lives inside the workspace")
        .to_path_buf();
    let fixtures_dir = crate_dir.join("tests/fixtures");

    let exercises = find_exercises(&workspace, &crate_dir);
    let fixtures = if fixtures_dir.is_dir() {
        find_exercises(&workspace, &fixtures_dir)
    } else {
        Vec::new()
    };
    // Watch only what registers exercises: cargo scans a watched directory recursively, so a new
    // exercise, a new wrong attempt or an edited `exercise.toml` re-runs this script (edits inside
    // `.rs` files are tracked by rustc itself). The crate's folder as a whole is deliberately not
    // watched: it holds `attempts/`, and a re-run would rebuild the checker at every edit of an
    // attempt. The price: a new *chapter* folder is noticed only once this script runs again
    // (`touch exercises/build.rs`); `tests/checker.rs` says so when it finds one unregistered.
    for chapter_dir in chapter_dirs(&crate_dir) {
        println!("cargo::rerun-if-changed={}", chapter_dir.display());
    }
    println!("cargo::rerun-if-changed={}", fixtures_dir.display());

    // The checker builds attempts for the target it was built for (see src/attempts.rs).
    let triple = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo::rustc-env=EXERCISES_TARGET_TRIPLE={triple}");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    write(
        &out_dir.join("exercises.rs"),
        &generate::registry(&exercises, &fixtures),
    );
    write(
        &out_dir.join("workspace_facts.rs"),
        &manifest::workspace_facts(&workspace),
    );
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The `chN` folders directly inside `dir`.
fn chapter_dirs(dir: &Path) -> Vec<PathBuf> {
    sorted_dirs(dir)
        .into_iter()
        .filter(|d| chapter_number(d).is_some())
        .collect()
}

/// Every `chN/NN_slug/` folder under `root`, validated, sorted by chapter then number.
fn find_exercises(workspace: &Path, root: &Path) -> Vec<Found> {
    let mut found = BTreeMap::new();
    for chapter_dir in chapter_dirs(root) {
        let chapter = chapter_number(&chapter_dir).expect("filtered by chapter_dirs");
        for folder in sorted_dirs(&chapter_dir) {
            let exercise = read_exercise(workspace, chapter, &folder);
            let key = (exercise.chapter, exercise.number);
            if let Some(other) = found.insert(key, exercise) {
                fail(
                    &folder,
                    &format!(
                        "number {:02} is already used by ch{}/{}",
                        key.1, key.0, other.name
                    ),
                );
            }
        }
    }
    found.into_values().collect()
}

/// The subdirectories of `dir`, sorted by name (an unreadable directory stops the build).
fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = entries(dir).into_iter().filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path()
        })
        .collect()
}

/// `ch12` → `Some(12)`; any other folder name (`src`, `tests`, `attempts`) → `None`.
fn chapter_number(dir: &Path) -> Option<u32> {
    let name = dir.file_name()?.to_str()?;
    let digits = name.strip_prefix("ch")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads and validates one exercise folder; any problem stops the build with a clear message.
fn read_exercise(workspace: &Path, chapter: u32, folder: &Path) -> Found {
    let name = utf8_name(folder);
    let number = parse_folder_name(&name).unwrap_or_else(|problem| fail(folder, &problem));
    let text = fs::read_to_string(folder.join("exercise.toml")).unwrap_or_else(|e| {
        fail(
            folder,
            &format!("cannot read exercise.toml ({e}); every exercise needs one"),
        )
    });
    let config: ExerciseToml = toml::from_str(&text)
        .unwrap_or_else(|e| fail(folder, &format!("exercise.toml is not valid: {e}")));
    validate(folder, chapter, &config);
    for file in REQUIRED_FILES {
        if !folder.join(file).is_file() {
            fail(
                folder,
                &format!(
                    "{file} is missing (an exercise needs {}, and at least one wrong_*.rs)",
                    REQUIRED_FILES.join(", ")
                ),
            );
        }
    }
    if read(folder, "hint.md").trim().is_empty() {
        fail(folder, "hint.md is empty");
    }
    let is_async = check_is_async(folder, &read(folder, "check.rs"));
    let wrongs = wrong_attempts(folder);
    let relative_folder = folder
        .strip_prefix(workspace)
        .unwrap_or(folder)
        .to_str()
        .unwrap_or_else(|| fail(folder, "the path is not valid UTF-8"))
        .to_owned();
    Found {
        chapter,
        number,
        name,
        folder: folder.to_path_buf(),
        relative_folder,
        config,
        is_async,
        wrongs,
    }
}

fn read(folder: &Path, file: &str) -> String {
    fs::read_to_string(folder.join(file))
        .unwrap_or_else(|e| fail(folder, &format!("cannot read {file}: {e}")))
}

/// Whether `check.rs` declares `pub async fn check()` (run on a tokio runtime) or `pub fn check()`.
fn check_is_async(folder: &Path, check: &str) -> bool {
    let declares = |signature: &str| check.lines().any(|line| line.trim_start() == signature);
    match (
        declares("pub fn check() {"),
        declares("pub async fn check() {"),
    ) {
        (true, false) => false,
        (false, true) => true,
        _ => fail(
            folder,
            "check.rs must declare exactly one `pub fn check() {` or `pub async fn check() {` \
             (on a line of its own)",
        ),
    }
}

/// The folder's `wrong_*.rs` files, each with its title and its `//! Fails:` line; at least one.
fn wrong_attempts(folder: &Path) -> Vec<WrongAttempt> {
    let mut wrongs: Vec<WrongAttempt> = entries(folder)
        .into_iter()
        .filter(|path| path.is_file())
        .filter_map(|path| {
            let stem = path.file_stem()?.to_str()?.to_owned();
            let is_wrong = stem.starts_with("wrong_") && path.extension()? == "rs";
            is_wrong.then(|| read_wrong_attempt(folder, stem, path.clone()))
        })
        .collect();
    if wrongs.is_empty() {
        fail(
            folder,
            "there is no wrong attempt: add at least one `wrong_<mistake>.rs`, a realistic \
             mistake that the checks must reject",
        );
    }
    wrongs.sort_by(|a, b| a.name.cmp(&b.name));
    wrongs
}

fn read_wrong_attempt(folder: &Path, name: String, path: PathBuf) -> WrongAttempt {
    let file = format!("{name}.rs");
    let slug_ok = name["wrong_".len()..]
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if name.len() == "wrong_".len() || !slug_ok {
        fail(
            folder,
            &format!("{file}: a wrong attempt is named `wrong_<slug>.rs`, the slug in a-z, 0-9, _"),
        );
    }
    let text = read(folder, &file);
    let title = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("//! # "))
        .unwrap_or_else(|| {
            fail(
                folder,
                &format!("{file} must start with a `//! # ` title naming the mistake"),
            )
        })
        .to_owned();
    let fails: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("//! Fails: "))
        .collect();
    let fails_by = match fails.as_slice() {
        [how] if how.starts_with("by a panic") => FailsBy::Panic,
        [how] if how.starts_with("at the deadline") => FailsBy::Deadline,
        _ => fail(
            folder,
            &format!(
                "{file} needs exactly one line `//! Fails: by a panic ...` or \
                 `//! Fails: at the deadline ...` saying how the checks reject it"
            ),
        ),
    };
    WrongAttempt {
        name,
        title,
        fails_by,
        path,
    }
}

/// `01_thread_result` → `Ok(1)`; the name must be two digits, `_`, and a lowercase slug.
fn parse_folder_name(name: &str) -> Result<u32, String> {
    let bad = || {
        format!(
            "the folder name must look like `01_some_slug` (two digits, `_`, then a-z, 0-9, _), not `{name}`"
        )
    };
    let (digits, slug) = name.split_once('_').ok_or_else(bad)?;
    let slug_ok = !slug.is_empty()
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) || !slug_ok {
        return Err(bad());
    }
    digits.parse().map_err(|_| bad())
}

fn validate(folder: &Path, chapter: u32, config: &ExerciseToml) {
    if config.chapter != chapter {
        fail(
            folder,
            &format!(
                "exercise.toml says chapter = {}, but the folder is in ch{chapter}",
                config.chapter
            ),
        );
    }
    if config.title.trim().is_empty() {
        fail(folder, "exercise.toml has an empty title");
    }
    if !(1..=MAX_DEADLINE_SECS).contains(&config.deadline_secs) {
        fail(
            folder,
            &format!(
                "deadline_secs must be between 1 and {MAX_DEADLINE_SECS}, not {}",
                config.deadline_secs
            ),
        );
    }
}

fn utf8_name(folder: &Path) -> String {
    match folder.file_name().and_then(|n| n.to_str()) {
        Some(name) => name.to_owned(),
        None => fail(folder, "the folder name is not valid UTF-8"),
    }
}

/// Stops the build with a message naming the exercise folder.
fn fail(folder: &Path, problem: &str) -> ! {
    panic!(
        "\n\nexercise folder {}: {problem}\n(see CONTRIBUTING.md, \"Adding an exercise\")\n",
        folder.display()
    )
}
