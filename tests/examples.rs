//! Runs every example the way a reader would, with the arguments its header names, under a
//! deadline, and checks its output for every `expect:` pattern of its header (see CONTRIBUTING.md,
//! "Adding an example"). Servers are loaded with the testbed client and stopped with SIGTERM.
//!
//! Each example is one trial named by its id, and the usual test flags work:
//! `cargo test -p workspace-tests --test examples -- threading/01` runs the matching ones,
//! `-- --list` lists them, `-- --exact threading/01_spawn_join` runs one.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use std::{env, thread};

use libtest_mimic::{Arguments, Failed, Trial};
use regex::Regex;
use workspace_tests::{Example, Kind, examples, workspace_root};

/// How many examples run at once by default (the machines this runs on have two cores);
/// `--test-threads N` overrides it.
const PARALLEL: usize = 2;
/// How long the output may stay open after the example itself has exited (a grandchild that
/// inherited the pipe), before the run is judged anyway.
const DRAIN_GRACE: Duration = Duration::from_secs(3);

/// One trial per example, named `crate/name`, so libtest's flags work as usual: a filter,
/// `--exact`, `--skip`, `--list`, `--test-threads`. A malformed header is a failing trial of its own.
fn main() -> ExitCode {
    let mut arguments = Arguments::from_args();
    arguments.test_threads.get_or_insert(PARALLEL);
    let trials: Vec<Trial> = examples()
        .into_iter()
        .map(|example| match example {
            Ok(example) => Trial::test(example.id(), move || {
                run_example(&example, &examples_bin_dir()).map_err(Failed::from)
            }),
            Err(problem) => Trial::test("header", move || Err(problem.into())),
        })
        .collect();
    let will_run = trials
        .iter()
        .any(|trial| !arguments.is_filtered_out(trial) && !arguments.is_ignored(trial));
    if will_run
        && !arguments.list
        && let Err(problem) = build_examples()
    {
        eprintln!("could not build the examples: {problem}");
        return ExitCode::FAILURE;
    }
    libtest_mimic::run(&arguments, trials).exit_code()
}

/// Examples are built by `cargo test --workspace` already; building them again is a quick no-op
/// then, and makes `cargo test -p workspace-tests` work on its own.
fn build_examples() -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--workspace", "--examples", "--quiet"])
        .current_dir(workspace_root());
    if profile_dir().ends_with("release") {
        command.arg("--release");
    }
    let status = command.status().map_err(|e| e.to_string())?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo build --examples: {status}"))
}

/// `target/<profile>`: this test binary lives in `target/<profile>/deps`.
fn profile_dir() -> PathBuf {
    let exe = env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn examples_bin_dir() -> PathBuf {
    profile_dir().join("examples")
}

/// A line of output, from stdout or stderr, in the order it was read.
enum Event {
    Line(String),
    Closed,
}

fn run_example(example: &Example, bin_dir: &Path) -> Result<(), String> {
    let binary = bin_dir.join(&example.name);
    let mut child = Command::new(&binary)
        .args(&example.args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
    let events = read_output(&mut child);
    let deadline = Instant::now() + example.timeout;
    let mut output = Output::new(events, deadline);
    let status = match drive(example, &mut child, &mut output) {
        Ok(status) => status,
        Err(problem) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{problem}\n{}", output.tail()));
        }
    };
    output.drain_until_closed(DRAIN_GRACE);
    if status.code() != Some(example.exit_code) {
        return Err(format!(
            "exited with {status}, expected exit code {}\n{}",
            example.exit_code,
            output.tail()
        ));
    }
    let missing: Vec<&String> = example
        .expect
        .iter()
        .filter(|pattern| {
            let regex = Regex::new(pattern).expect("checked when the header was parsed");
            !output.lines.iter().any(|line| regex.is_match(line))
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no output line matches {missing:?}\n{}",
            output.tail()
        ))
    }
}

/// Runs the example's scenario and returns its exit status, or why it failed.
fn drive(example: &Example, child: &mut Child, output: &mut Output) -> Result<ExitStatus, String> {
    match example.kind {
        Kind::Run => {}
        Kind::LineServer => {
            let listening = Regex::new(r"listening on (\S+)").unwrap();
            let line = output.wait_for(&listening, "a line `listening on ADDR`")?;
            let addr = listening.captures(&line).unwrap()[1]
                .parse()
                .map_err(|e| format!("`{line}`: not a socket address ({e})"))?;
            let config = testbed::load::LoadConfig {
                connections: 4,
                round_trips: 100,
                timeout: Duration::from_secs(10),
            };
            let report = testbed::load::run(addr, &config)
                .map_err(|e| format!("the load client failed against {addr}: {e}"))?;
            output.lines.push(format!(
                "[examples test] load client: {} round trips checked",
                report.round_trips
            ));
            terminate(child)?;
        }
        Kind::Sigterm => {
            let ready = Regex::new(example.ready.as_deref().unwrap()).unwrap();
            output.wait_for(&ready, "the `test-ready:` line")?;
            terminate(child)?;
        }
    }
    output.wait_for_exit(child)
}

fn terminate(child: &Child) -> Result<(), String> {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or("the child has no valid pid")?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM)
        .map_err(|e| format!("could not send SIGTERM: {e}"))
}

/// Reads stdout and stderr on two threads into one channel of lines.
fn read_output(child: &mut Child) -> Receiver<Event> {
    let (send, events) = mpsc::channel();
    let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    for stream in [stdout, stderr] {
        let send = send.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if send.send(Event::Line(line)).is_err() {
                    return;
                }
            }
            let _ = send.send(Event::Closed);
        });
    }
    events
}

/// The output seen so far, and the deadline of the whole run.
struct Output {
    events: Receiver<Event>,
    lines: Vec<String>,
    open_streams: usize,
    deadline: Instant,
}

impl Output {
    fn new(events: Receiver<Event>, deadline: Instant) -> Output {
        Output {
            events,
            lines: Vec::new(),
            open_streams: 2,
            deadline,
        }
    }

    /// Takes one event, waiting at most `until`; false when nothing came.
    fn take_one(&mut self, until: Instant) -> bool {
        let wait = until.saturating_duration_since(Instant::now());
        match self.events.recv_timeout(wait) {
            Ok(Event::Line(line)) => self.lines.push(line),
            Ok(Event::Closed) => self.open_streams -= 1,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
        }
        true
    }

    fn wait_for(&mut self, pattern: &Regex, what: &str) -> Result<String, String> {
        let mut checked = 0;
        loop {
            if let Some(line) = self.lines[checked..].iter().find(|l| pattern.is_match(l)) {
                return Ok(line.clone());
            }
            checked = self.lines.len();
            if self.open_streams == 0 {
                return Err(format!("the output ended before {what}"));
            }
            if !self.take_one(self.deadline) {
                return Err(format!("timed out waiting for {what}"));
            }
        }
    }

    fn wait_for_exit(&mut self, child: &mut Child) -> Result<ExitStatus, String> {
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() >= self.deadline {
                return Err("did not exit before its deadline (test-timeout)".to_owned());
            }
            // Poll the exit status every 20 ms until the deadline, reading output in between.
            let next_poll = (Instant::now() + Duration::from_millis(20)).min(self.deadline);
            if self.open_streams > 0 {
                while self.open_streams > 0 && self.take_one(next_poll) {}
            } else {
                thread::sleep(next_poll.saturating_duration_since(Instant::now()));
            }
        }
    }

    fn drain_until_closed(&mut self, grace: Duration) {
        let until = Instant::now() + grace;
        while self.open_streams > 0 && self.take_one(until) {}
    }

    /// The last lines of output, for failure messages.
    fn tail(&self) -> String {
        let start = self.lines.len().saturating_sub(25);
        let shown: Vec<String> = self.lines[start..]
            .iter()
            .map(|l| format!("    | {l}"))
            .collect();
        format!(
            "  output (last {} lines):\n{}",
            shown.len(),
            shown.join("\n")
        )
    }
}
