//! The checks of exercise 2.12, run against the stub, the solution and the reader's attempt alike.
//!
//! First on in-memory input, where every byte the handler takes can be counted: the replies for
//! short, exact-limit, non-UTF-8 and cut-off lines, and an endless line that must be refused after
//! `MAX_LINE + 1` bytes (a handler that keeps reading is stopped with a panic long before memory
//! runs out). Then on real connections on `127.0.0.1`, one thread each as in a pre-fork worker: a
//! client that floods a megabyte without a newline gets its `ERR line too long` while another
//! client's conversation goes on.

use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use super::imp::{self, MAX_LINE};

/// The endless line is cut off (with a panic) once the handler has taken this much of it.
const TOO_MUCH: usize = 64 * 1024;

/// Every read of the connection tests waits at most this long.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    short_lines_are_answered();
    the_limit_is_exact_and_what_follows_is_not_read();
    bad_utf8_is_answered_and_the_conversation_goes_on();
    a_cut_off_line_is_an_error_not_a_request();
    an_endless_line_is_refused_after_the_limit();
    a_flooding_client_does_not_stop_the_others();
}

/// Runs the handler on `input`; returns what it wrote and what it returned.
fn serve(input: &[u8]) -> (String, io::Result<()>) {
    let mut output = Vec::new();
    let result = imp::serve_connection(&mut Cursor::new(input), &mut output);
    (String::from_utf8_lossy(&output).into_owned(), result)
}

fn short_lines_are_answered() {
    let (output, result) = serve(b"PING\nhello world\n\n");
    assert!(
        result.is_ok(),
        "input ending between lines is Ok(()), got {result:?}"
    );
    assert_eq!(
        output, "OK PING\nOK hello world\nOK \n",
        "one `OK <line>` per line"
    );
}

fn the_limit_is_exact_and_what_follows_is_not_read() {
    let longest = "y".repeat(MAX_LINE);
    let (output, result) = serve(format!("{longest}\n").as_bytes());
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        output,
        format!("OK {longest}\n"),
        "a line of exactly MAX_LINE bytes is fine"
    );

    let one_too_many = "x".repeat(MAX_LINE + 1);
    let (output, result) = serve(format!("{one_too_many}\nPING\n").as_bytes());
    assert!(
        result.is_ok(),
        "a too-long line ends the conversation with Ok(()): {result:?}"
    );
    assert_eq!(
        output, "ERR line too long\n",
        "a line of MAX_LINE + 1 bytes is refused, and nothing after it is answered"
    );
}

fn bad_utf8_is_answered_and_the_conversation_goes_on() {
    let (output, result) = serve(b"\xff\xfe\nPING\n");
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        output, "ERR invalid utf-8\nOK PING\n",
        "answer bad UTF-8, then go on"
    );
}

fn a_cut_off_line_is_an_error_not_a_request() {
    let (output, result) = serve(b"PING\nhal");
    assert_eq!(output, "OK PING\n", "a cut-off line gets no reply");
    let kind = result.as_ref().map_err(io::Error::kind);
    assert_eq!(
        kind,
        Err(io::ErrorKind::UnexpectedEof),
        "input ending mid-line: {result:?}"
    );
}

/// A line that never ends, handed out 16 bytes at a time, counting what is taken.
struct Endless {
    taken: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = self.fill_buf()?.len().min(buf.len());
        buf[..chunk].fill(b'x');
        self.consume(chunk);
        Ok(chunk)
    }
}

impl BufRead for Endless {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&[b'x'; 16])
    }

    fn consume(&mut self, amount: usize) {
        self.taken += amount;
        assert!(
            self.taken <= TOO_MUCH,
            "the handler took {} bytes of one line without a newline and was still reading: \
             it must give up after MAX_LINE + 1 = {} bytes, not read the whole line first",
            self.taken,
            MAX_LINE + 1
        );
    }
}

fn an_endless_line_is_refused_after_the_limit() {
    let mut endless = Endless { taken: 0 };
    let mut output = Vec::new();
    let result = imp::serve_connection(&mut endless, &mut output);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(String::from_utf8_lossy(&output), "ERR line too long\n");
    assert!(
        endless.taken <= MAX_LINE + 1,
        "the handler took {} bytes of a too-long line; at most MAX_LINE + 1 = {} are needed",
        endless.taken,
        MAX_LINE + 1
    );
}

/// One connection, as a worker's thread serves it: the handler, then a graceful close that
/// reads and drops what the client still sends, so the reply is not lost to a reset.
fn serve_one(stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let mut reader = BufReader::new(&stream);
    let _ = imp::serve_connection(&mut reader, &mut &stream);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = io::copy(&mut (&stream).take(4 << 20), &mut io::sink());
}

fn a_flooding_client_does_not_stop_the_others() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the address");
    thread::Builder::new()
        .name("check-worker".into())
        .spawn(move || {
            for stream in listener.incoming().take(2).flatten() {
                thread::spawn(move || serve_one(stream));
            }
        })
        .expect("start the accept thread");

    let flood = TcpStream::connect(addr).expect("connect the flooding client");
    flood.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let flooder = thread::spawn({
        let mut flood = flood.try_clone().unwrap();
        // An error means the server stopped reading and closed: that is allowed.
        move || {
            let _ = flood.write_all(&vec![b'x'; 1 << 20]);
        }
    });

    let talk = TcpStream::connect(addr).expect("connect the talking client");
    talk.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut replies = BufReader::new(&talk);
    for n in 0..20 {
        (&talk).write_all(format!("move {n}\n").as_bytes()).unwrap();
        let mut reply = String::new();
        replies
            .read_line(&mut reply)
            .expect("a reply to the talking client");
        assert_eq!(
            reply,
            format!("OK move {n}\n"),
            "the other client is still served"
        );
    }

    let mut answer = String::new();
    let read = (&flood).read_to_string(&mut answer);
    assert!(
        read.is_ok(),
        "the flooding client got no answer and no close within {READ_TIMEOUT:?} ({read:?}): \
         a line that never ends must be refused after MAX_LINE + 1 bytes"
    );
    assert_eq!(
        answer, "ERR line too long\n",
        "what the flooding client got"
    );
    let _ = flooder.join();
}
