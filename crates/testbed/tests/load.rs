//! Tests of the load client: against a correct line server written here (every reply checked, the
//! report adds up), and against servers that are wrong in one way each (a wrong reply, an early
//! close, silence, no close after `BYE`), where `load::run` must fail and say what went wrong.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use testbed::line::{Frame, Reply, read_frame_async, reply_to};
use testbed::load::{self, LoadConfig, LoadError};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// How a test server deviates from the protocol.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// None: a correct server.
    Correct,
    /// The request with this global number (counting from 0 over all connections) gets a reply
    /// that is wrong for any request.
    WrongReplyAt(usize),
    /// The connection that receives the request with this global number is closed instead.
    CloseAt(usize),
    /// Reads requests and never answers.
    Silent,
    /// Answers `QUIT` with `BYE` but keeps the connection open.
    StaysOpenAfterBye,
}

/// A line server on its own tokio runtime; the runtime (and the server) live as long as the value.
struct TestServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    _runtime: Runtime,
}

impl TestServer {
    fn start(fault: Fault) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build the test server's runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the test server");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&counter), fault));
            }
        });
        TestServer {
            addr,
            requests,
            _runtime: runtime,
        }
    }
}

/// One connection of the test server.
async fn serve(stream: TcpStream, requests: Arc<AtomicUsize>, fault: Fault) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(frame) = read_frame_async(&mut reader).await {
        let Some(mut reply) = reply_to(&frame) else {
            return;
        };
        let number = requests.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::Correct => {}
            Fault::WrongReplyAt(n) if n == number => reply.text = "WRONG ON PURPOSE".into(),
            Fault::CloseAt(n) if n == number => return,
            Fault::Silent => continue,
            Fault::StaysOpenAfterBye if matches!(frame, Frame::Line(ref l) if l == b"QUIT") => {
                reply = Reply {
                    text: "BYE".into(),
                    close: false,
                };
            }
            _ => {}
        }
        if writer.write_all(&reply.to_bytes()).await.is_err() {
            return;
        }
        if reply.close {
            let _ = writer.shutdown().await;
            return;
        }
    }
}

fn config(connections: usize, round_trips: usize, timeout: Duration) -> LoadConfig {
    LoadConfig {
        connections,
        round_trips,
        timeout,
    }
}

#[test]
fn a_correct_server_passes_and_the_report_adds_up() {
    let server = TestServer::start(Fault::Correct);
    let (connections, round_trips) = (20, 50);
    let report = load::run(
        server.addr,
        &config(connections, round_trips, Duration::from_secs(10)),
    )
    .expect("a correct server passes the load run");
    assert_eq!(report.connections, connections);
    assert_eq!(report.round_trips, (connections * round_trips) as u64);
    assert!(report.elapsed > Duration::ZERO);
    let rate = report.per_second();
    assert!(rate.is_finite() && rate > 0.0, "per_second = {rate}");
    // Every request reached the server: the round trips plus one QUIT per connection.
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        connections * (round_trips + 1)
    );
}

#[test]
fn the_requests_cover_echo_and_ping_with_unique_payloads() {
    let mut seen = std::collections::HashSet::new();
    for connection in 0..3 {
        for request in 0..8 {
            let (sent, expected) = load::request_for(connection, request);
            let reply = testbed::line::respond(sent.as_bytes());
            assert_eq!(reply.text, expected, "{sent:?}");
            if sent.starts_with("ECHO") {
                assert!(seen.insert(expected), "payloads must be unique: {sent:?}");
            }
        }
    }
    assert!(load::request_for(0, 3).0 == "PING");
}

#[test]
fn one_wrong_reply_fails_the_run_and_is_named() {
    let server = TestServer::start(Fault::WrongReplyAt(137));
    let error = load::run(server.addr, &config(8, 40, Duration::from_secs(10)))
        .expect_err("a wrong reply must fail the run");
    let LoadError::WrongReply {
        got,
        expected,
        sent,
        ..
    } = &error
    else {
        panic!("expected WrongReply, got {error}");
    };
    assert_eq!(got, "WRONG ON PURPOSE");
    assert_eq!(&load_expected(sent), expected, "{error}");
    let message = error.to_string();
    assert!(message.contains("got \"WRONG ON PURPOSE\""), "{message}");
    assert!(message.contains(&format!("{sent:?}")), "{message}");
}

/// What the protocol says `sent` must get back.
fn load_expected(sent: &str) -> String {
    testbed::line::respond(sent.as_bytes()).text
}

#[test]
fn an_early_close_fails_the_run() {
    let server = TestServer::start(Fault::CloseAt(25));
    let error = load::run(server.addr, &config(4, 30, Duration::from_secs(10)))
        .expect_err("an early close must fail the run");
    assert!(
        matches!(error, LoadError::Closed { .. }),
        "expected Closed, got {error}"
    );
    assert!(
        error
            .to_string()
            .contains("closed the connection instead of replying"),
        "{error}"
    );
}

#[test]
fn a_silent_server_times_out() {
    let server = TestServer::start(Fault::Silent);
    let error = load::run(server.addr, &config(2, 5, Duration::from_millis(200)))
        .expect_err("silence must fail the run");
    assert!(
        matches!(error, LoadError::Timeout { request: 0, .. }),
        "expected a timeout on the first request, got {error}"
    );
}

#[test]
fn a_server_that_stays_open_after_bye_fails_the_run() {
    let server = TestServer::start(Fault::StaysOpenAfterBye);
    let error = load::run(server.addr, &config(2, 3, Duration::from_millis(300)))
        .expect_err("BYE must be followed by a close");
    assert!(
        matches!(error, LoadError::Timeout { request: 3, .. }),
        "expected a timeout waiting for the close, got {error}"
    );
}

#[test]
fn no_server_is_a_connect_error() {
    // Bind and drop: the port was just free, so nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error =
        load::run(addr, &config(1, 1, Duration::from_secs(5))).expect_err("nothing listens");
    assert!(
        matches!(error, LoadError::Connect { connection: 0, .. }),
        "{error}"
    );
}

#[test]
fn impossible_configs_are_refused() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for bad in [
        config(0, 1, Duration::from_secs(1)),
        config(load::MAX_CONNECTIONS + 1, 1, Duration::from_secs(1)),
        config(1, 0, Duration::from_secs(1)),
        config(1, 1, Duration::ZERO),
    ] {
        let error = load::run(addr, &bad).expect_err("an impossible config");
        assert!(matches!(error, LoadError::Config(_)), "{bad:?}: {error}");
    }
}
