//! The site's deterministic content: what `/page/{n}` and `/file/{bytes}` return.
//!
//! Both are pure functions of their inputs, so a test (or a reader's program) can check a download
//! byte for byte without keeping a copy: `page_body(n, size)` is the whole page, `file_byte(i)` is
//! the byte at offset `i` of every file.
//!
//! Files repeat a pattern with a period of 251 bytes. The period is prime on purpose: chunks are
//! 64 KiB, and 65 536 is not a multiple of 251, so a client that loses, repeats or reorders a chunk
//! sees wrong bytes at once. The period is also what makes streaming cheap: the server keeps one
//! buffer of `CHUNK_BYTES + PERIOD` bytes and hands out [`Bytes`] slices of it (a reference count,
//! not a copy), so an unthrottled download runs at memory speed.

use std::fmt::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;

/// The period of the `/file` pattern (a prime, see the module docs).
const PERIOD: usize = 251;

/// The largest chunk `/file` sends at once.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

/// The byte at `offset` of every `/file/{bytes}` body.
///
/// ```
/// assert_eq!(testbed::file_byte(0), 0);
/// assert_eq!(testbed::file_byte(250), 250);
/// assert_eq!(testbed::file_byte(251), 0);
/// ```
pub fn file_byte(offset: u64) -> u8 {
    // The remainder is below 251, so it always fits in a byte.
    (offset % PERIOD as u64) as u8
}

/// One buffer that holds every possible chunk: `CHUNK_BYTES` bytes starting at any phase of the
/// pattern. Built once, shared by every download.
fn pattern() -> &'static Bytes {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    PATTERN.get_or_init(|| (0..(CHUNK_BYTES + PERIOD) as u64).map(file_byte).collect())
}

/// The `len` bytes of the file that start at `offset`, without copying (`len <= CHUNK_BYTES`).
pub(crate) fn file_chunk(offset: u64, len: usize) -> Bytes {
    assert!(len <= CHUNK_BYTES, "a chunk is at most {CHUNK_BYTES} bytes");
    let phase = (offset % PERIOD as u64) as usize;
    pattern().slice(phase..phase + len)
}

/// Exactly the body `/page/{n}` returns when the page size is `size`: ASCII HTML of exactly `size`
/// bytes that names the page in its title and heading.
///
/// Below about 100 bytes there is no room for the whole skeleton, and the body is the first
/// `size` bytes of a complete page (it is still exactly `size` bytes long).
///
/// ```
/// let page = testbed::page_body(7, 10 * 1024);
/// assert_eq!(page.len(), 10 * 1024);
/// assert!(page.contains("<title>Page 7</title>"));
/// assert_eq!(page, testbed::page_body(7, 10 * 1024)); // deterministic
/// ```
pub fn page_body(n: u64, size: usize) -> String {
    const TAIL: &str = "</body></html>\n";
    let mut body = String::with_capacity(size + 64);
    let _ = write!(
        body,
        "<!DOCTYPE html>\n<html><head><title>Page {n}</title></head><body>\n<h1>Page {n}</h1>\n"
    );
    let mut paragraph = 1u64;
    while body.len() + TAIL.len() < size {
        let _ = writeln!(body, "<p>Page {n}, paragraph {paragraph}.</p>");
        paragraph += 1;
    }
    if size < body.len() + TAIL.len() {
        // The last paragraph went past the size (or the skeleton alone is too long): cut it.
        // Everything written is ASCII, so any byte offset is a character boundary.
        body.truncate(size.saturating_sub(TAIL.len()));
    }
    body.push_str(TAIL);
    body.truncate(size);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_match_file_byte_at_every_phase() {
        for offset in [0u64, 1, 250, 251, 65_536, 1 << 30] {
            let chunk = file_chunk(offset, CHUNK_BYTES);
            assert!(
                chunk
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b == file_byte(offset + i as u64)),
                "chunk at offset {offset} differs from file_byte"
            );
        }
    }

    #[test]
    fn pages_have_the_exact_size_asked_for() {
        for size in [0, 1, 10, 60, 99, 100, 101, 1000, 10 * 1024, 100_003] {
            let page = page_body(3, size);
            assert_eq!(page.len(), size, "page_body(3, {size})");
        }
        let page = page_body(42, 10 * 1024);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.ends_with("</body></html>\n"));
        assert!(page.contains("<h1>Page 42</h1>"));
        assert_ne!(page_body(1, 1000), page_body(2, 1000));
    }
}
