//! The tour as a reader runs it: the whole walk end to end (in quick mode, since tests build in
//! debug), `list`, `run`, `--json`, and a clear error for a chapter that does not exist. Every run
//! has a deadline.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs the tour binary with `args`, without a terminal, and fails the test if it has not
/// finished within `deadline`.
fn tour(args: &[&str], deadline: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tour"))
        .args(args)
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the tour");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = Vec::new();
        stdout.read_to_end(&mut text).map(|_| text)
    });
    let err = thread::spawn(move || {
        let mut text = Vec::new();
        stderr.read_to_end(&mut text).map(|_| text)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the tour") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`tour {}` did not finish within {deadline:?}",
                args.join(" ")
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap().expect("read stdout"),
        stderr: err.join().unwrap().expect("read stderr"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_whole_tour_runs_every_chapter_and_its_scenarios() {
    let output = tour(&["--quick"], Duration::from_secs(180));
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "the tour failed:\n{stdout}\n{}",
        text(&output.stderr)
    );
    for expected in [
        "== 1. Overview ==",
        "== 2. Multiprocessing ==",
        "start a process and join it, fork server: median",
        "start a process and join it, spawn method: median",
        "4 tasks x sum of n^2 for n < 100000 (each = 333328333350000)",
        "== 3. Threading ==",
        "sum of n^2 for n < 1000000: 1 thread",
        "downloaded 4 MiB from the local site",
        "== 4. Coroutines ==",
        "fetched 200 pages",
        "at most 50 at once (the limit is 50)",
        "== 6. Choosing a model ==",
        "Measured on this machine:",
        "cargo run -p threading --example 01_spawn_join",
    ] {
        assert!(
            stdout.contains(expected),
            "the tour's output lacks {expected:?}:\n{stdout}"
        );
    }
}

#[test]
fn json_prints_the_measurements_on_stdout() {
    let output = tour(&["--json", "run", "coroutines"], Duration::from_secs(60));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let measurements: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    let rows = measurements.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(rows[0]["chapter"], "coroutines");
    assert_eq!(rows[0]["unit"], "s");
    assert!(
        text(&output.stderr).contains("== 4. Coroutines =="),
        "the narration goes to stderr with --json"
    );
}

#[test]
fn list_names_every_chapter() {
    let output = tour(&["list"], Duration::from_secs(30));
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    for id in [
        "overview",
        "multiprocessing",
        "threading",
        "coroutines",
        "patterns",
        "choosing",
    ] {
        assert!(stdout.contains(id), "`tour list` lacks {id}:\n{stdout}");
    }
}

#[test]
fn list_shows_the_command_of_every_example() {
    let output = tour(&["list"], Duration::from_secs(30));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for krate in ["multiprocessing", "threading", "coroutines", "patterns"] {
        let Ok(entries) = fs::read_dir(crates.join(krate).join("examples")) else {
            continue; // a chapter without examples yet
        };
        for path in entries.map(|entry| entry.expect("read examples/").path()) {
            let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
                continue;
            };
            if path.extension().is_some_and(|ext| ext == "rs") {
                let command = format!("cargo run -p {krate} --example {name} ");
                assert!(
                    stdout.contains(&command),
                    "`tour list` lacks `{command}`:\n{stdout}"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 2,
        "found only {checked} examples under {crates:?}"
    );
}

#[test]
fn an_unknown_chapter_is_a_clear_error() {
    let output = tour(&["run", "nine"], Duration::from_secs(30));
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no chapter \"nine\"") && stderr.contains("tour list"),
        "{stderr}"
    );
}
