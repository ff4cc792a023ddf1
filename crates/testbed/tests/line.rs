//! Tests of the line protocol: `respond` for every rule, bounded framing (sync and async) at the
//! length limit, non-UTF-8 input, the end of input mid-line, and `LineClient` against a small
//! server written here.

use std::io::{self, BufReader, Cursor, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use testbed::line::{
    Frame, LineClient, MAX_LINE_BYTES, Reply, read_frame, read_frame_async, reply_to, respond,
};
use testbed::wait::DEADLINE;

fn reply(text: &str, close: bool) -> Reply {
    Reply {
        text: text.into(),
        close,
    }
}

#[test]
fn respond_follows_every_rule() {
    let cases: &[(&[u8], Reply)] = &[
        (b"PING", reply("PONG", false)),
        (b"PING\r", reply("PONG", false)),
        (b"ECHO hello world", reply("hello world", false)),
        (b"ECHO  two spaces", reply(" two spaces", false)),
        (b"ECHO", reply("", false)),
        (b"ECHO \xc3\xa9t\xc3\xa9", reply("été", false)),
        (b"QUIT", reply("BYE", true)),
        (b"QUIT\r", reply("BYE", true)),
        (b"ping", reply("ERR unknown command", false)),
        (b"ECHOX", reply("ERR unknown command", false)),
        (b"", reply("ERR unknown command", false)),
        (b"PING extra", reply("ERR unknown command", false)),
        (b"\xff\xfe", reply("ERR invalid utf-8", false)),
        (b"ECHO \xc3", reply("ERR invalid utf-8", false)),
    ];
    for (line, expected) in cases {
        assert_eq!(
            &respond(line),
            expected,
            "respond({:?})",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn respond_enforces_the_length_limit() {
    let mut at_limit = b"ECHO ".to_vec();
    at_limit.resize(MAX_LINE_BYTES, b'x');
    let echoed = respond(&at_limit);
    assert_eq!(echoed.text.len(), MAX_LINE_BYTES - 5);
    assert!(!echoed.close);

    let mut over = at_limit.clone();
    over.push(b'x');
    assert_eq!(respond(&over), reply("ERR line too long", true));
    // The '\r' counts towards the limit: it is a byte the server had to hold.
    at_limit.push(b'\r');
    assert_eq!(respond(&at_limit), reply("ERR line too long", true));
}

#[test]
fn reply_to_maps_every_frame() {
    assert_eq!(
        reply_to(&Frame::Line(b"PING".to_vec())),
        Some(reply("PONG", false))
    );
    assert_eq!(
        reply_to(&Frame::TooLong),
        Some(reply("ERR line too long", true))
    );
    assert_eq!(reply_to(&Frame::Eof), None);
    assert_eq!(reply("PONG", false).to_bytes(), b"PONG\n");
}

/// A reader that hands out at most `step` bytes per read, to exercise framing across refills.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Reads every frame of `input` (sync), with the reader refilling `step` bytes at a time.
fn frames(input: &[u8], step: usize) -> Vec<io::Result<Frame>> {
    let mut reader = BufReader::with_capacity(7, Trickle { data: input, step });
    let mut out = Vec::new();
    loop {
        let frame = read_frame(&mut reader);
        let stop = !matches!(frame, Ok(Frame::Line(_)));
        out.push(frame);
        if stop {
            return out;
        }
    }
}

fn line_of(len: usize) -> Vec<u8> {
    vec![b'a'; len]
}

#[test]
fn framing_accepts_1024_bytes_and_refuses_1025() {
    for step in [1, 3, 1000, 5000] {
        let mut input = line_of(1024);
        input.push(b'\n');
        input.extend_from_slice(b"PING\n");
        let got: Vec<Frame> = frames(&input, step)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            vec![
                Frame::Line(line_of(1024)),
                Frame::Line(b"PING".to_vec()),
                Frame::Eof
            ],
            "step {step}"
        );

        let mut input = line_of(1025);
        input.extend_from_slice(b"\nPING\n");
        let got = frames(&input, step);
        assert_eq!(got.len(), 1, "step {step}: framing stops at the long line");
        assert_eq!(*got[0].as_ref().unwrap(), Frame::TooLong, "step {step}");
    }
}

#[test]
fn framing_stops_reading_at_the_limit() {
    // A megabyte with no newline: TooLong after at most MAX_LINE_BYTES + 1 bytes (plus what one
    // buffer refill brought in), the rest is left unread.
    let flood = vec![b'z'; 1 << 20];
    let mut reader = BufReader::with_capacity(64, Cursor::new(&flood));
    assert_eq!(read_frame(&mut reader).unwrap(), Frame::TooLong);
    let consumed = reader.get_ref().position() as usize - reader.buffer().len();
    assert_eq!(consumed, MAX_LINE_BYTES + 1);
}

#[test]
fn framing_passes_non_utf8_lines_through() {
    let got: Vec<Frame> = frames(b"\xff\xfe\nPING\r\n", 2)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        vec![
            Frame::Line(b"\xff\xfe".to_vec()),
            Frame::Line(b"PING\r".to_vec()),
            Frame::Eof
        ]
    );
}

#[test]
fn framing_reports_eof_mid_line_as_an_error() {
    let got = frames(b"PING\nECHO hel", 4);
    assert_eq!(*got[0].as_ref().unwrap(), Frame::Line(b"PING".to_vec()));
    let error = got[1]
        .as_ref()
        .expect_err("a cut-off line is not a request");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(error.to_string().contains("8 bytes"), "{error}");
    assert_eq!(*frames(b"", 1)[0].as_ref().unwrap(), Frame::Eof);
}

#[tokio::test]
async fn async_framing_follows_the_same_rules() {
    let mut input = line_of(1024);
    input.extend_from_slice(b"\n\xff\nECHO hel");
    let mut reader = tokio::io::BufReader::with_capacity(5, &input[..]);
    assert_eq!(
        read_frame_async(&mut reader).await.unwrap(),
        Frame::Line(line_of(1024))
    );
    assert_eq!(
        read_frame_async(&mut reader).await.unwrap(),
        Frame::Line(b"\xff".to_vec())
    );
    let error = read_frame_async(&mut reader)
        .await
        .expect_err("EOF mid-line");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);

    let mut long = line_of(1025);
    long.push(b'\n');
    let mut reader = tokio::io::BufReader::with_capacity(5, &long[..]);
    assert_eq!(read_frame_async(&mut reader).await.unwrap(), Frame::TooLong);

    let mut empty = tokio::io::BufReader::new(&b""[..]);
    assert_eq!(read_frame_async(&mut empty).await.unwrap(), Frame::Eof);
}

/// A one-connection line server on a thread: answers with `respond`, closes when told to.
fn serve_one_connection() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test server");
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        while let Ok(frame) = read_frame(&mut reader) {
            let Some(reply) = reply_to(&frame) else {
                return;
            };
            if writer.write_all(&reply.to_bytes()).is_err() {
                return;
            }
            if reply.close {
                // Send the end of stream before closing (see the `line` module docs).
                let _ = writer.shutdown(std::net::Shutdown::Write);
                return;
            }
        }
    });
    addr
}

#[test]
fn line_client_talks_the_protocol() {
    let mut client = LineClient::connect(serve_one_connection(), DEADLINE).expect("connect");
    assert_eq!(client.request("PING").unwrap(), "PONG");
    assert_eq!(client.request("ECHO über").unwrap(), "über");
    client.send_raw(b"\xff\n").unwrap();
    assert_eq!(
        client.read_line().unwrap().as_deref(),
        Some("ERR invalid utf-8")
    );
    let error = client
        .request("two\nlines")
        .expect_err("a request is one line");
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(client.request("QUIT").unwrap(), "BYE");
    assert_eq!(
        client.read_line().unwrap(),
        None,
        "the server closes after BYE"
    );
}

#[test]
fn line_client_sees_the_close_after_a_long_line() {
    let mut client = LineClient::connect(serve_one_connection(), DEADLINE).expect("connect");
    let long = "x".repeat(MAX_LINE_BYTES + 1);
    assert_eq!(client.request(&long).unwrap(), "ERR line too long");
    let error = client.request("PING").expect_err("the server has closed");
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
        ),
        "{error}"
    );
}

#[test]
fn line_client_times_out_on_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and never answers; the connection stays open until the test ends.
    let silent = thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let mut client = LineClient::connect(addr, Duration::from_millis(200)).unwrap();
    let error = client.request("PING").expect_err("nobody answers");
    assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    drop(silent.join());
    assert_eq!(
        LineClient::connect(addr, Duration::ZERO)
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput
    );
}
