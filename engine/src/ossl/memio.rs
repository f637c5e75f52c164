//! The in-memory transport under the `SSL` object: ciphertext in, ciphertext out.
//!
//! Our own `BIO_METHOD` (`ossl::bio`) reads and writes this buffer pair, so it is a memory BIO
//! whose storage we own (no extra copy through `BIO_s_mem`, and the bounds are ours to enforce).
//! Received ciphertext need not even be copied here: [`MemIo::read_lent`] lets OpenSSL read
//! straight from the caller's buffer and keeps only what it left.

use bytes::{Buf, BytesMut};
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use super::bio::{copy_to_uninit, SslIo, SslIoError};
use crate::tls::{PeerRead, PeerReader};

/// Ciphertext buffers between the peer and OpenSSL.
#[derive(Debug, Default)]
pub struct MemIo {
    /// Received from the peer, not yet read by OpenSSL.
    pub(crate) incoming: BytesMut,
    /// The peer's transport has ended: once nothing is queued (nor lent), reads return EOF.
    pub(crate) eof: bool,
    /// Written by OpenSSL, not yet taken by the session.
    pub(crate) outgoing: BytesMut,
    /// A pause at OpenSSL's next flush (see `SslConn::handshake`).
    pub(crate) flush_pause: FlushPause,
    /// The caller's ciphertext, or reader, used after `incoming`, during
    /// [`MemIo::read_lent`] and [`MemIo::read_pulled`] only.
    lent: Lent,
}

/// Whether OpenSSL's next flush of written bytes pauses the handshake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlushPause {
    /// Flushes go on.
    #[default]
    Off,
    /// The next flush with bytes written pauses.
    Armed,
    /// A flush paused since it was armed.
    Taken,
}

/// A borrowed byte slice and a borrowed reader, held as raw pointers because OpenSSL reaches
/// the transport through the BIO's data pointer, where a lifetime cannot follow. Set only
/// inside [`MemIo::read_lent`] and [`MemIo::read_pulled`], which hold the borrows they came from
/// for as long.
struct Lent {
    ptr: *const u8,
    len: usize,
    reader: Option<NonNull<dyn PeerReader>>,
}

impl core::fmt::Debug for Lent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lent")
            .field("len", &self.len)
            .field("reader", &self.reader.is_some())
            .finish()
    }
}

impl Default for Lent {
    fn default() -> Self {
        Lent {
            ptr: core::ptr::NonNull::dangling().as_ptr(),
            len: 0,
            reader: None,
        }
    }
}

// SAFETY: a non-empty `Lent` exists only while `read_lent` or `read_pulled` runs with `&mut`
// access to its transport, so no other thread can reach it; an empty one points at nothing.
unsafe impl Send for Lent {}
// SAFETY: as above; shared access never reads through the pointers while they are lent.
unsafe impl Sync for Lent {}

impl Lent {
    fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` and `len` come from one live slice (see the type), or are a dangling,
        // aligned pointer with length 0, which is a valid empty slice.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Empties the transport's lent slice when [`MemIo::read_lent`] returns, even by unwinding,
/// so the pointer never outlives the borrow.
struct Unlend<'a>(&'a mut SslIo<MemIo>);

impl Drop for Unlend<'_> {
    fn drop(&mut self) {
        self.0.get_mut().lent = Lent::default();
    }
}

/// Buffers above this capacity are given back once empty, so an idle connection holds none.
pub(crate) const KEEP_CAPACITY: usize = 4 * 1024;

impl MemIo {
    /// Moves received ciphertext into `buf`: `None` while none is waiting, `Some(0)` once the
    /// input is over.
    pub(crate) fn read_into(&mut self, buf: &mut [MaybeUninit<u8>]) -> Option<usize> {
        if self.incoming.is_empty() {
            let lent = self.lent.as_slice();
            if lent.is_empty() {
                if let Some(reader) = self.lent.reader {
                    return self.pull(reader, buf);
                }
                return self.eof.then_some(0);
            }
            let n = buf.len().min(lent.len());
            copy_to_uninit(buf, &lent[..n]);
            self.lent.ptr = lent[n..].as_ptr();
            self.lent.len -= n;
            return Some(n);
        }
        let n = buf.len().min(self.incoming.len());
        copy_to_uninit(buf, &self.incoming[..n]);
        self.incoming.advance(n);
        Some(n)
    }

    /// One read from the lent reader, straight into OpenSSL's buffer (kept out of line: the
    /// reader is a call anyway, and `read_into` stays small enough to inline into the BIO).
    #[inline(never)]
    fn pull(&mut self, reader: NonNull<dyn PeerReader>, buf: &mut [MaybeUninit<u8>]) -> Option<usize> {
        let (start, room) = (buf.as_ptr().cast::<u8>(), buf.len());
        // SAFETY: `read_pulled` set `reader` from a `&mut` borrow it holds until the pointer is
        // cleared again, and nothing else reaches the reader meanwhile.
        let reader = unsafe { &mut *reader.as_ptr() };
        match reader.read(buf) {
            PeerRead::Data(data) if data.as_ptr() == start && data.len() <= room => Some(data.len()),
            PeerRead::Data(data) => {
                // Bytes from elsewhere (the contract asks for the buffer's start): kept and
                // read from the queue instead.
                self.incoming.extend_from_slice(data);
                self.read_into(buf)
            }
            PeerRead::End => {
                self.eof = true;
                Some(0)
            }
            PeerRead::WouldBlock => None,
        }
    }

    /// Ciphertext waiting for OpenSSL's next read.
    pub(crate) fn queued(&self) -> usize {
        self.incoming.len() + self.lent.len
    }

    /// `SSL_read_ex` into `buf` with `input` as the ciphertext that follows what is queued:
    /// OpenSSL reads `input` in place once the queue is empty (no copy into `incoming`), and
    /// `input` is left holding what it did not consume: with read-ahead (on once the handshake
    /// is done) OpenSSL takes as much as its record buffer holds, wherever that ends.
    pub(crate) fn read_lent(
        io: &mut SslIo<MemIo>,
        input: &mut &[u8],
        buf: &mut [MaybeUninit<u8>],
    ) -> Result<usize, SslIoError> {
        let io = Unlend(io);
        io.0.get_mut().lent = Lent {
            ptr: input.as_ptr(),
            len: input.len(),
            reader: None,
        };
        let r = io.0.read_uninit(buf);
        *input = &input[input.len() - io.0.get_ref().lent.len..];
        r
    }

    /// `SSL_read_ex` into `buf` with `reader` as the source once the queue is read: OpenSSL's
    /// record buffer is filled by the reader itself, with no copy in between.
    pub(crate) fn read_pulled(
        io: &mut SslIo<MemIo>,
        reader: &mut dyn PeerReader,
        buf: &mut [MaybeUninit<u8>],
    ) -> Result<usize, SslIoError> {
        let io = Unlend(io);
        // SAFETY: only the lifetime is erased (same fat pointer); `Unlend` clears the pointer
        // before this function returns, while the borrow it came from is still held.
        let reader: NonNull<dyn PeerReader> = unsafe {
            core::mem::transmute::<NonNull<dyn PeerReader + '_>, NonNull<dyn PeerReader>>(NonNull::from(reader))
        };
        io.0.get_mut().lent.reader = Some(reader);
        io.0.read_uninit(buf)
    }

    /// Frees drained buffers of more than `keep` bytes' capacity: after every hand-over those
    /// that grew large ([`KEEP_CAPACITY`]), once the connection is idle every empty one (0).
    /// With `keep` 0 the capacity is not asked: the queue that handed-out ciphertext was split
    /// from shows little or none, yet holds that whole buffer once the ciphertext is sent.
    pub(crate) fn release_drained_above(&mut self, keep: usize) {
        let drained = |b: &BytesMut| b.is_empty() && (keep == 0 || b.capacity() > keep);
        if drained(&self.incoming) {
            self.incoming = BytesMut::new();
        }
        if drained(&self.outgoing) {
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

    #[test]
    fn lent_input_is_read_after_the_queue() {
        let mut io = MemIo::default();
        io.incoming.extend_from_slice(b"ab");
        let lent = *b"cdefg";
        io.lent = Lent {
            ptr: lent.as_ptr(),
            len: lent.len(),
            reader: None,
        };
        io.eof = true;
        assert_eq!(io.queued(), 7);
        let mut got = alloc::vec::Vec::new();
        let mut b = [MaybeUninit::new(0u8); 3];
        while let Some(n @ 1..) = io.read_into(&mut b) {
            // SAFETY: the read initialised the first `n` elements.
            got.extend(b[..n].iter().map(|x| unsafe { x.assume_init() }));
        }
        // The queue first, never mixed with the lent bytes in one read, then the lent bytes.
        assert_eq!(got, b"abcdefg");
        assert_eq!((io.queued(), io.lent.len), (0, 0));
        assert_eq!(io.read_into(&mut b), Some(0), "the end comes after the lent bytes");
        io.lent = Lent::default();
    }
}
