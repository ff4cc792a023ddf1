//! # Exercise 4.6, a wrong attempt: stop accepting, and return at once
//!
//! The loop stops at the token and the listener is dropped, which is half of a graceful stop. But
//! the connections still open are left to their tasks, and `serve` returns while they talk: once
//! the caller ends the program (the check ends the runtime, as returning from `main` does), they
//! are cut off mid-conversation.
//!
//! Fails: by a panic: the check sees `serve` return while a client is still connected.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Serves `listener` until `stop` is cancelled, then waits for every open connection to end, and
/// returns how many connections were served.
pub async fn serve(listener: TcpListener, stop: CancellationToken) -> usize {
    let mut served = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    served += 1;
                    tokio::spawn(shout(stream));
                }
            }
        }
    }
    served
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
