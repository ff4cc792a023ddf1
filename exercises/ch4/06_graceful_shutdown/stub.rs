//! # Exercise 4.6: shut a server down gracefully
//!
//! [`serve`] accepts connections on `listener` and serves each in a task of its own: every line a
//! client sends comes back in upper case, until the client closes. When `stop` is cancelled it must
//! shut down *gracefully*: accept no one new (drop the listener), let every connection already
//! open go on until its client closes, and only then return how many connections it served.
//! Returning earlier is not graceful: the caller's next step is usually to end the program, which
//! ends every task still serving a client, in the middle of its conversation.
//!
//! Python's asyncio does it with `server.close()` then `await server.wait_closed()`, which waits
//! for the connection handlers too (since Python 3.12). In tokio, a `CancellationToken` is the
//! stop signal and a `tokio_util::task::TaskTracker` knows when every task it spawned has ended.
//!
//! Check your work with `cargo run -p exercises -- check ch4/06`; stuck?
//! `cargo run -p exercises -- hint ch4/06`.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Serves `listener` until `stop` is cancelled, then waits for every open connection to end, and
/// returns how many connections were served.
pub async fn serve(listener: TcpListener, stop: CancellationToken) -> usize {
    todo!(
        "accept in a select! beside stop.cancelled(); spawn each connection on a TaskTracker; wait for it"
    )
}

/// Answers each line of one connection in upper case until the client closes it.
pub async fn shout(stream: TcpStream) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        writer
            .write_all(format!("{}\n", line.to_uppercase()).as_bytes())
            .await?;
    }
    Ok(())
}
