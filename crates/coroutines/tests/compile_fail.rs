//! The programs in `compile_fail/` must keep failing to compile, for the reason the book gives.
//!
//! Each is also a `compile_fail` doctest in `src/lib.rs`, but on stable rustdoc checks only that
//! compiling fails, for any reason. So this test runs `rustc` on each file and requires exactly one
//! error, whose headline is the one the file's header quotes (`printed ... as "error: ..."`) and
//! appears word for word on the book page the header names. The error of this chapter's snippet,
//! a future that is not `Send`, is E0277 underneath, but rustc prints that message without a
//! code, which is why the headline, not the code, is what is checked here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use testbed::wait::within;

/// How long one `rustc` run may take on a busy two-core machine.
const RUSTC_DEADLINE: Duration = Duration::from_secs(120);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn snippets() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("compile_fail");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no snippets in {}", dir.display());
    files
}

/// The quoted headline and the page, from the snippet's leading `//` comment.
fn promise(file: &Path) -> (String, PathBuf) {
    let text = fs::read_to_string(file).unwrap();
    let header: String = text
        .lines()
        .take_while(|line| line.starts_with("//") && !line.contains("ANCHOR"))
        .map(|line| line.trim_start_matches('/').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let headline = header
        .split_once("as \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(quoted, _)| quoted.to_owned())
        .unwrap_or_else(|| panic!("{}: the header must quote rustc's headline", file.display()));
    let page = header
        .split_whitespace()
        .find(|word| word.starts_with("docs/src/"))
        .map(|word| workspace_root().join(word.trim_end_matches([';', ',', '.'])))
        .unwrap_or_else(|| panic!("{}: the header must name its book page", file.display()));
    (headline, page)
}

fn errors_of(file: &Path) -> Vec<String> {
    let out_dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    command
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "bin",
            "--emit",
            "metadata",
        ])
        .arg("--out-dir")
        .arg(out_dir.path())
        .arg(file);
    let output = within(
        &format!("rustc on {}", file.display()),
        RUSTC_DEADLINE,
        move || command.output(),
    )
    .unwrap_or_else(|e| panic!("cannot run rustc (is it on PATH?): {e}"));
    assert!(
        !output.status.success(),
        "{} compiled, but the book says it does not",
        file.display()
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("error") && !line.starts_with("error: aborting"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_snippet_fails_with_the_one_error_its_header_quotes_and_the_book_shows() {
    let mut problems = Vec::new();
    for file in snippets() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (promised, page) = promise(&file);
        let errors = errors_of(&file);
        let [headline] = errors.as_slice() else {
            problems.push(format!(
                "{name}: expected one error, rustc reported {errors:#?}"
            ));
            continue;
        };
        if *headline != promised {
            problems.push(format!(
                "{name}: the header quotes {promised:?}, rustc says {headline:?}"
            ));
        }
        let text = fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("{name}: cannot read {}: {e}", page.display()));
        if !text.contains(headline.as_str()) {
            problems.push(format!(
                "{name}: {} does not show {headline:?}",
                page.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
