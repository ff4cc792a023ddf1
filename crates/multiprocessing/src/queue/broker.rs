//! The broker: one thread, in the process that created the queue, that owns the queue's items.
//!
//! Why a broker at all: an ipc-channel receiver has exactly one owner, so "many consumers in many
//! processes" cannot all read one channel. (Many *senders* are native: an `IpcSender` clones and
//! travels.) Python's `multiprocessing.Queue` solves the same problem with a pipe plus a
//! cross-process lock around reads; here one thread hands items out on request, which also gives a
//! natural place for the bound, for `join`, and for noticing that a process died.
//!
//! The broker never blocks on a producer. It blocks only while it sends a reply to a handle that
//! has just asked for one (that handle is reading), so one slow process cannot stall the others.
//! It waits on all sessions at once with an [`IpcReceiverSet`] and, before it answers producers
//! and joiners, drains every message already sent: whatever a `put` sent before a `join` was
//! called, in any process, is counted before the `join` is answered. Consumers that are waiting
//! get items as soon as they arrive, without waiting for the drain: that is always safe, and it
//! keeps few decoded items alive at once.
//!
//! Large batches of plain items arrive as parcels, still encoded (`lane.rs`); the broker counts
//! and hands them out like the items they hold (`held.rs`), and the consumer decodes them: one
//! in this process in its own thread, one in another process after the parcel's bytes have been
//! forwarded to it through its own lane, never decoded and encoded again on the way.
//!
//! The broker ends when no consumer can exist any more (every `Receiver` everywhere is gone): it
//! answers waiting producers with `Closed` and drops its channels, so later puts fail with
//! [`Error::Disconnected`](crate::Error::Disconnected).

use std::collections::{HashMap, VecDeque};

use std::sync::Arc;

use ipc_channel::ipc::{IpcMessage, IpcReceiverSet, IpcSelectionResult};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::held::Held;
use super::lane::{Entry, Inbox, Outbox, Pool};
use super::local::{Doors, DownTx};
use super::wire::{Config, Down, Hello, Up};

/// Who is on the other end of a session.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    Producer,
    Consumer,
}

struct Session<T> {
    role: Role,
    down: DownTx<T>,
    /// The inbox of the session's up lane: blocks its batches may arrive in (`lane.rs`).
    inbox: Inbox,
    /// Credits granted to this producer and not yet spent on items that reached the broker.
    credits: u64,
    /// A reply failed: the process is gone. Wait for its channel to close before forgetting it.
    dead: bool,
}

/// The broker's state. `run` is the whole life of the broker thread.
pub(crate) struct Broker<T> {
    set: IpcReceiverSet,
    config: Config,
    /// Answer channels of handles in this process (see `local.rs`).
    doors: Arc<Doors<T>>,
    /// Set ids of the two registration channels, `None` once closed (no such handle is left).
    producer_registry: Option<u64>,
    consumer_registry: Option<u64>,
    sessions: HashMap<u64, Session<T>>,
    items: Held<T>,
    /// Buffers for the parcels the sessions' inboxes keep (`lane/inbox.rs`).
    pool: Arc<Pool>,
    /// Sum of `Session::credits`: puts that were allowed and whose items have not arrived yet.
    credits_out: u64,
    waiting_consumers: VecDeque<(u64, u32)>,
    waiting_producers: VecDeque<(u64, u32)>,
    waiting_joiners: Vec<u64>,
    /// Joinable queues: items received and not yet marked done.
    unfinished: u64,
}

impl<T> Broker<T>
where
    T: Serialize + DeserializeOwned,
{
    pub(crate) fn new(
        set: IpcReceiverSet,
        config: Config,
        doors: Arc<Doors<T>>,
        producer_registry: u64,
        consumer_registry: u64,
    ) -> Self {
        Broker {
            set,
            config,
            doors,
            producer_registry: Some(producer_registry),
            consumer_registry: Some(consumer_registry),
            sessions: HashMap::new(),
            items: Held::new(),
            pool: Arc::new(Pool::default()),
            credits_out: 0,
            waiting_consumers: VecDeque::new(),
            waiting_producers: VecDeque::new(),
            waiting_joiners: Vec::new(),
            unfinished: 0,
        }
    }

    /// Serve until no consumer can exist any more, or the channels fail.
    pub(crate) fn run(mut self) {
        while !self.no_consumer_left() {
            let Ok(events) = self.set.select() else { break };
            self.handle_all(events);
            // Drain everything that is already waiting before answering anyone else (see module
            // docs); waiting consumers get items as they arrive (`handle_all`).
            while let Ok(events) = self.set.try_select() {
                self.handle_all(events);
            }
            self.answer_waiting();
        }
        for (id, _) in std::mem::take(&mut self.waiting_producers) {
            self.reply(id, Down::Closed);
        }
        for id in std::mem::take(&mut self.waiting_joiners) {
            self.reply(id, Down::Closed);
        }
        self.doors.close();
    }

    fn no_consumer_left(&self) -> bool {
        self.consumer_registry.is_none() && !self.has_sessions(Role::Consumer)
    }

    fn has_sessions(&self, role: Role) -> bool {
        self.sessions.values().any(|s| s.role == role)
    }

    /// End of stream: no producer can exist any more and every item has been handed out.
    fn ended(&self) -> bool {
        self.producer_registry.is_none()
            && !self.has_sessions(Role::Producer)
            && self.items.is_empty()
    }

    fn handle_all(&mut self, events: Vec<IpcSelectionResult>) {
        for event in events {
            match event {
                IpcSelectionResult::MessageReceived(id, message) => {
                    self.handle_message(id, message)
                }
                IpcSelectionResult::ChannelClosed(id) => self.handle_closed(id),
            }
            // A consumer that is waiting need not wait for the drain to finish.
            if !self.no_consumer_left() {
                self.hand_out_items();
            }
        }
    }

    fn handle_message(&mut self, id: u64, message: IpcMessage) {
        let role = if Some(id) == self.producer_registry {
            Some(Role::Producer)
        } else if Some(id) == self.consumer_registry {
            Some(Role::Consumer)
        } else {
            None
        };
        match role {
            Some(role) => self.register(role, message),
            // A message that does not decode is a bug or a mismatched binary: it is dropped
            // rather than the broker, and the handle that sent it runs into its own deadline.
            None => {
                let Some(session) = self.sessions.get_mut(&id) else {
                    return;
                };
                if let Ok(up) = session.inbox.lend(|| message.to::<Up<T>>()) {
                    self.handle_up(id, up);
                }
            }
        }
    }

    fn register(&mut self, role: Role, message: IpcMessage) {
        let Ok(hello) = message.to::<Hello<T>>() else {
            return;
        };
        let down = match (hello.down, hello.local) {
            (Some(sender), _) => DownTx::Ipc(sender, Outbox::never_waiting()),
            (None, Some(door)) => match self.doors.take(door) {
                Some(sender) => DownTx::Local(sender),
                None => return,
            },
            (None, None) => return,
        };
        if let Ok(id) = self.set.add(hello.up) {
            let session = Session {
                role,
                down,
                inbox: Inbox::keeping_parcels(Arc::clone(&self.pool)),
                credits: 0,
                dead: false,
            };
            self.sessions.insert(id, session);
        }
    }

    fn handle_up(&mut self, id: u64, up: Up<T>) {
        match up {
            Up::Items(batch) => self.receive_items(id, batch.into_entries()),
            Up::Return(batch) => self.items.push_front(batch.into_entries()),
            Up::Credits(want) => self.waiting_producers.push_back((id, want.max(1))),
            Up::Want(max) => self.waiting_consumers.push_back((id, max.max(1))),
            Up::TaskDone(n) => {
                self.unfinished = self.unfinished.saturating_sub(u64::from(n))
            }
            Up::Join => self.waiting_joiners.push(id),
            Up::Cancel => self.cancel(id),
        }
    }

    fn receive_items(&mut self, id: u64, batch: Vec<Entry<T>>) {
        let count = batch.iter().map(Entry::count).sum::<usize>() as u64;
        if let Some(session) = self.sessions.get_mut(&id) {
            let spent = count.min(session.credits);
            session.credits -= spent;
            self.credits_out -= spent;
        }
        if self.config.joinable {
            self.unfinished += count;
        }
        self.items.push_back(batch);
    }

    fn cancel(&mut self, id: u64) {
        self.waiting_consumers.retain(|&(waiting, _)| waiting != id);
        self.waiting_producers.retain(|&(waiting, _)| waiting != id);
        self.waiting_joiners.retain(|&waiting| waiting != id);
        self.reply(id, Down::Cancelled);
    }

    /// A session's channel closed: its handle was dropped or its process died. Everything it sent
    /// before has already been read (a channel reports closing only after its last message).
    fn handle_closed(&mut self, id: u64) {
        if Some(id) == self.producer_registry {
            self.producer_registry = None;
        } else if Some(id) == self.consumer_registry {
            self.consumer_registry = None;
        } else if let Some(session) = self.sessions.remove(&id) {
            // Credits a dead or dropped producer never used go back to the queue.
            self.credits_out -= session.credits;
            self.waiting_consumers.retain(|&(waiting, _)| waiting != id);
            self.waiting_producers.retain(|&(waiting, _)| waiting != id);
            self.waiting_joiners.retain(|&waiting| waiting != id);
        }
    }

    fn answer_waiting(&mut self) {
        if self.no_consumer_left() {
            // Room in the queue is no use without a consumer: `run` answers `Closed` instead.
            return;
        }
        self.answer_consumers();
        self.answer_producers();
        self.answer_joiners();
    }

    fn answer_consumers(&mut self) {
        self.hand_out_items();
        if self.ended() {
            for (id, _) in std::mem::take(&mut self.waiting_consumers) {
                self.reply(id, Down::End);
            }
        }
    }

    /// Items to waiting consumers, for as long as there are both. Handing items out early is
    /// always safe (unlike answering a `join`, which must wait for the drain); it also keeps
    /// few decoded items alive at a time, which lets the allocator reuse their memory.
    fn hand_out_items(&mut self) {
        while !self.items.is_empty() {
            let Some((id, max)) = self.waiting_consumers.pop_front() else {
                return;
            };
            let Some(session) = self.sessions.get(&id).filter(|session| !session.dead)
            else {
                continue;
            };
            let per_message = session.down.items_per_message(max as usize);
            let take = per_message.min(self.fair_share()).min(self.items.len());
            let batch = session.down.batch(self.items.take(take));
            // If this fails the consumer died after asking: those items are lost with it, as an
            // item a Python consumer had already taken is lost when it dies.
            self.reply(id, Down::Items(batch));
        }
    }

    /// Spread items over the consumers instead of giving the first asker a whole batch.
    fn fair_share(&self) -> usize {
        let consumers = self
            .sessions
            .values()
            .filter(|s| s.role == Role::Consumer)
            .count();
        self.items.len().div_ceil(consumers.max(1)).max(1)
    }

    fn answer_producers(&mut self) {
        let Some(capacity) = self.config.capacity else {
            return;
        };
        loop {
            let used = self.items.len() as u64 + self.credits_out;
            let free = u64::from(capacity).saturating_sub(used);
            if free == 0 {
                return;
            }
            let Some((id, want)) = self.waiting_producers.pop_front() else {
                return;
            };
            let grant = free.min(u64::from(want));
            if let Some(session) = self.sessions.get_mut(&id) {
                session.credits += grant;
                self.credits_out += grant;
            }
            self.reply(id, Down::Credits(grant as u32));
        }
    }

    fn answer_joiners(&mut self) {
        if self.unfinished == 0 {
            for id in std::mem::take(&mut self.waiting_joiners) {
                self.reply(id, Down::Joined);
            }
        }
    }

    fn reply(&mut self, id: u64, message: Down<T>) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        if session.dead {
            return;
        }
        if !session.down.send(message) {
            session.dead = true;
        }
    }
}
