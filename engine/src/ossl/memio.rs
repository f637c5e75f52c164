//! The in-memory transport under the `SSL` object: ciphertext in, ciphertext out.
//!
//! `openssl::ssl::SslStream` wraps any `Read + Write` in a custom `BIO_METHOD`; giving it this
//! buffer pair makes it a memory BIO whose storage we own (no extra copy through `BIO_s_mem`,
//! and the bounds are ours to enforce).

use bytes::{Buf, BytesMut};
use core::mem::MaybeUninit;
use std::io::{self, Read, Write};

/// Ciphertext buffers between the peer and OpenSSL.
#[derive(Debug, Default)]
pub struct MemIo {
    /// Received from the peer, not yet read by OpenSSL.
    pub(crate) incoming: BytesMut,
    /// The peer's transport has ended: once `incoming` is empty, reads return EOF.
    pub(crate) eof: bool,
    /// Written by OpenSSL, not yet taken by the session.
    pub(crate) outgoing: BytesMut,
}

/// Buffers above this capacity are given back once empty, so an idle connection holds none.
const KEEP_CAPACITY: usize = 4 * 1024;

impl MemIo {
    /// Frees drained buffers that grew large (called when the session goes idle).
    pub(crate) fn release_idle(&mut self) {
        if self.incoming.is_empty() && self.incoming.capacity() > KEEP_CAPACITY {
            self.incoming = BytesMut::new();
        }
        if self.outgoing.is_empty() && self.outgoing.capacity() > KEEP_CAPACITY {
            self.outgoing = BytesMut::new();
        }
    }
}

/// Largest plaintext piece one read asks for (one TLS record).
const READ_CHUNK: usize = 16 * 1024;

/// Makes room in `buf` for the next plaintext read and returns its spare capacity, sized by
/// what OpenSSL holds decrypted (`pending`) or the next ciphertext waiting (`queued`; a record
/// bounds its plaintext): small records cost a small allocation and nothing is zero-filled.
/// Never empty (an empty read buffer makes `SSL_read` report 0 bytes instead of "want read").
pub(crate) fn reserve_for_read(pending: usize, queued: usize, buf: &mut BytesMut) -> &mut [MaybeUninit<u8>] {
    buf.reserve(pending.max(queued).clamp(1, READ_CHUNK));
    buf.spare_capacity_mut()
}

impl Read for MemIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(self.incoming.len());
        buf[..n].copy_from_slice(&self.incoming[..n]);
        self.incoming.advance(n);
        Ok(n)
    }
}

impl Write for MemIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_would_block_until_eof() {
        let mut io = MemIo::default();
        let mut b = [0u8; 4];
        assert_eq!(io.read(&mut b).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        io.incoming.extend_from_slice(b"abcdef");
        assert_eq!(io.read(&mut b).unwrap(), 4);
        assert_eq!(&b, b"abcd");
        io.eof = true;
        assert_eq!(io.read(&mut b).unwrap(), 2);
        assert_eq!(io.read(&mut b).unwrap(), 0);
    }
}
