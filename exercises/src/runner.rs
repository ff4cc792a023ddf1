//! Running a check in a child process, under a deadline.
//!
//! Why a child process: a check runs the reader's concurrent code, and concurrent code that is wrong
//! often *hangs* rather than fails. Rust cannot stop a thread from outside (there is no safe way to
//! kill a thread that holds a lock; the lock would stay held), but the operating system can kill a
//! process and reclaim everything it held. So the parent ([`run_check`]) starts a program whose only
//! job is to run one check, and the child ([`run_here`]) runs it and reports. That program is the
//! checker itself for the committed code (`exercises __run <id> <variant>`), and the attempt's own
//! program for a reader's attempt (see [`crate::attempts`]); both speak the same protocol.
//!
//! The protocol is deliberately small: the child prints one last line on stdout, [`SOLVED_LINE`] or
//! [`NOT_SOLVED_LINE`], and exits 0 or 1. Anything else (killed at the deadline, aborted, exited
//! early without that line) is reported as what it is, never as "solved": an attempt that calls
//! `std::process::exit(0)` does not pass.
//!
//! Why polling: std's `Child` has no "wait with a timeout", and killing a child that another thread is
//! blocked in `wait()` on would race with the reaping of its process id. [`run_with_deadline`] polls
//! `try_wait` instead, every millisecond at first and then every 20 ms: cheap, and race-free.
//!
//! Output is captured by one thread per pipe, so a chatty child never blocks on a full pipe, and each
//! capture keeps at most [`MAX_CAPTURE_BYTES`]: an attempt printing in a loop costs bounded memory.

use std::io::{self, Read, Write as _};
use std::panic;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{Exercise, Variant, workspace_root};

/// The hidden subcommand of the checker that runs one committed variant: `__run <id> <variant>`.
pub const RUN_COMMAND: &str = "__run";

/// The child's last stdout line when the check returned.
pub const SOLVED_LINE: &str = "exercises: check returned: solved";
/// The child's last stdout line when the check panicked.
pub const NOT_SOLVED_LINE: &str = "exercises: check panicked: not solved";
/// How much of each of stdout and stderr is kept (the rest is read and dropped).
pub const MAX_CAPTURE_BYTES: usize = 64 * 1024;
/// How many lines of output a report shows at most (the last ones, where the failure is).
pub const MAX_SHOWN_LINES: usize = 40;
/// How long to wait for the output pipes to close after the child has ended. A process the check
/// started (a grandchild) may hold them open; we do not wait for it.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);
/// The longest pause between two polls of the child.
const MAX_POLL: Duration = Duration::from_millis(20);

/// What a process printed, and how it ended.
#[derive(Debug)]
pub struct Captured {
    /// How it ended; `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    /// Its standard output (at most [`MAX_CAPTURE_BYTES`], lossily decoded).
    pub stdout: String,
    /// Its standard error (likewise).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `command` with stdin closed and stdout/stderr captured; kills it if it is still running
/// after `deadline`.
///
/// # Errors
///
/// Only when the process cannot be started or waited for; its own failures are in [`Captured`].
pub fn run_with_deadline(mut command: Command, deadline: Duration) -> io::Result<Captured> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command.spawn()?;
    let stdout = capture(child.stdout.take().expect("stdout was piped"));
    let stderr = capture(child.stderr.take().expect("stderr was piped"));
    let status = wait_until(&mut child, start + deadline)?;
    if status.is_none() {
        // Still running: kill it (SIGKILL on Unix) and reap it, so no process is left behind.
        child.kill()?;
        child.wait()?;
    }
    let elapsed = start.elapsed();
    Ok(Captured {
        status,
        stdout: stdout.collect(),
        stderr: stderr.collect(),
        elapsed,
    })
}

/// Waits for `child` until `deadline`; `None` means it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// A pipe being read on its own thread.
struct Capture(mpsc::Receiver<Vec<u8>>);

trait Pipe: Read + Send + 'static {}
impl Pipe for ChildStdout {}
impl Pipe for ChildStderr {}

/// Reads `pipe` to its end on a new thread, keeping the first [`MAX_CAPTURE_BYTES`].
fn capture(mut pipe: impl Pipe) -> Capture {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        let mut dropped = false;
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_CAPTURE_BYTES - kept.len();
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                    dropped |= n > room;
                }
            }
        }
        if dropped {
            kept.extend_from_slice(b"\n[... more output was dropped ...]\n");
        }
        // The parent may have stopped waiting (see OUTPUT_GRACE); then nobody needs this.
        let _ = sender.send(kept);
    });
    Capture(receiver)
}

impl Capture {
    fn collect(self) -> String {
        match self.0.recv_timeout(OUTPUT_GRACE) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => {
                "[output incomplete: a process the check started still holds it open]".to_owned()
            }
        }
    }
}

/// How a check ended (or why it did not run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `check()` returned: the exercise is solved.
    Solved,
    /// The attempt is still the stub, byte for byte, so it was not run (every stub fails).
    NotStarted,
    /// `check()` panicked; `output` holds the panic message(s) and anything printed.
    Failed {
        /// What the child printed (trimmed to the last [`MAX_SHOWN_LINES`] lines).
        output: String,
    },
    /// The check was still running at the deadline and was killed.
    TimedOut {
        /// The deadline, in seconds.
        deadline_secs: u64,
        /// What the child printed before it was killed.
        output: String,
    },
    /// The child ended some other way: aborted, killed by a signal, or exited without reporting.
    Crashed {
        /// How it ended (`signal: 6 (SIGABRT)`, `exit status: 0`).
        how: String,
        /// What it printed.
        output: String,
    },
    /// The attempt's program did not compile; nothing ran.
    DoesNotCompile {
        /// The compiler's errors, with paths relative to the workspace.
        errors: String,
    },
}

impl Outcome {
    /// Whether the exercise is solved.
    pub fn is_solved(&self) -> bool {
        matches!(self, Outcome::Solved)
    }

    /// A few words for a table row: `solved`, `not yet: check failed`, ...
    pub fn summary(&self) -> String {
        match self {
            Outcome::Solved => "solved".to_owned(),
            Outcome::NotStarted => "not started".to_owned(),
            Outcome::Failed { output } if output.contains("not yet implemented") => {
                "not yet: todo!() reached".to_owned()
            }
            Outcome::Failed { .. } => "not yet: a check failed".to_owned(),
            Outcome::TimedOut { deadline_secs, .. } => {
                format!("not yet: did not finish within {deadline_secs} s")
            }
            Outcome::Crashed { how, .. } => format!("not yet: crashed ({how})"),
            Outcome::DoesNotCompile { .. } => "not yet: does not compile".to_owned(),
        }
    }

    /// The full report: what happened, why it may have happened, and what was printed.
    pub fn explain(&self) -> String {
        let (headline, output) = match self {
            Outcome::Solved => return "solved: every check passed".to_owned(),
            Outcome::NotStarted => {
                return "not started: the attempt is still the stub; its header says what to do"
                    .to_owned();
            }
            Outcome::DoesNotCompile { errors } => {
                return format!(
                    "does not compile, so nothing was run; the compiler says:\n\n{}",
                    errors.trim_end()
                );
            }
            Outcome::Failed { output } => ("not solved yet: a check failed".to_owned(), output),
            Outcome::TimedOut {
                deadline_secs,
                output,
            } => (
                format!(
                    "did not finish within {deadline_secs} s: it may be deadlocked (a thread waiting for \
                     something that never comes: a lock that is never released, a channel whose senders \
                     are never all dropped, a join on a thread that never ends), so it was killed"
                ),
                output,
            ),
            Outcome::Crashed { how, output } => (
                format!(
                    "the check process ended without reporting a result ({how}): it aborted, was killed, or exited early"
                ),
                output,
            ),
        };
        if output.trim().is_empty() {
            headline
        } else {
            format!("{headline}\n\nits output:\n{}", indent(output))
        }
    }
}

/// The command that runs `exercise`'s check against a committed `variant` in the checker `exe`.
///
/// `exe` is the checker binary: `std::env::current_exe()` in the checker, `CARGO_BIN_EXE_exercises`
/// in the tests.
pub fn variant_command(exe: &Path, exercise: &Exercise, variant: Variant) -> Command {
    let mut command = Command::new(exe);
    command.args([RUN_COMMAND, &exercise.id(), exercise.variant_name(variant)]);
    command
}

/// Runs a check program (see [`variant_command`], or an attempt's program), and kills it after
/// `deadline`.
///
/// # Errors
///
/// When the child cannot be started or waited for.
pub fn run_check(mut command: Command, deadline: Duration) -> io::Result<Outcome> {
    // The check's own panics are printed by `run_here`'s hook, without a backtrace; a process the
    // check starts (chapter 2) would print one for a panic it is meant to have, hiding the message
    // that matters among the last lines shown.
    command.env("RUST_BACKTRACE", "0");
    let captured = run_with_deadline(command, deadline)?;
    Ok(classify(captured, deadline))
}

fn classify(captured: Captured, deadline: Duration) -> Outcome {
    let reported = captured
        .stdout
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_owned();
    let stdout: Vec<&str> = captured
        .stdout
        .lines()
        .filter(|line| !line.starts_with("exercises: check "))
        .collect();
    let output = last_lines(&format!(
        "{}\n{}",
        captured.stderr.trim_end(),
        stdout.join("\n").trim_end()
    ));
    match captured.status {
        None => Outcome::TimedOut {
            deadline_secs: deadline.as_secs(),
            output,
        },
        Some(status) if status.success() && reported == SOLVED_LINE => Outcome::Solved,
        Some(status) if status.code() == Some(1) && reported == NOT_SOLVED_LINE => {
            Outcome::Failed { output }
        }
        Some(status) => Outcome::Crashed {
            how: status.to_string(),
            output,
        },
    }
}

/// The last [`MAX_SHOWN_LINES`] lines of `text`, trimmed, with a note when some were cut.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    let cut = lines.len().saturating_sub(MAX_SHOWN_LINES);
    let shown = lines[cut..].join("\n");
    if cut == 0 {
        shown
    } else {
        format!("[... {cut} earlier lines cut ...]\n{shown}")
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  | {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The child's side: runs the check in this process and reports on stdout (see the module docs).
///
/// Panics anywhere in the check (or in a thread it started) are printed to stderr as
/// `thread 'NAME' panicked at FILE:LINE:COL:` and the message, with paths relative to the workspace.
pub fn run_here(check: fn()) -> ExitCode {
    panic::set_hook(Box::new(print_panic));
    let passed = panic::catch_unwind(check).is_ok();
    let _ = io::stderr().flush();
    let mut stdout = io::stdout().lock();
    let line = if passed { SOLVED_LINE } else { NOT_SOLVED_LINE };
    // If stdout is gone the parent is gone too; the exit code still tells the story.
    let _ = writeln!(stdout, "\n{line}").and_then(|()| stdout.flush());
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_panic(info: &panic::PanicHookInfo<'_>) {
    let thread = thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let location = match info.location() {
        Some(location) => format!(
            "{}:{}:{}",
            relative(location.file()),
            location.line(),
            location.column()
        ),
        None => "an unknown location".to_owned(),
    };
    eprintln!(
        "thread '{name}' panicked at {location}:\n{}",
        panic_message(info.payload())
    );
}

/// The text of a panic payload: `panic!("literal")` carries a `&str`, `panic!("{x}")` a `String`.
///
/// `threading::pool::panic_message` does the same for the threading chapter; the checker keeps
/// its own rather than link that crate's HTTP stack into every attempt's build.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic with a payload that is not text)".to_owned()
    }
}

/// `/home/me/work/exercises/attempts/x.rs` → `exercises/attempts/x.rs`.
fn relative(file: &str) -> &str {
    let root = workspace_root().to_str().unwrap_or("");
    file.strip_prefix(root)
        .map_or(file, |rest| rest.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_keeps_the_last_lines() {
        let text: String = (1..=100).map(|n| format!("line {n}\n")).collect();
        let shown = last_lines(&text);
        assert!(
            shown.starts_with("[... 60 earlier lines cut ...]"),
            "{shown}"
        );
        assert!(shown.ends_with("line 100"), "{shown}");
        assert_eq!(shown.lines().count(), MAX_SHOWN_LINES + 1);
    }

    #[cfg(unix)]
    fn captured(code: Option<i32>, stdout: &str, stderr: &str) -> Captured {
        use std::os::unix::process::ExitStatusExt;
        Captured {
            // A wait status holds the exit code in its second byte.
            status: code.map(|code| ExitStatus::from_raw(code << 8)),
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
            elapsed: Duration::ZERO,
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_the_solved_line_and_exit_0_count_as_solved() {
        let deadline = Duration::from_secs(5);
        let solved = classify(
            captured(Some(0), &format!("hello\n{SOLVED_LINE}\n"), ""),
            deadline,
        );
        assert!(solved.is_solved(), "{solved:?}");
        let exited_early = classify(captured(Some(0), "hello\n", ""), deadline);
        assert!(
            matches!(exited_early, Outcome::Crashed { .. }),
            "exit 0 without the line is not solved: {exited_early:?}"
        );
        let failed = classify(
            captured(
                Some(1),
                &format!("\n{NOT_SOLVED_LINE}\n"),
                "thread 'main' panicked at x.rs:1:1:\nwrong",
            ),
            deadline,
        );
        match failed {
            Outcome::Failed { output } => {
                assert!(
                    output.contains("wrong"),
                    "the panic message is kept: {output}"
                );
                assert!(
                    !output.contains(NOT_SOLVED_LINE),
                    "the protocol line is not shown: {output}"
                );
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        let killed = classify(captured(None, "", ""), deadline);
        assert!(
            matches!(
                killed,
                Outcome::TimedOut {
                    deadline_secs: 5,
                    ..
                }
            ),
            "{killed:?}"
        );
        assert!(
            killed.explain().contains("it may be deadlocked"),
            "{}",
            killed.explain()
        );
    }

    #[test]
    fn panic_payloads_of_both_kinds_are_read() {
        let literal = panic::catch_unwind(|| panic!("plain")).expect_err("it panics");
        let formatted = panic::catch_unwind(|| panic!("formatted {}", 7)).expect_err("it panics");
        assert_eq!(panic_message(&*literal), "plain");
        assert_eq!(panic_message(&*formatted), "formatted 7");
    }
}
