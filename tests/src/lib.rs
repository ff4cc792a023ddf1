//! Support for the workspace-level tests: where the workspace is, which examples exist, and what
//! each example's header promises.
//!
//! The tests themselves are `book.rs` (every `{{#include}}` of the book resolves, and every
//! example is written up somewhere), `examples.rs` (every example runs and prints what its header
//! promises), `coverage.rs` (every syllabus item has a row in `docs/src/coverage.md`) and
//! `copy_out.rs` (an example copied into a project of its own builds, with README.md's block).
//! Nothing here reads outside the repository: readers who clone it have only what is in it.
#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The workspace root (the folder with the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// Every `.md` file below `dir`, sorted.
pub fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect_files(dir, "md", &mut found);
    found.sort();
    found
}

fn collect_files(dir: &Path, extension: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, extension, found);
        } else if path.extension().is_some_and(|ext| ext == extension) {
            found.push(path);
        }
    }
}

/// How the examples test runs an example (the `test-kind:` directive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Runs to completion and exits 0.
    Run,
    /// A line-protocol server: prints `listening on ADDR`, is loaded by the testbed client, then
    /// gets SIGTERM and must exit 0.
    LineServer,
    /// Runs until SIGTERM, which is sent once a line matches `test-ready:`; must exit 0.
    Sigterm,
}

/// One example listing and what its header promises.
#[derive(Debug, Clone)]
pub struct Example {
    /// The crate it belongs to (`threading`).
    pub krate: String,
    /// Its name (`01_spawn_join`), which is also its binary's name.
    pub name: String,
    /// Its source file.
    pub path: PathBuf,
    /// The arguments the test passes (`test-args:`).
    pub args: Vec<String>,
    /// How it is run (`test-kind:`).
    pub kind: Kind,
    /// With [`Kind::Sigterm`]: the line that says it is ready (`test-ready:`).
    pub ready: Option<String>,
    /// The deadline for the whole run (`test-timeout:`, default 60 s).
    pub timeout: Duration,
    /// The exit code the run must end with (`test-exit:`, default 0): a listing that reports
    /// failures through its exit code shows that code on purpose.
    pub exit_code: i32,
    /// Patterns some line of the output must match (`expect:`).
    pub expect: Vec<String>,
}

impl Example {
    /// `crate/name`, the id the examples test prints and filters on.
    pub fn id(&self) -> String {
        format!("{}/{}", self.krate, self.name)
    }
}

/// Every example of every crate under `crates/`, sorted by crate and name, with its header parsed.
/// An example whose header is malformed is returned as an `Err` naming the file and the problem.
pub fn examples() -> Vec<Result<Example, String>> {
    let crates_dir = workspace_root().join("crates");
    let mut krates: Vec<PathBuf> = fs::read_dir(&crates_dir)
        .expect("crates/ exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("examples").is_dir())
        .collect();
    krates.sort();
    let mut all = Vec::new();
    for krate in krates {
        let mut files = Vec::new();
        collect_files(&krate.join("examples"), "rs", &mut files);
        files.sort();
        let krate_name = krate.file_name().unwrap().to_string_lossy().into_owned();
        for path in files {
            // Only top-level files are example targets; a folder's files are its modules.
            if path.parent() != Some(krate.join("examples").as_path()) {
                continue;
            }
            all.push(parse_example(&krate_name, &path));
        }
    }
    all
}

/// Parses the directives of an example's `//!` header.
pub fn parse_example(krate: &str, path: &Path) -> Result<Example, String> {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let source = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut example = Example {
        krate: krate.to_owned(),
        name,
        path: path.to_path_buf(),
        args: Vec::new(),
        kind: Kind::Run,
        ready: None,
        timeout: Duration::from_secs(60),
        exit_code: 0,
        expect: Vec::new(),
    };
    let header = source
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(str::trim);
    for line in header {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let problem = |what: &str| format!("{}: {what}: {line:?}", path.display());
        match key {
            "expect" => {
                regex::Regex::new(value).map_err(|e| problem(&format!("bad regex ({e})")))?;
                example.expect.push(value.to_owned());
            }
            "test-args" => example.args = value.split_whitespace().map(str::to_owned).collect(),
            "test-kind" => {
                example.kind = match value {
                    "run" => Kind::Run,
                    "line-server" => Kind::LineServer,
                    "sigterm" => Kind::Sigterm,
                    _ => return Err(problem("unknown test-kind")),
                }
            }
            "test-ready" => {
                regex::Regex::new(value).map_err(|e| problem(&format!("bad regex ({e})")))?;
                example.ready = Some(value.to_owned());
            }
            "test-timeout" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| problem("not a number of seconds"))?;
                example.timeout = Duration::from_secs(secs);
            }
            "test-exit" => {
                example.exit_code = value.parse().map_err(|_| problem("not an exit code"))?;
            }
            other if other.starts_with("test-") => return Err(problem("unknown directive")),
            _ => {}
        }
    }
    if example.expect.is_empty() {
        return Err(format!(
            "{}: the header has no `expect:` line (see CONTRIBUTING.md, \"Adding an example\")",
            path.display()
        ));
    }
    if example.kind == Kind::Sigterm && example.ready.is_none() {
        return Err(format!(
            "{}: `test-kind: sigterm` needs a `test-ready:` line",
            path.display()
        ));
    }
    if !source
        .lines()
        .any(|line| line.trim_start().starts_with("//! ```text"))
    {
        return Err(format!(
            "{}: the header shows no command to run it (a ```text block)",
            path.display()
        ));
    }
    Ok(example)
}
