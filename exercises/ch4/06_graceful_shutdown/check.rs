//! The checks of exercise 4.6: a client mid-conversation when the stop comes must be served to
//! its end; `serve` must not return before that, and must refuse new clients meanwhile.
//!
//! `serve` runs as the `block_on` of a runtime on a thread of its own, and the runtime is dropped
//! as soon as `serve` returns, as it is when `main` returns: whatever `serve` left running ends
//! then. The clients are blocking sockets on the check's thread, each read under a timeout.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::imp;

const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the check gives a wrong `serve` to return early, after the stop. A correct one never
/// returns while a client is connected; this pause ends early the moment a wrong one does.
const EARLY_RETURN_WINDOW: Duration = Duration::from_millis(500);

struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("the client connects");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    fn send(&mut self, bytes: &str) {
        self.stream
            .write_all(bytes.as_bytes())
            .expect("the server takes the request");
    }

    fn reply(&mut self, what: &str) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("the connection was closed instead of answering {what}"),
            Ok(_) => line.trim_end().to_owned(),
            Err(error) => panic!("no answer to {what}: {error}"),
        }
    }
}

/// Panics unless the stop is graceful.
pub fn check() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = CancellationToken::new();
    let (done_tx, done) = mpsc::channel();
    let server_stop = stop.clone();
    thread::Builder::new()
        .name("check: server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let runtime = runtime.expect("the server's runtime starts");
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                imp::serve(listener, server_stop).await
            });
            let _ = done_tx.send(served);
            // The runtime is dropped here, with any task `serve` left running.
        })
        .unwrap();

    let mut early = Client::connect(addr);
    early.send("hello\n");
    assert_eq!(early.reply("\"hello\""), "HELLO");
    let mut brief = Client::connect(addr);
    brief.send("bye\n");
    assert_eq!(brief.reply("\"bye\""), "BYE");
    drop(brief);
    early.send("half a li"); // mid-line when the stop comes

    stop.cancel();
    if let Ok(served) = done.recv_timeout(EARLY_RETURN_WINDOW) {
        panic!(
            "serve returned {served} while a client was still connected: a graceful stop waits \
             for the open connections to end"
        );
    }
    let refused = super::support::poll_until(READ_TIMEOUT, || {
        TcpStream::connect_timeout(&addr, READ_TIMEOUT).is_err()
    });
    assert!(
        refused,
        "new clients are still accepted {READ_TIMEOUT:?} after the stop"
    );

    early.send("ne\n");
    assert_eq!(
        early.reply("the line finished after the stop"),
        "HALF A LINE"
    );
    drop(early);
    let served = done
        .recv_timeout(READ_TIMEOUT)
        .expect("serve returns once the last client has closed");
    assert_eq!(served, 2, "two connections were served");
}
