//! # Exercise 2.12, a wrong attempt: read the whole line, then check its length
//!
//! The mistake: `read_until(b'\n')` first, `if line.len() > MAX_LINE` after. Every reply is right,
//! and the short-line tests pass; but the check comes after the harm. A client that sends an
//! endless line makes `read_until` buffer it all, so one client can make the worker (and every
//! other client it serves) run out of memory, and it never gets its `ERR line too long`.
//!
//! Fails: by a panic: the check's endless line counts the bytes the handler takes, and stops it
//! when it has taken far more than `MAX_LINE + 1` of one line.

use std::io::{self, BufRead, Write};

/// The longest request line, in bytes, not counting its `'\n'`.
pub const MAX_LINE: usize = 32;

/// Answers every line from `reader` on `writer`, one reply line each, until the input ends or a
/// line is too long (see the module docs for the replies).
pub fn serve_connection(reader: &mut impl BufRead, writer: &mut impl Write) -> io::Result<()> {
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.pop() != Some(b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the input ended mid-line",
            ));
        }
        if line.len() > MAX_LINE {
            return writer.write_all(b"ERR line too long\n");
        }
        match String::from_utf8(line) {
            Ok(text) => writer.write_all(format!("OK {text}\n").as_bytes())?,
            Err(_) => writer.write_all(b"ERR invalid utf-8\n")?,
        }
    }
}
