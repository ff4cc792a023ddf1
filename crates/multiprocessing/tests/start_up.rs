//! Start-up failures, made to happen on purpose: a child that exits, hangs or is refused before
//! it runs its function, and what `join`, `join_timeout`, `kill` and `Drop` do with a child that
//! is still connecting.
//!
//! No child function can fail *before* start-up, so these tests use the crate's test hook
//! (`src/start/test_hook.rs`), which only the `test-hooks` feature compiles in. Without the
//! feature (`cargo test -p multiprocessing`) every test here is reported as ignored, with the
//! command that runs it; `cargo test --workspace` turns the feature on.
//!
//! A `harness = false` target like the others (see `support`).

mod support;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use multiprocessing::{Error, Process, StartMethod};
use support::{DEADLINE, join};

#[cfg(feature = "test-hooks")]
use multiprocessing::TEST_HOOK_ENV;
/// Without the feature no test here runs (see the module docs); the name only keeps them compiling.
#[cfg(not(feature = "test-hooks"))]
const TEST_HOOK_ENV: &str = "unused without the test-hooks feature";

fn main() -> ExitCode {
    multiprocessing::init();
    support::run_needing_hooks(
        tests![
            child_dying_before_connecting_fails_join,
            forked_child_dying_before_reading_fails_join,
            child_dying_before_reading_a_large_argument_fails_spawn_or_join,
            child_hanging_before_connecting_times_out_and_is_killed,
            fingerprint_mismatch_is_refused,
            join_timeout_while_connecting_leaves_the_child_connecting,
            killing_a_connecting_child_is_died_minus_9,
            dropping_a_connecting_daemon_kills_it,
            dropping_a_connecting_non_daemon_waits_for_the_start_up_verdict,
        ],
        support::TEST_DEADLINE,
    )
}

fn square(x: u64) -> u64 {
    x * x
}

fn count_bytes(bytes: Vec<u8>) -> usize {
    bytes.len()
}

/// A spawned child that never connects back; `start_timeout` bounds how long the watcher waits.
fn hanging_child(daemon: bool, start_timeout: Duration) -> Process<u64> {
    Process::builder()
        .start_method(StartMethod::Spawn)
        .daemon(daemon)
        .env(TEST_HOOK_ENV, "hang-before-connect")
        .start_timeout(start_timeout)
        .spawn(square, 3)
        .expect("spawn")
}

fn is_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// The spawn method: the child exits before it connects back, so it never got its function.
fn child_dying_before_connecting_fails_join() {
    let child = Process::builder()
        .start_method(StartMethod::Spawn)
        .env(TEST_HOOK_ENV, "exit-before-connect")
        .spawn(square, 3)
        .expect("spawn returns before the child connects");
    match join(child) {
        Err(Error::Bootstrap(message)) => {
            assert!(
                message.contains("exited with code 3 before connecting"),
                "{message}"
            )
        }
        other => panic!("expected a Bootstrap error, got {other:?}"),
    }
}

/// The fork server: a forked child that exits before it reads its instructions never got its
/// function. Depending on who is faster, `spawn` notices (writing the instructions fails) or
/// `join` does (the child died without a result); either way the exit code is in the error.
fn forked_child_dying_before_reading_fails_join() {
    let result = Process::builder()
        .start_method(StartMethod::ForkServer)
        .env(TEST_HOOK_ENV, "exit-before-connect")
        .spawn(square, 3);
    match result.map(join) {
        Ok(Err(Error::Died { exitcode: 3 })) => {}
        Err(Error::Bootstrap(message)) => assert!(
            message.contains("exited with code 3 before it read its instructions"),
            "{message}"
        ),
        other => panic!("expected Died {{ exitcode: 3 }} or a Bootstrap error, got {other:?}"),
    }
}

/// A 4 MiB argument does not fit in the socket's buffer, so `spawn` blocks until the child reads
/// it; a child that dies first must turn that into an error, not a hang. Both start methods.
fn child_dying_before_reading_a_large_argument_fails_spawn_or_join() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let result = Process::builder()
            .start_method(method)
            .env(TEST_HOOK_ENV, "exit-before-connect")
            .spawn(count_bytes, vec![7_u8; 4 << 20]);
        let error = match result {
            Err(error) => error,
            Ok(child) => join(child).expect_err("the child never read its argument"),
        };
        let message = error.to_string();
        assert!(
            message.contains("exited with code 3"),
            "{method:?}: {message}"
        );
    }
}

fn child_hanging_before_connecting_times_out_and_is_killed() {
    let mut child = Process::builder()
        .start_method(StartMethod::Spawn)
        .env(TEST_HOOK_ENV, "hang-before-connect")
        .start_timeout(Duration::from_millis(300))
        .spawn(square, 3)
        .expect("spawn");
    match child.join_timeout(DEADLINE) {
        Err(Error::Timeout(what)) => assert!(what.contains("connect back"), "{what}"),
        other => panic!("expected a start-up Timeout, got {other:?}"),
    }
    assert_eq!(child.exitcode(), Some(-9), "the hung child was killed");
}

fn fingerprint_mismatch_is_refused() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let child = Process::builder()
            .start_method(method)
            .env(TEST_HOOK_ENV, "corrupt-fingerprint")
            .spawn(square, 3)
            .expect("spawn");
        match join(child) {
            Err(Error::Bootstrap(message)) => {
                assert!(message.contains("different executable"), "{message}")
            }
            other => panic!("{method:?}: expected a Bootstrap error, got {other:?}"),
        }
    }
}

/// `Connecting` stays `Connecting` when the deadline passes: the child is alive, nothing reaped.
fn join_timeout_while_connecting_leaves_the_child_connecting() {
    let mut child = hanging_child(false, DEADLINE * 3);
    assert!(matches!(
        child.join_timeout(Duration::from_millis(50)),
        Ok(None)
    ));
    assert!(child.is_alive(), "a child that has not connected yet runs");
    assert_eq!(child.exitcode(), None);
    assert!(format!("{child:?}").contains("Connecting"), "{child:?}");
    child.kill().expect("kill");
    match child.join_timeout(DEADLINE) {
        Err(Error::Died { exitcode: -9 }) => {}
        other => panic!("expected Died {{ exitcode: -9 }}, got {other:?}"),
    }
}

/// A kill during `Connecting` ends start-up as a death, and the handle is then `Joined`.
fn killing_a_connecting_child_is_died_minus_9() {
    let mut child = hanging_child(false, DEADLINE * 3);
    let pid = child.pid();
    child.kill().expect("kill");
    match child.join_timeout(DEADLINE) {
        Err(Error::Died { exitcode: -9 }) => {}
        other => panic!("expected Died {{ exitcode: -9 }}, got {other:?}"),
    }
    assert_eq!(child.exitcode(), Some(-9), "reaped by the join");
    assert!(is_gone(pid), "and gone from /proc");
    assert!(matches!(
        child.join_timeout(DEADLINE),
        Err(Error::AlreadyJoined)
    ));
    child.kill().expect("killing a reaped child is a no-op");
}

/// A daemon is killed at once on drop, even while it connects (no wait for the start timeout).
fn dropping_a_connecting_daemon_kills_it() {
    let child = hanging_child(true, DEADLINE * 3);
    let pid = child.pid();
    drop(child);
    assert!(is_gone(pid), "killed and reaped by drop");
}

/// A non-daemon's drop waits for the watcher's verdict (here: the start-up timeout), then kills
/// the child that never connected, and reaps it.
fn dropping_a_connecting_non_daemon_waits_for_the_start_up_verdict() {
    let child = hanging_child(false, Duration::from_millis(300));
    let pid = child.pid();
    drop(child);
    assert!(is_gone(pid), "killed and reaped by drop");
}
