//! Registers the exercises: every folder `exercises/chN/NN_slug/` becomes a module of the crate.
//!
//! The folder *is* the registration, so adding an exercise never means editing a list that can drift
//! out of date. For each folder this script checks `exercise.toml` and the four other files, then
//! writes (into `OUT_DIR/exercises.rs`, included by `src/lib.rs`) one module with three variants:
//!
//! - `stub`: the committed `stub.rs`, which must fail its checks;
//! - `solution`: the reference `solution.rs`, which must pass them;
//! - `attempt`: the reader's `attempts/chN_NN_slug.rs` if it exists, else the stub again.
//!
//! Each variant is `pub mod imp` (the code under test, by `#[path]`) plus `pub mod check` (the shared
//! `check.rs`, which calls `super::imp`), so one set of checks is compiled against all three.
//!
//! A mistake in a folder stops the build with a message that names the folder and the problem: a
//! half-registered exercise would otherwise be skipped silently by the tests that prove it works.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The files every exercise folder must contain, besides `exercise.toml`.
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

/// One exercise folder, checked.
struct Found {
    chapter: u32,
    number: u32,
    /// The folder's name, `NN_slug`.
    name: String,
    folder: PathBuf,
    config: ExerciseToml,
    /// The reader's attempt, if one exists.
    attempt: Option<PathBuf>,
}

impl Found {
    /// The Rust module name: `ch1_01_thread_result`.
    fn module(&self) -> String {
        format!("ch{}_{}", self.chapter, self.name)
    }
}

fn main() {
    let root = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    // Watch the whole crate folder: cargo scans a watched directory recursively, so a new exercise
    // folder, a new chapter folder, an edited `exercise.toml` and an attempt that appears or is
    // deleted all re-run this script. (Edits inside `.rs` files are tracked by rustc itself.)
    println!("cargo::rerun-if-changed={}", root.display());

    let exercises = find_exercises(&root);
    let generated = generate(&exercises);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("exercises.rs");
    fs::write(&out, generated).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// Every `chN/NN_slug/` folder, validated, sorted by chapter then number.
fn find_exercises(root: &Path) -> Vec<Found> {
    let mut found = BTreeMap::new();
    for chapter_dir in sorted_dirs(root) {
        let Some(chapter) = chapter_number(&chapter_dir) else {
            continue;
        };
        for folder in sorted_dirs(&chapter_dir) {
            let exercise = read_exercise(root, chapter, &folder);
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
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut dirs: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
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
fn read_exercise(root: &Path, chapter: u32, folder: &Path) -> Found {
    let name = utf8_name(folder);
    let number = parse_folder_name(&name).unwrap_or_else(|problem| fail(folder, &problem));
    let toml_path = folder.join("exercise.toml");
    let text = fs::read_to_string(&toml_path).unwrap_or_else(|e| {
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
                    "{file} is missing (an exercise needs {})",
                    REQUIRED_FILES.join(", ")
                ),
            );
        }
    }
    if fs::read_to_string(folder.join("hint.md")).is_ok_and(|hint| hint.trim().is_empty()) {
        fail(folder, "hint.md is empty");
    }
    let attempt = root.join("attempts").join(format!("ch{chapter}_{name}.rs"));
    let attempt = attempt.is_file().then_some(attempt);
    Found {
        chapter,
        number,
        name,
        folder: folder.to_path_buf(),
        config,
        attempt,
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

/// A path as a Rust string literal (absolute, so `#[path]` and `include_str!` work from `OUT_DIR`).
fn literal(path: &Path) -> String {
    match path.to_str() {
        Some(text) => format!("{text:?}"),
        None => panic!(
            "the path {} is not valid UTF-8; move the workspace to a UTF-8 path",
            path.display()
        ),
    }
}

/// The generated source: the modules, then the `EXERCISES` table that points into them.
fn generate(exercises: &[Found]) -> String {
    let mut out = String::from(
        "// Generated by exercises/build.rs from the exercise folders. Do not edit.\n\n",
    );
    for exercise in exercises {
        write_modules(&mut out, exercise);
    }
    out.push_str("/// Every exercise, in order (chapter, then number).\npub static EXERCISES: &[crate::Exercise] = &[\n");
    for exercise in exercises {
        write_entry(&mut out, exercise);
    }
    out.push_str("];\n");
    out
}

fn write_modules(out: &mut String, exercise: &Found) {
    let stub = exercise.folder.join("stub.rs");
    let solution = exercise.folder.join("solution.rs");
    let attempt = exercise.attempt.clone().unwrap_or_else(|| stub.clone());
    let check = exercise.folder.join("check.rs");
    let title = &exercise.config.title;
    writeln!(
        out,
        "/// Exercise ch{}/{}: {title}.\npub mod {} {{",
        exercise.chapter,
        exercise.name,
        exercise.module()
    )
    .unwrap();
    // A stub, and an attempt in progress, may leave parameters unused and code unreachable (`todo!()`);
    // those warnings would only be noise, so they are allowed there and nowhere else.
    let variants = [
        (
            "stub",
            "the committed stub (it must fail the checks)",
            &stub,
            true,
        ),
        (
            "solution",
            "the reference solution (it must pass the checks)",
            &solution,
            false,
        ),
        (
            "attempt",
            "the reader's attempt (the stub until the reader has one)",
            &attempt,
            true,
        ),
    ];
    for (variant, what, imp, unfinished) in variants {
        let allow = if unfinished {
            "        #[allow(unused)]\n"
        } else {
            ""
        };
        writeln!(
            out,
            "    /// The checks compiled against {what}.\n    pub mod {variant} {{\n        /// The code under test: {what}.\n{allow}        #[path = {}]\n        pub mod imp;\n        /// The checks, shared by every variant.\n        #[path = {}]\n        pub mod check;\n    }}",
            literal(imp),
            literal(&check),
        )
        .unwrap();
    }
    out.push_str("}\n\n");
}

fn write_entry(out: &mut String, exercise: &Found) {
    let module = exercise.module();
    let attempt_source = match &exercise.attempt {
        Some(path) => format!("Some(include_str!({}))", literal(path)),
        None => "None".to_owned(),
    };
    writeln!(
        out,
        "    crate::Exercise {{\n        chapter: {},\n        number: {},\n        name: {:?},\n        title: {:?},\n        deadline_secs: {},\n        hint: include_str!({}),\n        stub_source: include_str!({}),\n        attempt_source: {attempt_source},\n        checks: crate::Checks {{ stub: {module}::stub::check::check, solution: {module}::solution::check::check, attempt: {module}::attempt::check::check }},\n    }},",
        exercise.chapter,
        exercise.number,
        exercise.name,
        exercise.config.title,
        exercise.config.deadline_secs,
        literal(&exercise.folder.join("hint.md")),
        literal(&exercise.folder.join("stub.rs")),
    )
    .unwrap();
}
