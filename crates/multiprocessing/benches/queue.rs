//! Queue and pipe throughput between two processes.
//!
//! A child process puts items into a [`Queue`]; the parent gets them. Three workloads:
//!
//! - small messages (`u64`), to compare with Python's `multiprocessing.Queue` (253 000/s on the
//!   machine the targets were set on);
//! - 1 MiB payloads as `serde_bytes::ByteBuf` (copied through the channel);
//! - 1 MiB payloads as `IpcSharedMemory` (only a file descriptor crosses), to compare with
//!   Python's 0.68 GiB/s.
//!
//! and, for reference, the same small messages over a [`pipe`] (two processes, no broker).
//!
//! Run it (release build; the figures are printed, never asserted):
//!
//! ```text
//! cargo bench -p multiprocessing --bench queue
//! cargo bench -p multiprocessing --bench queue -- --quick   # a few seconds, smaller counts
//! ```

use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSharedMemory;
use multiprocessing::{Error, Process, Queue, pipe, queue};
use serde_bytes::ByteBuf;

const MIB: usize = 1 << 20;

fn main() -> Result<(), Error> {
    multiprocessing::init();
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (small, big, rounds) = if quick { (200_000, 300, 1) } else { (2_000_000, 3_000, 3) };

    for round in 1..=rounds {
        println!("round {round}/{rounds}");
        report_rate("queue, small messages (u64)", small, time(|| small_messages(small))?);
        report_rate("pipe, small messages (u64)", small, time(|| pipe_messages(small))?);
        let bytes = time(|| byte_payloads(big))?;
        report_bandwidth("queue, 1 MiB ByteBuf payloads", big, bytes);
        let shm = time(|| shared_payloads(big))?;
        report_bandwidth("queue, 1 MiB IpcSharedMemory payloads", big, shm);
    }
    Ok(())
}

fn time(work: impl FnOnce() -> Result<(), Error>) -> Result<Duration, Error> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed())
}

fn report_rate(what: &str, count: usize, elapsed: Duration) {
    let rate = count as f64 / elapsed.as_secs_f64();
    println!("  {what:<40} {count:>9} in {elapsed:>10.3?}  {rate:>12.0} msgs/s");
}

fn report_bandwidth(what: &str, count: usize, elapsed: Duration) {
    let gib = (count * MIB) as f64 / f64::from(1 << 30);
    let rate = gib / elapsed.as_secs_f64();
    println!("  {what:<40} {count:>9} in {elapsed:>10.3?}  {rate:>12.2} GiB/s");
}

/// The child's side: put `0..count`.
/// (A child's panic, such as a failed `expect`, reaches the parent's `join` as an error.)
fn produce_numbers((tx, count): (queue::Sender<u64>, u64)) {
    for n in 0..count {
        tx.put(n).expect("put a number");
    }
}

fn small_messages(count: usize) -> Result<(), Error> {
    let (tx, rx) = Queue::<u64>::unbounded()?;
    let child = Process::spawn(produce_numbers, (tx, count as u64))?;
    let mut expected = 0;
    while let Some(n) = rx.get()? {
        assert_eq!(n, expected, "items arrive in order from one producer");
        expected += 1;
    }
    assert_eq!(expected, count as u64, "every item arrived");
    child.join()
}

fn echo_numbers((end, count): (pipe::Connection<u64, u64>, u64)) {
    for n in 0..count {
        end.send(n).expect("send a number");
    }
}

fn pipe_messages(count: usize) -> Result<(), Error> {
    let (parent, child_end) = pipe::pipe::<u64, u64>()?;
    let child = Process::spawn(echo_numbers, (child_end, count as u64))?;
    for expected in 0..count as u64 {
        assert_eq!(parent.recv()?, expected);
    }
    child.join()
}

fn produce_bytes((tx, count): (queue::Sender<ByteBuf>, usize)) {
    let payload = vec![7u8; MIB];
    for _ in 0..count {
        tx.put(ByteBuf::from(payload.clone())).expect("put a payload");
    }
}

fn byte_payloads(count: usize) -> Result<(), Error> {
    // A batch is one message: 8 MiB messages keep memory modest and still amortize the calls.
    let (tx, rx) = Queue::<ByteBuf>::builder().batch(8).build()?;
    let child = Process::spawn(produce_bytes, (tx, count))?;
    let mut received = 0;
    while let Some(payload) = rx.get()? {
        assert_eq!(payload.len(), MIB);
        received += 1;
    }
    assert_eq!(received, count);
    child.join()
}

fn produce_shared((tx, count): (queue::Sender<IpcSharedMemory>, usize)) {
    let payload = vec![7u8; MIB];
    for _ in 0..count {
        tx.put(IpcSharedMemory::from_bytes(&payload)).expect("put a region");
    }
}

fn shared_payloads(count: usize) -> Result<(), Error> {
    // One file descriptor per item; a message carries at most 64.
    let (tx, rx) = Queue::<IpcSharedMemory>::builder().batch(32).build()?;
    let child = Process::spawn(produce_shared, (tx, count))?;
    let mut received = 0;
    while let Some(payload) = rx.get()? {
        assert_eq!(payload.len(), MIB);
        assert_eq!(payload[MIB - 1], 7, "the last byte of the region is readable");
        received += 1;
    }
    assert_eq!(received, count);
    child.join()
}
