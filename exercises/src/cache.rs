//! Remembered results: an attempt that has not changed is not checked again.
//!
//! Checking every attempt on every status costs tens of seconds: the programs must be built, and a
//! stub that deadlocks runs into its deadline. But a check's verdict depends only on a few things,
//! and when none of them changed, neither did the verdict. The [`key`] of a result is a hash of
//! all of them:
//!
//! - the attempt's text, byte for byte;
//! - the exercise's `check.rs`, its deadline, and whether its check is async;
//! - the build of the checker: its executable's size and modification time. Cargo rebuilds the
//!   checker whenever one of the libraries an attempt links changes (this crate, `multiprocessing`,
//!   a dependency in `Cargo.lock`), when an `exercise.toml` or a `check.rs` changes, and when the
//!   toolchain does, so every one of those causes invalidates every remembered result.
//!
//! Each result is a small text file `results/<module>.txt` in the attempts' package directory: a
//! header (the key, the kind of outcome, its details), then the output that was shown. It is
//! written to a temporary file and renamed, so a checker killed halfway never leaves half a result.
//!
//! What the key cannot see: a check that is flaky (a wrong attempt that passes once in a while) is
//! remembered as whatever it did the last time it ran. `check ID` always runs the check again.

use std::fs;
use std::hash::{DefaultHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use crate::Exercise;
use crate::runner::Outcome;

/// Bumped whenever the format of a result file or the meaning of a key changes.
const FORMAT: &str = "exercises-result v1";

/// A 64-bit hash of `parts` (each length-prefixed, so that no two lists of parts collide by
/// concatenation). std's `DefaultHasher` with its fixed keys is stable for one build of the
/// checker, which is all a key needs: a new build invalidates the keys anyway.
pub fn hash(parts: &[&[u8]]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for part in parts {
        hasher.write_usize(part.len());
        hasher.write(part);
    }
    hasher.finish()
}

/// What identifies this build of the checker: its executable's size and modification time.
pub fn checker_identity(exe: &Path) -> String {
    match fs::metadata(exe) {
        Ok(meta) => {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} bytes, modified {modified}", meta.len())
        }
        // Unknown: a key that matches nothing remembered, so everything is checked.
        Err(error) => format!("unknown ({error}), {:?}", std::time::SystemTime::now()),
    }
}

/// The key of a result for `attempt` (the attempt's text) at `exercise`, checked by `checker`
/// (see [`checker_identity`]).
pub fn key(exercise: &Exercise, attempt: &str, checker: &str) -> u64 {
    let check = fs::read(
        crate::workspace_root()
            .join(exercise.folder)
            .join("check.rs"),
    )
    .unwrap_or_default();
    hash(&[
        FORMAT.as_bytes(),
        attempt.as_bytes(),
        &check,
        &exercise.deadline_secs.to_le_bytes(),
        &[u8::from(exercise.is_async)],
        checker.as_bytes(),
    ])
}

/// The remembered results of one attempts folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The results kept in `dir` (created when the first result is stored).
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    fn file(&self, exercise: &Exercise) -> PathBuf {
        self.dir.join(format!("{}.txt", exercise.module()))
    }

    /// The result remembered for `exercise` under `key`, if there is one.
    pub fn load(&self, exercise: &Exercise, key: u64) -> Option<Outcome> {
        let text = fs::read_to_string(self.file(exercise)).ok()?;
        let (header, body) = text.split_once("\n---\n")?;
        let mut lines = header.lines();
        if lines.next()? != FORMAT || lines.next()? != format!("key {key:016x}") {
            return None;
        }
        let kind = lines.next()?.strip_prefix("outcome ")?;
        let detail = lines.next()?.strip_prefix("detail ")?.to_owned();
        let body = body.to_owned();
        Some(match kind {
            "solved" => Outcome::Solved,
            "failed" => Outcome::Failed { output: body },
            "timed_out" => Outcome::TimedOut {
                deadline_secs: detail.parse().ok()?,
                output: body,
            },
            "crashed" => Outcome::Crashed {
                how: detail,
                output: body,
            },
            "does_not_compile" => Outcome::DoesNotCompile { errors: body },
            _ => return None,
        })
    }

    /// Remembers `outcome` for `exercise` under `key` ("not started" is never stored: it is
    /// decided without running anything).
    ///
    /// # Errors
    ///
    /// When the results folder or file cannot be written.
    pub fn store(&self, exercise: &Exercise, key: u64, outcome: &Outcome) -> io::Result<()> {
        let (kind, detail, body) = match outcome {
            Outcome::NotStarted => return Ok(()),
            Outcome::Solved => ("solved", String::new(), ""),
            Outcome::Failed { output } => ("failed", String::new(), output.as_str()),
            Outcome::TimedOut {
                deadline_secs,
                output,
            } => ("timed_out", deadline_secs.to_string(), output.as_str()),
            Outcome::Crashed { how, output } => ("crashed", how.clone(), output.as_str()),
            Outcome::DoesNotCompile { errors } => {
                ("does_not_compile", String::new(), errors.as_str())
            }
        };
        fs::create_dir_all(&self.dir)?;
        let file = self.file(exercise);
        let temporary = file.with_extension(format!("tmp{}", std::process::id()));
        fs::write(
            &temporary,
            format!("{FORMAT}\nkey {key:016x}\noutcome {kind}\ndetail {detail}\n---\n{body}"),
        )?;
        fs::rename(&temporary, &file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "exercises-cache-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn every_kind_of_outcome_comes_back_as_stored() {
        let dir = scratch();
        let cache = Cache::new(dir.clone());
        let exercise = &crate::EXERCISES[0];
        let outcomes = [
            Outcome::Solved,
            Outcome::Failed {
                output: "thread 'main' panicked\n---\nwith a separator line".into(),
            },
            Outcome::TimedOut {
                deadline_secs: 7,
                output: "partial".into(),
            },
            Outcome::Crashed {
                how: "signal: 6 (SIGABRT)".into(),
                output: String::new(),
            },
            Outcome::DoesNotCompile {
                errors: "error[E0308]: mismatched types".into(),
            },
        ];
        for (n, outcome) in outcomes.iter().enumerate() {
            cache.store(exercise, n as u64, outcome).unwrap();
            assert_eq!(cache.load(exercise, n as u64).as_ref(), Some(outcome));
            assert_eq!(
                cache.load(exercise, n as u64 + 100),
                None,
                "another key finds nothing"
            );
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn keys_change_with_the_attempt_and_the_checker() {
        let exercise = &crate::EXERCISES[0];
        let base = key(exercise, "fn main() {}", "build 1");
        assert_eq!(base, key(exercise, "fn main() {}", "build 1"));
        assert_ne!(base, key(exercise, "fn main() {} ", "build 1"));
        assert_ne!(base, key(exercise, "fn main() {}", "build 2"));
        assert_ne!(base, key(&crate::EXERCISES[1], "fn main() {}", "build 1"));
    }
}
