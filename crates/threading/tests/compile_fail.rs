//! The programs in `compile_fail/` must keep failing to compile, for the reason the book gives.
//!
//! Each is also a `compile_fail,E0xxx` doctest in `src/lib.rs`, but rustdoc checks the error code
//! of such a test only on a nightly toolchain; on stable it checks only that compiling fails, for
//! any reason. So this test runs `rustc` on each file itself and requires:
//!
//! - exactly one error, with the code the file's first line names (`... on purpose (E0499): ...`);
//! - that error's headline (`error[E0499]: cannot borrow ...`) word for word on the book page the
//!   file's header names, so the output printed under the listing is what `rustc` really says.
//!
//! The wording of rustc's messages changes now and then between releases; when it does, this test
//! fails and the page's copy of the output is brought up to date.
#![forbid(unsafe_code)]
#![cfg(not(threading_loom))]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use testbed::wait::within;

/// How long one `rustc` run may take: a few hundred milliseconds normally, much more on a busy
/// two-core machine.
const RUSTC_DEADLINE: Duration = Duration::from_secs(120);

/// What a snippet's header promises: the error code and the page that shows its output.
struct Promise {
    code: String,
    page: PathBuf,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

fn snippets() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("compile_fail");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no snippets in {}", dir.display());
    files
}

/// Reads `(E0499)` and `docs/src/....md` from the snippet's leading `//` comment.
fn promise(file: &Path) -> Promise {
    let text = fs::read_to_string(file).unwrap();
    let header: String = text
        .lines()
        .take_while(|line| line.starts_with("//") && !line.contains("ANCHOR"))
        .collect::<Vec<_>>()
        .join(" ");
    let code = header
        .split_once("on purpose (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(code, _)| code.to_owned())
        .filter(|code| code.len() == 5 && code.starts_with('E'))
        .unwrap_or_else(|| {
            panic!(
                "{}: the first line must say `on purpose (E0xxx)`",
                file.display()
            )
        });
    let page = header
        .split_whitespace()
        .find(|word| word.starts_with("docs/src/"))
        .map(|word| workspace_root().join(word.trim_end_matches([';', ',', '.'])))
        .unwrap_or_else(|| panic!("{}: the header must name its book page", file.display()));
    Promise { code, page }
}

/// The headlines (`error[E0499]: ...`) of every error rustc reports for `file`.
fn errors_of(file: &Path) -> Vec<String> {
    let out_dir = tempfile::tempdir().expect("a temporary directory");
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
    let what = format!("rustc on {}", file.display());
    let output = within(&what, RUSTC_DEADLINE, move || command.output())
        .unwrap_or_else(|e| panic!("cannot run rustc (is it on PATH?): {e}"));
    assert!(
        !output.status.success(),
        "{} compiled, but the book says it does not",
        file.display()
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("error[E"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_snippet_fails_with_one_error_the_code_its_header_names_and_the_book_shows() {
    let mut problems = Vec::new();
    for file in snippets() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let promise = promise(&file);
        let errors = errors_of(&file);
        let [headline] = errors.as_slice() else {
            problems.push(format!(
                "{name}: expected exactly one error, rustc reported {}: {errors:#?}",
                errors.len()
            ));
            continue;
        };
        if !headline.starts_with(&format!("error[{}]", promise.code)) {
            problems.push(format!(
                "{name}: the header promises {}, rustc says {headline}",
                promise.code
            ));
        }
        let page = fs::read_to_string(&promise.page)
            .unwrap_or_else(|e| panic!("{name}: cannot read {}: {e}", promise.page.display()));
        if !page.contains(headline.as_str()) {
            let shown = promise
                .page
                .strip_prefix(workspace_root())
                .unwrap_or(&promise.page);
            problems.push(format!(
                "{name}: {} does not show rustc's headline {headline:?}",
                shown.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
