//! # Exercise 2.12, solved: a handler that never holds more than one line's limit
//!
//! `read_line` cannot be told to stop, so the line is assembled from what `fill_buf` shows: take
//! the bytes up to a `'\n'` if one is in sight, otherwise as many as still fit under the limit
//! plus one. One byte over the limit proves the line too long, and the handler answers and
//! returns without touching the rest. At most `MAX_LINE + 1` bytes of a line are ever held, and
//! the reader's own buffer (a `BufReader`'s 8 KiB) is all that is read ahead.

use std::io::{self, BufRead, Write};

/// The longest request line, in bytes, not counting its `'\n'`.
pub const MAX_LINE: usize = 32;

/// One line as read by [`read_bounded_line`].
enum Line {
    Complete(Vec<u8>),
    TooLong,
    End,
}

/// Reads one line, holding at most `MAX_LINE + 1` bytes of it.
fn read_bounded_line(reader: &mut impl BufRead) -> io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return if line.is_empty() {
                Ok(Line::End)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the input ended mid-line",
                ))
            };
        }
        let room = MAX_LINE + 1 - line.len();
        let usable = &available[..available.len().min(room)];
        if let Some(end) = usable.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&usable[..end]);
            reader.consume(end + 1);
            return Ok(Line::Complete(line));
        }
        line.extend_from_slice(usable);
        let taken = usable.len();
        reader.consume(taken);
        if line.len() > MAX_LINE {
            return Ok(Line::TooLong);
        }
    }
}

/// Answers every line from `reader` on `writer`, one reply line each, until the input ends or a
/// line is too long (see the module docs for the replies).
pub fn serve_connection(reader: &mut impl BufRead, writer: &mut impl Write) -> io::Result<()> {
    loop {
        match read_bounded_line(reader)? {
            Line::End => return Ok(()),
            Line::TooLong => return writer.write_all(b"ERR line too long\n"),
            Line::Complete(bytes) => match String::from_utf8(bytes) {
                Ok(text) => writer.write_all(format!("OK {text}\n").as_bytes())?,
                Err(_) => writer.write_all(b"ERR invalid utf-8\n")?,
            },
        }
    }
}
