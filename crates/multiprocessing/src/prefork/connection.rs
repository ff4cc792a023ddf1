//! One client's conversation in the `testbed` line protocol, on a thread of a worker.
//!
//! This is where the article's handler goes wrong and where this one differs: a `recv(1024)` is
//! not a message (TCP delivers a stream of bytes, cut wherever the network likes), so requests are
//! framed by lines with [`read_frame`], which never holds more than the line limit; a line that is
//! not UTF-8 is answered (`ERR invalid utf-8`) and the conversation goes on, rather than ending
//! the connection in silence; and a silent client is dropped after the idle timeout instead of
//! pinning its thread forever.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use testbed::line::{Reply, read_frame, reply_to};

/// After the server's last reply (`BYE`, `ERR line too long`), how long it keeps reading and
/// discarding what the client still sends, so that unread input does not turn the close into a
/// reset that could destroy the reply before the client reads it (a "lingering close").
const LINGER: Duration = Duration::from_millis(500);

/// At most this much is discarded while lingering.
const LINGER_BYTES: u64 = 64 * 1024;

/// How a connection ended, as the worker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed its side between requests.
    ClientClosed,
    /// The server closed it after a reply that ends the conversation.
    ServerClosed,
    /// The client was silent for the idle timeout.
    IdleTimeout,
    /// An I/O error: a reset, a cut-off line, a broken pipe (an abrupt disconnect).
    Broken,
}

/// Runs one connection to its end, with `idle_timeout` on every read and write.
pub fn serve_line_protocol(stream: &TcpStream, idle_timeout: Duration) -> Ending {
    match converse(stream, idle_timeout) {
        Ok(Ending::ServerClosed) => {
            linger(stream);
            Ending::ServerClosed
        }
        Ok(ending) => ending,
        Err(error) if is_timeout(&error) => Ending::IdleTimeout,
        Err(_) => Ending::Broken,
    }
}

// ANCHOR: converse
/// The protocol loop: read a bounded line, answer it, repeat.
fn converse(stream: &TcpStream, idle_timeout: Duration) -> io::Result<Ending> {
    stream.set_read_timeout(Some(idle_timeout))?;
    stream.set_write_timeout(Some(idle_timeout))?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    loop {
        let frame = read_frame(&mut reader)?;
        let Some(reply) = reply_to(&frame) else {
            return Ok(Ending::ClientClosed);
        };
        send_reply(stream, &reply)?;
        if reply.close {
            return Ok(Ending::ServerClosed);
        }
    }
}
// ANCHOR_END: converse

/// Writes the reply and its newline in one `write`.
pub(crate) fn send_reply(mut stream: &TcpStream, reply: &Reply) -> io::Result<()> {
    stream.write_all(&reply.to_bytes())
}

/// Sends end-of-file, then reads and discards what the client still sends (bounded in bytes and
/// time) until it closes too.
fn linger(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err()
        || stream.set_read_timeout(Some(LINGER)).is_err()
    {
        return;
    }
    let _ = io::copy(&mut stream.take(LINGER_BYTES), &mut io::sink());
}

/// A socket timeout shows up as `WouldBlock` on Unix.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
