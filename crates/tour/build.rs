//! Lists every chapter crate's examples and every exercise folder at build time, so the tour prints
//! the commands that really exist instead of a hand-kept list that drifts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..");
    let mut generated = String::from("/// (crate, example name, title from its `//!` header)\n");
    generated.push_str("pub(crate) const EXAMPLES: &[(&str, &str, &str)] = &[\n");
    for krate in ["multiprocessing", "threading", "coroutines", "patterns"] {
        let dir = root.join("crates").join(krate).join("examples");
        println!("cargo:rerun-if-changed={}", dir.display());
        for (name, path) in rust_files(&dir) {
            let title = first_doc_line(&path);
            writeln!(generated, "    ({krate:?}, {name:?}, {title:?}),").unwrap();
        }
    }
    generated.push_str("];\n/// (chapter folder, exercise folder)\n");
    generated.push_str("pub(crate) const EXERCISES: &[(&str, &str)] = &[\n");
    // Each chapter folder is watched, not `exercises/` itself: cargo watches a folder with all that
    // is below it, and a reader's edits in `exercises/attempts/` must not rebuild the tour. (A new
    // chapter folder is seen once this script runs again for another reason.)
    let exercises = root.join("exercises");
    for chapter in sorted_dirs(&exercises)
        .into_iter()
        .filter(|c| c.starts_with("ch"))
    {
        let chapter_dir = exercises.join(&chapter);
        println!("cargo:rerun-if-changed={}", chapter_dir.display());
        for exercise in sorted_dirs(&chapter_dir) {
            writeln!(generated, "    ({chapter:?}, {exercise:?}),").unwrap();
        }
    }
    generated.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("inventory.rs");
    fs::write(out, generated).expect("write the generated inventory");
}

fn rust_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some((path.file_stem()?.to_str()?.to_owned(), path)))
        .collect();
    files.sort();
    files
}

fn sorted_dirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// The first `//!` line, without a leading `# ` and without "Listing N.M: ".
fn first_doc_line(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("//!"))
        .unwrap_or("")
        .trim()
        .trim_start_matches('#')
        .trim();
    match line.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("Listing") => rest.to_owned(),
        _ => line.to_owned(),
    }
}
