//! The in-memory transport under the `SSL` object: ciphertext in, ciphertext out.
//!
//! Our own `BIO_METHOD` (`ossl::bio`) reads and writes this buffer pair, so it is a memory BIO
//! whose storage we own (no extra copy through `BIO_s_mem`, and the bounds are ours to enforce).

use bytes::{Buf, BytesMut};
use core::mem::MaybeUninit;

use super::bio::copy_to_uninit;

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
    /// Moves received ciphertext into `buf`: `None` while none is waiting, `Some(0)` once the
    /// input is over.
    pub(crate) fn read_into(&mut self, buf: &mut [MaybeUninit<u8>]) -> Option<usize> {
        if self.incoming.is_empty() {
            return self.eof.then_some(0);
        }
        let n = buf.len().min(self.incoming.len());
        copy_to_uninit(buf, &self.incoming[..n]);
        self.incoming.advance(n);
        Some(n)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_would_block_until_eof() {
        let mut io = MemIo::default();
        let mut b = [MaybeUninit::new(0u8); 4];
        assert_eq!(io.read_into(&mut b), None);
        io.incoming.extend_from_slice(b"abcdef");
        assert_eq!(io.read_into(&mut b), Some(4));
        // SAFETY: every element was initialised (with 0, then by the read).
        assert_eq!(b.map(|x| unsafe { x.assume_init() }), *b"abcd");
        io.eof = true;
        assert_eq!(io.read_into(&mut b), Some(2));
        assert_eq!(io.read_into(&mut b), Some(0));
    }
}
