//! The checks of exercise 2.2, run against the stub, the solution and the reader's attempt alike.

use multiprocessing::Process;

use super::imp::{self, Ending};

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    a_returned_value_is_finished();
    a_panic_keeps_its_message();
    an_exit_code_is_not_a_panic();
    signals_are_told_apart();
}

fn double(x: u64) -> u64 {
    x * 2
}

fn fail_on_purpose(x: u64) -> u64 {
    panic!("worker {x} gave up")
}

fn exit_with(code: u64) -> u64 {
    std::process::exit(code as i32)
}

/// Blocks until a signal ends the process.
fn wait_for_a_signal(_: u64) -> u64 {
    loop {
        std::thread::park();
    }
}

fn start(f: fn(u64) -> u64, x: u64) -> Process<u64> {
    Process::spawn(f, x).expect("the check can start a child process")
}

fn a_returned_value_is_finished() {
    assert_eq!(imp::classify(start(double, 21)), Ending::Finished(42));
}

fn a_panic_keeps_its_message() {
    let got = imp::classify(start(fail_on_purpose, 7));
    assert_eq!(
        got,
        Ending::Panicked("worker 7 gave up".into()),
        "a panic should become Panicked with the child's own message, not the error's description"
    );
}

fn an_exit_code_is_not_a_panic() {
    let got = imp::classify(start(exit_with, 3));
    assert_eq!(
        got,
        Ending::ExitedWith(3),
        "std::process::exit(3) is an exit, not a panic"
    );
    let got = imp::classify(start(exit_with, 0));
    assert_eq!(
        got,
        Ending::ExitedWith(0),
        "std::process::exit(0) before returning a value is an exit with code 0 (only a negative \
         exitcode means a signal)"
    );
}

fn signals_are_told_apart() {
    let killed = start(wait_for_a_signal, 0);
    killed.kill().expect("kill");
    assert_eq!(
        imp::classify(killed),
        Ending::KilledBySignal(9),
        "kill() sends SIGKILL, signal 9; Python's exitcode says -9"
    );
    let terminated = start(wait_for_a_signal, 0);
    terminated.terminate().expect("terminate");
    assert_eq!(
        imp::classify(terminated),
        Ending::KilledBySignal(15),
        "terminate() sends SIGTERM, signal 15; Python's exitcode says -15"
    );
}
