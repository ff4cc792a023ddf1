//! An example copied out of this workspace builds on its own. README.md's section "Using this code
//! in your own project" holds one `[dependencies]` table; a reader pastes it into a new project's
//! `Cargo.toml`, fills in the path of their clone, and copies any example to `src/main.rs`. These
//! tests keep that promise true:
//!
//! - the table's crates.io entries have the versions and features of the root `Cargo.toml`'s
//!   `[workspace.dependencies]`, and its path entries point at this workspace's crates;
//! - every crate an example uses is in the table, and every entry of the table is used;
//! - for one example of each chapter that has examples ([`BUILT`]), a new project made exactly so
//!   builds (`cargo build --offline`, with the workspace's `Cargo.lock`), under a deadline.
//!
//! ## Why the builds take seconds
//!
//! The projects share this workspace's target directory, so the dependencies already compiled
//! for the workspace are reused rather than compiled again. Cargo reuses a compiled crate only if
//! everything that went into it is the same: version, features, profile settings, and the same
//! for its own dependencies. So every project gets the whole table, not just the crates its
//! example needs (all projects then resolve every crate to the same features), the workspace's
//! own `[profile]` settings (the same optimization levels), and a fixed folder under the target
//! directory (so that its own files replace the previous run's instead of piling up). A few
//! crates whose features differ from the workspace's own builds (the workspace's tests ask more
//! of `regex`, for instance) are compiled on the first run and reused after that.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use toml::{Table, Value};
use workspace_tests::{Example, examples, workspace_root};

/// The example of each chapter that is built as a project of its own: the one that uses the most
/// crates. A chapter's first examples add a line here (the tests fail until they do).
const BUILT: &[(&str, &str)] = &[
    ("coroutines", "05_batch_fetch"),
    ("multiprocessing", "14_logging"),
    ("threading", "10_download_progress"),
    ("coroutines", "10_async_server"),
];

/// The heading of the README's section, and the stand-in for the reader's path in its table.
const SECTION: &str = "## Using this code in your own project";
const PLACEHOLDER: &str = "/path/to/this/clone";

/// The longest one build may take. A warm build takes seconds; the first one compiles the crates
/// whose features differ from the workspace's builds, minutes on a busy two-core machine.
const BUILD_DEADLINE: Duration = Duration::from_secs(20 * 60);

// ---------------------------------------------------------------------------------------------
// Reading the README's table.

/// The one ```toml block of the README's section: its text, or what is wrong with the README.
fn readme_block(readme: &str) -> Result<String, String> {
    let start = readme
        .lines()
        .position(|line| line.trim_end() == SECTION)
        .ok_or_else(|| format!("README.md has no section {SECTION:?}"))?;
    let section: Vec<&str> = readme
        .lines()
        .skip(start + 1)
        .take_while(|line| !line.starts_with("## "))
        .collect();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section {
        match (&mut current, line.trim()) {
            (None, "```toml") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap().join("\n")),
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    match (blocks.len(), current) {
        (_, Some(_)) => Err(format!("a ```toml block in {SECTION:?} is never closed")),
        (1, None) => Ok(blocks.pop().unwrap()),
        (n, None) => Err(format!(
            "{SECTION:?} must hold exactly one ```toml block, not {n}"
        )),
    }
}

/// The `[dependencies]` table of the block, which must be all the block holds.
fn block_dependencies(block: &str) -> Result<Table, String> {
    let mut table: Table = block
        .parse()
        .map_err(|e| format!("the block is not TOML: {e}"))?;
    let dependencies = match table.remove("dependencies") {
        Some(Value::Table(dependencies)) => dependencies,
        _ => return Err("the block has no [dependencies] table".to_owned()),
    };
    if let Some(other) = table.keys().next() {
        return Err(format!(
            "the block holds more than [dependencies]: {other:?}"
        ));
    }
    Ok(dependencies)
}

fn readme_dependencies() -> Table {
    let readme = fs::read_to_string(workspace_root().join("README.md")).expect("read README.md");
    let block = readme_block(&readme).unwrap_or_else(|problem| panic!("{problem}"));
    block_dependencies(&block).unwrap_or_else(|problem| panic!("README.md: {problem}"))
}

/// The root `Cargo.toml`.
fn root_manifest() -> Table {
    let text = fs::read_to_string(workspace_root().join("Cargo.toml")).expect("read Cargo.toml");
    text.parse().expect("the root Cargo.toml is TOML")
}

/// A dependency as Cargo reads it: `"1.0"` and `{ version = "1.0" }` are the same.
#[derive(Debug, PartialEq, Eq)]
struct Dependency {
    version: Option<String>,
    path: Option<String>,
    features: BTreeSet<String>,
    default_features: bool,
    /// Keys this test does not compare (`optional`, `git`, ...): an entry with any is reported.
    other_keys: Vec<String>,
}

fn dependency(value: &Value) -> Dependency {
    let mut found = Dependency {
        version: None,
        path: None,
        features: BTreeSet::new(),
        default_features: true,
        other_keys: Vec::new(),
    };
    match value {
        Value::String(version) => found.version = Some(version.clone()),
        Value::Table(table) => {
            for (key, value) in table {
                match (key.as_str(), value) {
                    ("version", Value::String(v)) => found.version = Some(v.clone()),
                    ("path", Value::String(p)) => found.path = Some(p.clone()),
                    ("default-features", Value::Boolean(b)) => found.default_features = *b,
                    ("features", Value::Array(list)) => {
                        found.features = list
                            .iter()
                            .map(|f| f.as_str().unwrap_or("(not a string)").to_owned())
                            .collect();
                    }
                    _ => found.other_keys.push(key.clone()),
                }
            }
        }
        _ => found.other_keys.push(format!("{value}")),
    }
    found
}

/// Problems with the block's entries, compared with `[workspace.dependencies]`.
fn mismatches(block: &Table, workspace: &Table) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, value) in block {
        let Some(expected) = workspace.get(name).map(dependency) else {
            problems.push(format!("{name}: not in [workspace.dependencies]"));
            continue;
        };
        let mut found = dependency(value);
        if let (Some(path), Some(workspace_path)) = (&found.path, &expected.path) {
            let wanted = format!("{PLACEHOLDER}/{workspace_path}");
            if *path != wanted {
                problems.push(format!("{name}: path {path:?}, expected {wanted:?}"));
            }
            found.path = expected.path.clone();
        }
        if found != expected {
            problems.push(format!(
                "{name}: the README has {found:?}, [workspace.dependencies] has {expected:?}"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Which crates an example uses.

/// The source without comments, string literals and character literals (each replaced by a
/// space), so that a path named in a comment or a message is not taken for code.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.starts_with(&['/', '/']) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i..].starts_with(&['/', '*']) {
                    depth += 1;
                    i += 2;
                } else if chars[i..].starts_with(&['*', '/']) {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(skip) = raw_string_length(rest) {
            i += skip;
        } else if rest[0] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if rest[0] == '\'' && (rest.get(2) == Some(&'\'') || rest.get(1) == Some(&'\\')) {
            // A character literal ('x', '\n', '\u{1F600}'); a lifetime ('a) has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        }
        out.push(' ');
    }
    out
}

/// The length of a raw string literal (`r"..."`, `r#"..."#`) at the start of `rest`, if there is
/// one.
fn raw_string_length(rest: &[char]) -> Option<usize> {
    if rest.first() != Some(&'r') {
        return None;
    }
    let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
    if rest.get(1 + hashes) != Some(&'"') {
        return None;
    }
    let body = 2 + hashes;
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (body..rest.len())
        .find(|&at| rest[at..].starts_with(&closing))
        .map(|at| at + closing.len())
}

/// Names that start a path but are not crates.
const NOT_CRATES: &[&str] = &[
    "std", "core", "alloc", "crate", "self", "super", "bool", "char", "str", "u8", "u16", "u32",
    "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
];

/// The crates (as Rust names them: `crossbeam_channel`) that `source` uses, through `use`
/// declarations and through paths such as `tracing::info!` or `ctrlc::set_handler`.
fn crates_used(source: &str) -> BTreeSet<String> {
    let code = code_only(source);
    let use_item = regex::Regex::new(r"\buse\s+(::)?([^;]+);").unwrap();
    let path_start = regex::Regex::new(r"(?:^|[^\w:.])([A-Za-z_]\w*)\s*::").unwrap();
    let module = regex::Regex::new(r"\bmod\s+([A-Za-z_]\w*)").unwrap();
    let mut in_scope: BTreeSet<String> = module
        .captures_iter(&code)
        .map(|c| c[1].to_owned())
        .collect();
    let mut used = BTreeSet::new();
    for item in use_item.captures_iter(&code) {
        let tree = &item[2];
        let root = tree.split("::").next().unwrap_or("").trim();
        used.insert(root.to_owned());
        in_scope.extend(names_introduced(tree));
    }
    for start in path_start.captures_iter(&code) {
        let name = &start[1];
        if name.starts_with(|c: char| c.is_ascii_lowercase()) && !in_scope.contains(name) {
            used.insert(name.to_owned());
        }
    }
    used.retain(|name| !NOT_CRATES.contains(&name.as_str()));
    used
}

/// The names a use tree brings into scope: `a::b::{self, C, d::E as F}` brings `b`, `C` and `F`.
fn names_introduced(tree: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut token = String::new();
    let finish = |token: &mut String, path: &[String], names: &mut Vec<String>| {
        let text = token.trim();
        if !text.is_empty() {
            let last = text.rsplit("::").next().unwrap_or(text);
            let name = match last.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => last.trim(),
            };
            if name == "self" {
                names.extend(path.last().cloned());
            } else if name != "*" {
                names.push(name.to_owned());
            }
        }
        token.clear();
    };
    for c in tree.chars() {
        match c {
            '{' => {
                stack.push(path.len());
                path.extend(
                    token
                        .split("::")
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                token.clear();
            }
            '}' => {
                finish(&mut token, &path, &mut names);
                path.truncate(stack.pop().unwrap_or(0));
            }
            ',' => finish(&mut token, &path, &mut names),
            c => token.push(c),
        }
    }
    finish(&mut token, &path, &mut names);
    names
}

/// Cargo's package names use `-` where Rust's crate names use `_`.
fn crate_name(package: &str) -> String {
    package.replace('-', "_")
}

// ---------------------------------------------------------------------------------------------
// Building a copied example.

/// The target directory this test was built in: `target/<profile>/deps/<this test>`.
fn target_dir() -> (PathBuf, bool) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let release = profile.ends_with("release");
    (
        profile.parent().expect("target/<profile>").to_path_buf(),
        release,
    )
}

/// Writes a new project for `example` whose dependencies are `block` with the path filled in, and
/// returns its folder.
fn make_project(example: &Example, block: &Table, folder: &Path) -> PathBuf {
    let root = workspace_root();
    let mut dependencies = block.clone();
    for (_, value) in dependencies.iter_mut() {
        let Some(table) = value.as_table_mut() else {
            continue;
        };
        if let Some(path) = table.get("path").and_then(Value::as_str) {
            let inside = path
                .strip_prefix(PLACEHOLDER)
                .expect("checked by the version test");
            let filled = format!("{}{inside}", root.display());
            table.insert("path".into(), filled.into());
        }
    }
    let workspace = root_manifest();
    let edition = workspace["workspace"]["package"]["edition"].clone();
    let mut package = Table::new();
    package.insert(
        "name".into(),
        format!("copy-out-{}", example.name.replace('_', "-")).into(),
    );
    package.insert("version".into(), "0.1.0".into());
    package.insert("edition".into(), edition);
    package.insert("publish".into(), false.into());
    let mut manifest = Table::new();
    manifest.insert("package".into(), package.into());
    manifest.insert("dependencies".into(), dependencies.into());
    // Its own workspace, so that Cargo does not look for one in the folders above.
    manifest.insert("workspace".into(), Table::new().into());
    if let Some(profile) = workspace.get("profile") {
        manifest.insert("profile".into(), profile.clone());
    }

    let project = folder.join(format!("{}-{}", example.krate, example.name));
    let _ = fs::remove_dir_all(&project);
    fs::create_dir_all(project.join("src")).expect("create the project folder");
    let text = toml::to_string(&manifest).expect("the manifest serializes");
    fs::write(project.join("Cargo.toml"), text).expect("write Cargo.toml");
    fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock")).expect("copy Cargo.lock");
    fs::copy(&example.path, project.join("src/main.rs")).expect("copy the example");
    project
}

/// Runs `cargo build --offline` in `project`, killing it at [`BUILD_DEADLINE`]; returns how long
/// it took, or what went wrong with the end of Cargo's output.
fn build(project: &Path, target: &Path, release: bool) -> Result<Duration, String> {
    let log_path = project.join("build.log");
    let log =
        fs::File::create(&log_path).map_err(|e| format!("create {}: {e}", log_path.display()))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline", "--target-dir"])
        .arg(target)
        .current_dir(project)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    if release {
        command.arg("--release");
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let tail = || {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    loop {
        match child
            .try_wait()
            .map_err(|e| format!("waiting for cargo: {e}"))?
        {
            Some(status) if status.success() => return Ok(started.elapsed()),
            Some(status) => return Err(format!("cargo build failed ({status}):\n{}", tail())),
            None if started.elapsed() > BUILD_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "cargo build did not finish within {BUILD_DEADLINE:?} and was killed:\n{}",
                    tail()
                ));
            }
            // A poll with a deadline: the build ends on its own, the loop only watches the time.
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn the_readme_block_matches_the_workspace_dependencies() {
    let workspace = root_manifest();
    let expected = workspace["workspace"]["dependencies"]
        .as_table()
        .expect("a table");
    let problems = mismatches(&readme_dependencies(), expected);
    assert!(
        problems.is_empty(),
        "README.md's dependency block disagrees with the root Cargo.toml:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_crate_an_example_uses_is_in_the_block_and_every_entry_is_used() {
    let block: BTreeSet<String> = readme_dependencies()
        .keys()
        .map(|k| crate_name(k))
        .collect();
    let mut missing = Vec::new();
    let mut used_somewhere = BTreeSet::new();
    for example in examples() {
        let example = example.unwrap_or_else(|problem| panic!("{problem}"));
        let source = fs::read_to_string(&example.path).expect("read the example");
        for name in crates_used(&source) {
            if !block.contains(&name) {
                missing.push(format!("{} uses {name}", example.id()));
            }
            used_somewhere.insert(name);
        }
    }
    assert!(
        missing.is_empty(),
        "add these to README.md's dependency block (as in [workspace.dependencies]): {missing:?}"
    );
    let unused: Vec<&String> = block.difference(&used_somewhere).collect();
    assert!(
        unused.is_empty(),
        "no example uses {unused:?}: remove it from README.md's block"
    );
}

#[test]
fn every_chapter_with_examples_has_an_example_built() {
    let chapters: BTreeSet<String> = examples()
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.krate)
        .collect();
    let built: BTreeSet<String> = BUILT.iter().map(|(krate, _)| krate.to_string()).collect();
    let missing: Vec<&String> = chapters.difference(&built).collect();
    assert!(
        missing.is_empty(),
        "add one example of {missing:?} to BUILT in tests/copy_out.rs (the one using the most crates)"
    );
}

#[test]
fn one_example_of_each_chapter_builds_as_a_project_of_its_own() {
    let block = readme_dependencies();
    let mismatched = mismatches(
        &block,
        root_manifest()["workspace"]["dependencies"]
            .as_table()
            .unwrap(),
    );
    assert!(
        mismatched.is_empty(),
        "fix the README's block first: {mismatched:?}"
    );
    let all: BTreeMap<String, Example> = examples()
        .into_iter()
        .filter_map(Result::ok)
        .map(|example| (example.id(), example))
        .collect();
    let (target, release) = target_dir();
    let folder = target.join("copy-out");
    let mut failures = Vec::new();
    for (krate, name) in BUILT {
        let id = format!("{krate}/{name}");
        let Some(example) = all.get(&id) else {
            failures.push(format!(
                "{id}: no such example (BUILT in tests/copy_out.rs is stale)"
            ));
            continue;
        };
        let project = make_project(example, &block, &folder);
        match build(&project, &target, release) {
            Ok(took) => eprintln!(
                "{id}: built as its own project ({}) in {:.1} s",
                project.display(),
                took.as_secs_f64()
            ),
            Err(problem) => failures.push(format!("{id} ({}): {problem}", project.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// The checks above are only as good as these helpers: each of them must be able to fail.

#[test]
fn the_block_is_found_and_a_missing_or_doubled_block_is_an_error() {
    let one = format!(
        "# R\n\n{SECTION}\n\ntext\n\n```toml\n[dependencies]\nx = \"1\"\n```\n\n## Next\n\n```toml\ny = 1\n```\n"
    );
    assert_eq!(readme_block(&one).unwrap(), "[dependencies]\nx = \"1\"");
    let none = "# R\n\n## Other\n";
    assert!(readme_block(none).unwrap_err().contains("no section"));
    let two = format!("{SECTION}\n```toml\na = 1\n```\n```toml\nb = 1\n```\n");
    assert!(readme_block(&two).unwrap_err().contains("not 2"));
    let open = format!("{SECTION}\n```toml\na = 1\n");
    assert!(readme_block(&open).unwrap_err().contains("never closed"));
    assert!(
        block_dependencies("[package]\nname = \"x\"")
            .unwrap_err()
            .contains("no [dependencies]")
    );
    assert!(
        block_dependencies("[dependencies]\n[profile.dev]\n")
            .unwrap_err()
            .contains("more than")
    );
}

#[test]
fn a_version_feature_or_path_that_differs_is_reported() {
    let workspace: Table = r#"
        anyhow = "1.0.100"
        clap = { version = "4.5", features = ["derive"] }
        threading = { path = "crates/threading" }
    "#
    .parse()
    .unwrap();
    let same: Table = format!(
        "anyhow = {{ version = \"1.0.100\" }}\nclap = {{ version = \"4.5\", features = [\"derive\"] }}\n\
         threading = {{ path = \"{PLACEHOLDER}/crates/threading\" }}"
    )
    .parse()
    .unwrap();
    assert_eq!(mismatches(&same, &workspace), Vec::<String>::new());
    let different: Table = format!(
        "anyhow = \"1.0\"\nclap = {{ version = \"4.5\" }}\nthreading = {{ path = \"{PLACEHOLDER}/threading\" }}\nrand = \"0.9\""
    )
    .parse()
    .unwrap();
    let problems = mismatches(&different, &workspace);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    for name in ["anyhow", "clap", "threading", "rand"] {
        assert!(
            problems.iter().any(|p| p.starts_with(name)),
            "{name} not reported: {problems:#?}"
        );
    }
}

#[test]
fn crates_are_found_in_use_declarations_and_paths_but_not_in_comments_or_strings() {
    let source = r##"
        //! `ignored_in_docs::x`
        use std::thread;
        use anyhow::{Context, Result};
        use multiprocessing::pipe::{self, Connection};
        use ipc_channel::ipc::{self as channels, IpcSender};
        fn main() {
            // commented_out::call();
            let _ = "in_a_string::not_code";
            let _ = r#"raw_string::not_code"#;
            let c = 'x';
            thread::spawn(|| ());
            pipe::pipe::<u8, u8>();
            channels::channel::<u8>();
            tracing::info!("logged");
            let v = (0..3).collect::<Vec<u8>>();
            let n = u64::MAX;
            #[derive(clap::Parser)] struct A<'a>(&'a str);
        }
    "##;
    let found: Vec<String> = crates_used(source).into_iter().collect();
    assert_eq!(
        found,
        [
            "anyhow",
            "clap",
            "ipc_channel",
            "multiprocessing",
            "tracing"
        ]
    );
}
