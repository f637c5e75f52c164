//! The seam between the session state machine and a TLS library.
//!
//! [`Session`](crate::Session) drives any [`TlsBackend`]; the OpenSSL one lives in
//! [`crate::ossl`]. A backend owns its ciphertext buffers (memory BIOs for OpenSSL): ciphertext
//! goes in with [`TlsBackend::push_ciphertext`] and comes out with
//! [`TlsBackend::take_ciphertext`] after every call that can produce some.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::BytesMut;
use core::mem::MaybeUninit;

use crate::connection::ConnectionInfo;
use crate::error::TlsError;
use crate::event::{CacheStats, EarlyDataStatus, Event, HandshakeInfo};

/// Outcome of a handshake step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeStatus {
    /// The handshake is complete.
    Done,
    /// More input from the peer is needed.
    WantInput,
    /// A flight the peer waits for is written and the handshake paused before the work that
    /// follows it (TLS 1.3's application keys, which a blocking server derives after its send):
    /// send the output, then call [`TlsBackend::handshake`] again, without input.
    FlightWritten,
}

/// Outcome of a plaintext read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// This many plaintext bytes were read into the buffer.
    Data(usize),
    /// No plaintext available until more ciphertext arrives.
    WantInput,
    /// The peer sent close_notify.
    Closed,
}

/// What one [`PeerReader::read`] gave.
#[derive(Debug, PartialEq, Eq)]
pub enum PeerRead<'b> {
    /// These bytes arrived: the start of the buffer the reader was given, as the reader's
    /// socket call returns it (`rustix::io::read` does).
    Data(&'b [u8]),
    /// Nothing is there now.
    WouldBlock,
    /// The peer's transport ended: its FIN, or a read error (nothing more will come).
    End,
}

/// The peer's byte stream, read by the session itself ([`Session::handle_readable`]), so that
/// a backend can have its record buffer filled straight from the socket instead of copying
/// from an adapter's buffer. Reads must not wait.
///
/// [`Session::handle_readable`]: crate::Session::handle_readable
pub trait PeerReader {
    /// Reads what is there now into the start of `buf`.
    fn read<'b>(&mut self, buf: &'b mut [MaybeUninit<u8>]) -> PeerRead<'b>;
}

/// The most one pull from a [`PeerReader`] asks for when the backend has no buffer of its own
/// to offer: one TLS record and its header.
pub const PULL_SIZE: usize = 16 * 1024 + 512;

/// A TLS implementation the session can drive.
pub trait TlsBackend {
    /// Hands ciphertext received from the peer to the TLS layer.
    fn push_ciphertext(&mut self, data: &[u8]);
    /// The peer's transport has ended (TCP FIN): reads past the buffered data see EOF.
    fn push_eof(&mut self);
    /// Moves all ciphertext the TLS layer produced into `out`.
    fn take_ciphertext(&mut self, out: &mut BytesMut);
    /// Callback output collected during the last calls (key log lines, ALPN, verify steps).
    fn poll_event(&mut self) -> Option<Event>;

    /// Advances the server handshake.
    fn handshake(&mut self) -> Result<HandshakeStatus, TlsError>;
    /// Reads plaintext, appending it to `buf` (also processes post-handshake messages such as
    /// KeyUpdate). Appending to a `BytesMut` lets the backend decrypt straight into memory the
    /// session then hands out as `Bytes`, with no zero-fill and no copy.
    fn read(&mut self, buf: &mut BytesMut) -> Result<ReadStatus, TlsError>;
    /// [`read`](Self::read) with `input`, ciphertext just received, as what follows the
    /// input pushed so far; `input` is left holding what was not consumed, which the caller
    /// pushes before the next read. A backend may decrypt straight from `input` and so skip
    /// copying it into its own buffer; by default it is pushed whole first.
    fn read_from(&mut self, input: &mut &[u8], buf: &mut BytesMut) -> Result<ReadStatus, TlsError> {
        if !input.is_empty() {
            self.push_ciphertext(input);
            *input = &[];
        }
        self.read(buf)
    }
    /// [`read`](Self::read) with `reader` as the source of the ciphertext that follows the
    /// input pushed so far. A backend may let the reader fill its own record buffer; by
    /// default one read goes through a buffer on the stack and is pushed.
    fn read_pulling(&mut self, reader: &mut dyn PeerReader, buf: &mut BytesMut) -> Result<ReadStatus, TlsError> {
        let mut tmp = [MaybeUninit::uninit(); PULL_SIZE];
        match reader.read(&mut tmp) {
            PeerRead::Data(data) => self.push_ciphertext(data),
            PeerRead::End => self.push_eof(),
            PeerRead::WouldBlock => {}
        }
        self.read(buf)
    }
    /// After a [`ReadStatus::Data`]: every byte of input was consumed and nothing is in
    /// progress, so another [`read`](Self::read) could only answer [`ReadStatus::WantInput`].
    /// Lets the session skip that call (it costs as much as a small record). `false` is
    /// always correct.
    fn input_drained(&self) -> bool {
        false
    }
    /// Lets the backend keep buffers from one record to the next while data moves, to be given
    /// back by [`release_idle_buffers`](Self::release_idle_buffers) (off until the session
    /// turns it on, see [`crate::SessionOptions::buffer_linger`]).
    fn allow_kept_buffers(&mut self, _allow: bool) {}
    /// The backend keeps buffers from one record to the next now (data moved since the last
    /// [`release_idle_buffers`](Self::release_idle_buffers)).
    fn keeps_buffers(&self) -> bool {
        false
    }
    /// The connection went quiet (idle for a while, its peer not reading, or its driver says
    /// so): frees what is kept only to make the next record cheaper (the record buffers,
    /// drained queues). Nothing held is lost.
    fn release_idle_buffers(&mut self) {}
    /// Encrypts all of `data`. While a handshake the peer must answer first is in progress (a
    /// TLS 1.2 renegotiation) a backend may hold the data back and send it, in order, once
    /// [`TlsBackend::read`] has seen the handshake finish.
    fn write(&mut self, data: &[u8]) -> Result<(), TlsError>;
    /// Sends close_notify (once; later calls do nothing).
    fn shutdown(&mut self);

    /// `SSL_key_update` + `SSL_do_handshake`; returns the latter's result.
    fn key_update(&mut self, request_peer_update: bool) -> Result<i32, TlsError>;
    /// `SSL_renegotiate` (optionally requesting a client certificate) + `SSL_do_handshake`.
    fn renegotiate(&mut self, request_cert: bool) -> Result<i32, TlsError>;
    /// A renegotiation we started has not finished yet.
    fn renegotiation_pending(&self) -> bool;
    /// `SSL_verify_client_post_handshake` + `SSL_do_handshake` (TLS 1.3).
    fn request_client_certificate(&mut self) -> Result<i32, TlsError>;

    /// What is known about the negotiated connection. With `detailed` false only the cheap
    /// fields are filled (version, cipher, ALPN, SNI, group, resumption, peer certificate subject
    /// and fingerprint); the printed blocks (session PEM and text, cipher, sigalg and group
    /// lists, certificate dump) are left empty.
    fn handshake_info(&self, detailed: bool) -> HandshakeInfo;
    /// The typed facts about the established connection (for embedding programs).
    fn connection_info(&self) -> ConnectionInfo;
    /// The ciphers this server enables: (minimum protocol version, OpenSSL name).
    fn supported_ciphers(&self) -> Vec<(String, String)>;
    /// Session-cache counters of the shared server context.
    fn cache_stats(&self) -> CacheStats;

    /// Advances the handshake while reading TLS 1.3 early data (`SSL_read_early_data`), appending
    /// it to `buf`. Called instead of [`TlsBackend::handshake`] until it reports
    /// [`EarlyRead::Finished`]; then the handshake goes on as usual. Backends without 0-RTT
    /// finish at once.
    fn read_early_data(&mut self, _buf: &mut BytesMut) -> Result<EarlyRead, TlsError> {
        Ok(EarlyRead::Finished(EarlyDataStatus::NotSent))
    }
}

/// Outcome of [`TlsBackend::read_early_data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyRead {
    /// This many bytes of early data were appended.
    Data(usize),
    /// More input from the peer is needed.
    WantInput,
    /// No more early data: what became of it.
    Finished(EarlyDataStatus),
}
