//! The reader's attempts, and how each one becomes a program of its own.
//!
//! rustlings compiles each exercise on its own, and so does this checker: an attempt that does not
//! compile must be reported for that exercise alone, never stop the workspace's build or the check
//! of another exercise. So nothing in the workspace includes `exercises/attempts/`; instead, the
//! checker generates a small cargo package (in the workspace's `target/`, never in git) with one
//! program per exercise, whose `main` is:
//!
//! ```text
//! #[path = ".../exercises/attempts/ch3_02_lock_order.rs"] mod imp;    // the attempt
//! #[path = ".../exercises/ch3/02_lock_order/check.rs"]    mod check;  // its checks
//! fn main() { multiprocessing::init(); exercises::runner::run_here(|| check::check()) }
//! ```
//!
//! and builds only the programs of the attempts it has to check (`cargo build --bin ...`), with
//! `--keep-going` so that one attempt's compile error does not stop the others, and
//! `--message-format json` so that each compiler error is attributed to its attempt.
//!
//! **Reusing what is compiled.** The package is built in the workspace's own target directory and
//! profile, with the workspace's `Cargo.lock` copied in, the same dependencies and features as the
//! `exercises` crate, and the profile adjusted so that the workspace members it links are compiled
//! as in the workspace (see `build/manifest.rs`). Cargo then reuses every third-party library
//! already compiled for the checker. The two workspace crates an attempt links (`multiprocessing`
//! and this one) are compiled once more, the first time: cargo names a path dependency's build
//! after its path *relative to the workspace being built*, and the generated package cannot be in
//! the workspace (then `cargo build --workspace` would compile the attempts). That copy is shared
//! by every attempts folder, because they are all members of one generated workspace
//! (`<target>/exercises/attempts/`, one member `folder-<tag>/` per attempts folder); after it,
//! a changed attempt costs its own compile and link, a few seconds.
//!
//! One more thing decides what cargo can reuse: features are unified over the packages a build
//! selects. `cargo run -p exercises` selects this crate alone, as the attempts' build does, so the
//! two agree. A checker built with the whole workspace (`cargo test --workspace`) was compiled with
//! the features all the members ask for together; the first attempt build after that compiles the
//! libraries it links once more in this crate's own feature set (minutes on a small machine), and
//! reuses them from then on.
//!
//! **Cargo's build lock.** Only one cargo may build in a target directory at a time. `cargo run`
//! gives up its lock when it starts the checker, and `cargo test` (since at least cargo 1.95) before
//! it runs the tests, so the checker's own build never waits for itself. Another cargo building in
//! the same `target/` meanwhile (an editor's `cargo check`, say) makes this build wait its turn;
//! cargo says "Blocking waiting for file lock", and the checker passes that line on.
//!
//! The generated files are rewritten only when their content changes, so cargo's fingerprints (which
//! look at modification times) stay valid and an unchanged attempt is not compiled again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, thread};

use crate::{Exercise, workspace_root};

/// What `build.rs` learned from the workspace's manifests.
pub mod facts {
    include!(concat!(env!("OUT_DIR"), "/workspace_facts.rs"));
}

/// The generated packages' names start with this; their programs are named `<module>-<folder tag>`.
pub const PACKAGE: &str = "exercise-attempts";

/// In each generated member package: the attempts folder it was made for.
const FOLDER_FILE: &str = "attempts-folder.txt";

/// An attempts folder, and the place in the target directory where its programs are built.
#[derive(Debug, Clone)]
pub struct Attempts {
    /// Where the reader's files are (`exercises/attempts`, unless told otherwise).
    pub dir: PathBuf,
    /// The generated workspace, `<target>/exercises/attempts/`, shared by every attempts folder.
    pub workspace_dir: PathBuf,
    /// This folder's package in it, `folder-<tag>/`.
    pub package_dir: PathBuf,
    target_dir: PathBuf,
    profile: String,
    cross_target: Option<String>,
    /// Eight hex digits naming `dir`, so that two attempts folders never share programs.
    tag: String,
}

/// The result of building one attempt's program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    /// The program, ready to run.
    Program(PathBuf),
    /// The compiler's errors (paths relative to the workspace where possible).
    DoesNotCompile(String),
}

/// Why a build could not say anything about the attempts themselves.
#[derive(Debug)]
pub enum BuildError {
    /// There is no `cargo` to run.
    NoCargo(io::Error),
    /// Cargo failed before it got to the attempts (a dependency, the network, a lock file).
    Cargo(String),
    /// Writing the generated package failed.
    Io(io::Error),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::NoCargo(error) => write!(
                f,
                "cannot run cargo ({error}): the checker compiles each attempt with cargo. Run it as \
                 `cargo run -p exercises`, or put cargo on PATH (or name it in the CARGO \
                 environment variable)"
            ),
            BuildError::Cargo(output) => write!(
                f,
                "cargo could not build the attempts' programs:\n{}",
                output.trim_end()
            ),
            BuildError::Io(error) => write!(f, "cannot write the attempts' package: {error}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// What a build did, besides its results: for the reader's information.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// How long cargo took.
    pub elapsed: Duration,
    /// Packages other than the attempts that cargo had to compile (not reused).
    pub compiled_others: Vec<String>,
}

impl Attempts {
    /// The attempts in `dir`, built next to the checker `checker_exe` (same target directory, same
    /// profile; `<workspace>/target` in the dev profile if the checker is not in a target directory).
    pub fn new(dir: PathBuf, checker_exe: &Path) -> Attempts {
        // Absolute, because the generated programs name the attempts by path.
        let dir = fs::canonicalize(&dir)
            .or_else(|_| std::path::absolute(&dir))
            .unwrap_or(dir);
        let (target_dir, profile, cross_target) = build_place(checker_exe);
        let tag = format!(
            "{:08x}",
            crate::cache::hash(&[dir.to_string_lossy().as_bytes()]) as u32
        );
        let workspace_dir = target_dir.join("exercises").join("attempts");
        let package_dir = workspace_dir.join(format!("folder-{tag}"));
        Attempts {
            dir,
            workspace_dir,
            package_dir,
            target_dir,
            profile,
            cross_target,
            tag,
        }
    }

    /// The attempts folder of the workspace, `exercises/attempts`.
    pub fn default_dir() -> PathBuf {
        workspace_root().join("exercises/attempts")
    }

    /// The reader's file for `exercise`.
    pub fn path(&self, exercise: &Exercise) -> PathBuf {
        self.dir.join(format!("{}.rs", exercise.module()))
    }

    /// A path as the reader should see it: relative to the workspace root when it is inside.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(workspace_root())
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Copies the stub to start an attempt, unless there is one; `true` if it made the copy.
    ///
    /// # Errors
    ///
    /// When the folder or the file cannot be written.
    pub fn start(&self, exercise: &Exercise) -> io::Result<bool> {
        let path = self.path(exercise);
        if path.exists() {
            return Ok(false);
        }
        fs::create_dir_all(&self.dir)?;
        fs::write(&path, exercise.stub_source)?;
        Ok(true)
    }

    /// The directory where remembered results are kept.
    pub fn results_dir(&self) -> PathBuf {
        self.package_dir.join("results")
    }

    /// The program name of `exercise`'s attempt.
    pub fn program_name(&self, exercise: &Exercise) -> String {
        format!("{}-{}", exercise.module(), self.tag)
    }

    /// Builds the programs of `exercises`' attempts (and nothing else): one cargo run, every attempt
    /// compiled on its own. `notes` receives cargo's lines worth passing on (it waits for a lock).
    ///
    /// `all` is every exercise that gets a program in the generated manifest (so the manifest does
    /// not change with the selection).
    ///
    /// # Errors
    ///
    /// When cargo cannot be run, or fails for a reason that is no attempt's.
    pub fn build(
        &self,
        all: &[&Exercise],
        exercises: &[&Exercise],
        notes: &(dyn Fn(&str) + Sync),
    ) -> Result<(BTreeMap<String, Built>, BuildReport), BuildError> {
        self.write_package(all).map_err(BuildError::Io)?;
        let started = Instant::now();
        let mut command = self.cargo_build(exercises);
        let mut child = command.spawn().map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => BuildError::NoCargo(error),
            _ => BuildError::Cargo(format!("cannot start cargo: {error}")),
        })?;
        let stderr = child.stderr.take().expect("stderr was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let (messages, stderr_text) = thread::scope(|scope| {
            let stderr_reader = scope.spawn(move || relay_stderr(stderr, notes));
            let messages = read_messages(stdout);
            (messages, stderr_reader.join().unwrap_or_default())
        });
        let status = child.wait().map_err(BuildError::Io)?;
        let mut report = BuildReport {
            elapsed: started.elapsed(),
            ..BuildReport::default()
        };
        let results = self.attribute(exercises, &messages, &mut report);
        if results.len() < exercises.len() {
            let mut problem = stderr_text;
            for error in &messages.other_errors {
                problem.push_str(error);
            }
            let _ = write!(problem, "\n(cargo exited with {status})");
            return Err(BuildError::Cargo(self.relativize(&problem)));
        }
        Ok((results, report))
    }

    /// Each requested attempt's program, or its compile errors; attempts with neither are left out.
    fn attribute(
        &self,
        exercises: &[&Exercise],
        messages: &Messages,
        report: &mut BuildReport,
    ) -> BTreeMap<String, Built> {
        report.compiled_others = messages.compiled_others.clone();
        let mut results = BTreeMap::new();
        for exercise in exercises {
            let program = self.program_name(exercise);
            let built = match (
                messages.executables.get(&program),
                messages.errors.get(&program),
            ) {
                (Some(path), _) => Built::Program(path.clone()),
                (None, Some(errors)) => Built::DoesNotCompile(self.relativize(errors)),
                (None, None) => continue,
            };
            results.insert(exercise.module(), built);
        }
        results
    }

    fn cargo_build(&self, exercises: &[&Exercise]) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(workspace_root())
            .arg("build")
            .arg("--manifest-path")
            .arg(self.workspace_dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&self.target_dir)
            .args(["--profile", &self.profile])
            .args(["--message-format", "json", "--keep-going"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(target) = &self.cross_target {
            command.args(["--target", target]);
        }
        for exercise in exercises {
            command.args(["--bin", &self.program_name(exercise)]);
        }
        command
    }

    /// Writes the generated workspace (its manifest, with the profiles, and the lock file) and this
    /// folder's package (its manifest and one `main` per exercise), each file only if it changed;
    /// and removes the packages of attempts folders that no longer exist.
    ///
    /// Several checkers may do this at once (the tests do), each for its own folder, and a cargo
    /// reading the workspace must never see a member half-made: `folder-*` matches every member, and
    /// a matching folder without a manifest stops every build. So a new member is made under
    /// another name and renamed into place, a removed one is renamed away before it is deleted, and
    /// every file is written to a temporary name and renamed over the old one.
    fn write_package(&self, all: &[&Exercise]) -> io::Result<()> {
        fs::create_dir_all(&self.workspace_dir)?;
        let workspace = format!(
            "# Generated by the exercise checker (exercises/src/attempts.rs): one member per attempts\n\
             # folder. Not part of the workspace around it. Do not edit.\n\
             [workspace]\nresolver = \"3\"\nmembers = [\"folder-*\"]\n\n{}",
            facts::PROFILES
        );
        write_if_changed(&self.workspace_dir.join("Cargo.toml"), &workspace)?;
        self.copy_lock_file()?;
        self.remove_abandoned_folders();
        if !self.package_dir.is_dir() {
            let staging =
                self.workspace_dir
                    .join(format!(".new-{}-{}", self.tag, std::process::id()));
            let _ = fs::remove_dir_all(&staging);
            self.write_member(&staging, all)?;
            if fs::rename(&staging, &self.package_dir).is_err() {
                // Another checker made it first; its files are updated below like any others.
                let _ = fs::remove_dir_all(&staging);
            }
        }
        self.write_member(&self.package_dir, all)
    }

    /// This folder's member package, in `dir`: its manifest and one `main` per exercise.
    fn write_member(&self, dir: &Path, all: &[&Exercise]) -> io::Result<()> {
        fs::create_dir_all(dir.join("src"))?;
        write_if_changed(&dir.join(FOLDER_FILE), &self.dir.to_string_lossy())?;
        let mut manifest = format!(
            "# Generated by the exercise checker for the attempts in {}. Do not edit.\n\
             [package]\nname = \"{PACKAGE}-{}\"\nversion = \"0.0.0\"\nedition = \"{}\"\n\
             publish = false\nautobins = false\n\n",
            self.dir.display(),
            self.tag,
            facts::EDITION
        );
        for exercise in all {
            let source = format!("src/{}.rs", exercise.module());
            write_if_changed(&dir.join(&source), &self.main_source(exercise))?;
            let _ = write!(
                manifest,
                "[[bin]]\nname = \"{}\"\npath = \"{source}\"\ntest = false\nbench = false\n\n",
                self.program_name(exercise)
            );
        }
        manifest.push_str(facts::DEPENDENCIES);
        write_if_changed(&dir.join("Cargo.toml"), &manifest)
    }

    /// Copies the workspace's `Cargo.lock` when it changed since the last copy (cargo then trims
    /// the copy to what the packages use, so the copy itself is not compared).
    fn copy_lock_file(&self) -> io::Result<()> {
        let workspace_lock = fs::read_to_string(workspace_root().join("Cargo.lock"))?;
        let last_copied = self.workspace_dir.join("Cargo.lock.copied-from-workspace");
        if fs::read_to_string(&last_copied).ok().as_deref() != Some(workspace_lock.as_str()) {
            write_atomically(&self.workspace_dir.join("Cargo.lock"), &workspace_lock)?;
            write_atomically(&last_copied, &workspace_lock)?;
        }
        Ok(())
    }

    /// Removes the member packages whose attempts folder is gone (a test's temporary folder).
    fn remove_abandoned_folders(&self) {
        let Ok(entries) = fs::read_dir(&self.workspace_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let member = entry.path();
            let Ok(folder) = fs::read_to_string(member.join(FOLDER_FILE)) else {
                continue;
            };
            if member != self.package_dir && !Path::new(&folder).is_dir() {
                let away = self.workspace_dir.join(format!(
                    ".removed-{}-{}",
                    std::process::id(),
                    entry.file_name().to_string_lossy()
                ));
                if fs::rename(&member, &away).is_ok() {
                    let _ = fs::remove_dir_all(&away);
                }
            }
        }
    }

    fn main_source(&self, exercise: &Exercise) -> String {
        let attempt = self.path(exercise);
        let check = workspace_root().join(exercise.folder).join("check.rs");
        let run = if exercise.is_async {
            "exercises::runtime::block_on(check::check())"
        } else {
            "check::check()"
        };
        format!(
            "//! Generated by the exercise checker: the checks of {id} run against the attempt\n\
             //! {attempt_shown}. Do not edit; it is rewritten before every build.\n\n\
             #[allow(unused)]\n#[path = {attempt:?}]\nmod imp;\n\n\
             #[path = {check:?}]\nmod check;\n\n\
             #[allow(unused_imports)]\nuse exercises::support;\n\n\
             fn main() -> std::process::ExitCode {{\n    \
             // Chapter 2's checks start processes by running this program again.\n    \
             multiprocessing::init();\n    \
             exercises::runner::run_here(|| {run})\n}}\n",
            id = exercise.id(),
            attempt_shown = self.show(&attempt),
        )
    }

    /// Paths in compiler output, relative to the workspace root.
    fn relativize(&self, text: &str) -> String {
        let root = format!("{}/", workspace_root().display());
        text.replace(&root, "")
    }
}

/// The target directory, the profile and the cross-compilation target (if any) the checker at
/// `exe` was built with: `<target>/[<triple>/]<profile dir>/exercises`.
fn build_place(exe: &Path) -> (PathBuf, String, Option<String>) {
    let fallback = || {
        (
            workspace_root().join("target"),
            "dev".to_owned(),
            None::<String>,
        )
    };
    let Some(profile_dir) = exe.parent() else {
        return fallback();
    };
    // A cargo profile directory holds `deps/` and `.fingerprint/`; an installed copy of the
    // checker elsewhere does not, and then the workspace's own target directory is used.
    if !profile_dir.join(".fingerprint").is_dir() {
        return fallback();
    }
    let Some(profile_name) = profile_dir.file_name().and_then(|n| n.to_str()) else {
        return fallback();
    };
    let profile = match profile_name {
        "debug" => "dev".to_owned(),
        other => other.to_owned(),
    };
    let Some(above) = profile_dir.parent() else {
        return fallback();
    };
    let triple = env!("EXERCISES_TARGET_TRIPLE");
    if above.file_name().and_then(|n| n.to_str()) == Some(triple)
        && let Some(target_dir) = above.parent()
    {
        return (target_dir.to_path_buf(), profile, Some(triple.to_owned()));
    }
    (above.to_path_buf(), profile, None)
}

fn write_if_changed(path: &Path, content: &str) -> io::Result<()> {
    if fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    write_atomically(path, content)
}

/// Writes `content` to a temporary file beside `path`, then renames it over `path`: a reader sees
/// the old file or the new one, never half of one.
fn write_atomically(path: &Path, content: &str) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp-{}", std::process::id()));
    fs::write(&temporary, content)?;
    fs::rename(&temporary, path)
}

/// What cargo's JSON messages said.
#[derive(Default)]
struct Messages {
    /// Program name → its executable.
    executables: BTreeMap<String, PathBuf>,
    /// Program name → its rendered compiler errors.
    errors: BTreeMap<String, String>,
    /// Rendered errors of anything that is not an attempt's program.
    other_errors: Vec<String>,
    /// Crates outside the attempts' package that were compiled (not fresh).
    compiled_others: Vec<String>,
}

fn read_messages(stdout: impl Read) -> Messages {
    let mut messages = Messages::default();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let target = message["target"]["name"].as_str().unwrap_or_default();
        // `path+file:///.../folder-1a2b3c4d#exercise-attempts-1a2b3c4d@0.0.0`
        let ours = message["package_id"]
            .as_str()
            .is_some_and(|id| id.contains(&format!("#{PACKAGE}-")));
        match message["reason"].as_str() {
            Some("compiler-artifact") if ours => {
                if let Some(executable) = message["executable"].as_str() {
                    messages
                        .executables
                        .insert(target.to_owned(), PathBuf::from(executable));
                }
            }
            Some("compiler-artifact") if message["fresh"] == false => {
                let name = package_name(message["package_id"].as_str().unwrap_or_default());
                if !messages.compiled_others.contains(&name) {
                    messages.compiled_others.push(name);
                }
            }
            Some("compiler-message") if message["message"]["level"] == "error" => {
                let rendered = message["message"]["rendered"].as_str().unwrap_or_default();
                if ours {
                    messages
                        .errors
                        .entry(target.to_owned())
                        .or_default()
                        .push_str(rendered);
                } else {
                    messages.other_errors.push(rendered.to_owned());
                }
            }
            _ => {}
        }
    }
    messages
}

/// The package's name in a cargo package id: `registry+https://...#serde@1.0.229` → `serde`,
/// `path+file:///work/crates/multiprocessing#0.1.0` → `multiprocessing`.
fn package_name(id: &str) -> String {
    let (source, fragment) = id.rsplit_once('#').unwrap_or((id, ""));
    match fragment.split_once('@') {
        Some((name, _version)) => name.to_owned(),
        None => source.rsplit('/').next().unwrap_or(source).to_owned(),
    }
}

/// Reads cargo's stderr to its end; passes on the lines a reader should see at once (cargo waiting
/// for another cargo's lock), and returns everything for the error report.
fn relay_stderr(stderr: impl Read, notes: &(dyn Fn(&str) + Sync)) -> String {
    let mut all = String::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.trim_start().starts_with("Blocking") {
            notes(&format!(
                "{} (another cargo is building in the same target directory; the attempts are \
                 built when it has finished)",
                line.trim()
            ));
        }
        all.push_str(&line);
        all.push('\n');
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_come_out_of_both_kinds_of_id() {
        assert_eq!(
            package_name("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.229"),
            "serde"
        );
        assert_eq!(
            package_name("path+file:///work/crates/multiprocessing#0.1.0"),
            "multiprocessing"
        );
    }

    #[test]
    fn only_the_attempts_messages_are_attributed_to_them() {
        let ours = format!("path+file:///t/folder-1#{PACKAGE}-1@0.0.0");
        let lines = [
            format!(
                r#"{{"reason":"compiler-message","package_id":"{ours}","target":{{"name":"a-1"}},"message":{{"level":"error","rendered":"error[E0308]: mismatched types\n"}}}}"#
            ),
            format!(
                r#"{{"reason":"compiler-message","package_id":"{ours}","target":{{"name":"a-1"}},"message":{{"level":"warning","rendered":"warning: unused\n"}}}}"#
            ),
            format!(
                r#"{{"reason":"compiler-artifact","package_id":"{ours}","target":{{"name":"b-1"}},"executable":"/t/b-1","fresh":false}}"#
            ),
            r#"{"reason":"compiler-artifact","package_id":"registry+x#serde@1.0.0","target":{"name":"serde"},"executable":null,"fresh":false}"#.to_owned(),
            r#"{"reason":"compiler-artifact","package_id":"registry+x#libc@0.2.0","target":{"name":"libc"},"executable":null,"fresh":true}"#.to_owned(),
            "not json".to_owned(),
        ];
        let messages = read_messages(lines.join("\n").as_bytes());
        assert_eq!(messages.errors.len(), 1);
        assert_eq!(messages.errors["a-1"], "error[E0308]: mismatched types\n");
        assert_eq!(messages.executables["b-1"], PathBuf::from("/t/b-1"));
        assert_eq!(messages.compiled_others, vec!["serde".to_owned()]);
        assert!(messages.other_errors.is_empty());
    }
}
