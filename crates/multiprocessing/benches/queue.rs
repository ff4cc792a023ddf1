//! Queue and pipe throughput between two processes.
//!
//! A child process puts items into a [`Queue`]; the parent gets them. The workloads:
//!
//! - small messages (`u64`), to compare with Python's `multiprocessing.Queue` (253 000/s on the
//!   machine the book was measured on);
//! - 1 MiB payloads as `serde_bytes::ByteBuf` through a default `Queue` (the plain path: the
//!   queue moves them through reused shared memory by itself), to compare with Python's
//!   `multiprocessing.Queue` of 1 MiB `bytes`, measured by `python/queue_bytes.py` the same way
//!   (same size and count, child to parent, start-up included);
//! - `ByteBuf` payloads of 16 KiB to 4 MiB (`--only sizes`), either side of the queue's
//!   `SHARED_MEMORY_THRESHOLD` (64 KiB), to see where shared memory starts to pay;
//! - 1 MiB payloads as `IpcSharedMemory` (only a file descriptor crosses, but each is a fresh
//!   region);
//! - 1 MiB payloads through a [`BytePool`] (slots the caller packs and unpacks; the queue
//!   carries slot numbers);
//!
//! and, for reference: the same small messages and byte payloads over a [`pipe`] (two processes,
//! no broker, no batching, no shared memory), request/reply round trips over a pipe (latency),
//! and the cost of creating the shared-memory regions with no queue at all (the floor under the
//! `IpcSharedMemory` figure).
//!
//! Every run checks what arrived (count, order, contents), so a fast wrong answer cannot pass.
//!
//! Run it (release build; the figures are printed, never asserted):
//!
//! ```text
//! cargo bench -p multiprocessing --bench queue
//! cargo bench -p multiprocessing --bench queue -- --quick   # a few seconds, smaller counts
//! cargo bench -p multiprocessing --bench queue -- --spawn   # children by the spawn method
//! cargo bench -p multiprocessing --bench queue -- --only bytes   # one workload
//! python3 python/queue_bytes.py                             # Python's figure for `bytes`
//! ```
//!
//! What to expect: the 1 MiB `ByteBuf` row at about two to four times Python's
//! `multiprocessing.Queue` when both run on the same machine in the same session; on a busy
//! machine both figures drop and vary from run to run, so compare medians of several runs (the
//! book's page on communication gives this machine's). Below 64 KiB the items go through the
//! socket, batched, and the rate falls with the size.

use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSharedMemory;
use multiprocessing::queue::{BytePool, Payload};
use multiprocessing::{Error, Process, Queue, StartMethod, pipe, queue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

const MIB: usize = 1 << 20;

/// Starts a child with the fork server, or with the spawn method if `--spawn` was given.
fn start<A, R>(f: fn(A) -> R, arg: A) -> Result<Process<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let method = if std::env::args().any(|arg| arg == "--spawn") {
        StartMethod::Spawn
    } else {
        StartMethod::ForkServer
    };
    Process::builder().start_method(method).spawn(f, arg)
}

fn main() -> Result<(), Error> {
    multiprocessing::init();
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (small, big, rounds) = if quick {
        (200_000, 300, 1)
    } else {
        (2_000_000, 3_000, 3)
    };

    // `--only NAME` runs one workload: small, down, pipe, ping, bytes, sizes, pipe-bytes, pool,
    // shm-create, shm.
    let only = std::env::args().skip_while(|arg| arg != "--only").nth(1);
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only == name);
    for round in 1..=rounds {
        println!("round {round}/{rounds}");
        if wanted("small") {
            report_rate(
                "queue, small messages (u64)",
                small,
                time(|| small_messages(small))?,
            );
        }
        if wanted("down") {
            let rate = time(|| small_messages_to_child(small))?;
            report_rate("queue, small messages parent -> child", small, rate);
        }
        if wanted("pipe") {
            report_rate(
                "pipe, small messages (u64)",
                small,
                time(|| pipe_messages(small))?,
            );
        }
        if wanted("ping") {
            let rounds = small / 20;
            let elapsed = time(|| ping_pong(rounds))?;
            let micros = elapsed.as_secs_f64() * 1e6 / rounds as f64;
            println!(
                "  {:<40} {rounds:>9} in {elapsed:>10.3?}  {micros:>9.1} µs each",
                "pipe, request/reply round trips"
            );
        }
        if wanted("bytes") {
            let elapsed = time(|| byte_payloads(big))?;
            report_bandwidth("queue, 1 MiB ByteBuf payloads", big, elapsed);
        }
        if wanted("sizes") {
            let total = if quick { 32 * MIB } else { 256 * MIB };
            for len in [16 << 10, 48 << 10, 96 << 10, 256 << 10, 4 * MIB] {
                let started = Instant::now();
                let count = sized_payloads(len, total)?;
                let what = format!("queue, {} KiB ByteBuf payloads", len >> 10);
                report_bytes(&what, count, count * len, started.elapsed());
            }
        }
        if wanted("pipe-bytes") {
            let elapsed = time(|| pipe_bytes(big))?;
            report_bandwidth("pipe, 1 MiB ByteBuf payloads", big, elapsed);
        }
        if wanted("pool") {
            let elapsed = time(|| pooled_payloads(big))?;
            report_bandwidth("queue, 1 MiB payloads through a BytePool", big, elapsed);
        }
        if wanted("shm-create") {
            let elapsed = time(|| create_regions(big))?;
            report_bandwidth("(no queue) creating 1 MiB regions alone", big, elapsed);
        }
        if wanted("shm") {
            let elapsed = time(|| shared_payloads(big))?;
            report_bandwidth("queue, 1 MiB IpcSharedMemory payloads", big, elapsed);
        }
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
    report_bytes(what, count, count * MIB, elapsed);
}

fn report_bytes(what: &str, count: usize, bytes: usize, elapsed: Duration) {
    let rate = bytes as f64 / f64::from(1 << 30) / elapsed.as_secs_f64();
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
    let child = start(produce_numbers, (tx, count as u64))?;
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
    let child = start(echo_numbers, (child_end, count as u64))?;
    for expected in 0..count as u64 {
        assert_eq!(parent.recv()?, expected);
    }
    child.join()
}

fn produce_bytes((tx, count): (queue::Sender<ByteBuf>, usize)) {
    let payload = vec![7u8; MIB];
    for _ in 0..count {
        tx.put(ByteBuf::from(payload.clone()))
            .expect("put a payload");
    }
}

/// The plain path: a default queue of `ByteBuf`s, nothing opted into. The queue itself sends
/// these through reused shared memory (they are over `SHARED_MEMORY_THRESHOLD`), one per message.
fn byte_payloads(count: usize) -> Result<(), Error> {
    // ANCHOR: plain_bytes
    let (tx, rx) = Queue::<ByteBuf>::unbounded()?;
    let child = start(produce_bytes, (tx, count))?;
    let mut received = 0;
    while let Some(payload) = rx.get()? {
        assert_eq!(payload.len(), MIB);
        received += 1;
    }
    // ANCHOR_END: plain_bytes
    assert_eq!(received, count);
    child.join()
}

fn produce_sized((tx, count, len): (queue::Sender<ByteBuf>, usize, usize)) {
    let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
    for _ in 0..count {
        tx.put(ByteBuf::from(payload.clone()))
            .expect("put a payload");
    }
}

/// `total` bytes in items of `len` bytes each, through a default queue, every item checked.
fn sized_payloads(len: usize, total: usize) -> Result<usize, Error> {
    let count = (total / len).max(1);
    let (tx, rx) = Queue::<ByteBuf>::unbounded()?;
    let child = start(produce_sized, (tx, count, len))?;
    let expected: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let mut received = 0;
    while let Some(payload) = rx.get()? {
        assert!(
            payload[..] == expected[..],
            "payload {received} arrived intact"
        );
        received += 1;
    }
    assert_eq!(received, count);
    child.join()?;
    Ok(count)
}

fn produce_shared((tx, count): (queue::Sender<IpcSharedMemory>, usize)) {
    let payload = vec![7u8; MIB];
    for _ in 0..count {
        tx.put(IpcSharedMemory::from_bytes(&payload))
            .expect("put a region");
    }
}

fn shared_payloads(count: usize) -> Result<(), Error> {
    // One file descriptor per item; a message carries at most 64.
    let (tx, rx) = Queue::<IpcSharedMemory>::builder().batch(32).build()?;
    let child = start(produce_shared, (tx, count))?;
    let mut received = 0;
    while let Some(payload) = rx.get()? {
        assert_eq!(payload.len(), MIB);
        assert_eq!(
            payload[MIB - 1],
            7,
            "the last byte of the region is readable"
        );
        received += 1;
    }
    assert_eq!(received, count);
    child.join()
}

fn send_bytes((end, count): (pipe::Connection<ByteBuf, ByteBuf>, usize)) {
    let payload = vec![7u8; MIB];
    for _ in 0..count {
        end.send(ByteBuf::from(payload.clone()))
            .expect("send a payload");
    }
}

fn pipe_bytes(count: usize) -> Result<(), Error> {
    let (parent, child_end) = pipe::pipe::<ByteBuf, ByteBuf>()?;
    let child = start(send_bytes, (child_end, count))?;
    for _ in 0..count {
        assert_eq!(parent.recv()?.len(), MIB);
    }
    child.join()
}

/// The floor under the shared-memory figure: what the producer pays per item before any queue
/// is involved (a fresh memfd, its pages faulted in and zeroed by the kernel, one copy).
fn create_regions(count: usize) -> Result<(), Error> {
    let payload = vec![7u8; MIB];
    for _ in 0..count {
        let region = IpcSharedMemory::from_bytes(&payload);
        assert_eq!(region.len(), MIB);
    }
    Ok(())
}

// ANCHOR: pool_producer
fn produce_pooled((tx, pool, count): (queue::Sender<Payload>, BytePool, usize)) -> usize {
    let payload: Vec<u8> = (0..MIB).map(|i| i as u8).collect();
    let mut inline = 0;
    for _ in 0..count {
        let packed = pool.pack(&payload);
        inline += usize::from(matches!(packed, Payload::Inline(_)));
        tx.put(packed).expect("put a payload");
    }
    inline
}
// ANCHOR_END: pool_producer

/// 1 MiB payloads copied into reused shared-memory slots; the queue carries slot numbers. Every
/// payload is checked byte for byte on arrival.
fn pooled_payloads(count: usize) -> Result<(), Error> {
    // ANCHOR: pool_consumer
    // Slots in use at most: 4 in the queue + 2 fetched by the consumer + 1 packed by the
    // producer while it waits for room = 7 of 8, so a slot is always free and nothing
    // goes inline.
    let pool = BytePool::new(8, MIB).expect("a pool of 8 MiB");
    let (tx, rx) = Queue::<Payload>::builder().capacity(4).batch(2).build()?;
    let child = start(produce_pooled, (tx, pool.clone(), count))?;
    let expected: Vec<u8> = (0..MIB).map(|i| i as u8).collect();
    let mut received = 0;
    while let Some(payload) = rx.get()? {
        assert!(
            pool.unpack(payload)? == expected,
            "payload {received} arrived intact"
        );
        received += 1;
    }
    assert_eq!(received, count);
    // ANCHOR_END: pool_consumer
    let inline = child.join()?;
    println!("  ({inline} of {count} payloads went inline because every slot was taken)");
    Ok(())
}

fn echo_until_hang_up(end: pipe::Connection<u64, u64>) -> u64 {
    let mut answered = 0;
    while let Ok(n) = end.recv() {
        end.send(n + 1).expect("reply");
        answered += 1;
    }
    answered
}

/// Latency rather than throughput: one request, wait for its reply, repeat.
fn ping_pong(rounds: usize) -> Result<(), Error> {
    let (parent, child_end) = pipe::pipe::<u64, u64>()?;
    let child = start(echo_until_hang_up, child_end)?;
    for n in 0..rounds as u64 {
        parent.send(n)?;
        assert_eq!(parent.recv()?, n + 1);
    }
    drop(parent);
    assert_eq!(child.join()?, rounds as u64);
    Ok(())
}

/// The child's side of the other direction: count and check what arrives.
fn consume_numbers(rx: queue::Receiver<u64>) -> u64 {
    let mut expected = 0;
    while let Some(n) = rx.get().expect("get a number") {
        assert_eq!(n, expected, "items arrive in order from one producer");
        expected += 1;
    }
    expected
}

/// The other direction: the parent (where the broker lives) produces and a child consumes, so
/// each batch goes through a socket twice: feeder to broker (same process) and broker to child.
fn small_messages_to_child(count: usize) -> Result<(), Error> {
    let (tx, rx) = Queue::<u64>::unbounded()?;
    let child = start(consume_numbers, rx)?;
    for n in 0..count as u64 {
        tx.put(n)?;
    }
    drop(tx);
    assert_eq!(child.join()?, count as u64, "every item arrived");
    Ok(())
}
