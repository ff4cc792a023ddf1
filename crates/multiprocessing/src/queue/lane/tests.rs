//! Unit tests of lanes: real ipc channels within one process, so every byte still goes through
//! ipc-channel's encoding, descriptors and shared memory exactly as between processes. The
//! reading end runs on a thread of its own, as it would in another process: a message bigger
//! than the socket's buffer is only sent while someone reads it.

use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ipc_channel::ipc::{self, IpcSender, IpcSharedMemory};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

use std::sync::atomic::Ordering;

use super::outbox::block_size;
use super::*;
use crate::Error;
use crate::queue::session::lock;

/// How long a test waits for the reader; reaching it means something hung.
const DEADLINE: Duration = Duration::from_secs(30);

type Sent = Batch<ByteBuf>;

/// `count` payloads of `len` bytes each, every one different.
fn payloads(count: usize, len: usize) -> Vec<ByteBuf> {
    (0..count)
        .map(|n| {
            ByteBuf::from((0..len).map(|i| (i * 7 + n * 13) as u8).collect::<Vec<_>>())
        })
        .collect()
}

/// A lane's two ends: the writer here, the reader on its own thread, reading one batch each time
/// it is asked, so a test decides when the writer's blocks are drained.
struct TestLane {
    tx: IpcSender<Sent>,
    outbox: Arc<Outbox>,
    ask: mpsc::Sender<()>,
    answers: mpsc::Receiver<Result<Vec<ByteBuf>, String>>,
    reader: JoinHandle<Inbox>,
}

impl TestLane {
    fn new() -> TestLane {
        let (tx, rx) = ipc::channel::<Sent>().expect("channel");
        let (ask, asked) = mpsc::channel::<()>();
        let (answer, answers) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut inbox = Inbox::default();
            while asked.recv().is_ok() {
                let got = inbox.lend(|| rx.recv());
                let got = (got.map_err(|e| format!("{e:?}")))
                    .and_then(|batch: Sent| batch.into_items());
                if answer.send(got).is_err() {
                    break;
                }
            }
            inbox
        });
        TestLane {
            tx,
            outbox: Outbox::new(),
            ask,
            answers,
            reader,
        }
    }

    fn send(&self, items: Vec<ByteBuf>) {
        let batch = Batch::Outgoing(items, Arc::clone(&self.outbox));
        (self.outbox)
            .send(&self.tx, batch, "a test batch")
            .expect("send");
    }

    /// Lets the reader take one batch (which may still be on its way).
    fn ask(&self) {
        self.ask.send(()).expect("the reader is running");
    }

    fn answer(&self) -> Vec<ByteBuf> {
        let answer = (self.answers.recv_timeout(DEADLINE))
            .unwrap_or_else(|_| panic!("the reader got no batch within {DEADLINE:?}"));
        answer.unwrap_or_else(|e| panic!("the batch did not decode: {e}"))
    }

    /// Sends a batch while the reader reads it, and returns what the reader got.
    fn round_trip(&self, items: Vec<ByteBuf>) -> Vec<ByteBuf> {
        self.ask();
        self.send(items);
        self.answer()
    }

    /// Stops the reader and returns its inbox.
    fn finish(self) -> Inbox {
        drop(self.ask);
        self.reader.join().expect("the reader thread")
    }
}

/// The payload length whose batch of one encodes to exactly `encoded` bytes.
fn len_encoding_to(encoded: usize) -> usize {
    let mut len = encoded - 4;
    while postcard::to_stdvec(&vec![ByteBuf::from(vec![0u8; len])])
        .expect("encode")
        .len()
        < encoded
    {
        len += 1;
    }
    len
}

#[test]
fn every_wire_form_round_trips() {
    let lane = TestLane::new();
    // Small (inline); large (a block is made and announced); large again twice (the same
    // block, already known to the reader).
    for (round, len) in [(0, 10), (1, 100_000), (2, 100_000), (3, 100_001)] {
        let sent = payloads(2, len);
        assert_eq!(lane.round_trip(sent.clone()), sent, "round {round}");
    }
    assert_eq!(lane.outbox.counts(), (3, 1, 1), "(stored, inline, blocks)");
    // A batch that is never encoded by an outbox still crosses, inline.
    lane.ask();
    lane.tx.send(Batch::of(payloads(1, 5))).expect("send");
    assert_eq!(lane.answer(), payloads(1, 5));
    lane.finish();
}

#[test]
fn the_threshold_is_exact() {
    let lane = TestLane::new();
    let at = len_encoding_to(SHARED_MEMORY_THRESHOLD);
    assert_eq!(lane.round_trip(payloads(1, at - 1)), payloads(1, at - 1));
    assert_eq!(
        lane.outbox.counts(),
        (0, 1, 0),
        "one byte below: the socket"
    );
    for len in [at + 1, at] {
        assert_eq!(
            lane.round_trip(payloads(1, len)),
            payloads(1, len),
            "{len} bytes"
        );
    }
    assert_eq!(lane.outbox.counts(), (2, 1, 1), "at and above: a block");
    lane.finish();
}

#[test]
fn items_carrying_channels_keep_them_through_a_block() {
    type Item = (IpcSender<u32>, ByteBuf);
    let (tx, rx) = ipc::channel::<Batch<Item>>().expect("channel");
    let outbox = Outbox::new();
    let mut inbox = Inbox::default();
    // Items of 70 000 bytes: over the threshold, and small enough to wait in the socket unread.
    for round in 0..3u32 {
        let (reply_tx, reply_rx) = ipc::channel::<u32>().expect("channel");
        let item = (reply_tx, ByteBuf::from(vec![round as u8; 70_000]));
        let batch = Batch::Outgoing(vec![item], Arc::clone(&outbox));
        outbox.send(&tx, batch, "test").expect("send");
        let mut items = inbox
            .lend(|| rx.recv())
            .expect("recv")
            .into_items()
            .expect("decode");
        let (reply, bytes) = items.pop().expect("one item");
        assert!(bytes.iter().all(|&b| b == round as u8));
        reply
            .send(round)
            .expect("the channel inside the item works");
        assert_eq!(reply_rx.recv().expect("reply"), round);
    }
    assert_eq!(
        outbox.counts(),
        (3, 0, 1),
        "every round went through the block"
    );
}

#[test]
fn a_writer_ahead_of_its_reader_makes_more_blocks() {
    let lane = TestLane::new();
    let sent: Vec<_> = (0..3).map(|n| payloads(1, 66_000 + n)).collect();
    // The reader reads nothing yet, so each batch finds the blocks before it full.
    for batch in &sent {
        lane.send(batch.clone());
    }
    assert_eq!(lane.outbox.counts(), (3, 0, 3), "(stored, inline, blocks)");
    for (n, batch) in sent.iter().enumerate() {
        lane.ask();
        assert_eq!(&lane.answer(), batch, "batch {n}, in order");
    }
    // The blocks are free again, and reused.
    for n in 0..2 {
        let batch = payloads(1, 66_000 + n);
        assert_eq!(lane.round_trip(batch.clone()), batch);
    }
    assert_eq!(lane.outbox.counts(), (5, 0, 3));
    lane.finish();
}

#[test]
fn a_writer_with_every_block_full_waits_for_the_reader() {
    let lane = TestLane::new();
    lock(&lane.outbox.lane).return_wait = DEADLINE;
    let sent: Vec<_> = (0..=MAX_BLOCKS).map(|n| payloads(1, 66_000 + n)).collect();
    for batch in &sent[..MAX_BLOCKS] {
        lane.send(batch.clone());
    }
    let TestLane {
        tx,
        outbox,
        ask,
        answers,
        reader,
    } = lane;
    let last = sent[MAX_BLOCKS].clone();
    let writer = {
        let outbox = Arc::clone(&outbox);
        thread::spawn(move || {
            let batch = Batch::Outgoing(last, Arc::clone(&outbox));
            outbox.send(&tx, batch, "the last batch").expect("send");
        })
    };
    // Let the reader go only once the writer waits, so that the wake-up is what frees it.
    let started = std::time::Instant::now();
    while outbox.waits.load(Ordering::Relaxed) == 0 {
        assert!(started.elapsed() < DEADLINE, "the writer never waited");
        thread::yield_now();
    }
    for (n, batch) in sent.iter().enumerate() {
        ask.send(()).expect("the reader runs");
        let got = answers
            .recv_timeout(DEADLINE)
            .expect("a batch")
            .expect("decodes");
        assert_eq!(&got, batch, "batch {n}, in order");
    }
    writer.join().expect("the writer");
    assert_eq!(outbox.counts(), (MAX_BLOCKS as u64 + 1, 0, MAX_BLOCKS));
    drop(ask);
    reader.join().expect("the reader");
}

#[test]
fn a_writer_whose_reader_frees_nothing_uses_the_socket_after_a_while() {
    let lane = TestLane::new();
    lock(&lane.outbox.lane).return_wait = Duration::from_millis(50);
    let sent: Vec<_> = (0..=MAX_BLOCKS).map(|n| payloads(1, 66_000 + n)).collect();
    for batch in &sent {
        lane.send(batch.clone());
    }
    assert_eq!(lane.outbox.counts(), (MAX_BLOCKS as u64, 1, MAX_BLOCKS));
    for (n, batch) in sent.iter().enumerate() {
        lane.ask();
        assert_eq!(&lane.answer(), batch, "batch {n}, in order");
    }
    lane.finish();
}

#[test]
fn a_lane_keeps_at_most_max_blocks() {
    let outbox = Outbox::new();
    let mut lane = lock(&outbox.lane);
    for _ in 0..MAX_BLOCKS + 3 {
        lane.make_block(100_000);
        // Every block is busy (as if the reader were slow), so none can be replaced.
        for slot in &lane.blocks {
            if slot.block.is_free() {
                slot.block.fill(&[1]);
            }
        }
    }
    assert_eq!(lane.blocks.len(), MAX_BLOCKS);
    // A free block that is too small is replaced by a bigger one, and the reader is told.
    lane.blocks[0].block.release();
    lane.blocks[0].announced = true;
    let old = lane.blocks[0].id;
    lane.make_block(1 << 20);
    assert_eq!(lane.blocks.len(), MAX_BLOCKS);
    let newest = lane.blocks.last().expect("a block");
    assert!(newest.block.capacity() >= 1 << 20);
    assert_eq!(newest.replaces, Some(old));
}

#[test]
fn growing_batches_replace_blocks_that_are_too_small() {
    let lane = TestLane::new();
    let mut len = 66_000;
    for _ in 0..2 * MAX_BLOCKS + 2 {
        for _ in 0..2 {
            assert_eq!(
                lane.round_trip(payloads(1, len)),
                payloads(1, len),
                "{len} bytes"
            );
        }
        len = (len * 2).min(2_200_000);
    }
    assert!(lane.outbox.counts().2 <= MAX_BLOCKS);
    let inbox = lane.finish();
    assert!(
        inbox.blocks.len() <= MAX_BLOCKS,
        "the reader forgot replaced blocks"
    );
}

#[test]
fn a_failed_send_frees_its_block_and_announces_it_again() {
    let (tx, rx) = ipc::channel::<Sent>().expect("channel");
    let outbox = Outbox::new();
    let send = |tx: &IpcSender<Sent>| {
        let batch = Batch::Outgoing(payloads(1, 70_000), Arc::clone(&outbox));
        outbox.send(tx, batch, "a test batch")
    };
    send(&tx).expect("send"); // fills block 0, which nobody will read
    drop(rx);
    let error = send(&tx).unwrap_err(); // fills block 1; the send fails
    assert!(matches!(error, Error::Disconnected), "{error}");
    let free: Vec<bool> = (lock(&outbox.lane).blocks.iter())
        .map(|slot| slot.block.is_free() && !slot.announced)
        .collect();
    assert_eq!(
        free,
        [false, true],
        "block 1 is free again, and still unknown"
    );
    // A new reader learns block 1 from the next message, which uses it.
    let (tx, rx) = ipc::channel::<Sent>().expect("channel");
    send(&tx).expect("send");
    let mut inbox = Inbox::default();
    let items = inbox
        .lend(|| rx.recv())
        .expect("recv")
        .into_items()
        .expect("decode");
    assert_eq!(items, payloads(1, 70_000));
    assert_eq!(outbox.counts(), (3, 0, 2));
}

#[test]
fn a_stored_batch_received_without_a_lane_is_an_error() {
    let (tx, rx) = ipc::channel::<Sent>().expect("channel");
    let outbox = Outbox::new();
    let batch = Batch::Outgoing(payloads(1, 70_000), Arc::clone(&outbox));
    outbox.send(&tx, batch, "a test batch").expect("send");
    let error = rx
        .recv()
        .err()
        .expect("the batch is stored, and no inbox was lent");
    assert!(
        matches!(error, ipc_channel::IpcError::SerializationError(_)),
        "{error:?}"
    );
}

#[test]
fn a_lane_without_shared_memory_sends_everything_through_the_socket() {
    let lane = TestLane::new();
    lock(&lane.outbox.lane).refuse("a test says no".into());
    for _ in 0..3 {
        assert_eq!(lane.round_trip(payloads(1, 100_000)), payloads(1, 100_000));
    }
    assert_eq!(lane.outbox.counts(), (0, 3, 0));
    lane.finish();
}

#[test]
fn messages_aim_at_a_megabyte() {
    let outbox = Outbox::new();
    assert_eq!(outbox.items_per_message(256), 256, "before any batch");
    outbox.bytes_per_item.store(1 << 20, Ordering::Relaxed);
    assert_eq!(outbox.items_per_message(256), 1);
    outbox.bytes_per_item.store(100_000, Ordering::Relaxed);
    assert_eq!(outbox.items_per_message(256), 10);
    assert_eq!(outbox.items_per_message(4), 4, "never more than the batch");
}

#[test]
fn block_sizes_round_up_by_at_most_an_eighth() {
    assert_eq!(block_size(SHARED_MEMORY_THRESHOLD), SHARED_MEMORY_THRESHOLD);
    assert_eq!(block_size((1 << 20) + 10), (1 << 20) + (256 << 10));
    for len in [70_000, 1 << 20, 3_000_000, MAX_BLOCK_BYTES] {
        let size = block_size(len);
        assert!(
            size >= len && size - len <= len / 8 + (64 << 10),
            "{len} -> {size}"
        );
    }
}

/// A lane read by the broker's kind of inbox, which keeps plain batches as parcels.
fn broker_receives<T>(batch: Vec<T>) -> (Vec<Entry<T>>, Arc<Pool>)
where
    T: Serialize + DeserializeOwned,
{
    let (tx, rx) = ipc::channel::<Batch<T>>().expect("channel");
    let outbox = Outbox::new();
    let pool = Arc::new(Pool::default());
    let mut inbox = Inbox::keeping_parcels(Arc::clone(&pool));
    let batch = Batch::Outgoing(batch, Arc::clone(&outbox));
    outbox.send(&tx, batch, "a test batch").expect("send");
    let entries = inbox.lend(|| rx.recv()).expect("recv").into_entries();
    (entries, pool)
}

#[test]
fn the_broker_keeps_plain_stored_batches_as_parcels_for_the_consumer() {
    let sent = payloads(3, 40_000);
    let (entries, pool) = broker_receives(sent.clone());
    assert!(matches!(entries[..], [Entry::Parcel(_)]), "one parcel");
    assert_eq!(entries[0].count(), 3);
    // The consumer decodes it, in its own thread; the buffer goes back to the broker's pool.
    let decoded = thread::spawn(move || decode_entries(entries))
        .join()
        .expect("the consumer thread")
        .expect("decode");
    assert_eq!(decoded, sent);
    assert_eq!(pool.len(), 1);
    // Small batches are decoded at once.
    let (entries, _) = broker_receives(payloads(2, 10));
    assert!(matches!(entries[..], [Entry::Item(_), Entry::Item(_)]));
}

#[test]
fn batches_carrying_channels_or_shared_memory_are_never_parcels() {
    let (reply, replies) = ipc::channel::<u32>().expect("channel");
    let (entries, _) =
        broker_receives(vec![(Some(reply), ByteBuf::from(vec![1u8; 100_000]))]);
    let [Entry::Item((Some(reply), bytes))] = &entries[..] else {
        panic!("a batch with a channel end was not decoded at once");
    };
    assert_eq!(bytes.len(), 100_000);
    reply.send(7).expect("the channel end works");
    assert_eq!(replies.recv().expect("reply"), 7);

    let region = IpcSharedMemory::from_bytes(&[9; 16]);
    let (entries, _) = broker_receives(vec![(region, ByteBuf::from(vec![2u8; 100_000]))]);
    let [Entry::Item((region, _))] = &entries[..] else {
        panic!("a batch with shared memory was not decoded at once");
    };
    assert_eq!(region[..], [9; 16]);

    // And an item type that may carry a handle but does not, this time, is plain.
    let (entries, _) = broker_receives(vec![(
        None::<IpcSender<u32>>,
        ByteBuf::from(vec![3u8; 100_000]),
    )]);
    assert!(matches!(entries[..], [Entry::Parcel(_)]));
}

#[test]
fn the_broker_forwards_parcels_without_decoding_them() {
    let pool = Arc::new(Pool::default());
    let parcel = |items: &[ByteBuf]| Entry::Parcel(Parcel::of(items, &pool));
    let (all, small) = (payloads(6, 30_000), payloads(1, 3));
    let entries = vec![
        Entry::Item(all[0].clone()),
        parcel(&all[1..4]),
        Entry::Item(all[4].clone()),
        parcel(&all[5..6]),
    ];
    let (tx, rx) = ipc::channel::<Sent>().expect("channel");
    let outbox = Outbox::never_waiting();
    let mut inbox = Inbox::default();
    for (entries, expected) in [(entries, &all), (vec![parcel(&small)], &small)] {
        let batch = Batch::Forward(entries, Arc::clone(&outbox));
        outbox.send(&tx, batch, "a forwarded batch").expect("send");
        let got = inbox.lend(|| rx.recv()).expect("recv").into_items();
        assert_eq!(&got.expect("decode"), expected, "in order, intact");
    }
    assert_eq!(outbox.counts(), (1, 1, 1), "the large one through a block");
    assert_eq!(pool.len(), 3, "every parcel's buffer went back to the pool");
}
