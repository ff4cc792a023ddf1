//! Tests of `Queue` and `JoinableQueue` across real processes: order, end of stream with several
//! producers, several consumers, the bound, timeouts, `join`/`task_done`, processes killed
//! mid-stream, too many handles in one message, and consumers that are gone; and the same for
//! large items, which travel through shared memory (`queue/large_items.rs`).
//!
//! A `harness = false` target (children re-execute this binary, so `main` calls
//! `multiprocessing::init()` first); see `support` for the watchdog and the final check
//! that no child process is left behind.

#[path = "queue/large_items.rs"]
mod large_items;
mod support;

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSharedMemory;
use large_items::*;
use multiprocessing::pipe::{self, Connection};
use multiprocessing::queue::{BytePool, JoinableReceiver, Payload, Receiver, Sender};
use multiprocessing::{Error, JoinableQueue, Process, Queue};
use support::{DEADLINE, join};

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            items_cross_in_order_then_the_stream_ends,
            end_of_stream_waits_for_every_producer,
            consumer_processes_share_the_items_exactly_once,
            a_full_queue_blocks_put_until_a_get,
            a_full_queue_blocks_a_producer_process,
            get_timeout_times_out_then_gets,
            join_waits_for_every_task_done,
            a_bounded_joinable_queue_waits_for_room_and_for_tasks,
            a_killed_consumer_loses_at_most_its_batch,
            a_killed_producer_does_not_hang_the_consumer,
            too_many_handles_in_one_message_is_an_error,
            put_without_consumers_is_disconnected,
            a_dropped_consumer_gives_its_items_back,
            clones_are_independent_consumers_in_threads,
            a_dead_creator_is_disconnected_not_a_hang,
            byte_pool_payloads_cross_processes_intact,
            byte_pool_goes_inline_when_full_and_refuses_foreign_slots,
            handles_travel_inside_queue_items,
            large_and_small_items_cross_in_order_around_the_threshold,
            large_items_reach_a_consumer_in_another_process_intact,
            large_items_go_to_several_consumer_processes_exactly_once,
            a_producer_killed_mid_transfer_leaves_a_clean_prefix,
            a_consumer_killed_mid_transfer_loses_at_most_its_batch,
            without_shared_memory_large_items_still_arrive,
            large_items_carrying_channels_and_shared_memory_keep_them,
            a_bounded_queue_of_large_items_keeps_its_exact_bound,
            join_counts_large_tasks_exactly,
            large_items_that_are_not_bytes_cross_too,
        ],
        support::TEST_DEADLINE,
    )
}

fn get(rx: &Receiver<u64>, what: &str) -> Option<u64> {
    rx.get_timeout(DEADLINE)
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

/// Everything until the end of the stream, each get with a deadline.
fn drain(rx: &Receiver<u64>) -> Vec<u64> {
    let mut items = Vec::new();
    while let Some(item) = get(rx, "the next item or the end of the stream") {
        items.push(item);
    }
    items
}

// ---- the functions children run ------------------------------------------------------------

fn put_range((tx, range): (Sender<u64>, std::ops::Range<u64>)) -> u64 {
    let count = range.end - range.start;
    for n in range {
        tx.put(n).expect("put");
    }
    count
}

fn collect_all(rx: Receiver<u64>) -> Vec<u64> {
    drain(&rx)
}

fn items_cross_in_order_then_the_stream_ends() {
    let (tx, rx) = Queue::unbounded().unwrap();
    let child = Process::spawn(put_range, (tx, 0..1000)).unwrap();
    assert_eq!(drain(&rx), (0..1000).collect::<Vec<_>>());
    assert_eq!(join(child).unwrap(), 1000);
    assert_eq!(rx.get().unwrap(), None, "the end of the stream is sticky");

    // The same through `iter()`, which stops at the end of the stream.
    let (tx, rx) = Queue::unbounded().unwrap();
    let child = Process::spawn(put_range, (tx, 0..100)).unwrap();
    let items: Vec<u64> = rx.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(items, (0..100).collect::<Vec<_>>());
    assert_eq!(join(child).unwrap(), 100);
}

fn end_of_stream_waits_for_every_producer() {
    let (tx, rx) = Queue::unbounded().unwrap();
    let producers: Vec<_> = (0..3u64)
        .map(|p| Process::spawn(put_range, (tx.clone(), p * 1000..p * 1000 + 500)).unwrap())
        .collect();
    // The parent's own Sender is a producer too: until it is dropped, the stream cannot end.
    tx.put(99_999).unwrap();
    drop(tx);
    let items = drain(&rx);
    for producer in producers {
        assert_eq!(join(producer).unwrap(), 500);
    }
    assert_eq!(
        items.len(),
        1501,
        "every item of every producer, and no end before them"
    );
    for p in 0..3u64 {
        let from_p: Vec<u64> = items
            .iter()
            .copied()
            .filter(|n| n / 1000 == p && *n < 99_999)
            .collect();
        assert_eq!(
            from_p,
            (p * 1000..p * 1000 + 500).collect::<Vec<_>>(),
            "producer {p}'s order"
        );
    }
}

fn consumer_processes_share_the_items_exactly_once() {
    let (tx, rx) = Queue::<u64>::builder().batch(16).build().unwrap();
    let consumers: Vec<_> = (0..3)
        .map(|_| Process::spawn(collect_all, rx.clone()).unwrap())
        .collect();
    drop(rx);
    for n in 0..3000 {
        tx.put(n).unwrap();
    }
    drop(tx);
    let mut seen = BTreeSet::new();
    for consumer in consumers {
        for item in join(consumer).unwrap() {
            assert!(seen.insert(item), "item {item} was delivered twice");
        }
    }
    assert_eq!(
        seen,
        (0..3000).collect::<BTreeSet<_>>(),
        "every item was delivered"
    );
}

fn a_full_queue_blocks_put_until_a_get() {
    let (tx, rx) = Queue::<u64>::bounded(2).unwrap();
    tx.put(1).unwrap();
    tx.put(2).unwrap();
    let refused = tx.put_timeout(3, Duration::from_millis(200)).unwrap_err();
    assert!(
        matches!(refused.error(), Error::Timeout(_)),
        "got {refused}"
    );
    assert_eq!(refused.into_item(), Some(3), "a refused item comes back");
    assert_eq!(get(&rx, "the first item"), Some(1));
    tx.put_timeout(3, DEADLINE).expect("room after a get");
    drop(tx);
    assert_eq!(drain(&rx), vec![2, 3]);
}

/// The child fills a bounded queue, proves its next put times out, tells the parent, then blocks
/// in `put` until the parent gets an item.
fn fill_then_block((tx, parent): (Sender<u64>, Connection<String, ()>)) -> bool {
    tx.put(1).expect("put 1");
    tx.put(2).expect("put 2");
    let timed_out = matches!(
        tx.put_timeout(3, Duration::from_millis(200))
            .map_err(|e| e.into_item()),
        Err(Some(3))
    );
    parent.send("full".to_string()).expect("tell the parent");
    tx.put_timeout(3, DEADLINE)
        .expect("room after the parent's get");
    timed_out
}

fn a_full_queue_blocks_a_producer_process() {
    let (tx, rx) = Queue::<u64>::bounded(2).unwrap();
    let (parent, child_end) = pipe::pipe::<(), String>().unwrap();
    let child = Process::spawn(fill_then_block, (tx, child_end)).unwrap();
    assert_eq!(parent.recv_timeout(DEADLINE).unwrap(), "full");
    assert_eq!(drain(&rx), vec![1, 2, 3]);
    assert!(
        join(child).unwrap(),
        "the child's put timed out while the queue was full"
    );
}

fn get_timeout_times_out_then_gets() {
    let (tx, rx) = Queue::<u64>::unbounded().unwrap();
    let error = rx.get_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "got {error}");
    tx.put(5).unwrap();
    assert_eq!(get(&rx, "the item put after the timeout"), Some(5));
    drop(tx);
    assert_eq!(
        rx.get_timeout(Duration::from_millis(100)).unwrap(),
        None,
        "end, not a timeout"
    );
}

/// Takes every task, waits for the parent's go, then marks them done; returns how many.
fn take_then_finish_on_signal((rx, go): (JoinableReceiver<u64>, Connection<(), ()>)) -> u64 {
    let mut taken = 0;
    for _ in 0..5 {
        rx.get_timeout(DEADLINE)
            .expect("a task")
            .expect("not the end yet");
        taken += 1;
    }
    go.recv_timeout(DEADLINE).expect("the parent's go");
    for _ in 0..taken {
        rx.task_done().expect("task_done");
    }
    assert_eq!(rx.get_timeout(DEADLINE).expect("the end"), None);
    taken
}

fn join_waits_for_every_task_done() {
    let (tx, rx) = JoinableQueue::<u64>::unbounded().unwrap();
    let (go, child_go) = pipe::pipe::<(), ()>().unwrap();
    let worker = Process::spawn(take_then_finish_on_signal, (rx, child_go)).unwrap();
    for task in 0..5 {
        tx.put(task).unwrap();
    }
    let early = tx.join_timeout(Duration::from_millis(300)).unwrap_err();
    assert!(
        matches!(early, Error::Timeout(_)),
        "join returned before task_done: {early}"
    );
    go.send(()).unwrap();
    tx.join_timeout(DEADLINE)
        .expect("join after every task_done");
    drop(tx);
    assert_eq!(join(worker).unwrap(), 5);
}

/// Takes one item, tells the parent, then waits to be killed (the deadline only guards a bug).
fn take_one_then_hang((rx, parent): (Receiver<u64>, Connection<u64, ()>)) {
    let first = rx
        .get_timeout(DEADLINE)
        .expect("an item")
        .expect("not the end");
    parent.send(first).expect("tell the parent");
    let _ = parent.recv_timeout(DEADLINE);
}

fn a_killed_consumer_loses_at_most_its_batch() {
    const BATCH: u64 = 8;
    let (tx, rx) = Queue::<u64>::builder().batch(BATCH as u32).build().unwrap();
    for n in 0..500 {
        tx.put(n).unwrap();
    }
    tx.flush().unwrap();
    let (parent, child_end) = pipe::pipe::<(), u64>().unwrap();
    let victim = Process::spawn(take_one_then_hang, (rx.clone(), child_end)).unwrap();
    parent
        .recv_timeout(DEADLINE)
        .expect("the victim took an item");
    victim.kill().unwrap();
    let died = join(victim).unwrap_err();
    assert!(matches!(died, Error::Died { exitcode: -9 }), "got {died}");
    let survivor = Process::spawn(collect_all, rx).unwrap();
    drop(tx);
    let got = join(survivor).unwrap();
    assert!(
        got.len() as u64 >= 500 - BATCH,
        "lost {} items, more than a batch",
        500 - got.len()
    );
    assert_eq!(
        got.iter().collect::<BTreeSet<_>>().len(),
        got.len(),
        "no duplicates"
    );
}

/// Puts `count` items, flushes, tells the parent, then waits to be killed.
fn put_then_hang((tx, count, parent): (Sender<u64>, u64, Connection<(), ()>)) {
    for n in 0..count {
        tx.put(1_000_000 + n).expect("put");
    }
    tx.flush().expect("flush");
    parent.send(()).expect("tell the parent");
    let _ = parent.recv_timeout(DEADLINE);
}

fn a_killed_producer_does_not_hang_the_consumer() {
    let (tx, rx) = Queue::<u64>::unbounded().unwrap();
    let (parent, child_end) = pipe::pipe::<(), ()>().unwrap();
    let victim = Process::spawn(put_then_hang, (tx.clone(), 10, child_end)).unwrap();
    let healthy = Process::spawn(put_range, (tx, 0..200)).unwrap();
    parent
        .recv_timeout(DEADLINE)
        .expect("the victim flushed its items");
    victim.kill().unwrap();
    let items = drain(&rx);
    let died = join(victim).unwrap_err();
    assert!(matches!(died, Error::Died { exitcode: -9 }), "got {died}");
    assert_eq!(join(healthy).unwrap(), 200);
    let mut by_source: HashMap<bool, usize> = HashMap::new();
    for item in &items {
        *by_source.entry(*item >= 1_000_000).or_default() += 1;
    }
    assert_eq!(
        by_source.get(&false),
        Some(&200),
        "all of the healthy producer's items"
    );
    assert_eq!(
        by_source.get(&true),
        Some(&10),
        "the victim's flushed items survive it"
    );
}

fn too_many_handles_in_one_message_is_an_error() {
    let (tx, rx) = Queue::<Vec<IpcSharedMemory>>::builder()
        .batch(1)
        .build()
        .unwrap();
    let regions: Vec<_> = (0..65)
        .map(|i| IpcSharedMemory::from_byte(i as u8, 16))
        .collect();
    // The put itself only hands the item to the feeder thread; the send fails there and is
    // reported by `flush` and every later put.
    let _ = tx.put(regions);
    let error = tx.flush().unwrap_err();
    assert!(matches!(error, Error::TooManyHandles { .. }), "got {error}");
    let later = tx.put(Vec::new()).unwrap_err();
    assert!(
        matches!(later.error(), Error::TooManyHandles { .. }),
        "got {later}"
    );
    drop((tx, rx));

    // A joinable queue sends in `put`, so the error comes from `put`.
    let (tx, _rx) = JoinableQueue::<Vec<IpcSharedMemory>>::unbounded().unwrap();
    let regions: Vec<_> = (0..65)
        .map(|i| IpcSharedMemory::from_byte(i as u8, 16))
        .collect();
    let error = tx.put(regions).unwrap_err();
    assert!(
        matches!(error.error(), Error::TooManyHandles { .. }),
        "got {error}"
    );
    let fine: Vec<_> = (0..8)
        .map(|i| IpcSharedMemory::from_byte(i as u8, 16))
        .collect();
    tx.put(fine).expect("eight handles fit in one message");
}

fn put_without_consumers_is_disconnected() {
    // Bounded: put asks the broker for room, and the broker is gone with the last consumer.
    let (tx, rx) = Queue::<u64>::bounded(4).unwrap();
    drop(rx);
    let error = tx.put_timeout(1, DEADLINE).unwrap_err();
    assert!(
        matches!(error.error(), Error::Disconnected),
        "got {}",
        error.error()
    );
    assert_eq!(error.into_item(), Some(1));

    // Unbounded: puts go through the feeder; once the broker has gone, the send fails and
    // `flush` (and every later put) reports it.
    let (tx, rx) = Queue::<u64>::unbounded().unwrap();
    drop(rx);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let outcome = tx.put(1).map_err(Error::from).and_then(|()| tx.flush());
        match outcome {
            Err(Error::Disconnected) => break,
            Err(other) => panic!("expected Disconnected, got {other}"),
            Ok(()) => assert!(
                Instant::now() < deadline,
                "puts kept succeeding with no consumer"
            ),
        }
    }
}

fn a_dropped_consumer_gives_its_items_back() {
    let (tx, rx) = Queue::<u64>::builder().batch(100).build().unwrap();
    for n in 0..50 {
        tx.put(n).unwrap();
    }
    tx.flush().unwrap();
    // The child's first get fetches a whole batch (all 50), returns one, and its Receiver is
    // dropped when the function returns: the other 49 must go back, not vanish.
    let greedy = Process::spawn(take_one_and_return, rx.clone()).unwrap();
    assert_eq!(
        join(greedy).unwrap(),
        Some(0),
        "the child took the first item"
    );
    drop(tx);
    assert_eq!(
        drain(&rx),
        (1..50).collect::<Vec<_>>(),
        "the child's unused batch came back"
    );
}

fn take_one_and_return(rx: Receiver<u64>) -> Option<u64> {
    rx.get_timeout(DEADLINE).expect("an item")
}

/// The child receives a Sender inside a queue item and uses it.
fn answer_through_received_sender(requests: Receiver<(u64, Sender<u64>)>) -> u64 {
    let mut answered = 0;
    while let Some((n, reply)) = requests.get_timeout(DEADLINE).expect("a request") {
        reply.put(n * n).expect("reply");
        answered += 1;
    }
    answered
}

fn handles_travel_inside_queue_items() {
    let (requests, requests_rx) = Queue::<(u64, Sender<u64>)>::builder()
        .batch(4)
        .build()
        .unwrap();
    let (replies, replies_rx) = Queue::<u64>::unbounded().unwrap();
    let server = Process::spawn(answer_through_received_sender, requests_rx).unwrap();
    for n in 1..=3 {
        requests.put((n, replies.clone())).unwrap();
    }
    drop(replies);
    drop(requests);
    let mut squares = drain(&replies_rx);
    squares.sort_unstable();
    assert_eq!(squares, vec![1, 4, 9]);
    assert_eq!(join(server).unwrap(), 3);
}

/// Four threads, each with its own clone: all items arrive exactly once, and a clone's
/// `get_timeout` is not held up by another thread blocked in `get`.
fn clones_are_independent_consumers_in_threads() {
    let (tx, rx) = Queue::<u64>::builder().batch(4).build().unwrap();
    let idle = rx.clone();
    let blocked = std::thread::spawn({
        let rx = rx.clone();
        move || rx.get_timeout(DEADLINE).map(|item| item.is_some())
    });
    let error = idle.get_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "got {error}");
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || drain(&rx))
        })
        .collect();
    drop((rx, idle));
    for n in 0..400 {
        tx.put(n).unwrap();
    }
    drop(tx);
    let mut seen = BTreeSet::new();
    for worker in workers {
        for item in worker.join().expect("a consumer thread") {
            assert!(seen.insert(item), "item {item} delivered twice");
        }
    }
    let blocked_got_one = blocked.join().expect("the blocked thread").unwrap();
    let expected = if blocked_got_one { 399 } else { 400 };
    assert_eq!(
        seen.len(),
        expected,
        "every item exactly once across the clones"
    );
}

/// The child creates a queue (so its broker runs in the child), puts three items, hands the
/// parent a `Receiver`, then waits to be killed.
fn create_queue_then_hang(parent: Connection<Receiver<u64>, ()>) {
    let (tx, rx) = Queue::<u64>::unbounded().expect("create a queue");
    for n in 1..=3 {
        tx.put(n).expect("put");
    }
    tx.flush().expect("flush");
    parent.send(rx).expect("hand over the receiver");
    let _ = parent.recv_timeout(DEADLINE);
    drop(tx);
}

fn a_dead_creator_is_disconnected_not_a_hang() {
    let (parent, child_end) = pipe::pipe::<(), Receiver<u64>>().unwrap();
    let creator = Process::spawn(create_queue_then_hang, child_end).unwrap();
    let rx = parent
        .recv_timeout(DEADLINE)
        .expect("the creator's receiver");
    for n in 1..=3 {
        assert_eq!(get(&rx, "an item held by the creator's broker"), Some(n));
    }
    creator.kill().unwrap();
    let died = join(creator).unwrap_err();
    assert!(matches!(died, Error::Died { exitcode: -9 }), "got {died}");
    let error = rx.get_timeout(DEADLINE).unwrap_err();
    assert!(matches!(error, Error::Disconnected), "got {error}");
}

/// Payload `n`: `len` bytes of a pattern that differs per payload and per position.
fn pattern(n: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + n * 7) as u8).collect()
}

/// Packs 40 payloads of assorted sizes (some bigger than a slot, some not a multiple of 8).
fn pack_assorted((tx, pool): (Sender<Payload>, BytePool)) -> usize {
    for n in 0..40 {
        let len = [0, 1, 7, 8, 9, 1000, 4096, 5000][n % 8];
        tx.put(pool.pack(&pattern(n, len))).expect("put a payload");
    }
    40
}

fn byte_pool_payloads_cross_processes_intact() {
    let pool = BytePool::new(3, 4096).unwrap();
    // 1 in the queue + 1 fetched + 1 packed while waiting for room: 3 slots always suffice.
    let (tx, rx) = Queue::<Payload>::builder()
        .capacity(1)
        .batch(1)
        .build()
        .unwrap();
    let producer = Process::spawn(pack_assorted, (tx, pool.clone())).unwrap();
    let mut n = 0;
    while let Some(payload) = rx.get_timeout(DEADLINE).expect("a payload") {
        let len = [0, 1, 7, 8, 9, 1000, 4096, 5000][n % 8];
        let went_inline = matches!(payload, Payload::Inline(_));
        assert_eq!(
            went_inline,
            len > 4096,
            "payload {n} ({len} bytes): inline only if too big"
        );
        assert_eq!(
            pool.unpack(payload).unwrap(),
            pattern(n, len),
            "payload {n} intact"
        );
        n += 1;
    }
    assert_eq!(join(producer).unwrap(), n);
    assert_eq!(pool.free_slots(), 3, "every slot is free again");
}

fn byte_pool_goes_inline_when_full_and_refuses_foreign_slots() {
    let pool = BytePool::new(2, 64).unwrap();
    let packed: Vec<Payload> = (0..3).map(|n| pool.pack(&pattern(n, 50))).collect();
    assert!(matches!(packed[0], Payload::Slot { .. }));
    assert!(matches!(packed[1], Payload::Slot { .. }));
    assert!(
        matches!(packed[2], Payload::Inline(_)),
        "no free slot: the bytes go inline"
    );
    assert_eq!(pool.free_slots(), 0);
    for (n, payload) in packed.into_iter().enumerate() {
        assert_eq!(pool.unpack(payload).unwrap(), pattern(n, 50));
    }
    assert_eq!(pool.free_slots(), 2);
    // A slot that holds nothing (already unpacked), and a slot the pool does not have.
    let stale = pool.unpack(Payload::Slot { slot: 0, len: 50 }).unwrap_err();
    assert!(matches!(stale, Error::Serialization(_)), "got {stale}");
    let foreign = pool.unpack(Payload::Slot { slot: 9, len: 50 }).unwrap_err();
    assert!(matches!(foreign, Error::Serialization(_)), "got {foreign}");
}

fn a_bounded_joinable_queue_waits_for_room_and_for_tasks() {
    let (tx, rx) = JoinableQueue::<u64>::bounded(1).unwrap();
    tx.put(1).unwrap();
    let full = tx.put_timeout(2, Duration::from_millis(100)).unwrap_err();
    assert!(matches!(full.error(), Error::Timeout(_)), "got {full}");
    assert_eq!(rx.get_timeout(DEADLINE).unwrap(), Some(1));
    tx.put_timeout(2, DEADLINE).expect("room after a get");
    let waiting = tx.join_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(
        matches!(waiting, Error::Timeout(_)),
        "two tasks are not done: {waiting}"
    );
    rx.task_done().unwrap();
    assert_eq!(rx.get_timeout(DEADLINE).unwrap(), Some(2));
    rx.task_done().unwrap();
    tx.join_timeout(DEADLINE).expect("both tasks done");
}
