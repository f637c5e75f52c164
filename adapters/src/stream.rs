//! The runtime-independent core of the embeddable `TlsStream`s: a [`Session`] over any
//! poll-based byte stream, for any TLS backend ([`TlsBackend`]; OpenSSL by default).
//! [`crate::tokio::TlsStream`] and [`crate::smol::TlsStream`] only adapt their runtime's I/O
//! traits to [`PollIo`].
//!
//! Errors: every `io::Error` a stream returns for a TLS or session failure carries the typed
//! error as its inner error, [`TlsError`] (with its kind, the alert sent and OpenSSL's error
//! stack) or, for a timeout or limit, [`SessionError`]:
//! `e.get_ref().and_then(|i| i.downcast_ref::<TlsError>())`. A peer that closes the transport
//! without close_notify (a truncation) is `ErrorKind::UnexpectedEof`, as with tokio-rustls and
//! tokio-openssl; `ServerConfigBuilder::ignore_unexpected_eof` turns that into a clean end.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use sserve_engine::ossl::OpensslTls;
use sserve_engine::tls::TlsBackend;
use sserve_engine::{
    CloseReason, ConnectionInfo, Event, Instant, ServerConfig, Session, SessionError, SessionOptions, TlsError,
    TlsErrorKind,
};

/// Size of one ciphertext read from the inner stream.
const READ_SIZE: usize = 16 * 1024;
/// Ciphertext queued before `poll_write` waits for the inner stream to take it.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// A poll-based byte stream (what tokio's and futures-io's traits have in common).
#[doc(hidden)]
pub trait PollIo {
    /// Reads into `buf`; `Ok(0)` is EOF.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// Writes from `buf`.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Flushes.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Closes the write side.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// Session options for an embedded stream: [`SessionOptions::default`]. A stream runs no
/// timers (the embedding application owns timeouts, e.g. with its runtime's `timeout` around
/// `accept`, as with tokio-rustls), so it keeps its record buffers while data moves and gives
/// them back when a read of the peer finds nothing and nothing waits to be sent
/// ([`Session::release_buffers`]) instead of after [`SessionOptions::buffer_linger`]; with
/// `buffer_linger: None` they go back after every record. A stream whose peer stops reading
/// keeps them (as tokio-openssl's does): giving them back each time the inner stream is full
/// cost a fast download more than freeing them after every record.
pub fn stream_options() -> Arc<SessionOptions> {
    Arc::new(SessionOptions::default())
}

/// A server TLS session over an inner stream `S`.
#[doc(hidden)]
pub struct StreamCore<S, B: TlsBackend = OpensslTls> {
    io: S,
    session: Session<B>,
    /// Ciphertext taken from the session, not yet fully written.
    out: VecDeque<Bytes>,
    /// Plaintext from the peer, not yet read by the application.
    plaintext: VecDeque<Bytes>,
    info: Option<ConnectionInfo>,
    closed: Option<CloseReason>,
}

impl<S, B: TlsBackend> std::fmt::Debug for StreamCore<S, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("info", &self.info)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// The `io::Error` for a session that ended, with the typed error inside.
fn closed_error(reason: &CloseReason) -> io::Error {
    match reason {
        CloseReason::Error(SessionError::Tls(e)) => tls_error(e.clone()),
        CloseReason::Error(
            e @ (SessionError::HandshakeTimeout | SessionError::IdleTimeout | SessionError::SendStalled),
        ) => io::Error::new(io::ErrorKind::TimedOut, e.clone()),
        CloseReason::Error(e) => io::Error::new(io::ErrorKind::InvalidData, e.clone()),
        CloseReason::PeerEof => tls_error(TlsError::new(
            TlsErrorKind::UnexpectedEof,
            "the peer closed the connection without close_notify",
        )),
        _ => io::Error::new(io::ErrorKind::NotConnected, "the TLS session is closed"),
    }
}

/// A TLS failure as an `io::Error` of the matching kind.
pub(crate) fn tls_error(e: TlsError) -> io::Error {
    let kind = match e.kind {
        TlsErrorKind::UnexpectedEof => io::ErrorKind::UnexpectedEof,
        TlsErrorKind::Protocol | TlsErrorKind::Verify => io::ErrorKind::InvalidData,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

impl<S, B: TlsBackend> StreamCore<S, B> {
    /// The negotiated parameters, once the handshake is done.
    pub fn info(&self) -> Option<&ConnectionInfo> {
        self.info.as_ref()
    }

    /// The inner stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The inner stream, mutably (reading or writing it directly would corrupt the TLS stream).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The TLS session.
    pub fn session(&self) -> &Session<B> {
        &self.session
    }

    /// The inner stream and the session (with whatever either still holds).
    pub fn into_inner(self) -> (S, Session<B>) {
        (self.io, self.session)
    }
}

impl<S: PollIo + Unpin> StreamCore<S> {
    /// Starts a server session on `io` with `opts` (the handshake runs on the first polls).
    pub fn new(config: &ServerConfig, opts: Arc<SessionOptions>, io: S) -> io::Result<Self> {
        let session = config.session(opts, Instant::ZERO).map_err(tls_error)?;
        Ok(StreamCore::from_session(session, io))
    }
}

impl<S: PollIo + Unpin, B: TlsBackend> StreamCore<S, B> {
    /// A stream over `io` driving `session`, a new server session of any backend.
    pub fn from_session(session: Session<B>, io: S) -> Self {
        StreamCore {
            io,
            session,
            out: VecDeque::new(),
            plaintext: VecDeque::new(),
            info: None,
            closed: None,
        }
    }

    fn collect(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            self.out.push_back(t.data);
            if self.session.flight_waiting() {
                break;
            }
        }
        while let Some(e) = self.session.poll_event() {
            match e {
                Event::HandshakeComplete(_) => self.info = self.session.connection_info(),
                Event::Plaintext(p) => self.plaintext.push_back(p),
                Event::Closed(r) => self.closed = Some(r),
                _ => {}
            }
        }
    }

    fn queued(&self) -> usize {
        self.out.iter().map(Bytes::len).sum()
    }

    /// Writes queued ciphertext until done or the inner stream is not ready.
    fn poll_transmit(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = self.out.front_mut() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, front))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            front.advance(n);
            if front.is_empty() {
                self.out.pop_front();
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads one piece of ciphertext into the session.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut buf = [0u8; READ_SIZE];
        let Poll::Ready(read) = Pin::new(&mut self.io).poll_read(cx, &mut buf) else {
            // The peer is quiet and, with nothing queued, so are we: what only speeds up the
            // next record goes back until it comes.
            if self.out.is_empty() {
                self.session.release_buffers();
            }
            return Poll::Pending;
        };
        let n = read?;
        if n == 0 {
            self.session.handle_eof(Instant::ZERO);
        } else {
            self.session.handle_input(Instant::ZERO, &buf[..n]);
        }
        self.collect();
        Poll::Ready(Ok(()))
    }

    /// Drives the handshake to completion.
    pub fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            self.collect();
            ready!(self.poll_transmit(cx))?;
            if self.session.flight_waiting() {
                // The flight is out: the handshake goes on at the next `collect`.
                continue;
            }
            if self.info.is_some() {
                return Poll::Ready(Ok(()));
            }
            if let Some(r) = &self.closed {
                return Poll::Ready(Err(closed_error(r)));
            }
            ready!(self.poll_receive(cx))?;
        }
    }

    /// Reads plaintext into `buf`; `Ok(0)` once the peer has closed.
    pub fn poll_read_plain(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            if let Some(front) = self.plaintext.front_mut() {
                let n = buf.len().min(front.len());
                buf[..n].copy_from_slice(&front[..n]);
                front.advance(n);
                if front.is_empty() {
                    self.plaintext.pop_front();
                }
                return Poll::Ready(Ok(n));
            }
            match &self.closed {
                Some(r @ (CloseReason::Error(_) | CloseReason::PeerEof)) => return Poll::Ready(Err(closed_error(r))),
                Some(_) => return Poll::Ready(Ok(0)),
                None => {}
            }
            // Post-handshake messages (KeyUpdate replies, tickets) must go out too.
            if let Poll::Ready(Err(e)) = self.poll_transmit(cx) {
                return Poll::Ready(Err(e));
            }
            ready!(self.poll_receive(cx))?;
        }
    }

    /// Encrypts `data` and queues it, writing as much as the inner stream takes.
    pub fn poll_write_plain(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.queued() >= WRITE_HIGH_WATER {
            ready!(self.poll_transmit(cx))?;
        }
        if let Some(r) = &self.closed {
            return Poll::Ready(Err(closed_error(r)));
        }
        self.session.send(data);
        self.collect();
        if let Poll::Ready(Err(e)) = self.poll_transmit(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(data.len()))
    }

    /// Writes everything queued and flushes the inner stream.
    pub fn poll_flush_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_transmit(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Sends close_notify, flushes, and closes the inner stream's write side.
    pub fn poll_close_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.session.close();
        self.collect();
        ready!(self.poll_flush_all(cx))?;
        Pin::new(&mut self.io).poll_close(cx)
    }
}

/// The embeddable stream type and its `accept` functions for one runtime: `$io` is that
/// runtime's [`PollIo`] wrapper (a one-field tuple struct over its streams), `$bound` the
/// runtime's `AsyncRead + AsyncWrite` traits. Written once here, expanded in [`crate::tokio`]
/// and [`crate::smol`]; only the read and write trait impls differ between runtimes.
macro_rules! tls_stream {
    ($io:ident, $($bound:tt)+) => {
        /// A server-side TLS stream over the runtime's `AsyncRead + AsyncWrite`, built on the
        /// engine's [`Session`](sserve_engine::Session). Create it with [`accept`].
        #[derive(Debug)]
        pub struct TlsStream<S, B: sserve_engine::tls::TlsBackend = sserve_engine::ossl::OpensslTls> {
            core: crate::stream::StreamCore<$io<S>, B>,
            info: sserve_engine::ConnectionInfo,
        }

        impl<S, B: sserve_engine::tls::TlsBackend> TlsStream<S, B> {
            /// The negotiated parameters: protocol version, cipher suite, ALPN, SNI, resumption,
            /// the peer's certificates.
            pub fn info(&self) -> &sserve_engine::ConnectionInfo {
                &self.info
            }

            /// The inner stream.
            pub fn get_ref(&self) -> &S {
                &self.core.get_ref().0
            }

            /// The inner stream, mutably (reading or writing it directly corrupts the TLS stream).
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.core.get_mut().0
            }

            /// The TLS session: its state and backend (e.g. whether it keeps record buffers).
            pub fn session(&self) -> &sserve_engine::Session<B> {
                self.core.session()
            }

            /// The inner stream and the TLS session, for a program that takes the connection over.
            pub fn into_inner(self) -> (S, sserve_engine::Session<B>) {
                let (io, session) = self.core.into_inner();
                (io.0, session)
            }
        }

        /// Completes a server handshake on `io` with `config` and
        /// [`SessionOptions::default`](sserve_engine::SessionOptions::default). Errors carry the
        /// typed [`sserve_engine::TlsError`] inside (see [`crate::stream`]). Bound the time it
        /// may take with the runtime's timeout: the stream runs no timers of its own.
        pub async fn accept<S: $($bound)+ + Unpin>(
            config: &sserve_engine::ServerConfig,
            io: S,
        ) -> std::io::Result<TlsStream<S>> {
            accept_with(config, crate::stream::stream_options(), io).await
        }

        /// [`accept`] with session options of your own. The stream runs no timers: it never
        /// calls `Session::handle_timeout`, and gives kept record buffers back when a read
        /// finds nothing to read and nothing to send (see [`crate::stream::stream_options`]).
        pub async fn accept_with<S: $($bound)+ + Unpin>(
            config: &sserve_engine::ServerConfig,
            opts: std::sync::Arc<sserve_engine::SessionOptions>,
            io: S,
        ) -> std::io::Result<TlsStream<S>> {
            handshake(crate::stream::StreamCore::new(config, opts, $io(io))?).await
        }

        /// Completes the handshake of `session` (a new server session of any
        /// [`TlsBackend`](sserve_engine::tls::TlsBackend)) on `io`.
        pub async fn accept_session<S: $($bound)+ + Unpin, B: sserve_engine::tls::TlsBackend>(
            session: sserve_engine::Session<B>,
            io: S,
        ) -> std::io::Result<TlsStream<S, B>> {
            handshake(crate::stream::StreamCore::from_session(session, $io(io))).await
        }

        async fn handshake<S: $($bound)+ + Unpin, B: sserve_engine::tls::TlsBackend>(
            mut core: crate::stream::StreamCore<$io<S>, B>,
        ) -> std::io::Result<TlsStream<S, B>> {
            std::future::poll_fn(|cx| core.poll_handshake(cx)).await?;
            let info = core.info().cloned().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotConnected, "the TLS session is closed")
            })?;
            Ok(TlsStream { core, info })
        }
    };
}
pub(crate) use tls_stream;
