//! The runtime-independent core of the embeddable `TlsStream`s: a [`Session`](sserve_engine::Session)
//! over any poll-based byte stream. [`crate::tokio::TlsStream`] and [`crate::smol::TlsStream`]
//! only adapt their runtime's I/O traits to [`PollIo`].

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use sserve_engine::{CloseReason, Event, HandshakeInfo, Instant, ServerConfig, SessionOptions, TlsSession};

/// Size of one ciphertext read from the inner stream.
const READ_SIZE: usize = 16 * 1024;
/// Ciphertext queued before `poll_write` waits for the inner stream to take it.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// A poll-based byte stream (what tokio's and futures-io's traits have in common).
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

/// Session options for an embedded stream: plaintext in and out, no console commands, no
/// timers (the embedding application owns timeouts, e.g. with its runtime's `timeout`).
pub fn stream_options() -> Arc<SessionOptions> {
    Arc::new(SessionOptions {
        commands: false,
        handshake_timeout: None,
        detailed_info: false,
        ..SessionOptions::default()
    })
}

/// A server TLS session over an inner stream `S`.
pub struct StreamCore<S> {
    io: S,
    session: TlsSession,
    /// Ciphertext taken from the session, not yet fully written.
    out: VecDeque<Bytes>,
    /// Plaintext from the peer, not yet read by the application.
    plaintext: VecDeque<Bytes>,
    info: Option<Box<HandshakeInfo>>,
    closed: Option<CloseReason>,
}

impl<S> std::fmt::Debug for StreamCore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("info", &self.info)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

fn closed_error(reason: &CloseReason) -> io::Error {
    match reason {
        CloseReason::Error(e) => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
        _ => io::Error::new(io::ErrorKind::NotConnected, "TLS session closed"),
    }
}

impl<S> StreamCore<S> {
    /// The negotiated parameters, once the handshake is done.
    pub fn info(&self) -> Option<&HandshakeInfo> {
        self.info.as_deref()
    }

    /// The inner stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S: PollIo + Unpin> StreamCore<S> {
    /// Starts a server session on `io` (the handshake runs on the first polls).
    pub fn new(config: &ServerConfig, io: S) -> io::Result<Self> {
        let session = config
            .session(stream_options(), Instant::ZERO)
            .map_err(|e| io::Error::other(e.reason))?;
        Ok(StreamCore {
            io,
            session,
            out: VecDeque::new(),
            plaintext: VecDeque::new(),
            info: None,
            closed: None,
        })
    }

    fn collect(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            self.out.push_back(t.data);
        }
        while let Some(e) = self.session.poll_event() {
            match e {
                Event::HandshakeComplete(info) => self.info = Some(info),
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
        let n = ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
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
                Some(CloseReason::Error(_)) => {
                    return Poll::Ready(Err(closed_error(self.closed.as_ref().unwrap_or(&CloseReason::PeerEof))))
                }
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
