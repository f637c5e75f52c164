//! A bounded line splitter with `BIO_gets` semantics, used by `-www`, `-WWW`, `-HTTP` and `-rev`.
//!
//! s_server reads these modes with `BIO_gets` into a 16 KiB buffer: a line is returned with its
//! `\n`, and a line longer than the buffer comes back in buffer-sized pieces. We keep that
//! behaviour so the bound is also a compatibility property, not just a safety net.

use alloc::vec::Vec;

/// Longest line returned in one piece (s_server's `bufsize` minus the NUL of `BIO_gets`).
pub const MAX_LINE: usize = 16 * 1024 - 1;

/// Accumulates plaintext and yields complete lines, never holding more than [`MAX_LINE`] bytes.
///
/// Storage grows only while a line is incomplete and is released when it ends, so an idle
/// connection costs nothing here (a fixed 16 KiB array per connection would dominate the memory
/// of thousands of idle sessions).
#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
}

impl LineBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        LineBuffer { buf: Vec::new() }
    }

    /// Feeds `data`, calling `on_line` for each complete line (with its `\n`) or full
    /// [`MAX_LINE`] piece. Stops early and returns the number of bytes consumed when `on_line`
    /// returns `false` (the mode has what it needs, e.g. the request line).
    pub fn push(&mut self, data: &[u8], mut on_line: impl FnMut(&[u8]) -> bool) -> usize {
        let mut consumed = 0;
        while consumed < data.len() {
            let rest = &data[consumed..];
            let room = MAX_LINE - self.buf.len();
            let window = &rest[..rest.len().min(room)];
            let (piece, complete) = match window.iter().position(|&b| b == b'\n') {
                Some(i) => (&window[..=i], true),
                None => (window, window.len() == room),
            };
            consumed += piece.len();
            if !complete {
                self.buf.extend_from_slice(piece);
                break;
            }
            let keep_going = if self.buf.is_empty() {
                // The common case: a whole line inside one chunk needs no copy.
                on_line(piece)
            } else {
                self.buf.extend_from_slice(piece);
                let line = core::mem::take(&mut self.buf);
                on_line(&line)
            };
            if !keep_going {
                break;
            }
        }
        consumed
    }

    /// Bytes of an unfinished line held so far.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the unfinished line (at EOF, `BIO_gets` returns it too).
    pub fn take_pending(&mut self, mut on_line: impl FnMut(&[u8])) {
        if !self.buf.is_empty() {
            on_line(&core::mem::take(&mut self.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn lines(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lb = LineBuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            lb.push(c, |l| {
                out.push(l.to_vec());
                true
            });
        }
        out
    }

    #[test]
    fn splits_on_newline_across_chunks() {
        assert_eq!(
            lines(&[b"GE", b"T / HTTP/1.0\r", b"\nHost: x\n"]),
            vec![b"GET / HTTP/1.0\r\n".to_vec(), b"Host: x\n".to_vec()]
        );
    }

    #[test]
    fn overlong_line_comes_in_bounded_pieces() {
        let long = vec![b'a'; MAX_LINE * 2 + 10];
        let got = lines(&[&long, b"\n"]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].len(), MAX_LINE);
        assert_eq!(got[1].len(), MAX_LINE);
        assert_eq!(got[2].len(), 11);
    }

    #[test]
    fn stops_when_told() {
        let mut lb = LineBuffer::new();
        let n = lb.push(b"one\ntwo\n", |_| false);
        assert_eq!(n, 4);
    }
}
