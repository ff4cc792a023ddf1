//! The line protocol that every chapter's TCP server speaks, so servers differ only in their
//! concurrency model (a thread per client, a pool, processes, tasks), never in what they answer.
//!
//! A request is a line of UTF-8 ending in `'\n'`; every request gets exactly one reply line:
//!
//! | request | reply | then |
//! |---|---|---|
//! | `PING` | `PONG` | |
//! | `ECHO <text>` | `<text>` (everything after the first space; `ECHO` alone echoes nothing) | |
//! | `QUIT` | `BYE` | the server closes the connection |
//! | more than [`MAX_LINE_BYTES`] bytes before the `'\n'` | `ERR line too long` | the server closes |
//! | bytes that are not UTF-8 | `ERR invalid utf-8` | the connection stays open |
//! | anything else (commands are case-sensitive) | `ERR unknown command` | |
//!
//! A trailing `'\r'` is ignored (so `telnet`, which sends `"\r\n"`, works), but it counts towards
//! the length limit: the limit is on the bytes a server must hold.
//!
//! [`respond`] is the whole protocol as a pure function. The rest of this module is framing, and
//! framing is where servers go wrong:
//!
//! # Why framing is bounded
//!
//! `BufRead::read_line` keeps reading until it finds a `'\n'`. A client that sends a gigabyte
//! without one makes the server buffer a gigabyte, and a thousand such clients take the machine
//! down. [`read_frame`] and [`read_frame_async`] hold at most `MAX_LINE_BYTES + 1` bytes of one
//! line: as soon as a line is known to be too long they return [`Frame::TooLong`] without reading
//! the rest, and the server answers `ERR line too long` and closes. (Python's
//! `StreamReader.readline()` has the same guard, its `limit`; the articles' servers read "up to 1024
//! bytes" with `recv(1024)`, which is not a message boundary at all.)
//!
//! A connection that ends in the middle of a line is an error (`UnexpectedEof`), not a request: a
//! cut-off `ECHO hel` must not be answered as if the client had meant it.
//!
//! # Writing a server with it
//!
//! The loop is the same in every concurrency model: `read_frame` (or `read_frame_async`), pass the
//! frame to [`reply_to`], write [`Reply::to_bytes`], stop when the reply says `close` or the frame
//! was `Eof`. Two details matter for correctness:
//!
//! - Bound the idle time too (a read timeout, or `tokio::time::timeout` around the read): framing
//!   bounds the memory one client costs, not how long it may hold a connection.
//! - After `ERR line too long` the rest of the long line is still unread. Closing a socket with
//!   unread input makes the kernel send a reset, which can destroy the reply before the client
//!   reads it. Shut down the write side first (`shutdown(Write)`), so the reply and a clean end of
//!   stream go out, then close.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The most bytes a request line may have before its `'\n'` (a trailing `'\r'` counts).
pub const MAX_LINE_BYTES: usize = 1024;

/// The reply to one request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply line, without its `'\n'`.
    pub text: String,
    /// Whether the server must close the connection after sending it.
    pub close: bool,
}

impl Reply {
    fn keep_open(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            close: false,
        }
    }

    fn then_close(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            close: true,
        }
    }

    /// The bytes to write: the text and its `'\n'`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.text.len() + 1);
        bytes.extend_from_slice(self.text.as_bytes());
        bytes.push(b'\n');
        bytes
    }
}

/// The reply to `line` (the request without its `'\n'`). Pure: no I/O, no state.
///
/// ```
/// use testbed::line::respond;
/// assert_eq!(respond(b"PING").text, "PONG");
/// assert_eq!(respond(b"ECHO hello world").text, "hello world");
/// let bye = respond(b"QUIT\r");
/// assert_eq!((bye.text.as_str(), bye.close), ("BYE", true));
/// ```
pub fn respond(line: &[u8]) -> Reply {
    if line.len() > MAX_LINE_BYTES {
        return Reply::then_close("ERR line too long");
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return Reply::keep_open("ERR invalid utf-8");
    };
    match line {
        "PING" => Reply::keep_open("PONG"),
        "QUIT" => Reply::then_close("BYE"),
        "ECHO" => Reply::keep_open(""),
        _ => match line.strip_prefix("ECHO ") {
            Some(text) => Reply::keep_open(text),
            None => Reply::keep_open("ERR unknown command"),
        },
    }
}

/// The reply a server sends for one [`Frame`]: `None` at the end of the input (send nothing, close).
pub fn reply_to(frame: &Frame) -> Option<Reply> {
    match frame {
        Frame::Line(line) => Some(respond(line)),
        Frame::TooLong => Some(Reply::then_close("ERR line too long")),
        Frame::Eof => None,
    }
}

/// One unit of input, as read by [`read_frame`] / [`read_frame_async`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `'\n'` (a `'\r'` before it is kept; [`respond`] ignores it).
    Line(Vec<u8>),
    /// More than [`MAX_LINE_BYTES`] bytes arrived without a `'\n'`; the rest was not read.
    TooLong,
    /// The input ended cleanly, between lines.
    Eof,
}

/// What one step of framing decided.
enum Step {
    Done(Frame),
    /// Consumed this many bytes into the line; keep reading.
    More,
}

/// Takes what it can from `available` into `line`, and says how many bytes it consumed.
fn frame_step(line: &mut Vec<u8>, available: &[u8]) -> io::Result<(Step, usize)> {
    if available.is_empty() {
        return if line.is_empty() {
            Ok((Step::Done(Frame::Eof), 0))
        } else {
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the connection ended in the middle of a line ({} bytes without a '\\n')",
                    line.len()
                ),
            ))
        };
    }
    // Never hold more than MAX_LINE_BYTES + 1 bytes: one more than allowed proves "too long".
    let room = MAX_LINE_BYTES + 1 - line.len();
    let usable = &available[..available.len().min(room)];
    if let Some(end) = usable.iter().position(|&byte| byte == b'\n') {
        line.extend_from_slice(&usable[..end]);
        return Ok((Step::Done(Frame::Line(std::mem::take(line))), end + 1));
    }
    line.extend_from_slice(usable);
    if line.len() > MAX_LINE_BYTES {
        return Ok((Step::Done(Frame::TooLong), usable.len()));
    }
    Ok((Step::More, usable.len()))
}

/// Reads one frame from a blocking reader, holding at most `MAX_LINE_BYTES + 1` bytes of it.
///
/// Errors: the reader's own errors, and `UnexpectedEof` when the input ends mid-line.
pub fn read_frame<R: BufRead>(reader: &mut R) -> io::Result<Frame> {
    let mut line = Vec::new();
    loop {
        let (step, used) = frame_step(&mut line, reader.fill_buf()?)?;
        reader.consume(used);
        if let Step::Done(frame) = step {
            return Ok(frame);
        }
    }
}

/// Reads one frame from an async reader; the same rules as [`read_frame`]. Cancel-safe only
/// between frames: if the future is dropped mid-line, the bytes already taken are lost.
pub async fn read_frame_async<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Frame> {
    let mut line = Vec::new();
    loop {
        let (step, used) = frame_step(&mut line, reader.fill_buf().await?)?;
        reader.consume(used);
        if let Step::Done(frame) = step {
            return Ok(frame);
        }
    }
}

/// A `TcpStream` reader whose every read must finish before a deadline.
///
/// A socket read timeout alone bounds each `read` call, and a server that trickles one byte every
/// second would never trip it; resetting the timeout to "what is left" before each call bounds
/// the whole reply.
#[derive(Debug)]
struct DeadlineReader {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the reply did not arrive in time",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf).map_err(|error| match error.kind() {
            // Unix reports an expired socket timeout as WouldBlock; say what it means.
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                io::Error::new(io::ErrorKind::TimedOut, "the reply did not arrive in time")
            }
            _ => error,
        })
    }
}

/// A blocking client for the line protocol, for tests and examples. Every read has a deadline
/// (the `timeout` given to [`LineClient::connect`]), so a server that stops answering turns into a
/// `TimedOut` error, never a hang.
///
/// ```no_run
/// # fn demo(addr: std::net::SocketAddr) -> std::io::Result<()> {
/// use std::time::Duration;
/// let mut client = testbed::line::LineClient::connect(addr, Duration::from_secs(5))?;
/// assert_eq!(client.request("PING")?, "PONG");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LineClient {
    reader: BufReader<DeadlineReader>,
    writer: TcpStream,
    timeout: Duration,
}

impl LineClient {
    /// Connects to `addr`, waiting at most `timeout`; `timeout` also bounds every later read and
    /// write. A zero `timeout` is an `InvalidInput` error.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<LineClient> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "LineClient needs a non-zero timeout",
            ));
        }
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        let writer = stream.try_clone()?;
        let reader = BufReader::new(DeadlineReader {
            stream,
            deadline: Instant::now() + timeout,
        });
        Ok(LineClient {
            reader,
            writer,
            timeout,
        })
    }

    /// Sends `bytes` exactly as given (no `'\n'` added): for malformed input in tests.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Sends `line` and its `'\n'`, and reads the one reply line.
    ///
    /// Errors: `line` contains a `'\n'` (`InvalidInput`), the server closed the connection
    /// instead of answering (`UnexpectedEof`), no reply in time (`TimedOut`), or a reply that is
    /// not a valid line (`InvalidData`).
    pub fn request(&mut self, line: &str) -> io::Result<String> {
        if line.contains('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a request is one line; {line:?} contains a '\\n'"),
            ));
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes)?;
        self.read_line()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the server closed the connection instead of replying to {line:?}"),
            )
        })
    }

    /// Reads one reply line (without its `'\n'`). `Ok(None)`: the server closed the connection.
    ///
    /// Errors: no complete line in time (`TimedOut`), a line that is not UTF-8 or longer than
    /// [`MAX_LINE_BYTES`] (`InvalidData`), the connection ending mid-line (`UnexpectedEof`).
    pub fn read_line(&mut self) -> io::Result<Option<String>> {
        self.reader.get_mut().deadline = Instant::now() + self.timeout;
        match read_frame(&mut self.reader)? {
            Frame::Eof => Ok(None),
            Frame::TooLong => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a reply line was longer than {MAX_LINE_BYTES} bytes"),
            )),
            Frame::Line(bytes) => String::from_utf8(bytes).map(Some).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a reply line was not UTF-8: {error}"),
                )
            }),
        }
    }
}
