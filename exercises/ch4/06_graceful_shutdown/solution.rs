//! # Exercise 4.6, solved: stop accepting, then wait for the tracker
//!
//! The accept loop waits in a `select!` on two things: the next connection and the stop token.
//! When the token wins, the loop ends and the listener is dropped, so new clients are refused.
//! Each connection was spawned on a `TaskTracker`; `close` then `wait` returns once every one of
//! them has ended, which is when their clients have closed. (A real server also bounds that wait
//! with a grace period: `crates/coroutines/src/shutdown.rs` does.)

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Serves `listener` until `stop` is cancelled, then waits for every open connection to end, and
/// returns how many connections were served.
pub async fn serve(listener: TcpListener, stop: CancellationToken) -> usize {
    let tracker = TaskTracker::new();
    let mut served = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    served += 1;
                    tracker.spawn(shout(stream));
                }
            }
        }
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
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
