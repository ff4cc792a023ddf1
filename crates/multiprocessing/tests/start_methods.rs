//! Tests of the two start methods: what each child's parent is, that both report values, panics
//! and deaths the same way, and what happens when the fork server itself is hit by SIGINT or
//! SIGKILL.
//!
//! A `harness = false` target, like the others (see `support`).

mod support;

use std::process::ExitCode;

use ipc_channel::ipc::{self, IpcSender};
use multiprocessing::{Error, Process, StartMethod};
use rustix::process::Signal;
use support::{children_of, is_running, join, recv, send_signal};
use testbed::wait::{DEADLINE, wait_until};

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            init_started_a_fork_server,
            a_forked_child_is_the_servers_child_a_spawned_one_ours,
            both_methods_report_values_panics_and_signals_alike,
            builder_env_reaches_the_child_with_both_methods,
            sigint_stops_a_forked_child_but_not_the_server,
            a_killed_server_takes_its_children_and_is_replaced,
        ],
        support::TEST_DEADLINE,
    )
}

const METHODS: [StartMethod; 2] = [StartMethod::Spawn, StartMethod::ForkServer];

fn square(x: u64) -> u64 {
    x * x
}

fn panics(message: String) -> u32 {
    panic!("{message}");
}

fn read_var(name: String) -> Option<String> {
    std::env::var(name).ok()
}

/// Reports its pid and its parent's, then blocks until a signal ends it.
fn report_and_block(report: IpcSender<(u32, u32)>) -> u32 {
    let parent = rustix::process::getppid().map_or(0, |pid| pid.as_raw_nonzero().get() as u32);
    report
        .send((std::process::id(), parent))
        .expect("report pid");
    loop {
        std::thread::park();
    }
}

/// Starts a blocking child with `method` and returns it with its `(pid, parent pid)`.
fn blocking_child(method: StartMethod) -> (Process<u32>, (u32, u32)) {
    let (report, reports) = ipc::channel::<(u32, u32)>().expect("channel");
    let child = Process::builder()
        .start_method(method)
        .spawn(report_and_block, report)
        .expect("spawn");
    let ids = recv(&reports, "the child's pid");
    (child, ids)
}

fn init_started_a_fork_server() {
    let server = multiprocessing::fork_server_pid().expect("init() started a fork server");
    assert!(
        children_of(std::process::id()).contains(&server),
        "the server {server} is our child"
    );
    let child = Process::spawn(square, 4).expect("spawn");
    assert_eq!(child.start_method(), StartMethod::ForkServer, "the default");
    assert_eq!(join(child).expect("join"), 16);
}

fn a_forked_child_is_the_servers_child_a_spawned_one_ours() {
    let server = multiprocessing::fork_server_pid().expect("a fork server");
    let (forked, (pid, parent)) = blocking_child(StartMethod::ForkServer);
    assert_eq!(pid, forked.pid());
    assert_eq!(parent, server, "forked by the server");
    let (spawned, (pid, parent)) = blocking_child(StartMethod::Spawn);
    assert_eq!(pid, spawned.pid());
    assert_eq!(parent, std::process::id(), "started by us");
    for child in [forked, spawned] {
        child.kill().expect("kill");
        assert!(matches!(join(child), Err(Error::Died { exitcode: -9 })));
    }
}

fn both_methods_report_values_panics_and_signals_alike() {
    for method in METHODS {
        let builder = || Process::builder().start_method(method);
        let value = join(builder().spawn(square, 9).expect("spawn")).expect("join");
        assert_eq!(value, 81, "{method:?}");
        match join(builder().spawn(panics, "boom".to_string()).expect("spawn")) {
            Err(Error::Panicked { message, location }) => {
                assert_eq!(message, "boom", "{method:?}");
                assert!(
                    location.contains("start_methods.rs"),
                    "{method:?}: {location}"
                );
            }
            other => panic!("{method:?}: expected Panicked, got {other:?}"),
        }
        let (child, _) = blocking_child(method);
        child.terminate().expect("terminate");
        match join(child) {
            Err(Error::Died { exitcode: -15 }) => {}
            other => panic!("{method:?}: expected Died {{ exitcode: -15 }}, got {other:?}"),
        }
    }
}

fn builder_env_reaches_the_child_with_both_methods() {
    for method in METHODS {
        let child = Process::builder()
            .start_method(method)
            .env("START_METHODS_TEST_VAR", "set by the builder")
            .spawn(read_var, "START_METHODS_TEST_VAR".to_string())
            .expect("spawn");
        assert_eq!(
            join(child).expect("join").as_deref(),
            Some("set by the builder"),
            "{method:?}"
        );
    }
}

/// A terminal's Ctrl-C reaches the whole process group. The server ignores SIGINT (it must outlive
/// the parent's clean-up); its children get the default action back.
fn sigint_stops_a_forked_child_but_not_the_server() {
    let server = multiprocessing::fork_server_pid().expect("a fork server");
    let (child, (pid, _)) = blocking_child(StartMethod::ForkServer);
    send_signal(pid, Signal::INT);
    match join(child) {
        Err(Error::Died { exitcode: -2 }) => {}
        other => panic!("expected Died {{ exitcode: -2 }}, got {other:?}"),
    }
    send_signal(server, Signal::INT);
    let child = Process::spawn(square, 5).expect("spawn after SIGINT to the server");
    assert_eq!(join(child).expect("join"), 25);
    assert_eq!(
        multiprocessing::fork_server_pid(),
        Some(server),
        "the same server still serves"
    );
}

/// The server dies → its children die with it (`PR_SET_PDEATHSIG`), their parent learns it as a
/// SIGKILL, and the next spawn starts a new server (and reaps the old one).
fn a_killed_server_takes_its_children_and_is_replaced() {
    let old_server = multiprocessing::fork_server_pid().expect("a fork server");
    let (child, (pid, _)) = blocking_child(StartMethod::ForkServer);
    send_signal(old_server, Signal::KILL);
    match join(child) {
        Err(Error::Died { exitcode: -9 }) => {}
        other => panic!("expected Died {{ exitcode: -9 }}, got {other:?}"),
    }
    wait_until(
        &format!("child {pid} to die with its server"),
        DEADLINE,
        || !is_running(pid),
    );
    let child = Process::spawn(square, 6).expect("spawn with a new server");
    assert_eq!(child.start_method(), StartMethod::ForkServer);
    assert_eq!(join(child).expect("join"), 36);
    let new_server = multiprocessing::fork_server_pid().expect("a new fork server");
    assert_ne!(new_server, old_server);
    assert!(
        !children_of(std::process::id()).contains(&old_server),
        "the old server was reaped"
    );
}
