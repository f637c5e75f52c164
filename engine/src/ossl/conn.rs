//! The OpenSSL backend shared by TLS and DTLS: [`SslConn`], one server `SSL` over an in-memory
//! [`Transport`], implementing [`TlsBackend`]. A transport says only how ciphertext goes in and
//! out (a byte stream for TLS, [`MemIo`]; datagrams for DTLS, `dtls::DatagramPipe`); the SSL
//! driving, the console commands and the renegotiation bookkeeping are written once here.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::BytesMut;
use core::mem::MaybeUninit;
use foreign_types::ForeignTypeRef;
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslRef, SslVersion};
use std::sync::OnceLock;

use super::bio::{BioMethod, SslIo, SslIoError};
use super::callbacks::{events_index, ConnEvents};
use super::errors::{config_error, from_ssl_error, take_queue};
use super::ffi;
use super::info;
use super::memio::{reserve_for_read, FlushPause, MemIo, KEEP_CAPACITY};
use crate::error::{TlsError, TlsErrorKind};
use crate::event::{CacheStats, Event, HandshakeInfo};
use crate::tls::{HandshakeStatus, PeerRead, PeerReader, ReadStatus, TlsBackend, PULL_SIZE};

/// The in-memory transport under an [`SslConn`]: OpenSSL's read and write BIO.
pub trait Transport: Sized {
    /// Copies received ciphertext into `buf` (for DTLS exactly one datagram, truncated as
    /// `recvfrom` would): `None` while nothing is waiting, `Some(0)` once the input is over.
    fn read_ciphertext(&mut self, buf: &mut [MaybeUninit<u8>]) -> Option<usize>;
    /// Keeps ciphertext OpenSSL wrote (for DTLS, one datagram per call).
    fn write_ciphertext(&mut self, data: &[u8]);
    /// Every received byte was read and the peer's transport has ended (`BIO_eof`).
    fn input_ended(&self) -> bool;
    /// The process-wide BIO method that moves bytes through this transport type.
    fn bio_method() -> &'static BioMethod;
    /// Queues ciphertext (a datagram, for DTLS) received from the peer.
    fn push(&mut self, data: &[u8]);
    /// The peer's transport has ended.
    fn push_eof(&mut self);
    /// Moves the ciphertext OpenSSL produced into `out` (a datagram transport keeps its
    /// datagrams for its own `pop`).
    fn take(&mut self, out: &mut BytesMut);
    /// Ciphertext bytes waiting for OpenSSL's next read (a record bounds its plaintext).
    fn queued(&self) -> usize;
    /// `SSL_read_ex` into `buf` after queueing `input`, which is left holding what was not
    /// consumed. A byte stream may let OpenSSL read `input` in place instead of copying it.
    fn read_from(io: &mut SslIo<Self>, input: &mut &[u8], buf: &mut [MaybeUninit<u8>]) -> Result<usize, SslIoError> {
        if !input.is_empty() {
            io.get_mut().push(input);
            *input = &[];
        }
        io.read_uninit(buf)
    }
    /// `SSL_read_ex` into `buf` with `reader` as the source of what follows the queue. A byte
    /// stream may let the reader fill OpenSSL's record buffer; by default one read goes through
    /// a buffer on the stack and is queued.
    fn read_pulled(
        io: &mut SslIo<Self>,
        reader: &mut dyn PeerReader,
        buf: &mut [MaybeUninit<u8>],
    ) -> Result<usize, SslIoError> {
        let mut tmp = [MaybeUninit::uninit(); PULL_SIZE];
        match reader.read(&mut tmp) {
            PeerRead::Data(data) => io.get_mut().push(data),
            PeerRead::End => io.get_mut().push_eof(),
            PeerRead::WouldBlock => {}
        }
        io.read_uninit(buf)
    }
    /// Largest plaintext one `SSL_write` may take (DTLS: what fits one datagram).
    fn write_limit(ssl: &SslRef) -> usize;
    /// Once application data moves, OpenSSL keeps its record buffers from one record to the
    /// next and [`TlsBackend::release_idle_buffers`] gives them back; otherwise
    /// (`SSL_MODE_RELEASE_BUFFERS`) it frees them after every record, as in the handshake.
    const KEEPS_RECORD_BUFFERS: bool = false;
    /// Frees the buffers that hold nothing (the connection is idle).
    fn release_drained(&mut self) {}
    /// The ciphertext not yet read by OpenSSL and whether the peer's transport ended (for
    /// `-stateless`, which must see whole records); a transport may keep it to itself.
    fn buffered_input(&self) -> (&[u8], bool) {
        (&[], false)
    }
    /// Arms (or disarms) a pause at OpenSSL's next flush of written bytes; returns whether the
    /// pause armed before was taken. A transport that cannot pause ignores it.
    fn pause_at_flush(&mut self, _armed: bool) -> bool {
        false
    }
    /// `BIO_flush`: false to pause there (the written bytes stay), as a socket that would
    /// block does; OpenSSL then returns early and goes on at its next call (see
    /// `SslConn::handshake` for the error it reports).
    fn flush(&mut self) -> bool {
        true
    }
}

/// The one method table of transport type `T`, created on first use (an allocation failure
/// there leaves nothing sensible to do but abort).
pub(crate) fn method_of<T: Transport>(cell: &'static OnceLock<BioMethod>) -> &'static BioMethod {
    cell.get_or_init(|| BioMethod::new::<T>().expect("BIO_meth_new failed"))
}

impl Transport for MemIo {
    const KEEPS_RECORD_BUFFERS: bool = true;

    fn release_drained(&mut self) {
        self.release_drained_above(0);
    }

    fn read_ciphertext(&mut self, buf: &mut [MaybeUninit<u8>]) -> Option<usize> {
        self.read_into(buf)
    }

    fn write_ciphertext(&mut self, data: &[u8]) {
        self.outgoing.extend_from_slice(data);
    }

    fn input_ended(&self) -> bool {
        self.eof && self.queued() == 0
    }

    fn bio_method() -> &'static BioMethod {
        static METHOD: OnceLock<BioMethod> = OnceLock::new();
        method_of::<Self>(&METHOD)
    }

    fn push(&mut self, data: &[u8]) {
        self.incoming.extend_from_slice(data);
    }

    fn push_eof(&mut self) {
        self.eof = true;
    }

    fn take(&mut self, out: &mut BytesMut) {
        self.release_drained_above(KEEP_CAPACITY);
        if !self.outgoing.is_empty() {
            if out.is_empty() {
                core::mem::swap(out, &mut self.outgoing);
            } else {
                out.extend_from_slice(&self.outgoing);
                self.outgoing.clear();
            }
        }
    }

    fn queued(&self) -> usize {
        MemIo::queued(self)
    }

    fn pause_at_flush(&mut self, armed: bool) -> bool {
        let taken = self.flush_pause == FlushPause::Taken;
        self.flush_pause = if armed { FlushPause::Armed } else { FlushPause::Off };
        taken
    }

    fn flush(&mut self) -> bool {
        if self.flush_pause == FlushPause::Armed && !self.outgoing.is_empty() {
            self.flush_pause = FlushPause::Taken;
            false
        } else {
            true
        }
    }

    fn read_from(io: &mut SslIo<Self>, input: &mut &[u8], buf: &mut [MaybeUninit<u8>]) -> Result<usize, SslIoError> {
        MemIo::read_lent(io, input, buf)
    }

    fn read_pulled(
        io: &mut SslIo<Self>,
        reader: &mut dyn PeerReader,
        buf: &mut [MaybeUninit<u8>],
    ) -> Result<usize, SslIoError> {
        MemIo::read_pulled(io, reader, buf)
    }

    fn write_limit(_ssl: &SslRef) -> usize {
        usize::MAX
    }

    fn buffered_input(&self) -> (&[u8], bool) {
        (&self.incoming, self.eof)
    }
}

/// A server-side TLS connection over memory buffers.
pub type OpensslTls = SslConn<MemIo>;

/// A server-side `SSL` over an in-memory transport.
pub struct SslConn<T> {
    pub(crate) stream: SslIo<T>,
    /// What the `SSL`'s callbacks reported (also in its ex_data, where they find it).
    events: Arc<ConnEvents>,
    pending_events: Vec<Event>,
    shutdown_sent: bool,
    /// Plaintext accepted by [`TlsBackend::write`] while `SSL_write` wanted to read first (a
    /// TLS 1.2 renegotiation waiting for the peer's messages). Written, in order, once the
    /// handshake finished; s_server retries such writes too ("Write BLOCK").
    blocked_write: Vec<u8>,
    /// Our Finished message when we asked for a renegotiation: until a new handshake replaces
    /// it, the renegotiation is still outstanding (`SSL_renegotiate_pending` turns false as soon
    /// as the HelloRequest is written, long before the client answers).
    reneg_mark: Option<Vec<u8>>,
    /// `-stateless`: the cookie exchange (`SSL_stateless`) has yet to accept a ClientHello.
    stateless_pending: bool,
    /// The last read filled its buffer, so OpenSSL may hold the rest of the record decrypted.
    /// Otherwise that read took the record's end and `SSL_pending` need not be asked.
    read_filled: bool,
    /// OpenSSL keeps its record buffers between records (see `keep_record_buffers`).
    keeping_buffers: bool,
    /// The session allows it (and the transport is a byte stream).
    may_keep_buffers: bool,
    /// The handshake may still pause once its server flight is written (see `handshake`).
    pause_after_flight: bool,
}

impl<T> core::fmt::Debug for SslConn<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SslConn")
            .field("shutdown_sent", &self.shutdown_sent)
            .finish_non_exhaustive()
    }
}

impl SslConn<MemIo> {
    /// A new server TLS connection on `ctx`.
    pub fn new(ctx: &SslContext) -> Result<Self, TlsError> {
        let mut ssl = Ssl::new(ctx).map_err(|e| config_error("SSL_new", &e))?;
        ssl.set_ex_data(events_index(), Arc::default());
        ssl.set_accept_state();
        let stream = SslIo::new(ssl, MemIo::default()).map_err(|e| config_error("SSL BIO", &e))?;
        super::output::attach(stream.ssl());
        Ok(SslConn::from_stream(stream))
    }
}

impl<T> SslConn<T> {
    /// Wraps a stream whose `SSL` carries the [`ConnEvents`] ex_data and is in accept state.
    pub(crate) fn from_stream(stream: SslIo<T>) -> Self {
        SslConn {
            // Every `SSL` gets its events slot when created; a missing one would only mean no
            // callback reports.
            events: stream.ssl().ex_data(events_index()).cloned().unwrap_or_default(),
            stateless_pending: super::ocsp::stateless_enabled(stream.ssl()),
            stream,
            pending_events: Vec::new(),
            shutdown_sent: false,
            blocked_write: Vec::new(),
            reneg_mark: None,
            read_filled: true,
            keeping_buffers: false,
            may_keep_buffers: false,
            pause_after_flight: true,
        }
    }

    /// The OpenSSL connection, for details the events do not carry.
    pub fn ssl(&self) -> &SslRef {
        self.stream.ssl()
    }

    fn raw(&self) -> *mut openssl_sys::SSL {
        self.stream.ssl().as_ptr()
    }

    /// OpenSSL holds received bytes not yet returned: a record read ahead or decrypted
    /// plaintext.
    fn holds_unread(&self) -> bool {
        // SAFETY: live SSL, read-only query.
        unsafe { ffi::SSL_has_pending(self.raw()) != 0 }
    }

    /// Sets or clears `SSL_MODE_RELEASE_BUFFERS`: OpenSSL frees its record buffers after every
    /// record, or keeps them.
    fn release_buffers_per_record(&self, on: bool) {
        let mode = openssl_sys::SSL_MODE_RELEASE_BUFFERS;
        // SAFETY: live SSL; both controls only change its mode flags. OpenSSL 3.2+ hands the
        // mode to its read record layer only on SSL_CTRL_MODE, so that call always comes last
        // (setting no flag when clearing).
        unsafe {
            if !on {
                ffi::SSL_ctrl(self.raw(), ffi::SSL_CTRL_CLEAR_MODE, mode, ffi::NO_ARG);
            }
            ffi::SSL_ctrl(
                self.raw(),
                openssl_sys::SSL_CTRL_MODE,
                if on { mode } else { 0 },
                ffi::NO_ARG,
            );
        }
    }

    /// OpenSSL is in the middle of a record (its header read, the body not yet whole).
    fn mid_record(&self) -> bool {
        // SAFETY: live SSL; the call returns a static string ("RB": reading a record body).
        let state = unsafe { core::ffi::CStr::from_ptr(ffi::SSL_rstate_string(self.raw())) };
        state.to_bytes() == b"RB"
    }

    /// Our latest Finished message (it changes with every completed handshake).
    fn finished(&self) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = self.stream.ssl().finished(&mut buf).min(buf.len());
        buf[..n].to_vec()
    }

    /// `SSL_set_verify` keeping the context's verify callback (a NULL callback leaves it), as
    /// s_server does for `R`, `c` and `GET /renegcert`.
    fn set_verify(&mut self, mode: core::ffi::c_int) {
        // SAFETY: live SSL; a NULL callback keeps the existing one.
        unsafe { openssl_sys::SSL_set_verify(self.raw(), mode, None) };
    }

    /// `SSL_do_handshake` after a command scheduled a handshake message; returns its result
    /// like s_server prints it. A non-fatal "want read" clears the error queue.
    fn kick_handshake(&mut self) -> i32 {
        // SAFETY: `raw()` is the live SSL owned by `self.stream`; its BIO is our transport.
        let r = unsafe { openssl_sys::SSL_do_handshake(self.raw()) };
        if r <= 0 {
            // SAFETY: as above.
            let code = unsafe { openssl_sys::SSL_get_error(self.raw(), r) };
            if code == openssl_sys::SSL_ERROR_WANT_READ {
                openssl::error::ErrorStack::get();
            }
        }
        r
    }
}

impl<T: Transport> SslConn<T> {
    /// Application data moves: OpenSSL stops freeing its 16 KiB+ read and write buffers after
    /// every record (a `malloc` and `free` of each per record, ~5 % of sealing or opening
    /// 1 KiB), until [`TlsBackend::release_idle_buffers`]. A connection that only finished its
    /// handshake and waits keeps none.
    fn keep_record_buffers(&mut self) {
        if self.keeping_buffers || !self.may_keep_buffers {
            return;
        }
        self.keeping_buffers = true;
        self.release_buffers_per_record(false);
    }

    /// Writes `data`; what `SSL_write` cannot take before the handshake has read more input is
    /// kept in `blocked_write`.
    fn write_now(&mut self, data: &[u8]) -> Result<(), TlsError> {
        self.keep_record_buffers();
        let limit = T::write_limit(self.stream.ssl()).max(1);
        let mut rest = data;
        while !rest.is_empty() {
            match self.stream.write(&rest[..rest.len().min(limit)]) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.code == ErrorCode::WANT_READ => {
                    self.blocked_write.extend_from_slice(rest);
                    return Ok(());
                }
                Err(e) => return Err(self.with_alerts(from_ssl_error(e))),
            }
        }
        Ok(())
    }

    /// Retries the blocked plaintext once no handshake is in progress.
    fn flush_blocked_write(&mut self) -> Result<(), TlsError> {
        if self.blocked_write.is_empty() || !self.stream.ssl().is_init_finished() {
            return Ok(());
        }
        let data = core::mem::take(&mut self.blocked_write);
        self.write_now(&data)
    }
}

impl<T: Transport> SslConn<T> {
    /// `err` with the alerts this connection sent and received so far.
    fn with_alerts(&self, mut err: TlsError) -> TlsError {
        (err.alert_sent, err.alert_received) = self.events.alerts();
        err
    }

    /// One plaintext read through `read` (an `SSL_read_ex` with the caller's input), into
    /// `buf` sized for what OpenSSL holds or `coming` bytes of ciphertext bring.
    fn read_with(
        &mut self,
        coming: usize,
        buf: &mut BytesMut,
        read: impl FnOnce(&mut SslIo<T>, &mut [MaybeUninit<u8>]) -> Result<usize, SslIoError>,
    ) -> Result<ReadStatus, TlsError> {
        let pending = if self.read_filled {
            self.stream.ssl().pending()
        } else {
            0
        };
        let mut queued = self.stream.get_ref().queued().saturating_add(coming);
        if pending == 0 && queued == 0 && self.holds_unread() {
            // Read-ahead moved the next record inside OpenSSL, where its size is not known.
            queued = usize::MAX;
        }
        // Decrypt straight into the buffer's spare capacity: no zero-fill, no copy.
        let spare = reserve_for_read(pending, queued, buf);
        let room = spare.len();
        match read(&mut self.stream, spare) {
            Ok(n) => {
                self.read_filled = n == room;
                self.keep_record_buffers();
                // SAFETY: `read_uninit` initialised the first `n` bytes of the spare capacity,
                // and `n` is at most that capacity.
                unsafe { buf.set_len(buf.len() + n) };
                Ok(ReadStatus::Data(n))
            }
            Err(e) => match e.code {
                // Reading may have finished a renegotiation that blocked a write.
                ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => {
                    openssl::error::ErrorStack::get();
                    self.flush_blocked_write().map(|()| ReadStatus::WantInput)
                }
                ErrorCode::ZERO_RETURN => Ok(ReadStatus::Closed),
                _ => {
                    let err = from_ssl_error(e);
                    if err.kind == TlsErrorKind::UnexpectedEof
                        && super::eof::ignored(self.stream.ssl(), self.stream.get_ref().input_ended())
                    {
                        // What SSL_OP_IGNORE_UNEXPECTED_EOF does in 3.x: the end counts as the
                        // peer's close_notify, so our shutdown sends ours and expects no more.
                        // SAFETY: live SSL; the call only sets its shutdown flags.
                        unsafe { openssl_sys::SSL_set_shutdown(self.raw(), openssl_sys::SSL_RECEIVED_SHUTDOWN) };
                        return Ok(ReadStatus::Closed);
                    }
                    Err(self.with_alerts(err))
                }
            },
        }
    }
}

impl<T: Transport> TlsBackend for SslConn<T> {
    fn push_ciphertext(&mut self, data: &[u8]) {
        self.stream.get_mut().push(data);
    }

    fn push_eof(&mut self) {
        self.stream.get_mut().push_eof();
    }

    fn take_ciphertext(&mut self, out: &mut BytesMut) {
        self.stream.get_mut().take(out);
    }

    fn poll_event(&mut self) -> Option<Event> {
        if self.pending_events.is_empty() {
            self.pending_events = self.events.take();
            self.pending_events.reverse();
        }
        self.pending_events.pop()
    }

    fn handshake(&mut self) -> Result<HandshakeStatus, TlsError> {
        if self.stateless_pending {
            match super::ocsp::stateless_step(&mut self.stream)? {
                Some(status) => return Ok(status),
                None => self.stateless_pending = false,
            }
        }
        // A blocking server sends its TLS 1.3 flight (up to its Finished) the moment OpenSSL
        // flushes it, then derives the application keys while the peer reads it. Here the
        // flight would wait in the transport for that work to finish, so the first flush of the
        // handshake pauses it: OpenSSL returns to be called again once the flight is out.
        self.stream.get_mut().pause_at_flush(self.pause_after_flight);
        let result = self.stream.do_handshake();
        let paused = self.stream.get_mut().pause_at_flush(false);
        match result {
            // OpenSSL's buffering BIO does not pass a failed flush's "retry" up (3.0), so the
            // pause may come back as a system error without one: the flush was ours either way.
            Err(e)
                if paused && (e.code == ErrorCode::WANT_WRITE || e.code == ErrorCode::SYSCALL && e.stack.is_none()) =>
            {
                self.pause_after_flight = false;
                // Elsewhere (TLS 1.2's flights, a HelloRetryRequest) nothing costly follows the
                // flush: go on at once.
                if self.ssl().version2() == Some(SslVersion::TLS1_3) && self.ssl().state_string() == "TWFIN" {
                    Ok(HandshakeStatus::FlightWritten)
                } else {
                    self.handshake()
                }
            }
            Ok(()) => {
                // From now on OpenSSL may read past the record it needs: one transport read per
                // buffer of input instead of a header and a body per record. Not before, since
                // `-stateless` inspects the ciphertext OpenSSL has not read yet.
                // SAFETY: live SSL; the call only sets a flag read by OpenSSL's next record read.
                unsafe { ffi::SSL_set_read_ahead(self.raw(), 1) };
                Ok(HandshakeStatus::Done)
            }
            Err(e) if e.code == ErrorCode::WANT_READ => {
                // DTLS drops malformed or out-of-order datagrams and may leave notes behind.
                openssl::error::ErrorStack::get();
                Ok(HandshakeStatus::WantInput)
            }
            Err(e) => {
                let mut err = self.with_alerts(from_ssl_error(e));
                let v = self.stream.ssl().verify_result();
                if v.as_raw() != 0 {
                    err.kind = TlsErrorKind::Verify;
                    err.verify_error = Some(String::from(v.error_string()));
                }
                Err(err)
            }
        }
    }

    fn read(&mut self, buf: &mut BytesMut) -> Result<ReadStatus, TlsError> {
        self.read_from(&mut &[][..], buf)
    }

    fn read_from(&mut self, input: &mut &[u8], buf: &mut BytesMut) -> Result<ReadStatus, TlsError> {
        let coming = input.len();
        self.read_with(coming, buf, |stream, spare| T::read_from(stream, input, spare))
    }

    fn read_pulling(&mut self, reader: &mut dyn PeerReader, buf: &mut BytesMut) -> Result<ReadStatus, TlsError> {
        // What the reader brings is not known before it reads: room for a whole record.
        self.read_with(usize::MAX, buf, |stream, spare| T::read_pulled(stream, reader, spare))
    }

    fn input_drained(&self) -> bool {
        // A handshake in progress (renegotiation) or a blocked write still needs the next
        // `SSL_read`; so does ciphertext OpenSSL holds (read-ahead) or has yet to see. A
        // renegotiation the peer began keeps OpenSSL in its handshake; only one we asked for
        // can be outstanding while it is not.
        self.stream.get_ref().queued() == 0
            && self.blocked_write.is_empty()
            && self.stream.ssl().is_init_finished()
            && (self.reneg_mark.is_none() || !self.renegotiation_pending())
            && !self.holds_unread()
    }

    fn allow_kept_buffers(&mut self, allow: bool) {
        self.may_keep_buffers = allow && T::KEEPS_RECORD_BUFFERS;
    }

    fn keeps_buffers(&self) -> bool {
        self.keeping_buffers
    }

    fn release_idle_buffers(&mut self) {
        if !self.keeping_buffers {
            return;
        }
        self.keeping_buffers = false;
        // Before 3.0.14 (and in 1.1.1) `SSL_free_buffers` also freed a buffer holding a record
        // header whose body had not come yet, which the next read then used (CVE-2024-4741).
        if !self.mid_record() && !self.holds_unread() {
            // SAFETY: live SSL; it refuses (returns 0, frees nothing) while a buffer holds
            // bytes, and sets them up again at the next read or write.
            unsafe { ffi::SSL_free_buffers(self.raw()) };
        }
        // Back to freeing them after each record (a part-read one included) until data moves.
        self.release_buffers_per_record(true);
        self.stream.get_mut().release_drained();
    }

    fn write(&mut self, data: &[u8]) -> Result<(), TlsError> {
        if self.blocked_write.is_empty() {
            self.write_now(data)
        } else {
            // Keep the order: behind what is already waiting.
            self.blocked_write.extend_from_slice(data);
            self.flush_blocked_write()
        }
    }

    fn shutdown(&mut self) {
        if !self.shutdown_sent {
            self.shutdown_sent = true;
            // A failure only means close_notify could not be sent (e.g. after a fatal alert).
            if self.stream.shutdown().is_err() {
                openssl::error::ErrorStack::get();
            }
        }
    }

    fn key_update(&mut self, request_peer_update: bool) -> Result<i32, TlsError> {
        let kind = if request_peer_update {
            ffi::SSL_KEY_UPDATE_REQUESTED
        } else {
            ffi::SSL_KEY_UPDATE_NOT_REQUESTED
        };
        // SAFETY: live SSL; SSL_key_update only schedules a message (and fails cleanly before
        // TLS 1.3 or on DTLS, leaving the reason in the error queue).
        if unsafe { ffi::SSL_key_update(self.raw(), kind) } != 1 {
            return Err(take_queue(TlsErrorKind::InvalidState, "SSL_key_update"));
        }
        Ok(self.kick_handshake())
    }

    fn renegotiate(&mut self, request_cert: bool) -> Result<i32, TlsError> {
        if request_cert {
            self.set_verify(openssl_sys::SSL_VERIFY_PEER | openssl_sys::SSL_VERIFY_CLIENT_ONCE);
        }
        // SAFETY: live SSL; SSL_renegotiate only schedules a HelloRequest.
        if unsafe { ffi::SSL_renegotiate(self.raw()) } != 1 {
            return Err(take_queue(TlsErrorKind::InvalidState, "SSL_renegotiate"));
        }
        self.reneg_mark = Some(self.finished());
        Ok(self.kick_handshake())
    }

    fn renegotiation_pending(&self) -> bool {
        // SAFETY: live SSL, read-only query.
        let scheduled = unsafe { ffi::SSL_renegotiate_pending(self.raw()) == 1 };
        scheduled || self.reneg_mark.as_ref().is_some_and(|mark| *mark == self.finished())
    }

    fn request_client_certificate(&mut self) -> Result<i32, TlsError> {
        self.set_verify(openssl_sys::SSL_VERIFY_PEER);
        // SAFETY: live SSL; schedules a CertificateRequest (fails unless TLS 1.3 with PHA).
        if unsafe { ffi::SSL_verify_client_post_handshake(self.raw()) } != 1 {
            return Err(take_queue(TlsErrorKind::InvalidState, "Failed to initiate request"));
        }
        Ok(self.kick_handshake())
    }

    fn handshake_info(&self, detailed: bool) -> HandshakeInfo {
        info::handshake_info(self.stream.ssl(), detailed)
    }

    fn connection_info(&self) -> crate::ConnectionInfo {
        info::connection_info(self.stream.ssl())
    }

    fn supported_ciphers(&self) -> Vec<(String, String)> {
        info::supported_ciphers(self.stream.ssl())
    }

    fn cache_stats(&self) -> CacheStats {
        info::cache_stats(self.stream.ssl().ssl_context())
    }

    fn read_early_data(&mut self, buf: &mut BytesMut) -> Result<crate::tls::EarlyRead, TlsError> {
        // `SSL_read_early_data` writes the flight itself, unpaused: no later flush is one.
        self.pause_after_flight = false;
        super::psk::read_early_data(&mut self.stream, buf)
    }
}
