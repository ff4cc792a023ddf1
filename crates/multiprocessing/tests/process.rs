//! Tests of `Process`: values, panics, deaths, start-up failures, parent death, bad input, drop.
//!
//! A `harness = false` target: children re-execute this binary, so `main` calls
//! `multiprocessing::init()` first and then runs the tests through `support` (a watchdog per test,
//! and a final check that no child of this process is left). Every wait on a child has a deadline
//! of its own, and every test kills what it started on its failure paths (a `Process` dropped
//! during a panic is killed).

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multiprocessing::{Error, Process, StartMethod};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use support::{children_of, is_running, join, recv, send_signal};
use testbed::wait::DEADLINE;

/// Set in a run of this binary that only drops an unjoined child whose function failed (see
/// `dropping_an_unjoined_failed_child_prints_its_error`).
const DROP_FAILED_ENV: &str = "PROCESS_TEST_DROP_FAILED";

fn main() -> ExitCode {
    multiprocessing::init();
    if std::env::var_os(DROP_FAILED_ENV).is_some() {
        let child = Process::spawn_fallible(parse_port, "eighty".to_string()).expect("spawn");
        drop(child);
        return ExitCode::SUCCESS;
    }
    support::run(
        tests![
            spawn_and_join_return_values,
            names_and_pids_reach_the_child,
            panic_message_and_location_reach_the_parent,
            killed_child_is_died_minus_9_and_others_finish,
            child_exit_without_result_is_died_with_its_code,
            terminate_during_start_up_is_died_minus_15,
            children_die_with_a_sigkilled_parent,
            argument_that_does_not_deserialize_is_an_error,
            argument_that_does_not_serialize_fails_spawn,
            oversized_messages_are_errors,
            long_tmpdir_is_a_clear_error,
            join_timeout_is_alive_and_exitcode,
            terminate_gives_exitcode_minus_15,
            dropping_a_non_daemon_joins_it,
            dropping_a_daemon_kills_it,
            children_outlive_the_thread_that_spawned_them,
            result_survives_reaping_before_join,
            ipc_channels_travel_inside_arguments,
            a_fallible_childs_ok_is_its_value_and_its_err_is_failed,
            an_anyhow_error_keeps_its_context_chain,
            a_fallible_child_that_panics_is_still_panicked,
            dropping_an_unjoined_failed_child_prints_its_error,
        ],
        support::TEST_DEADLINE,
    )
}

// ---- the functions children run ------------------------------------------------------------

fn square(x: u64) -> u64 {
    x * x
}

fn shout(words: Vec<String>) -> String {
    words.join(" ").to_uppercase()
}

fn my_name_and_pid(_: ()) -> (String, u32) {
    (
        multiprocessing::current_process_name().to_string(),
        std::process::id(),
    )
}

fn panics(message: String) -> u32 {
    panic!("{message}")
}

/// Reports that it started, then blocks until released (or forever if never released).
fn wait_for_release((started, release): (IpcSender<u32>, IpcReceiver<u32>)) -> u32 {
    started.send(std::process::id()).expect("report start");
    release.recv().unwrap_or(0)
}

fn exits_with(code: i32) -> u32 {
    std::process::exit(code)
}

/// Reports its pid, then blocks until a signal ends it. It holds nothing that belongs to its
/// parent, so only a signal (the parent-death signal, in the test) can end it.
fn block_until_killed(report: IpcSender<u32>) -> u32 {
    report.send(std::process::id()).expect("report start");
    loop {
        std::thread::park();
    }
}

/// Starts a grandchild that blocks forever, reports its pid, then blocks itself.
fn spawn_grandchild(report: IpcSender<u32>) -> u32 {
    let (started, started_rx) = ipc::channel().expect("channel");
    let grandchild = Process::builder()
        .daemon(true)
        .spawn(block_until_killed, started)
        .expect("spawn grandchild");
    let grandchild_pid: u32 = started_rx.recv().expect("grandchild started");
    assert_eq!(grandchild_pid, grandchild.pid());
    report.send(grandchild_pid).expect("report grandchild");
    block_until_killed(report)
}

/// Tries to start a process and returns the error's message (or "started").
fn try_to_spawn(_: ()) -> String {
    match Process::spawn(square, 2) {
        Ok(process) => process
            .join()
            .map(|_| "started".to_string())
            .unwrap_or_else(|e| e.to_string()),
        Err(error) => error.to_string(),
    }
}

/// Odd numbers only: its `Deserialize` rejects what its `Serialize` happily writes.
#[derive(Debug)]
struct Odd(u32);

impl Serialize for Odd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for Odd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(deserializer)?;
        if value % 2 == 1 {
            Ok(Odd(value))
        } else {
            Err(serde::de::Error::custom("not odd"))
        }
    }
}

fn odd_value(odd: Odd) -> u32 {
    odd.0
}

/// A value whose serialization always fails.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refuses to be serialized"))
    }
}

impl<'de> Deserialize<'de> for Unserializable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <()>::deserialize(deserializer).map(|()| Unserializable)
    }
}

fn unserializable(_: Unserializable) -> u32 {
    0
}

fn count_senders(senders: Vec<IpcSender<u32>>) -> usize {
    senders.len()
}

fn make_65_senders(_: ()) -> Vec<IpcSender<u32>> {
    (0..65)
        .map(|_| ipc::channel().expect("channel").0)
        .collect()
}

fn send_back(sender: IpcSender<String>) -> u32 {
    sender
        .send("hello through a channel that crossed into me".into())
        .expect("send");
    7
}

/// A fallible function with a plain `std` error (`Display`, not `Serialize`).
fn parse_port(text: String) -> Result<u16, std::num::ParseIntError> {
    text.parse()
}

/// A fallible function with an `anyhow` error: two layers of context around the parse error.
fn read_port(text: String) -> anyhow::Result<u16> {
    use anyhow::Context;
    let port: u16 = text
        .parse()
        .with_context(|| format!("parsing {text:?}"))
        .context("reading the port")?;
    Ok(port)
}

fn fallible_panic(message: String) -> Result<u32, String> {
    panic!("{message}")
}

// ---- the tests -----------------------------------------------------------------------------

fn spawn_and_join_return_values() {
    let squares: Vec<_> = (1..=4)
        .map(|x| Process::spawn(square, x).expect("spawn"))
        .collect();
    let results: Vec<u64> = squares
        .into_iter()
        .map(|p| join(p).expect("join"))
        .collect();
    assert_eq!(results, vec![1, 4, 9, 16]);
    let words = vec!["no".to_string(), "gil".to_string(), "here".to_string()];
    let shouted = join(Process::spawn(shout, words).expect("spawn")).expect("join");
    assert_eq!(shouted, "NO GIL HERE");
}

fn names_and_pids_reach_the_child() {
    let named = Process::builder()
        .name("worker-A")
        .spawn(my_name_and_pid, ())
        .expect("spawn");
    assert_eq!(named.name(), "worker-A");
    let pid = named.pid();
    let (name, child_pid) = join(named).expect("join");
    assert_eq!(name, "worker-A");
    assert_eq!(child_pid, pid);
    let unnamed = Process::spawn(my_name_and_pid, ()).expect("spawn");
    assert!(unnamed.name().starts_with("Process-"), "{}", unnamed.name());
    let expected = unnamed.name().to_string();
    assert_eq!(join(unnamed).expect("join").0, expected);
    assert_eq!(multiprocessing::current_process_name(), "MainProcess");
}

fn panic_message_and_location_reach_the_parent() {
    let mut child = Process::spawn(panics, "the answer is not 41".to_string()).expect("spawn");
    let error = child
        .join_timeout(DEADLINE)
        .expect_err("a panic is an error");
    match error {
        Error::Panicked { message, location } => {
            assert_eq!(message, "the answer is not 41");
            assert!(
                location.contains("tests/process.rs:"),
                "location: {location}"
            );
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(
        child.exitcode(),
        Some(1),
        "Python's exit code after an exception"
    );
    assert!(
        matches!(child.join_timeout(DEADLINE), Err(Error::AlreadyJoined)),
        "an error is handed out once, like a value"
    );
    child.kill().expect("killing a joined child is a no-op");
}

fn killed_child_is_died_minus_9_and_others_finish() {
    let (started, started_rx) = ipc::channel().expect("channel");
    let (_release, release_rx) = ipc::channel::<u32>().expect("channel");
    let victim = Process::spawn(wait_for_release, (started, release_rx)).expect("spawn");
    let others: Vec<_> = (10..13)
        .map(|x| Process::spawn(square, x).expect("spawn"))
        .collect();
    assert_eq!(recv(&started_rx, "the victim to start"), victim.pid());
    victim.kill().expect("kill");
    match join(victim) {
        Err(Error::Died { exitcode }) => assert_eq!(exitcode, -9),
        other => panic!("expected Died {{ exitcode: -9 }}, got {other:?}"),
    }
    let results: Vec<u64> = others.into_iter().map(|p| join(p).expect("join")).collect();
    assert_eq!(results, vec![100, 121, 144]);
}

fn child_exit_without_result_is_died_with_its_code() {
    let child = Process::spawn(exits_with, 4).expect("spawn");
    match join(child) {
        Err(Error::Died { exitcode }) => assert_eq!(exitcode, 4),
        other => panic!("expected Died {{ exitcode: 4 }}, got {other:?}"),
    }
}

fn terminate_during_start_up_is_died_minus_15() {
    let (started, _started_rx) = ipc::channel().expect("channel");
    let (_release, release_rx) = ipc::channel::<u32>().expect("channel");
    let child = Process::spawn(wait_for_release, (started, release_rx)).expect("spawn");
    child.terminate().expect("terminate at once");
    match join(child) {
        Err(Error::Died { exitcode: -15 }) => {}
        other => panic!("expected Died {{ exitcode: -15 }}, got {other:?}"),
    }
}

fn children_die_with_a_sigkilled_parent() {
    let (report, report_rx) = ipc::channel().expect("channel");
    let middle = Process::spawn(spawn_grandchild, report).expect("spawn");
    let grandchild = recv(&report_rx, "the grandchild's pid");
    assert_eq!(
        recv(&report_rx, "the middle process to block"),
        middle.pid()
    );
    assert!(is_running(grandchild), "grandchild {grandchild} runs");
    middle.kill().expect("kill the middle process");
    match join(middle) {
        Err(Error::Died { exitcode: -9 }) => {}
        other => panic!("expected the middle process to die by SIGKILL, got {other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while is_running(grandchild) {
        if Instant::now() >= deadline {
            send_signal(grandchild, rustix::process::Signal::KILL);
            panic!("grandchild {grandchild} still ran 1 s after its parent was killed");
        }
        std::thread::yield_now();
    }
}

fn argument_that_does_not_deserialize_is_an_error() {
    assert_eq!(
        join(Process::spawn(odd_value, Odd(3)).expect("spawn")).expect("join"),
        3
    );
    let child = Process::spawn(odd_value, Odd(4)).expect("spawn");
    match join(child) {
        Err(Error::Serialization(message)) => {
            assert!(message.contains("argument"), "{message}");
            assert!(message.contains("Odd"), "{message}");
        }
        other => panic!("expected a Serialization error, got {other:?}"),
    }
}

fn argument_that_does_not_serialize_fails_spawn() {
    match Process::spawn(unserializable, Unserializable) {
        Err(Error::Serialization(message)) => {
            assert!(message.contains("the argument"), "{message}")
        }
        other => panic!(
            "expected a Serialization error, got {:?}",
            other.map(|p| p.pid())
        ),
    }
}

fn oversized_messages_are_errors() {
    let senders: Vec<IpcSender<u32>> = (0..65)
        .map(|_| ipc::channel().expect("channel").0)
        .collect();
    match Process::spawn(count_senders, senders) {
        Err(Error::TooManyHandles { what }) => assert!(what.contains("argument"), "{what}"),
        other => panic!("expected TooManyHandles, got {:?}", other.map(|p| p.pid())),
    }
    let senders: Vec<IpcSender<u32>> = (0..64)
        .map(|_| ipc::channel().expect("channel").0)
        .collect();
    assert_eq!(
        join(Process::spawn(count_senders, senders).expect("spawn")).expect("join"),
        64
    );
    match join(Process::spawn(make_65_senders, ()).expect("spawn")) {
        Err(Error::Serialization(message)) => assert!(message.contains("64"), "{message}"),
        other => panic!("expected an error about the result, got {other:?}"),
    }
}

fn long_tmpdir_is_a_clear_error() {
    let long_dir = format!("/tmp/{}", "d".repeat(120));
    let child = Process::builder()
        .env("TMPDIR", &long_dir)
        .spawn(try_to_spawn, ())
        .expect("spawn the probe");
    let message = join(child).expect("join the probe");
    assert!(
        message.contains("is too long for a Unix socket path"),
        "{message}"
    );
    assert!(message.contains(&long_dir), "{message}");
}

fn join_timeout_is_alive_and_exitcode() {
    let (started, started_rx) = ipc::channel().expect("channel");
    let (release, release_rx) = ipc::channel::<u32>().expect("channel");
    let mut child = Process::spawn(wait_for_release, (started, release_rx)).expect("spawn");
    recv(&started_rx, "the child to start");
    assert!(child.is_alive());
    assert_eq!(child.exitcode(), None);
    assert!(matches!(
        child.join_timeout(Duration::from_millis(20)),
        Ok(None)
    ));
    assert!(format!("{child:?}").contains("Running"), "{child:?}");
    assert!(
        child.is_alive(),
        "a join that timed out leaves the child running"
    );
    release.send(99).expect("release");
    assert_eq!(child.join_timeout(DEADLINE).expect("join"), Some(99));
    assert!(!child.is_alive());
    assert_eq!(child.exitcode(), Some(0));
    assert!(matches!(
        child.join_timeout(DEADLINE),
        Err(Error::AlreadyJoined)
    ));
    child
        .terminate()
        .expect("terminating a finished child is a no-op");
}

fn terminate_gives_exitcode_minus_15() {
    let (started, started_rx) = ipc::channel().expect("channel");
    let (_release, release_rx) = ipc::channel::<u32>().expect("channel");
    let mut child = Process::spawn(wait_for_release, (started, release_rx)).expect("spawn");
    recv(&started_rx, "the child to start");
    child.terminate().expect("terminate");
    match child.join_timeout(DEADLINE) {
        Err(Error::Died { exitcode: -15 }) => {}
        other => panic!("expected Died {{ exitcode: -15 }}, got {other:?}"),
    }
    assert_eq!(child.exitcode(), Some(-15));
}

/// Reports start, waits for release, then reports that it finished.
fn finish_after_release(
    (started, release, finished): (IpcSender<u32>, IpcReceiver<u32>, IpcSender<u32>),
) -> u32 {
    started.send(std::process::id()).expect("report start");
    let value = release.recv().unwrap_or(0);
    finished.send(value).expect("report finish");
    value
}

/// With both methods: a spawned child is still `Connecting` when dropped here (drop waits for the
/// watcher, then drains), a forked one is `Running`.
fn dropping_a_non_daemon_joins_it() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let (started, started_rx) = ipc::channel().expect("channel");
        let (release, release_rx) = ipc::channel::<u32>().expect("channel");
        let (finished, finished_rx) = ipc::channel::<u32>().expect("channel");
        let child = Process::builder()
            .start_method(method)
            .spawn(finish_after_release, (started, release_rx, finished))
            .expect("spawn");
        release.send(5).expect("release");
        drop(child);
        let pid = recv(&started_rx, "the child's pid");
        assert_eq!(
            finished_rx.try_recv().ok(),
            Some(5),
            "{method:?}: drop returned only after the child had finished its function"
        );
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{method:?}: and it was reaped"
        );
    }
}

fn dropping_a_daemon_kills_it() {
    let (started, started_rx) = ipc::channel().expect("channel");
    let (_release, release_rx) = ipc::channel::<u32>().expect("channel");
    let child = Process::builder()
        .daemon(true)
        .spawn(wait_for_release, (started, release_rx))
        .expect("spawn");
    assert!(child.daemon());
    let pid = recv(&started_rx, "the daemon to start");
    drop(child);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "killed and reaped"
    );
    let still_ours: HashSet<u32> = children_of(std::process::id()).into_iter().collect();
    assert!(!still_ours.contains(&pid));
}

fn ipc_channels_travel_inside_arguments() {
    let (sender, receiver) = ipc::channel::<String>().expect("channel");
    let child = Process::spawn(send_back, sender).expect("spawn");
    assert_eq!(
        recv(&receiver, "a message from the child"),
        "hello through a channel that crossed into me"
    );
    assert_eq!(join(child).expect("join"), 7);
}

/// PR_SET_PDEATHSIG fires when the *thread* that forked a child ends. The crate forks from its own
/// long-lived thread, so a child started from a thread that has finished keeps running.
fn children_outlive_the_thread_that_spawned_them() {
    let (started, started_rx) = ipc::channel().expect("channel");
    let (release, release_rx) = ipc::channel::<u32>().expect("channel");
    let child = std::thread::spawn(move || {
        Process::spawn(wait_for_release, (started, release_rx)).expect("spawn")
    })
    .join()
    .expect("the spawning thread finished");
    let pid = recv(&started_rx, "the child to start");
    assert!(
        is_running(pid),
        "the child survived the end of its spawning thread"
    );
    release.send(11).expect("release");
    assert_eq!(join(child).expect("join"), 11);
}

/// `exitcode()` reaps the child; the result it sent before exiting is still delivered by `join`.
fn result_survives_reaping_before_join() {
    let mut child = Process::spawn(square, 12).expect("spawn");
    let deadline = Instant::now() + DEADLINE;
    while child.exitcode().is_none() {
        assert!(
            Instant::now() < deadline,
            "the child did not exit within {DEADLINE:?}"
        );
        std::thread::yield_now();
    }
    assert_eq!(child.exitcode(), Some(0));
    assert_eq!(join(child).expect("join"), 144);
}

/// With both methods: `Ok` arrives as the value, `Err` as `Error::Failed` with the error's text,
/// and the child exits with 1 (Python's code after an exception).
fn a_fallible_childs_ok_is_its_value_and_its_err_is_failed() {
    let parse_error = "eighty"
        .parse::<u16>()
        .expect_err("not a number")
        .to_string();
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let good = Process::builder()
            .start_method(method)
            .spawn_fallible(parse_port, "8080".to_string())
            .expect("spawn");
        assert_eq!(join(good).expect("join"), 8080, "{method:?}");
        let mut bad = Process::builder()
            .start_method(method)
            .spawn_fallible(parse_port, "eighty".to_string())
            .expect("spawn");
        match bad.join_timeout(DEADLINE) {
            Err(Error::Failed { message }) => assert_eq!(message, parse_error, "{method:?}"),
            other => panic!("{method:?}: expected Failed, got {other:?}"),
        }
        assert_eq!(bad.exitcode(), Some(1), "{method:?}");
    }
}

/// anyhow's chain of contexts crosses the process boundary, outermost first (`{:#}`).
fn an_anyhow_error_keeps_its_context_chain() {
    let parse_error = "x".parse::<u16>().expect_err("not a number").to_string();
    let child = Process::spawn_fallible(read_port, "x".to_string()).expect("spawn");
    let error = join(child).expect_err("the child's Err");
    let Error::Failed { message } = &error else {
        panic!("expected Failed, got {error:?}");
    };
    assert_eq!(
        message,
        &format!("reading the port: parsing \"x\": {parse_error}")
    );
    assert_eq!(
        error.to_string(),
        format!("the child's function returned an error: {message}")
    );
}

fn a_fallible_child_that_panics_is_still_panicked() {
    let child = Process::spawn_fallible(fallible_panic, "not an Err".to_string()).expect("spawn");
    match join(child) {
        Err(Error::Panicked { message, .. }) => assert_eq!(message, "not an Err"),
        other => panic!("expected Panicked, got {other:?}"),
    }
}

/// Nobody joined it, so `drop` is the last one who can tell: the error goes to stderr.
fn dropping_an_unjoined_failed_child_prints_its_error() {
    let parse_error = "eighty"
        .parse::<u16>()
        .expect_err("not a number")
        .to_string();
    let output = support::run_this_binary(&[(DROP_FAILED_ENV, "1")], &[]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "was dropped without join; its function returned an error: {parse_error}"
        )),
        "{stderr}"
    );
}
