//! Logging from many processes through one writer, so that no line is ever torn or interleaved.
//!
//! # The problem
//!
//! Four processes that each write log lines to the same terminal or file share one file
//! description but not one buffer. A long line may go out in several `write` calls, and another
//! process's line can land in the middle; records arrive in no useful order and say nothing about
//! who wrote them. Python's `logging` module has the same problem across processes, and its
//! documented answer is a `QueueHandler` in every process and one `QueueListener` that writes.
//!
//! # The answer here
//!
//! The same design, with types: a [`LogWriter`] in the parent owns the output and a thread that
//! receives whole [`Record`]s over one `ipc-channel` channel. Every process (the parent too) gets
//! a [`LogSender`] (it is `Serialize`, so it travels inside a `Process` argument) and either sends
//! records directly or [`install`](LogSender::install)s a `tracing` subscriber that turns every
//! `tracing::info!` and friends into a record stamped with the process name and pid. The writer
//! formats each record as **one line** and writes it with one `write_all`, so lines never mix:
//! a record is one message on the channel, and a message is delivered whole or not at all.
//!
//! What a record may contain is bounded: the message is cut at [`MAX_MESSAGE_BYTES`] (with a
//! note of how much was cut), and line breaks inside it are escaped as `\n`, so one record is
//! always exactly one line and one chatty process cannot make the writer buffer megabytes.
//!
//! # Ordering and shutdown
//!
//! Every sender clone writes into the same socket, so the writer sees records in the order they
//! were sent, across all processes. [`LogWriter::finish`] sends a marker after everything the
//! caller has sent and waits (with a deadline) until the writer has written up to it. Join your
//! children *before* calling it: records a child sent before exiting are already in the socket,
//! so they are written before the marker.
//!
//! The writer thread drains the channel continuously, so senders never hit `ipc-channel`'s limit
//! on unread messages; if the output itself is slow (a full disk, a paused terminal), senders
//! block in `send` rather than lose records.
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipc_channel::IpcError;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use serde::{Deserialize, Serialize};

/// The longest message a record carries; longer ones are cut (and say so).
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// What can go wrong with the log writer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Creating the channel or the writer thread failed.
    #[error("could not start the log writer: {0}")]
    Io(#[from] io::Error),
    /// The writer thread has stopped (its output failed, or it was finished).
    #[error("the log writer has stopped")]
    WriterGone,
    /// [`LogWriter::finish`] did not see the writer catch up within its deadline.
    #[error("the log writer did not write everything within {0:?}")]
    Timeout(Duration),
    /// A `tracing` subscriber was already installed in this process.
    #[error("a tracing subscriber is already installed in this process: {0}")]
    AlreadyInstalled(String),
}

/// How serious a record is (the `tracing` levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// Very detailed.
    Trace,
    /// For debugging.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected, handled.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

impl From<&tracing::Level> for Level {
    fn from(level: &tracing::Level) -> Level {
        match *level {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            _ => Level::Error,
        }
    }
}

/// One log record, as it travels from a process to the writer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The sending process's id.
    pub pid: u32,
    /// The sending process's name (`MainProcess`, or the child's name).
    pub process: String,
    /// The severity.
    pub level: Level,
    /// Where it came from (a module path, by `tracing`'s convention).
    pub target: String,
    /// The message, with any structured fields appended as `key=value`.
    pub message: String,
}

impl Record {
    /// A record from the current process, with `message` bounded and made single-line.
    pub fn new(level: Level, target: &str, message: &str) -> Record {
        Record {
            pid: std::process::id(),
            process: crate::current_process_name().to_string(),
            level,
            target: target.to_string(),
            message: one_bounded_line(message),
        }
    }
}

// ANCHOR: one_line
/// Escapes line breaks and cuts the text at [`MAX_MESSAGE_BYTES`] (on a character
/// boundary).
fn one_bounded_line(message: &str) -> String {
    let mut cut = message.len().min(MAX_MESSAGE_BYTES);
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut line = message[..cut].replace('\r', "\\r").replace('\n', "\\n");
    if cut < message.len() {
        let _ = write!(line, " [... {} more bytes cut]", message.len() - cut);
    }
    line
}
// ANCHOR_END: one_line

/// What travels on the writer's channel.
#[derive(Serialize, Deserialize)]
enum Packet {
    Record(Record),
    /// "Tell me when you have written everything before this."
    Flush(u64),
}

/// A handle for sending records to a [`LogWriter`], from any process. Clone it per process or
/// thread, pass it inside a `Process` argument.
#[derive(Clone, Serialize, Deserialize)]
pub struct LogSender {
    tx: IpcSender<Packet>,
}

impl LogSender {
    /// Sends one record. If the writer has gone, the line is written to this process's stderr
    /// instead (so it is not lost) and the error is returned.
    pub fn send(&self, record: Record) -> Result<(), LogError> {
        // The channel consumes what it sends and gives nothing back on failure, so keep a copy
        // for the fallback (a few short strings: cheap next to the send itself).
        match self.tx.send(Packet::Record(record.clone())) {
            Ok(()) => Ok(()),
            Err(_) => {
                eprintln!("{}", format_line(&record, None));
                Err(LogError::WriterGone)
            }
        }
    }

    /// Sends a record with this process's name and pid.
    pub fn log(&self, level: Level, target: &str, message: &str) -> Result<(), LogError> {
        self.send(Record::new(level, target, message))
    }

    // ANCHOR: install
    /// Makes this sender the destination of every `tracing` event in this process (at the
    /// level `RUST_LOG` sets, `info` by default). Call it once, early in the function a
    /// child runs.
    pub fn install(&self) -> Result<(), LogError> {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;

        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        tracing_subscriber::registry()
            .with(filter)
            .with(self.layer())
            .try_init()
            .map_err(|e| LogError::AlreadyInstalled(e.to_string()))
    }
    // ANCHOR_END: install

    /// The `tracing` layer behind [`install`](LogSender::install), to combine with your own.
    pub fn layer(&self) -> ForwardLayer {
        ForwardLayer {
            sender: self.clone(),
        }
    }
}

/// A `tracing` layer that forwards every event to a [`LogWriter`] as one [`Record`].
pub struct ForwardLayer {
    sender: LogSender,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ForwardLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = FieldText::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let record = Record::new(
            metadata.level().into(),
            metadata.target(),
            &fields.into_message(),
        );
        let _ = self.sender.send(record);
    }
}

/// Collects an event's `message` and its other fields as `key=value`.
#[derive(Default)]
struct FieldText {
    message: String,
    rest: String,
}

impl FieldText {
    fn into_message(self) -> String {
        self.message + &self.rest
    }
}

impl tracing::field::Visit for FieldText {
    fn record_debug(
        &mut self,
        field: &tracing::field::Field,
        value: &dyn std::fmt::Debug,
    ) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }
}

// ANCHOR: format
/// The one line a record becomes: time since the writer started, level, process, pid,
/// target, message.
pub fn format_line(record: &Record, elapsed: Option<Duration>) -> String {
    let time = elapsed.map_or_else(
        || "   -   ".to_string(),
        |e| format!("{:7.3}", e.as_secs_f64()),
    );
    format!(
        "[{time}s] {:<5} {} (pid {}) {}: {}",
        record.level.label(),
        record.process,
        record.pid,
        record.target,
        record.message
    )
}
// ANCHOR_END: format

/// What the writer did, returned by [`LogWriter::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// Records written.
    pub records: u64,
    /// Messages that could not be decoded (each is reported as a line of its own).
    pub undecodable: u64,
}

// ANCHOR: writer
/// The one writer: a thread that owns the output and writes each record as one whole
/// line.
pub struct LogWriter {
    sender: LogSender,
    flushed: mpsc::Receiver<(u64, WriterStats)>,
    thread: Option<JoinHandle<()>>,
    next_token: u64,
}

impl LogWriter {
    /// Starts a writer that writes to `out` (a file, stderr, a buffer in a test).
    pub fn start(out: impl Write + Send + 'static) -> Result<LogWriter, LogError> {
        let (tx, rx) = ipc::channel::<Packet>()?;
        let (flushed_tx, flushed) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("multiprocessing-log-writer".into())
            .spawn(move || write_records(rx, out, flushed_tx))?;
        Ok(LogWriter {
            sender: LogSender { tx },
            flushed,
            thread: Some(thread),
            next_token: 0,
        })
    }

    /// Starts a writer on this process's standard error.
    pub fn to_stderr() -> Result<LogWriter, LogError> {
        LogWriter::start(io::stderr())
    }

    /// A sender for this writer: keep one, install one, pass clones to children.
    pub fn sender(&self) -> LogSender {
        self.sender.clone()
    }

    /// Waits until every record sent before this call (by any process) is written and
    /// flushed.
    pub fn flush(&mut self, timeout: Duration) -> Result<WriterStats, LogError> {
        self.next_token += 1;
        let token = self.next_token;
        self.sender
            .tx
            .send(Packet::Flush(token))
            .map_err(|_| LogError::WriterGone)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.flushed.recv_timeout(left) {
                Ok((answered, stats)) if answered == token => return Ok(stats),
                // The answer to an older flush that timed out: keep waiting for ours.
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(LogError::Timeout(timeout));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(LogError::WriterGone);
                }
            }
        }
    }

    /// Flushes (see [`flush`](LogWriter::flush)) and reports what was written. The writer
    /// thread keeps running while senders exist (an installed subscriber holds one), so
    /// this does not join it.
    pub fn finish(mut self, timeout: Duration) -> Result<WriterStats, LogError> {
        self.flush(timeout)
    }
}

fn write_records(
    rx: IpcReceiver<Packet>,
    mut out: impl Write,
    flushed: mpsc::Sender<(u64, WriterStats)>,
) {
    let started = Instant::now();
    let mut stats = WriterStats {
        records: 0,
        undecodable: 0,
    };
    loop {
        let line = match rx.recv() {
            Ok(Packet::Record(record)) => {
                stats.records += 1;
                format_line(&record, Some(started.elapsed()))
            }
            Ok(Packet::Flush(token)) => {
                if let Err(error) = out.flush() {
                    return stopped(&error);
                }
                if flushed.send((token, stats)).is_err() {
                    return;
                }
                continue;
            }
            Err(IpcError::Disconnected) => return,
            Err(error) => {
                stats.undecodable += 1;
                format!("[log writer] a message could not be decoded: {error}")
            }
        };
        // One `write_all` of the whole line, straight to the output: no buffer in between
        // that could split a line across two writes (where another process's stderr could
        // land).
        let line = line + "\n";
        if let Err(error) = out.write_all(line.as_bytes()) {
            return stopped(&error);
        }
    }
}

/// Says why the writer stopped. Senders fall back to their own stderr from now on.
fn stopped(error: &io::Error) {
    eprintln!(
        "[log writer] stopped: the output failed ({error}); processes now log to stderr"
    );
}
// ANCHOR_END: writer

impl Drop for LogWriter {
    fn drop(&mut self) {
        // Best effort: get what was sent onto the output before the program goes on (or ends).
        if self.thread.is_some() {
            let _ = self.flush(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `Write` whose bytes a test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn records_from_many_threads_arrive_whole_and_attributed() {
        let out = Shared::default();
        let mut writer = LogWriter::start(out.clone()).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let sender = writer.sender();
                scope.spawn(move || {
                    for i in 0..200 {
                        let message =
                            format!("thread {thread} record {i} {}", "x".repeat(300));
                        sender.log(Level::Info, "test", &message).unwrap();
                    }
                });
            }
        });
        let stats = writer.flush(Duration::from_secs(10)).unwrap();
        assert_eq!(stats.records, 800);
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 800);
        let pid = format!("(pid {})", std::process::id());
        for line in &lines {
            assert!(line.contains(&pid), "line without the pid: {line}");
            assert!(line.ends_with(&"x".repeat(300)), "torn line: {line}");
        }
        for thread in 0..4 {
            for i in 0..200 {
                let needle = format!("thread {thread} record {i} ");
                assert_eq!(
                    lines.iter().filter(|l| l.contains(&needle)).count(),
                    1,
                    "{needle}"
                );
            }
        }
    }

    #[test]
    fn an_undecodable_message_is_reported_and_later_records_still_arrive() {
        let out = Shared::default();
        let mut writer = LogWriter::start(out.clone()).unwrap();
        let sender = writer.sender();
        // A sender of the wrong type on the writer's channel: its message is not a `Packet`.
        let wrong: IpcSender<String> = sender.tx.clone().to_opaque().to();
        wrong.send("not a log record".to_string()).unwrap();
        sender
            .log(Level::Info, "test", "after the bad one")
            .unwrap();
        let stats = writer.flush(Duration::from_secs(10)).unwrap();
        assert_eq!(stats.undecodable, 1);
        assert_eq!(stats.records, 1);
        let text = out.text();
        assert!(
            text.contains("[log writer] a message could not be decoded"),
            "{text}"
        );
        assert!(text.contains("test: after the bad one"), "{text}");
    }

    #[test]
    fn a_record_sent_after_the_writer_stopped_is_an_error_not_a_hang() {
        // A sender whose receiver is gone stands for a writer that stopped.
        let (tx, rx) = ipc::channel::<Packet>().unwrap();
        drop(rx);
        let sender = LogSender { tx };
        let error = sender
            .log(Level::Warn, "test", "nobody listens")
            .unwrap_err();
        assert!(matches!(error, LogError::WriterGone), "{error}");
    }

    /// An output that always fails, like a full disk.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
    }

    #[test]
    fn an_output_that_fails_stops_the_writer_and_senders_are_told() {
        let mut writer = LogWriter::start(Full).unwrap();
        let sender = writer.sender();
        // The first record may still be accepted by the channel; the flush must fail.
        let _ = sender.log(Level::Error, "test", "x".repeat(10_000).as_str());
        let error = writer.flush(Duration::from_secs(10)).unwrap_err();
        assert!(matches!(error, LogError::WriterGone), "{error}");
    }

    #[test]
    fn a_multi_line_message_stays_one_line() {
        let line = one_bounded_line("first\nsecond\r\nthird");
        assert_eq!(line, "first\\nsecond\\r\\nthird");
    }

    #[test]
    fn an_oversized_message_is_cut_on_a_char_boundary_and_says_so() {
        let message = "é".repeat(MAX_MESSAGE_BYTES);
        let line = one_bounded_line(&message);
        assert!(line.len() < MAX_MESSAGE_BYTES + 64);
        assert!(line.ends_with(&format!(
            "[... {} more bytes cut]",
            message.len() - MAX_MESSAGE_BYTES
        )));
    }

    #[test]
    fn a_record_names_its_process() {
        let record = Record::new(Level::Warn, "t", "m");
        let line = format_line(&record, Some(Duration::from_millis(1500)));
        assert!(
            line.starts_with("[  1.500s] WARN  MainProcess (pid "),
            "{line}"
        );
        assert!(line.ends_with(" t: m"), "{line}");
    }
}
