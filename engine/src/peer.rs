//! Reading the peer's transport from inside the session ([`Session::handle_readable`]): the
//! adapter lends a [`PeerReader`] instead of a buffer it has filled, so the TLS backend can
//! have the socket read straight into its record buffer.
//!
//! [`Session::handle_readable`]: crate::Session::handle_readable

use core::mem::MaybeUninit;

use crate::tls::{PeerRead, PeerReader};

/// What [`Session::handle_readable`](crate::Session::handle_readable) read from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    /// This many bytes.
    Data(usize),
    /// Nothing was there, or the session did not need to read.
    WouldBlock,
    /// The peer's transport ended; the session has seen the end.
    End,
}

/// The adapter's reader, asked at most once per `handle_readable` (as an adapter reads its
/// socket once per wake-up, so one busy peer cannot hold the thread), with what it gave.
pub(crate) struct Once<'r> {
    reader: &'r mut dyn PeerReader,
    got: Option<Pulled>,
}

impl<'r> Once<'r> {
    pub(crate) fn new(reader: &'r mut dyn PeerReader) -> Self {
        Once { reader, got: None }
    }

    /// The reader was asked.
    pub(crate) fn asked(&self) -> bool {
        self.got.is_some()
    }

    /// What the read gave (`WouldBlock` if there was none).
    pub(crate) fn result(&self) -> Pulled {
        self.got.unwrap_or(Pulled::WouldBlock)
    }
}

impl PeerReader for Once<'_> {
    fn read<'b>(&mut self, buf: &'b mut [MaybeUninit<u8>]) -> PeerRead<'b> {
        if self.got.is_some() {
            return PeerRead::WouldBlock;
        }
        let r = match self.reader.read(buf) {
            // An empty read is how sockets say "the end".
            PeerRead::Data([]) => PeerRead::End,
            r => r,
        };
        self.got = Some(match &r {
            PeerRead::Data(d) => Pulled::Data(d.len()),
            PeerRead::WouldBlock => Pulled::WouldBlock,
            PeerRead::End => Pulled::End,
        });
        r
    }
}

/// Where the session's plaintext loop finds ciphertext beyond what the backend holds.
pub(crate) enum Input<'a, 'r> {
    /// Bytes the adapter read; what the backend leaves is kept for the next read.
    Bytes(&'a [u8]),
    /// The peer's reader.
    Reader(&'a mut Once<'r>),
}

impl Input<'_, '_> {
    /// Nothing more can come from here in this call.
    pub(crate) fn used_up(&self) -> bool {
        match self {
            Input::Bytes(b) => b.is_empty(),
            Input::Reader(once) => once.asked(),
        }
    }
}
