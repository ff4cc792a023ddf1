//! Tests of `pipe`: a conversation both ways between processes, `poll` with timeouts, the
//! one-way form, a peer that is gone, too many handles in one message, and an end that cannot
//! travel while it holds a polled message.
//!
//! A `harness = false` target (children re-execute this binary, so `main` calls
//! `multiprocessing::init()` first); see `support` for the watchdog and the final check
//! that no child process is left behind.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use ipc_channel::ipc::IpcSharedMemory;
use multiprocessing::pipe::{self, Connection, PipeWriter};
use multiprocessing::{Error, Process};
use support::join;
use testbed::wait::DEADLINE;

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            requests_and_replies_cross_both_ways,
            poll_times_out_then_sees_the_message,
            one_way_pipe_carries_values_to_the_reader,
            a_peer_that_exited_is_disconnected,
            a_dropped_peer_is_disconnected_after_its_messages,
            too_many_handles_is_an_error_and_the_pipe_survives,
            an_end_with_a_polled_message_cannot_travel,
        ],
        support::TEST_DEADLINE,
    )
}

/// Answers "square N" requests until the parent hangs up; returns how many it answered.
fn square_server(end: Connection<u64, String>) -> u64 {
    let mut answered = 0;
    loop {
        match end.recv_timeout(DEADLINE) {
            Ok(request) => {
                let n: u64 = request
                    .strip_prefix("square ")
                    .expect("a request")
                    .parse()
                    .unwrap();
                end.send(n * n).expect("reply");
                answered += 1;
            }
            Err(Error::Disconnected) => return answered,
            Err(other) => panic!("waiting for a request: {other}"),
        }
    }
}

fn requests_and_replies_cross_both_ways() {
    let (parent, child_end) = pipe::pipe::<String, u64>().unwrap();
    let server = Process::spawn(square_server, child_end).unwrap();
    for n in [3, 4, 12] {
        parent.send(format!("square {n}")).unwrap();
        assert_eq!(parent.recv_timeout(DEADLINE).unwrap(), n * n);
    }
    drop(parent);
    assert_eq!(
        join(server).unwrap(),
        3,
        "the child saw the hang-up after three requests"
    );
}

/// Waits for the parent's go, then sends one value.
fn send_on_go(end: Connection<u64, ()>) {
    end.recv_timeout(DEADLINE).expect("the parent's go");
    end.send(42).expect("send");
}

fn poll_times_out_then_sees_the_message() {
    let (parent, child_end) = pipe::pipe::<(), u64>().unwrap();
    let child = Process::spawn(send_on_go, child_end).unwrap();
    assert!(!parent.poll(Duration::ZERO).unwrap(), "nothing yet");
    assert!(
        !parent.poll(Duration::from_millis(100)).unwrap(),
        "still nothing"
    );
    let error = parent.recv_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "got {error}");
    parent.send(()).unwrap();
    assert!(parent.poll(DEADLINE).unwrap(), "the value arrives");
    assert!(
        parent.poll(Duration::ZERO).unwrap(),
        "poll does not take it"
    );
    assert_eq!(parent.recv().unwrap(), 42);
    join(child).unwrap();
}

fn write_words(writer: PipeWriter<String>) {
    for word in ["one", "way", "only"] {
        writer.send(word.to_string()).expect("send");
    }
}

fn one_way_pipe_carries_values_to_the_reader() {
    let (reader, writer) = pipe::one_way::<String>().unwrap();
    let child = Process::spawn(write_words, writer).unwrap();
    let mut words = Vec::new();
    loop {
        match reader.recv_timeout(DEADLINE) {
            Ok(word) => words.push(word),
            Err(Error::Disconnected) => break,
            Err(other) => panic!("waiting for a word: {other}"),
        }
    }
    assert_eq!(words, ["one", "way", "only"]);
    join(child).unwrap();
}

fn exit_at_once(_end: Connection<u64, u64>) {}

fn a_peer_that_exited_is_disconnected() {
    let (parent, child_end) = pipe::pipe::<u64, u64>().unwrap();
    let child = Process::spawn(exit_at_once, child_end).unwrap();
    join(child).unwrap();
    let error = parent.recv_timeout(DEADLINE).unwrap_err();
    assert!(matches!(error, Error::Disconnected), "recv: got {error}");
    let error = parent.send(1).unwrap_err();
    assert!(matches!(error, Error::Disconnected), "send: got {error}");
    assert!(
        parent.poll(Duration::ZERO).unwrap(),
        "a hang-up counts as ready"
    );
}

fn a_dropped_peer_is_disconnected_after_its_messages() {
    let (left, right) = pipe::pipe::<u64, u64>().unwrap();
    right.send(7).unwrap();
    right.send(8).unwrap();
    drop(right);
    assert_eq!(left.recv().unwrap(), 7);
    assert_eq!(left.recv().unwrap(), 8);
    assert!(matches!(left.recv(), Err(Error::Disconnected)));
}

fn too_many_handles_is_an_error_and_the_pipe_survives() {
    let (left, right) = pipe::pipe::<Vec<IpcSharedMemory>, Vec<IpcSharedMemory>>().unwrap();
    let regions: Vec<_> = (0..65)
        .map(|i| IpcSharedMemory::from_byte(i as u8, 16))
        .collect();
    let error = left.send(regions).unwrap_err();
    assert!(matches!(error, Error::TooManyHandles { .. }), "got {error}");
    assert!(
        error.to_string().contains("64"),
        "the message names the limit: {error}"
    );
    let fine: Vec<_> = (0..3)
        .map(|i| IpcSharedMemory::from_byte(i as u8, 16))
        .collect();
    left.send(fine).unwrap();
    let received = right.recv_timeout(DEADLINE).unwrap();
    assert_eq!(
        received.iter().map(|r| r[0]).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

fn keep(end: Connection<u64, u64>) -> u64 {
    end.recv_timeout(DEADLINE).unwrap_or(0)
}

fn an_end_with_a_polled_message_cannot_travel() {
    let (left, right) = pipe::pipe::<u64, u64>().unwrap();
    left.send(5).unwrap();
    assert!(right.poll(DEADLINE).unwrap());
    let error = Process::spawn(keep, right).expect_err("spawn must refuse the end");
    // postcard drops the text of custom serialization errors; the type is named, and the docs of
    // `pipe` say why such an end cannot travel.
    assert!(matches!(error, Error::Serialization(_)), "got {error}");
    assert!(
        error.to_string().contains("Connection"),
        "the error names the value: {error}"
    );
}
