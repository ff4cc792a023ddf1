//! A load client for the line protocol: `C` connections, each doing `R` request/reply round trips,
//! every reply checked.
//!
//! It measures a chapter's server (round trips per second) and, just as much, proves it correct
//! under concurrency: each connection sends `ECHO` requests with payloads unique to that connection
//! and request, and `PING`s in between, so a server that mixes up two clients' replies, drops one,
//! answers twice or closes early is caught. Each connection ends with `QUIT`, expects `BYE`, and
//! then expects the server to close the connection.
//!
//! # Why a blocking API over a runtime of its own
//!
//! [`run`] is a plain blocking function, so a test of a thread-per-client server calls it from sync
//! code; but inside, the connections are tokio tasks on a current-thread runtime that lives on a
//! thread of its own (`testbed-load`). One thread can drive hundreds of connections, which leaves
//! the cores to the server being measured (with one OS thread per connection, the client would
//! compete with the server it measures), and every wait is a `tokio::time::timeout`. Running the
//! runtime on its own thread, rather than on the caller's, means `run` also works when called from
//! inside another runtime (it blocks that thread, as any blocking call does, but does not panic).
//!
//! # Bounds
//!
//! Every connect, write and read must finish within `timeout`, and the whole run within
//! `timeout × (round_trips + 3)`: the most a correct server that answers each request within
//! `timeout` could need, so the overall bound only catches what the per-step bounds cannot.
//! The first failure ends the run (the other connections are dropped) and comes back as a
//! [`LoadError`] that names the connection, the request, what was expected and what came back.

use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::line::{Frame, MAX_LINE_BYTES, read_frame_async};

/// The most connections one run may open.
pub const MAX_CONNECTIONS: usize = 10_000;

/// How much load to put on a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadConfig {
    /// How many connections to open at once (1 to [`MAX_CONNECTIONS`]).
    pub connections: usize,
    /// How many request/reply round trips each connection makes before its `QUIT` (at least 1).
    pub round_trips: usize,
    /// The longest any connect, write or read may take (not zero).
    pub timeout: Duration,
}

impl Default for LoadConfig {
    /// 10 connections × 100 round trips, 5 s per step.
    fn default() -> Self {
        LoadConfig {
            connections: 10,
            round_trips: 100,
            timeout: Duration::from_secs(5),
        }
    }
}

/// What a successful run did.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    /// Connections opened (all of them completed).
    pub connections: usize,
    /// Round trips completed and checked, over all connections (the `QUIT`s not counted).
    pub round_trips: u64,
    /// Wall time from the first connect to the last connection closed.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Round trips per second over the whole run.
    pub fn per_second(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Why a load run failed. Request numbers count from 0 within a connection; the `QUIT` is request
/// number `round_trips`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The configuration asks for something impossible.
    #[error("invalid load config: {0}")]
    Config(String),
    /// The client thread or its runtime could not start.
    #[error("could not start the load client: {0}")]
    Start(#[source] io::Error),
    /// A connection could not be opened.
    #[error("connection {connection}: could not connect to {addr}: {source}")]
    Connect {
        /// Which connection (0-based).
        connection: usize,
        /// The server's address.
        addr: SocketAddr,
        /// What the connect returned.
        #[source]
        source: io::Error,
    },
    /// The server answered, but not what the protocol says.
    #[error(
        "connection {connection}, request {request} ({sent:?}): expected {expected:?}, got {got:?}"
    )]
    WrongReply {
        /// Which connection (0-based).
        connection: usize,
        /// Which request of that connection.
        request: usize,
        /// The request line sent.
        sent: String,
        /// The reply the protocol requires.
        expected: String,
        /// What came back (a description when it was not a line of text).
        got: String,
    },
    /// The server closed the connection where a reply was due.
    #[error(
        "connection {connection}, request {request} ({sent:?}): the server closed the connection instead of replying {expected:?}"
    )]
    Closed {
        /// Which connection (0-based).
        connection: usize,
        /// Which request of that connection.
        request: usize,
        /// The request line sent.
        sent: String,
        /// The reply the protocol requires.
        expected: String,
    },
    /// A write or a reply took longer than the timeout.
    #[error("connection {connection}, request {request} ({sent:?}): {what} within {timeout:?}")]
    Timeout {
        /// Which connection (0-based).
        connection: usize,
        /// Which request of that connection.
        request: usize,
        /// The request line sent.
        sent: String,
        /// What did not happen in time.
        what: &'static str,
        /// The timeout.
        timeout: Duration,
    },
    /// Reading or writing failed.
    #[error("connection {connection}, request {request} ({sent:?}): {source}")]
    Io {
        /// Which connection (0-based).
        connection: usize,
        /// Which request of that connection.
        request: usize,
        /// The request line sent.
        sent: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The whole run took longer than its overall bound.
    #[error("the load run did not finish within {0:?}")]
    Overall(Duration),
}

/// Runs `config.connections` connections against the line server at `addr`, all at once, each
/// doing `config.round_trips` checked round trips and a `QUIT`. Blocks until all are done or the
/// first one fails.
///
/// ```no_run
/// # fn demo(addr: std::net::SocketAddr) -> Result<(), testbed::load::LoadError> {
/// let report = testbed::load::run(addr, &testbed::load::LoadConfig::default())?;
/// println!("{:.0} round trips/s", report.per_second());
/// # Ok(()) }
/// ```
pub fn run(addr: SocketAddr, config: &LoadConfig) -> Result<LoadReport, LoadError> {
    check(config)?;
    let config = config.clone();
    let client = thread::Builder::new()
        .name("testbed-load".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(LoadError::Start)?;
            runtime.block_on(drive(addr, config))
        })
        .map_err(LoadError::Start)?;
    match client.join() {
        Ok(result) => result,
        // A panic in the client is a bug here, not a server failure: pass it on unchanged.
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn check(config: &LoadConfig) -> Result<(), LoadError> {
    if config.connections == 0 || config.connections > MAX_CONNECTIONS {
        return Err(LoadError::Config(format!(
            "connections must be 1 to {MAX_CONNECTIONS}, not {}",
            config.connections
        )));
    }
    if config.round_trips == 0 {
        return Err(LoadError::Config("round_trips must be at least 1".into()));
    }
    if config.timeout.is_zero() {
        return Err(LoadError::Config("timeout must not be zero".into()));
    }
    Ok(())
}

/// Starts every connection, waits for all of them under the overall bound.
async fn drive(addr: SocketAddr, config: LoadConfig) -> Result<LoadReport, LoadError> {
    let steps = u32::try_from(config.round_trips.saturating_add(3)).unwrap_or(u32::MAX);
    let overall = config.timeout.saturating_mul(steps);
    let started = Instant::now();
    let mut connections = JoinSet::new();
    for connection in 0..config.connections {
        connections.spawn(one_connection(
            addr,
            connection,
            config.round_trips,
            config.timeout,
        ));
    }
    let all_done = async {
        while let Some(finished) = connections.join_next().await {
            match finished {
                Ok(result) => result?,
                Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
            }
        }
        Ok(())
    };
    match timeout(overall, all_done).await {
        Ok(result) => result?,
        Err(_) => return Err(LoadError::Overall(overall)),
    }
    Ok(LoadReport {
        connections: config.connections,
        round_trips: (config.connections as u64) * (config.round_trips as u64),
        elapsed: started.elapsed(),
    })
}

/// The request a connection sends as its `request`-th, and the reply it must get: mostly `ECHO`s
/// with a payload unique to this connection and request (of varying length), every fourth a `PING`.
pub fn request_for(connection: usize, request: usize) -> (String, String) {
    if request % 4 == 3 {
        return ("PING".into(), "PONG".into());
    }
    let payload = format!(
        "connection {connection} request {request} {}",
        "~".repeat(request % 40)
    );
    (format!("ECHO {payload}"), payload)
}

/// One connection: its round trips, the `QUIT`, and the close.
async fn one_connection(
    addr: SocketAddr,
    connection: usize,
    round_trips: usize,
    limit: Duration,
) -> Result<(), LoadError> {
    let connect_error = |source| LoadError::Connect {
        connection,
        addr,
        source,
    };
    let stream = timeout(limit, TcpStream::connect(addr))
        .await
        .map_err(|_| connect_error(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))?
        .map_err(connect_error)?;
    stream.set_nodelay(true).map_err(connect_error)?;
    let (reader, writer) = stream.into_split();
    let mut talk = Conversation {
        connection,
        reader: BufReader::new(reader),
        writer,
        limit,
    };
    for request in 0..round_trips {
        let (sent, expected) = request_for(connection, request);
        talk.exchange(request, &sent, &expected).await?;
    }
    talk.exchange(round_trips, "QUIT", "BYE").await?;
    talk.expect_close(round_trips).await
}

/// One connection's state while it talks to the server.
struct Conversation {
    connection: usize,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    limit: Duration,
}

impl Conversation {
    /// Sends `sent`, reads one reply, and checks that it is `expected`.
    async fn exchange(
        &mut self,
        request: usize,
        sent: &str,
        expected: &str,
    ) -> Result<(), LoadError> {
        let wire = format!("{sent}\n");
        match timeout(self.limit, self.writer.write_all(wire.as_bytes())).await {
            Err(_) => return Err(self.timed_out(request, sent, "the request could not be sent")),
            Ok(Err(source)) => return Err(self.io_error(request, sent, source)),
            Ok(Ok(())) => {}
        }
        let frame = self.read_reply(request, sent).await?;
        let got = match frame {
            Frame::Line(bytes) if bytes == expected.as_bytes() => return Ok(()),
            Frame::Line(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Frame::TooLong => format!("a line longer than {MAX_LINE_BYTES} bytes"),
            Frame::Eof => {
                return Err(LoadError::Closed {
                    connection: self.connection,
                    request,
                    sent: sent.into(),
                    expected: expected.into(),
                });
            }
        };
        Err(LoadError::WrongReply {
            connection: self.connection,
            request,
            sent: sent.into(),
            expected: expected.into(),
            got,
        })
    }

    /// After `BYE`, the server must close the connection: the next read must be the end.
    async fn expect_close(&mut self, request: usize) -> Result<(), LoadError> {
        let got = match self.read_reply(request, "QUIT").await? {
            Frame::Eof => return Ok(()),
            Frame::Line(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Frame::TooLong => format!("a line longer than {MAX_LINE_BYTES} bytes"),
        };
        Err(LoadError::WrongReply {
            connection: self.connection,
            request,
            sent: "QUIT".into(),
            expected: "the connection closed after BYE".into(),
            got: format!("another line after BYE: {got:?}"),
        })
    }

    async fn read_reply(&mut self, request: usize, sent: &str) -> Result<Frame, LoadError> {
        match timeout(self.limit, read_frame_async(&mut self.reader)).await {
            Err(_) => Err(self.timed_out(request, sent, "no reply")),
            Ok(Err(source)) => Err(self.io_error(request, sent, source)),
            Ok(Ok(frame)) => Ok(frame),
        }
    }

    fn timed_out(&self, request: usize, sent: &str, what: &'static str) -> LoadError {
        LoadError::Timeout {
            connection: self.connection,
            request,
            sent: sent.into(),
            what,
            timeout: self.limit,
        }
    }

    fn io_error(&self, request: usize, sent: &str, source: io::Error) -> LoadError {
        LoadError::Io {
            connection: self.connection,
            request,
            sent: sent.into(),
            source,
        }
    }
}
