//! Large items: the path through shared memory (`src/queue/lane.rs`), across real processes.
//!
//! Every payload is checked byte for byte against a pattern that differs per item and per
//! position, so an item that arrives swapped, shifted or torn fails the test.

use std::collections::BTreeSet;
use std::time::Duration;

use ipc_channel::ipc::{self, IpcSender, IpcSharedMemory};
use multiprocessing::pipe::{self, Connection};
use multiprocessing::queue::{Receiver, SHARED_MEMORY_THRESHOLD, Sender};
use multiprocessing::{Error, JoinableQueue, Process, Queue};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::support::{DEADLINE, join};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// An item of a test: its number, and `len` bytes of its own pattern.
#[derive(Serialize, Deserialize, Debug)]
struct Chunk {
    n: u64,
    data: ByteBuf,
}

fn chunk(n: u64, len: usize) -> Chunk {
    let data: Vec<u8> = (0..len).map(|i| (i as u64 * 31 + n * 7) as u8).collect();
    Chunk {
        n,
        data: ByteBuf::from(data),
    }
}

/// Panics unless `got` is item `n` of `len` bytes, intact.
fn check(got: &Chunk, n: u64, len: usize) {
    assert_eq!(got.n, n, "item {n} arrived in its place");
    assert_eq!(got.data.len(), len, "item {n} has its {len} bytes");
    assert!(
        got.data == chunk(n, len).data,
        "item {n} ({len} bytes) arrived intact"
    );
}

fn get(rx: &Receiver<Chunk>, what: &str) -> Option<Chunk> {
    rx.get_timeout(DEADLINE)
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

/// Sizes on both sides of the threshold (the exact encoded size of a batch of one `Chunk` is a
/// few bytes more than its data), tiny ones between them, and some megabytes.
fn mixed_sizes() -> Vec<usize> {
    let t = SHARED_MEMORY_THRESHOLD;
    let mut sizes = vec![0, 1, 7, 100];
    sizes.extend((t - 16..t + 16).step_by(3));
    sizes.extend([10, 3 * MIB, 64 * KIB + 1, 5, MIB, MIB, 8, 2 * MIB + 3, 0]);
    sizes
}

fn put_sizes((tx, sizes, first): (Sender<Chunk>, Vec<usize>, u64)) -> usize {
    for (i, &len) in sizes.iter().enumerate() {
        tx.put(chunk(first + i as u64, len)).expect("put");
    }
    sizes.len()
}

pub(crate) fn large_and_small_items_cross_in_order_around_the_threshold() {
    let (tx, rx) = Queue::<Chunk>::unbounded().unwrap();
    let sizes = mixed_sizes();
    let child = Process::spawn(put_sizes, (tx, sizes.clone(), 0)).unwrap();
    for (n, &len) in sizes.iter().enumerate() {
        let got = get(&rx, "the next item").expect("not the end yet");
        check(&got, n as u64, len);
    }
    assert!(get(&rx, "the end").is_none(), "nothing more");
    assert_eq!(join(child).unwrap(), sizes.len());
}

fn consume_sizes((rx, sizes): (Receiver<Chunk>, Vec<usize>)) -> usize {
    for (n, &len) in sizes.iter().enumerate() {
        check(&get(&rx, "the next item").expect("an item"), n as u64, len);
    }
    assert!(get(&rx, "the end").is_none());
    sizes.len()
}

pub(crate) fn large_items_reach_a_consumer_in_another_process_intact() {
    // The other direction: the broker's answers to a consumer in a child use a lane too.
    let (tx, rx) = Queue::<Chunk>::unbounded().unwrap();
    let sizes = mixed_sizes();
    let child = Process::spawn(consume_sizes, (rx, sizes.clone())).unwrap();
    for (n, &len) in sizes.iter().enumerate() {
        tx.put(chunk(n as u64, len)).unwrap();
    }
    drop(tx);
    assert_eq!(join(child).unwrap(), sizes.len());
}

fn collect_numbers(rx: Receiver<Chunk>) -> Vec<u64> {
    let mut seen = Vec::new();
    while let Some(got) = get(&rx, "an item or the end") {
        check(&got, got.n, 200 * KIB);
        seen.push(got.n);
    }
    seen
}

pub(crate) fn large_items_go_to_several_consumer_processes_exactly_once() {
    let (tx, rx) = Queue::<Chunk>::builder().batch(4).build().unwrap();
    let consumers: Vec<_> = (0..3)
        .map(|_| Process::spawn(collect_numbers, rx.clone()).unwrap())
        .collect();
    drop(rx);
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let sizes = vec![200 * KIB; 30];
            Process::spawn(put_sizes, (tx.clone(), sizes, p * 1000)).unwrap()
        })
        .collect();
    drop(tx);
    for producer in producers {
        assert_eq!(join(producer).unwrap(), 30);
    }
    let mut seen = BTreeSet::new();
    for consumer in consumers {
        let got = join(consumer).unwrap();
        for window in got.windows(2) {
            let same_producer = window[0] / 1000 == window[1] / 1000;
            assert!(
                !same_producer || window[0] < window[1],
                "one producer's items reach a consumer in order: {window:?}"
            );
        }
        for n in got {
            assert!(seen.insert(n), "item {n} was delivered twice");
        }
    }
    let expected: BTreeSet<u64> = (0..30).chain(1000..1030).collect();
    assert_eq!(seen, expected, "every item, once");
}

/// Puts large items until killed, telling the parent once the first 21 have been sent.
fn put_until_killed((tx, parent): (Sender<Chunk>, Connection<(), ()>)) {
    for n in 0.. {
        tx.put(chunk(n, 300 * KIB)).expect("put");
        if n == 20 {
            tx.flush().expect("flush");
            parent.send(()).expect("tell the parent");
        }
    }
}

pub(crate) fn a_producer_killed_mid_transfer_leaves_a_clean_prefix() {
    let (tx, rx) = Queue::<Chunk>::unbounded().unwrap();
    let (parent, child_end) = pipe::pipe::<(), ()>().unwrap();
    let victim = Process::spawn(put_until_killed, (tx, child_end)).unwrap();
    parent
        .recv_timeout(DEADLINE)
        .expect("the producer sent 21 items");
    // Killed while it is putting, encoding and copying into blocks: whatever it had sent
    // arrives whole and in order, then the stream ends (no hang, no torn item).
    victim.kill().unwrap();
    let mut n = 0;
    while let Some(got) = get(&rx, "an item or the end") {
        check(&got, n, 300 * KIB);
        n += 1;
    }
    assert!(
        n >= 21,
        "the flushed items survive the producer ({n} arrived)"
    );
    let died = join(victim).unwrap_err();
    assert!(matches!(died, Error::Died { exitcode: -9 }), "got {died}");
}

/// Takes one item, tells the parent its number, then waits to be killed.
fn take_one_then_hang((rx, parent): (Receiver<Chunk>, Connection<u64, ()>)) {
    let got = get(&rx, "an item").expect("an item");
    parent.send(got.n).expect("tell the parent");
    let _ = parent.recv_timeout(DEADLINE);
}

pub(crate) fn a_consumer_killed_mid_transfer_loses_at_most_its_batch() {
    const BATCH: u64 = 2;
    let (tx, rx) = Queue::<Chunk>::builder()
        .batch(BATCH as u32)
        .build()
        .unwrap();
    for n in 0..40 {
        tx.put(chunk(n, 256 * KIB)).unwrap();
    }
    tx.flush().unwrap();
    let (parent, child_end) = pipe::pipe::<(), u64>().unwrap();
    let victim = Process::spawn(take_one_then_hang, (rx.clone(), child_end)).unwrap();
    let taken = parent.recv_timeout(DEADLINE).expect("the victim took one");
    victim.kill().unwrap();
    let died = join(victim).unwrap_err();
    assert!(matches!(died, Error::Died { exitcode: -9 }), "got {died}");
    drop(tx);
    let mut got = Vec::new();
    while let Some(item) = get(&rx, "an item or the end") {
        check(&item, item.n, 256 * KIB);
        got.push(item.n);
    }
    assert!(
        !got.contains(&taken),
        "the item the victim took is gone with it"
    );
    assert!(
        got.len() as u64 >= 40 - BATCH,
        "lost {} items, more than a batch",
        40 - got.len()
    );
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
}

/// Sets a file-size limit far below any block, then puts large items. Shared memory is a file,
/// so no block can be made; growing one past the limit would kill this process with SIGXFSZ,
/// which is left at its default on purpose: the lane must check first. Returns how many items
/// it put and what it said on stderr.
///
/// Its stderr goes into a pipe first: the limit applies to every regular file this process
/// writes, and when the tests' output is redirected to a log file (as on CI), printing to it
/// would itself be a write past the limit.
fn put_under_a_file_size_limit((tx, count): (Sender<Chunk>, u64)) -> (u64, String) {
    let (said, stderr) = rustix::pipe::pipe().expect("a pipe");
    rustix::stdio::dup2_stderr(&stderr).expect("stderr into the pipe");
    let fsize = rustix::process::Resource::Fsize;
    let limit = rustix::process::Rlimit {
        current: Some(16 * KIB as u64),
        maximum: rustix::process::getrlimit(fsize).maximum,
    };
    rustix::process::setrlimit(fsize, limit).expect("setrlimit");
    for n in 0..count {
        tx.put(chunk(n, 200 * KIB + n as usize)).expect("put");
    }
    tx.flush().expect("flush");
    let flags = rustix::fs::OFlags::NONBLOCK;
    rustix::fs::fcntl_setfl(&said, flags).expect("a non-blocking read end");
    let mut buffer = vec![0; 64 * KIB];
    let read = rustix::io::read(&said, &mut buffer).unwrap_or(0);
    (count, String::from_utf8_lossy(&buffer[..read]).into_owned())
}

pub(crate) fn without_shared_memory_large_items_still_arrive() {
    let (tx, rx) = Queue::<Chunk>::unbounded().unwrap();
    let child = Process::spawn(put_under_a_file_size_limit, (tx, 12)).unwrap();
    for n in 0..12 {
        let Some(item) = get(&rx, "the next item") else {
            // The stream ended early: the producer is gone. Say how it ended.
            panic!(
                "the stream ended after {n} of 12 items; the producer: {:?}",
                join(child)
            );
        };
        check(&item, n, 200 * KIB + n as usize);
    }
    assert!(get(&rx, "the end").is_none());
    let (put, said) = join(child).expect("the producer was not killed");
    assert_eq!(put, 12);
    assert!(
        said.contains("travel through the socket") && said.contains("file-size limit"),
        "the producer says why large items go the slow way: {said:?}"
    );
}

/// Items that carry a channel end beside a large payload: the reply goes back through it.
type Request = (IpcSender<u64>, Chunk);

fn answer_large_requests(rx: Receiver<Request>) -> u64 {
    let mut answered = 0;
    while let Some((reply, got)) = rx.get_timeout(DEADLINE).expect("a request") {
        check(&got, got.n, 150 * KIB);
        reply
            .send(got.n * 10)
            .expect("reply through the channel in the item");
        answered += 1;
    }
    answered
}

pub(crate) fn large_items_carrying_channels_and_shared_memory_keep_them() {
    let (tx, rx) = Queue::<Request>::unbounded().unwrap();
    let child = Process::spawn(answer_large_requests, rx).unwrap();
    let (reply_tx, replies) = ipc::channel::<u64>().unwrap();
    for n in 0..10 {
        tx.put((reply_tx.clone(), chunk(n, 150 * KIB))).unwrap();
    }
    for n in 0..10 {
        let reply = replies.try_recv_timeout(DEADLINE).expect("a reply");
        assert_eq!(reply, n * 10, "reply {n}");
    }
    drop(tx);
    assert_eq!(join(child).unwrap(), 10);

    // Shared memory beside the payload, the other way round: child to parent.
    let (tx, rx) = Queue::<(IpcSharedMemory, Chunk)>::unbounded().unwrap();
    let child = Process::spawn(put_regions, (tx, 6)).unwrap();
    for n in 0..6u64 {
        let (region, got) = rx.get_timeout(DEADLINE).unwrap().expect("an item");
        check(&got, n, 100 * KIB);
        assert_eq!(region[..], [n as u8; 64], "the region of item {n}");
    }
    assert!(rx.get_timeout(DEADLINE).unwrap().is_none());
    assert_eq!(join(child).unwrap(), 6);
}

fn put_regions((tx, count): (Sender<(IpcSharedMemory, Chunk)>, u64)) -> u64 {
    for n in 0..count {
        let region = IpcSharedMemory::from_byte(n as u8, 64);
        tx.put((region, chunk(n, 100 * KIB))).expect("put");
    }
    count
}

pub(crate) fn a_bounded_queue_of_large_items_keeps_its_exact_bound() {
    let (tx, rx) = Queue::<Chunk>::bounded(2).unwrap();
    tx.put(chunk(0, MIB)).unwrap();
    tx.put(chunk(1, MIB)).unwrap();
    let full = (tx.put_timeout(chunk(2, MIB), Duration::from_millis(100))).unwrap_err();
    assert!(matches!(full.error(), Error::Timeout(_)), "got {full}");
    let back = full.into_item().expect("the item comes back");
    check(&back, 2, MIB);
    check(&get(&rx, "item 0").expect("an item"), 0, MIB);
    tx.put_timeout(back, DEADLINE).expect("room after a get");
    drop(tx);
    check(&get(&rx, "item 1").expect("an item"), 1, MIB);
    check(&get(&rx, "item 2").expect("an item"), 2, MIB);
    assert!(get(&rx, "the end").is_none());
}

fn work_on_large_tasks(rx: multiprocessing::queue::JoinableReceiver<Chunk>) -> u64 {
    let mut done = 0;
    while let Some(task) = rx.get_timeout(DEADLINE).expect("a task") {
        check(&task, task.n, 300 * KIB);
        rx.task_done().expect("task_done");
        done += 1;
    }
    done
}

pub(crate) fn join_counts_large_tasks_exactly() {
    let (tx, rx) = JoinableQueue::<Chunk>::unbounded().unwrap();
    let worker = Process::spawn(work_on_large_tasks, rx).unwrap();
    for n in 0..8 {
        tx.put(chunk(n, 300 * KIB)).unwrap();
    }
    tx.join_timeout(DEADLINE)
        .expect("every large task marked done");
    drop(tx);
    assert_eq!(join(worker).unwrap(), 8);
}

/// Large items that are not bytes: numbers (encoded one by one, of varying length) and text.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
enum Record {
    Numbers(Vec<u64>),
    Text(String),
}

fn record(n: u64) -> Record {
    match n % 2 {
        0 => Record::Numbers((0..20_000 + n).map(|i| i * i * (n + 1)).collect()),
        _ => Record::Text(format!("record {n} ").repeat(10_000)),
    }
}

fn put_records((tx, count): (Sender<Record>, u64)) -> u64 {
    for n in 0..count {
        tx.put(record(n)).expect("put");
    }
    count
}

pub(crate) fn large_items_that_are_not_bytes_cross_too() {
    let (tx, rx) = Queue::<Record>::unbounded().unwrap();
    let child = Process::spawn(put_records, (tx, 10)).unwrap();
    for n in 0..10 {
        let got = rx.get_timeout(DEADLINE).unwrap().expect("a record");
        assert!(got == record(n), "record {n} arrived intact");
    }
    assert!(rx.get_timeout(DEADLINE).unwrap().is_none());
    assert_eq!(join(child).unwrap(), 10);
}
