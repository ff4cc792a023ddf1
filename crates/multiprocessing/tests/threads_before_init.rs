//! A program that breaks the rule "`init()` first": its `main` starts a thread before it calls
//! `multiprocessing::init()`, as `#[tokio::main]` does. Forking a process with several threads is
//! not safe, so the fork server refuses to serve; processes still start, with the spawn method,
//! unless the fork server is asked for explicitly, which is then a clear error.
//!
//! A `harness = false` target of its own, because the thread must exist before `init()`.

mod support;

use std::process::ExitCode;

use multiprocessing::{Error, Process, StartMethod};
use support::join;

fn main() -> ExitCode {
    // Everything before `init()` runs again in every child (and in the fork server): this thread
    // is what makes the server refuse.
    std::thread::spawn(|| {
        loop {
            std::thread::park();
        }
    });
    multiprocessing::init();
    support::run(
        tests![
            no_fork_server_runs,
            the_default_falls_back_to_spawn,
            asking_for_the_fork_server_is_a_clear_error,
        ],
        support::TEST_DEADLINE,
    )
}

fn square(x: u64) -> u64 {
    x * x
}

fn no_fork_server_runs() {
    assert_eq!(multiprocessing::fork_server_pid(), None);
}

fn the_default_falls_back_to_spawn() {
    let child = Process::spawn(square, 3).expect("spawn");
    assert_eq!(child.start_method(), StartMethod::Spawn);
    assert_eq!(join(child).expect("join"), 9);
}

fn asking_for_the_fork_server_is_a_clear_error() {
    match Process::builder()
        .start_method(StartMethod::ForkServer)
        .spawn(square, 3)
    {
        Err(Error::Spawn(error)) => {
            let message = error.to_string();
            assert!(message.contains("fork server"), "{message}");
            assert!(message.contains("thread"), "{message}");
            assert!(message.contains("init()"), "{message}");
        }
        other => panic!(
            "expected a Spawn error, got {:?}",
            other.map(|p| p.start_method())
        ),
    }
}
