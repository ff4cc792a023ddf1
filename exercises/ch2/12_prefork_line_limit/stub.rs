//! # Exercise 2.12: a pre-fork worker's handler that refuses oversized lines
//!
//! Each worker process of a pre-fork server (listing 2.19) runs one thread per client, and each
//! thread runs a handler like this one: read a request line, answer it, repeat. The articles' game
//! server read "up to 1024 bytes" with `conn.recv(1024)`; a Python handler that reads whole lines
//! would look like this:
//!
//! ```python
//! for line in conn.makefile("rb"):          # readline() under the hood: no limit
//!     if len(line) > MAX_LINE:
//!         conn.sendall(b"ERR line too long\n"); break
//!     conn.sendall(b"OK " + line)
//! ```
//!
//! The length check comes too late: `readline()` has already buffered the whole line, and a client
//! that sends a gigabyte without a newline makes the worker hold a gigabyte (a few such clients
//! and the worker, with every client it serves, is gone). Write `serve_connection` so that it
//! never holds more than `MAX_LINE + 1` bytes of one line:
//!
//! - a line of at most `MAX_LINE` bytes (not counting its `'\n'`) that is UTF-8 is answered
//!   `OK <line>`; one that is not UTF-8 is answered `ERR invalid utf-8`, and the conversation goes
//!   on;
//! - as soon as a line is known to be longer than `MAX_LINE`, answer `ERR line too long` and return
//!   `Ok(())` (the caller closes the connection) *without reading the rest of it*;
//! - the end of the input between lines ends the conversation with `Ok(())`; in the middle of a
//!   line it is an `UnexpectedEof` error (a cut-off request is not answered).
//!
//! The checks feed the handler an endless line and count what it takes, and run it on real
//! connections, one thread each, where one client floods while another talks.
//!
//! Check your work with `cargo run -p exercises -- check ch2/12`; stuck?
//! `cargo run -p exercises -- hint ch2/12`.

use std::io::{self, BufRead, Write};

/// The longest request line, in bytes, not counting its `'\n'`.
pub const MAX_LINE: usize = 32;

/// Answers every line from `reader` on `writer`, one reply line each, until the input ends or a
/// line is too long (see the module docs for the replies).
pub fn serve_connection(reader: &mut impl BufRead, writer: &mut impl Write) -> io::Result<()> {
    let _ = (reader, writer);
    todo!("read bounded lines with fill_buf/consume and answer each one")
}
