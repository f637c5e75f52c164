//! DTLS, sans-I/O: a [`DtlsSession`] per peer (one datagram in per
//! [`DtlsSession::handle_datagram`], one datagram out per [`DtlsSession::poll_transmit`]) and a
//! [`DatagramListener`] that demultiplexes datagrams by peer address, answers every cookieless
//! ClientHello with a stateless HelloVerifyRequest and keeps per-peer state only for peers that
//! returned a valid cookie.
//!
//! Such state is bounded twice: an association whose handshake waits for the peer holds no
//! record buffers ([`DatagramTls::release_buffers`]), and at most
//! [`ListenerLimits::max_half_open`] of them exist, the oldest evicted first (with an
//! [`Event::Closed`] of [`SessionError::HalfOpenEvicted`]); established ones are never evicted.
//!
//! ```text
//!   socket ──(peer, datagram)──▶ DatagramListener::handle(now, peer, datagram)
//!   clock ───now───────────────▶ DatagramListener::handle_timeout(now)   (at poll_timeout())
//!   DatagramListener::poll_transmit() ──(peer, datagram)──▶ socket        (drain first)
//!   DatagramListener::poll_event()    ──(peer, Event)─────▶ console / logs
//! ```
//!
//! # Time
//!
//! Handshake, idle and peer-expiry deadlines follow the `now` passed in. DTLS *retransmission*
//! does not: OpenSSL 3.0 reads the wall clock itself (`ssl/d1_lib.c`, `get_current_time` →
//! `gettimeofday`) when it arms the timer and again when `DTLSv1_handle_timeout` (or any read)
//! checks it, and offers no way to inject time. The engine therefore maps OpenSSL's *remaining*
//! time onto the caller's clock (`poll_timeout` = the `now` of the last call + remaining, read
//! after every step) and treats an early wake-up ("not expired yet") by re-arming from the new
//! remaining time. With an adapter whose clock runs at wall-clock speed this is exact; a
//! simulation must let real time pass before a retransmission (see `engine/tests/dtls_sim.rs`).
//! The backend lets the initial retransmission timeout be chosen (`DTLS_set_timer_cb`).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::Bytes;
use core::net::SocketAddr;

use crate::command::Command;
use crate::error::{SessionError, TlsError};
use crate::event::{CloseReason, Event};
use crate::mode::{AppMode, SessionOptions};
use crate::session::Session;
use crate::time::{Duration, Instant};
use crate::tls::TlsBackend;

/// A TLS backend that speaks DTLS: datagrams out one by one, and a retransmission timer.
pub trait DatagramTls: TlsBackend {
    /// Tells the backend that the next datagram handed to
    /// [`TlsBackend::push_ciphertext`] was already consumed (by the stateless cookie check that
    /// created this connection) and must not be read again.
    fn skip_next_datagram(&mut self);
    /// The next datagram to send (exactly one DTLS record or a packed group, ≤ the MTU).
    fn pop_datagram(&mut self) -> Option<Bytes>;
    /// Time left on the retransmission timer, if it is armed.
    fn retransmit_in(&self) -> Option<Duration>;
    /// Retransmits the last flight if the timer expired: `Ok(true)` when it did, `Ok(false)` when
    /// it was not due yet, an error after too many retransmissions.
    fn on_retransmit_timer(&mut self) -> Result<bool, TlsError>;
    /// The negotiated SRTP protection profile (`-use_srtp`), if any.
    fn srtp_profile(&self) -> Option<String>;
    /// Gives back what the connection needs only while it reads or writes a record (OpenSSL's
    /// record-layer buffers, about 34 KiB): called while the handshake waits for the peer, so
    /// a half-open association holds the handshake state alone. May do nothing.
    fn release_buffers(&mut self) {}
    /// Undoes [`DatagramTls::release_buffers`]; called before any other call that may write.
    fn restore_buffers(&mut self) -> Result<(), TlsError> {
        Ok(())
    }
}

/// One DTLS association: a [`Session`] (all console modes, including `-rev`) over a
/// datagram backend, plus the retransmission timer.
pub struct DtlsSession<B: DatagramTls> {
    inner: Session<B>,
    retransmit_at: Option<Instant>,
    last_now: Instant,
    /// Events of our own (retransmissions), and an event held back so that
    /// [`Event::SrtpNegotiated`] comes right before it.
    local: VecDeque<Event>,
    /// A failure outside the inner session (too many retransmissions).
    failed: bool,
    closed_event: Option<Event>,
}

impl<B: DatagramTls> core::fmt::Debug for DtlsSession<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DtlsSession")
            .field("inner", &self.inner)
            .field("retransmit_at", &self.retransmit_at)
            .finish()
    }
}

impl<B: DatagramTls> DtlsSession<B> {
    /// A session over `tls` created at `now`.
    pub fn new(tls: B, opts: Arc<SessionOptions>, now: Instant) -> Self {
        DtlsSession {
            inner: Session::new(tls, opts, now),
            retransmit_at: None,
            last_now: now,
            local: VecDeque::new(),
            failed: false,
            closed_event: None,
        }
    }

    /// The session-level state machine (modes, console, commands).
    pub fn session(&self) -> &Session<B> {
        &self.inner
    }

    /// One datagram from the peer.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if !self.wake() {
            return;
        }
        self.inner.handle_input(now, datagram);
        self.refresh(now);
        self.rest();
    }

    /// The earliest time [`DtlsSession::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        match (self.inner.poll_timeout(), self.retransmit_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time has reached `now`: retransmits, or fires the handshake/idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() || !self.wake() {
            return;
        }
        self.last_now = now;
        if self.retransmit_at.is_some_and(|t| now >= t) {
            match self.inner.tls_mut().on_retransmit_timer() {
                Ok(true) => self.local.push_back(Event::RetransmitTimeout),
                Ok(false) => {}
                Err(e) => {
                    self.failed = true;
                    self.closed_event = Some(Event::Closed(CloseReason::Error(SessionError::Tls(e))));
                }
            }
            // Early wake-up (OpenSSL's clock is behind ours): re-arm from what it says is left,
            // at least 1 ms later so a loop cannot spin.
            let left = self.inner.tls().retransmit_in();
            self.retransmit_at = left.map(|d| now + d.max(Duration::from_millis(1)));
        }
        self.inner.handle_timeout(now);
        if !self.failed {
            self.refresh_timer(now);
        }
        self.rest();
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if let Some(d) = self.inner.tls_mut().pop_datagram() {
            return Some(d);
        }
        // Raw bytes the session wrote itself: the `P` command's plaintext probe.
        self.inner.poll_transmit().map(|t| t.data)
    }

    /// The next event (drain after `poll_transmit`).
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.local.pop_front() {
            return Some(e);
        }
        if let Some(e) = self.inner.poll_event() {
            if let (Event::HandshakeComplete(_), Some(profile)) = (&e, self.inner.tls().srtp_profile()) {
                self.local.push_back(e);
                return Some(Event::SrtpNegotiated(profile));
            }
            return Some(e);
        }
        if self.failed {
            return self.closed_event.take();
        }
        None
    }

    /// Console input (console mode: commands or data for the peer).
    pub fn console_input(&mut self, data: &[u8]) {
        if !self.wake() {
            return;
        }
        self.inner.console_input(data);
        self.refresh_timer(self.last_now);
        self.rest();
    }

    /// The console reached EOF.
    pub fn console_eof(&mut self) {
        if !self.wake() {
            return;
        }
        self.inner.console_eof();
        self.refresh_timer(self.last_now);
        self.rest();
    }

    /// Sends plaintext to the peer (cut into records that fit the MTU).
    pub fn send(&mut self, data: &[u8]) {
        if !self.wake() {
            return;
        }
        self.inner.send(data);
        self.refresh_timer(self.last_now);
        self.rest();
    }

    /// A connected command.
    pub fn command(&mut self, command: Command) {
        if !self.wake() {
            return;
        }
        self.inner.command(command);
        self.refresh_timer(self.last_now);
        self.rest();
    }

    /// Closes from our side (close_notify).
    pub fn close(&mut self) {
        if self.wake() {
            self.inner.close();
            self.rest();
        }
    }

    /// Nothing more will happen on this session once its queued output is drained.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed() || self.failed
    }

    /// The handshake is complete and the session open.
    pub fn is_established(&self) -> bool {
        self.inner.is_established() && !self.failed
    }

    /// Readies the backend for a call that may write; false (and the session failed) if it
    /// cannot be.
    fn wake(&mut self) -> bool {
        if self.failed {
            return false;
        }
        match self.inner.tls_mut().restore_buffers() {
            Ok(()) => true,
            Err(e) => {
                self.failed = true;
                self.retransmit_at = None;
                self.closed_event = Some(Event::Closed(CloseReason::Error(SessionError::Tls(e))));
                false
            }
        }
    }

    /// While the handshake waits for the peer, the backend holds no record buffers.
    fn rest(&mut self) {
        if !self.is_closed() && !self.inner.is_established() {
            self.inner.tls_mut().release_buffers();
        }
    }

    fn refresh(&mut self, now: Instant) {
        self.last_now = now;
        self.refresh_timer(now);
    }

    fn refresh_timer(&mut self, now: Instant) {
        self.retransmit_at = if self.is_closed() {
            None
        } else {
            self.inner.tls().retransmit_in().map(|d| now + d)
        };
    }
}

/// What a stateless check of a datagram from an unknown peer decided.
#[derive(Debug)]
pub enum Acceptance<T> {
    /// Send this datagram back (a HelloVerifyRequest); keep no state.
    Reply(Bytes),
    /// The ClientHello carried a valid cookie: here is the connection that continues it.
    Accept(T),
    /// Not a ClientHello worth answering: drop it.
    Ignore,
}

/// The stateless front door of a [`DatagramListener`] (OpenSSL: `DTLSv1_listen` with MAC
/// cookies over the peer address).
pub trait CookieAcceptor {
    /// The per-peer connection type.
    type Tls: DatagramTls;
    /// Checks one datagram from a peer that has no association.
    fn accept(&mut self, peer: SocketAddr, datagram: &[u8]) -> Acceptance<Self::Tls>;
}

/// Default [`ListenerLimits::max_half_open`]: with OpenSSL 3.0 a half-open association costs
/// about 40 KiB (see docs/architecture.md), so a flood of them holds at most about 40 MiB.
pub const DEFAULT_MAX_HALF_OPEN: usize = 1024;

/// Limits of a [`DatagramListener`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Most associations at once; ClientHellos from further peers are dropped, unless a
    /// half-open association can be evicted to make room.
    pub max_peers: usize,
    /// `-naccept`: create this many associations, then accept no more.
    pub naccept: Option<u64>,
    /// A peer silent this long is dropped (UDP has no FIN, so a vanished peer is only noticed
    /// this way). Applies after the handshake when the session options set no idle timeout.
    pub peer_idle_timeout: Duration,
    /// Largest datagram accepted from a peer without an association.
    pub max_hello_size: usize,
    /// Most half-open associations at once (a valid cookie came back, the handshake is not
    /// finished). A further peer with a valid cookie evicts the oldest half-open one; an
    /// established association is never evicted. At most `max_peers`, at least 1.
    pub max_half_open: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            max_peers: 16 * 1024,
            naccept: None,
            peer_idle_timeout: Duration::from_secs(300),
            max_hello_size: 4096,
            max_half_open: DEFAULT_MAX_HALF_OPEN,
        }
    }
}

/// A datagram to send to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatagramTransmit {
    /// The destination.
    pub peer: SocketAddr,
    /// One datagram.
    pub data: Bytes,
}

/// Counters of a [`DatagramListener`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// HelloVerifyRequests sent (no state kept).
    pub hello_verify_requests: u64,
    /// Associations created after a valid cookie.
    pub accepted: u64,
    /// Datagrams from unknown peers dropped (not a ClientHello, bad cookie, limits).
    pub dropped: u64,
    /// Half-open associations evicted to make room for a newer one
    /// ([`ListenerLimits::max_half_open`]).
    pub evicted: u64,
}

/// An association and when it was created (the listener's accept count).
struct Peer<T: DatagramTls> {
    /// Boxed: the map's nodes hold eleven entries each, mostly not all in use.
    session: Box<DtlsSession<T>>,
    serial: u64,
}

/// Demultiplexes datagrams by peer, with stateless cookies in front. See the module docs.
pub struct DatagramListener<A: CookieAcceptor> {
    acceptor: A,
    opts: Arc<SessionOptions>,
    limits: ListenerLimits,
    peers: BTreeMap<SocketAddr, Peer<A::Tls>>,
    /// The associations whose handshake is not finished, oldest first (by serial).
    half_open: BTreeMap<u64, SocketAddr>,
    transmits: VecDeque<DatagramTransmit>,
    events: VecDeque<(SocketAddr, Event)>,
    stats: ListenerStats,
    stopped: bool,
}

impl<A: CookieAcceptor> core::fmt::Debug for DatagramListener<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DatagramListener")
            .field("peers", &self.peers.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<A: CookieAcceptor> DatagramListener<A> {
    /// A listener creating sessions with `opts` (modes other than the console and `-rev` make
    /// no sense over DTLS, as in s_server, but are not refused here).
    pub fn new(acceptor: A, opts: Arc<SessionOptions>, limits: ListenerLimits) -> Self {
        let opts = if opts.idle_timeout.is_none() {
            let mut o = SessionOptions::clone(&opts);
            o.idle_timeout = Some(limits.peer_idle_timeout);
            Arc::new(o)
        } else {
            opts
        };
        let mut limits = limits;
        limits.max_half_open = limits.max_half_open.min(limits.max_peers).max(1);
        DatagramListener {
            acceptor,
            opts,
            limits,
            peers: BTreeMap::new(),
            half_open: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: ListenerStats::default(),
            stopped: false,
        }
    }

    /// The session options every association runs with.
    pub fn options(&self) -> &SessionOptions {
        &self.opts
    }

    /// Live associations (per-peer state).
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Associations whose handshake is not finished yet.
    pub fn half_open_count(&self) -> usize {
        self.half_open.len()
    }

    /// The association with `peer`, if any.
    pub fn peer(&self, peer: &SocketAddr) -> Option<&DtlsSession<A::Tls>> {
        self.peers.get(peer).map(|p| &*p.session)
    }

    /// Counters.
    pub fn stats(&self) -> ListenerStats {
        self.stats
    }

    /// New associations are still accepted (`-naccept` not reached, not stopped).
    pub fn is_accepting(&self) -> bool {
        !self.stopped && self.limits.naccept.is_none_or(|n| self.stats.accepted < n)
    }

    /// No association is left and none will be accepted: the server can exit.
    pub fn is_finished(&self) -> bool {
        !self.is_accepting() && self.peers.is_empty() && self.transmits.is_empty() && self.events.is_empty()
    }

    /// One datagram from `peer`.
    pub fn handle(&mut self, now: Instant, peer: SocketAddr, datagram: &[u8]) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.session.handle_datagram(now, datagram);
            self.collect(peer);
            return;
        }
        // A full table still takes a new peer if a half-open association can make room.
        let full = self.peers.len() >= self.limits.max_peers && self.half_open.is_empty();
        if !self.is_accepting()
            || full
            || datagram.len() > self.limits.max_hello_size
            || !looks_like_client_hello(datagram)
        {
            self.stats.dropped += 1;
            return;
        }
        match self.acceptor.accept(peer, datagram) {
            Acceptance::Reply(data) => {
                self.stats.hello_verify_requests += 1;
                self.transmits.push_back(DatagramTransmit { peer, data });
            }
            Acceptance::Ignore => self.stats.dropped += 1,
            Acceptance::Accept(mut tls) => {
                while self.peers.len() >= self.limits.max_peers || self.half_open.len() >= self.limits.max_half_open {
                    if !self.evict_oldest_half_open() {
                        break;
                    }
                }
                self.stats.accepted += 1;
                let serial = self.stats.accepted;
                tls.skip_next_datagram();
                let mut session = DtlsSession::new(tls, self.opts.clone(), now);
                session.handle_datagram(now, datagram);
                let session = Box::new(session);
                self.peers.insert(peer, Peer { session, serial });
                self.half_open.insert(serial, peer);
                self.events.push_back((peer, Event::DatagramAccepted));
                self.collect(peer);
            }
        }
    }

    /// The earliest deadline of any association.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers.values().filter_map(|p| p.session.poll_timeout()).min()
    }

    /// Fires every deadline that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.session.poll_timeout().is_some_and(|t| t <= now))
            .map(|(a, _)| *a)
            .collect();
        for peer in due {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.session.handle_timeout(now);
            }
            self.collect(peer);
        }
    }

    /// Console input for every established association (console mode).
    pub fn console_input(&mut self, data: &[u8]) {
        self.for_each_open(|s| s.console_input(data));
    }

    /// Console EOF for every association.
    pub fn console_eof(&mut self) {
        self.for_each_open(DtlsSession::console_eof);
    }

    /// Stops accepting and closes every association (close_notify).
    pub fn close_all(&mut self) {
        self.stopped = true;
        self.for_each_open(DtlsSession::close);
    }

    /// Stops accepting new associations; existing ones continue.
    pub fn stop_accepting(&mut self) {
        self.stopped = true;
    }

    /// Sends plaintext to `peer` (if it has an open association).
    pub fn send_to(&mut self, peer: SocketAddr, data: &[u8]) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.session.send(data);
            self.collect(peer);
        }
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<DatagramTransmit> {
        self.transmits.pop_front()
    }

    /// Next event, with the peer it belongs to.
    pub fn poll_event(&mut self) -> Option<(SocketAddr, Event)> {
        self.events.pop_front()
    }

    fn for_each_open(&mut self, mut f: impl FnMut(&mut DtlsSession<A::Tls>)) {
        let peers: Vec<SocketAddr> = self.peers.keys().copied().collect();
        for a in peers {
            if let Some(p) = self.peers.get_mut(&a) {
                f(&mut p.session);
            }
            self.collect(a);
        }
    }

    /// Drops the oldest half-open association (no alert: its peer has not answered our flight
    /// and may not exist) and reports it closed. False if there is none.
    fn evict_oldest_half_open(&mut self) -> bool {
        let Some((_, peer)) = self.half_open.pop_first() else {
            return false;
        };
        if self.peers.remove(&peer).is_some() {
            self.stats.evicted += 1;
            let reason = CloseReason::Error(SessionError::HalfOpenEvicted);
            self.events.push_back((peer, Event::Closed(reason)));
        }
        true
    }

    /// Moves a session's output into the listener's queues; forgets it once closed.
    fn collect(&mut self, peer: SocketAddr) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        let s = &mut p.session;
        while let Some(data) = s.poll_transmit() {
            self.transmits.push_back(DatagramTransmit { peer, data });
        }
        while let Some(e) = s.poll_event() {
            self.events.push_back((peer, e));
        }
        let serial = p.serial;
        if s.is_closed() {
            self.peers.remove(&peer);
            self.half_open.remove(&serial);
        } else if s.is_established() {
            self.half_open.remove(&serial);
        }
    }
}

/// Cheap stateless pre-check: a DTLS handshake record (type 22, version major 0xFE) holding a
/// ClientHello (handshake type 1).
pub fn looks_like_client_hello(d: &[u8]) -> bool {
    d.len() >= 13 + 12 && d[0] == 22 && d[1] == 0xFE && d[13] == 1
}

/// Console mode and `-rev` run over DTLS; the web modes do not (s_server refuses them too).
pub fn mode_supported(mode: AppMode) -> bool {
    matches!(mode, AppMode::Console | AppMode::Rev)
}
