//! DTLS over OpenSSL: [`OpensslDtls`], one `SSL`
//! per association, and [`DtlsAcceptor`], the stateless cookie front door (`DTLSv1_listen`).
//!
//! Datagram boundaries: [`DatagramPipe`] is the `SSL`'s BIO (`ossl::bio`); it returns exactly
//! one queued datagram per read (OpenSSL's DTLS record layer treats one `BIO_read` as one
//! packet) and records every write as one datagram (OpenSSL writes each record, or each
//! MTU-sized handshake fragment, with its own `BIO_write`). So no datagram is ever split or
//! merged, and none exceeds the MTU set with `SSL_OP_NO_QUERY_MTU` + `SSL_set_mtu`;
//! application data is cut to `DTLS_get_data_mtu`.
//!
//! Cookies: a MAC (SipHash-2-4, or HMAC-SHA256 without it; `cookie_mac.rs`) of the peer
//! address (family, port, IP) under a random per-acceptor secret, computed in the context's
//! cookie callbacks from the address kept in the `SSL`'s ex_data (a memory BIO has no peer
//! address to ask). A cookie from one address is worthless from another.
//!
//! Timers: see [`crate::dtls`]; OpenSSL reads the wall clock for retransmissions, and
//! `DTLS_set_timer_cb` sets the initial timeout ([`DtlsSettings::initial_retransmit`]).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::ffi::c_uint;
use core::net::SocketAddr;
use foreign_types::ForeignTypeRef;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslContext, SslRef};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Mutex, OnceLock};

use super::bio::{copy_to_uninit, BioMethod, SslIo};
use super::callbacks::events_index;
use super::conn::{method_of, SslConn, Transport};
use super::cookie_mac::{Cookie, CookieMac};
use super::errors::{config_error, take_queue};
use super::ffi;
use crate::dtls::{Acceptance, CookieAcceptor, DatagramListener, DatagramTls, ListenerLimits};
use crate::error::{TlsError, TlsErrorKind};
use crate::mode::SessionOptions;
use crate::time::Duration;

/// The smallest link MTU OpenSSL accepts (`DTLS_get_link_min_mtu`); s_server refuses a smaller
/// `-mtu` with `MTU too small. Must be at least 256`.
pub const MIN_LINK_MTU: usize = 256;
/// IPv4 + UDP header bytes (subtracted from a link MTU to get the datagram size).
pub const IPV4_UDP_OVERHEAD: usize = 28;
/// IPv6 + UDP header bytes.
pub const IPV6_UDP_OVERHEAD: usize = 48;
/// OpenSSL's retransmission timeout ceiling (`dtls1_double_timeout`).
const MAX_RETRANSMIT_US: u32 = 60_000_000;

/// Per-association DTLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtlsSettings {
    /// Largest datagram sent (the UDP payload: a link MTU minus IP/UDP headers).
    pub mtu: usize,
    /// First retransmission timeout; doubled on every retransmission up to 60 s (OpenSSL's
    /// schedule, which starts at 1 s).
    pub initial_retransmit: Duration,
}

impl Default for DtlsSettings {
    fn default() -> Self {
        DtlsSettings {
            mtu: 1500 - IPV6_UDP_OVERHEAD,
            initial_retransmit: Duration::from_secs(1),
        }
    }
}

/// A [`DatagramListener`] over OpenSSL.
pub type DtlsListener = DatagramListener<DtlsAcceptor>;

/// Datagram-preserving transport under an `SSL`: one datagram per `read`, one per `write`.
#[derive(Debug, Default)]
pub struct DatagramPipe {
    incoming: VecDeque<Vec<u8>>,
    outgoing: VecDeque<Bytes>,
    /// Drop the next pushed datagram (the listener already fed it to `DTLSv1_listen`).
    skip_next: bool,
    /// Largest datagram: consecutive records are packed into one datagram up to this size.
    mtu: usize,
    /// The `SSL`'s record buffers were freed ([`DatagramTls::release_buffers`]).
    released: bool,
}

impl DatagramPipe {
    /// The next datagram written by OpenSSL.
    pub fn pop(&mut self) -> Option<Bytes> {
        self.outgoing.pop_front()
    }
}

impl Transport for DatagramPipe {
    fn read_ciphertext(&mut self, buf: &mut [core::mem::MaybeUninit<u8>]) -> Option<usize> {
        let d = self.incoming.pop_front()?;
        // A datagram larger than the read is truncated, as recvfrom would do.
        let n = d.len().min(buf.len());
        copy_to_uninit(buf, &d[..n]);
        Some(n)
    }

    fn write_ciphertext(&mut self, data: &[u8]) {
        self.outgoing.push_back(Bytes::copy_from_slice(data));
    }

    fn input_ended(&self) -> bool {
        false
    }

    fn bio_method() -> &'static BioMethod {
        static METHOD: OnceLock<BioMethod> = OnceLock::new();
        method_of::<Self>(&METHOD)
    }

    fn push(&mut self, datagram: &[u8]) {
        if !core::mem::take(&mut self.skip_next) {
            self.incoming.push_back(datagram.to_vec());
        }
    }

    fn push_eof(&mut self) {}

    fn take(&mut self, _out: &mut BytesMut) {
        // Datagrams stay in the pipe: `DtlsSession::poll_transmit` takes them one by one.
    }

    fn queued(&self) -> usize {
        self.incoming.front().map_or(0, Vec::len)
    }

    fn write_limit(ssl: &SslRef) -> usize {
        // SAFETY: live SSL, read-only query.
        match unsafe { ffi::DTLS_get_data_mtu(ssl.as_ptr()) } {
            0 => 512,
            n => n,
        }
    }
}

/// The same pipe for a client driven by the `openssl` crate's `SslStream` (tests, fuzzing).
impl Read for DatagramPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: initialised bytes are valid `MaybeUninit`s, and only bytes are written back.
        let out = unsafe { &mut *(core::ptr::from_mut(buf) as *mut [core::mem::MaybeUninit<u8>]) };
        self.read_ciphertext(out)
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }
}

impl Write for DatagramPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_ciphertext(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the cookie callbacks need: the secret and the address of the datagram being checked.
struct CookieKey {
    mac: Arc<CookieMac>,
    peer: Mutex<Vec<u8>>,
}

fn cookie_index() -> Index<Ssl, CookieKey> {
    static INDEX: OnceLock<Index<Ssl, CookieKey>> = OnceLock::new();
    // An allocation failure at start-up; nothing sensible to do but abort.
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("SSL_get_ex_new_index failed"))
}

/// The initial retransmission timeout in µs of an `SSL`, read by [`timer_cb`].
fn timer_index() -> Index<Ssl, u32> {
    static INDEX: OnceLock<Index<Ssl, u32>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("SSL_get_ex_new_index failed"))
}

/// The peer address as cookie input: family, port, address bytes.
fn address_bytes(peer: SocketAddr) -> Vec<u8> {
    let mut v = Vec::with_capacity(19);
    match peer {
        SocketAddr::V4(a) => {
            v.push(4);
            v.extend_from_slice(&a.port().to_be_bytes());
            v.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            v.push(6);
            v.extend_from_slice(&a.port().to_be_bytes());
            v.extend_from_slice(&a.ip().octets());
        }
    }
    v
}

fn compute_cookie(ssl: &SslRef) -> Option<Cookie> {
    let k = ssl.ex_data(cookie_index())?;
    let peer = k.peer.lock().unwrap_or_else(|p| p.into_inner());
    k.mac.compute(&peer)
}

/// `SSL_CTX_set_cookie_generate_cb`: the MAC of the peer address.
pub(crate) fn generate_cookie(ssl: &mut SslRef, out: &mut [u8]) -> Result<usize, openssl::error::ErrorStack> {
    let cookie = compute_cookie(ssl).ok_or_else(openssl::error::ErrorStack::get)?;
    let cookie = cookie.as_bytes();
    let n = cookie.len().min(out.len());
    out[..n].copy_from_slice(&cookie[..n]);
    Ok(n)
}

/// `SSL_CTX_set_cookie_verify_cb`: constant-time comparison with the expected MAC.
pub(crate) fn verify_cookie(ssl: &mut SslRef, cookie: &[u8]) -> bool {
    compute_cookie(ssl).is_some_and(|c| c.as_bytes().len() == cookie.len() && openssl::memcmp::eq(c.as_bytes(), cookie))
}

/// `DTLS_set_timer_cb` callback: the configured initial timeout, then OpenSSL's doubling.
extern "C" fn timer_cb(ssl: *mut openssl_sys::SSL, previous_us: c_uint) -> c_uint {
    // SAFETY: OpenSSL calls this with the live SSL whose timer fires; we only read ex_data.
    let ssl = unsafe { SslRef::from_ptr(ssl) };
    if previous_us == 0 {
        ssl.ex_data(timer_index()).copied().unwrap_or(1_000_000)
    } else {
        previous_us.saturating_mul(2).min(MAX_RETRANSMIT_US)
    }
}

/// Sets the initial retransmission timeout of a DTLS `SSL` (client or server).
pub fn set_retransmit_timer(ssl: &mut SslRef, initial: Duration) {
    let us = u32::try_from(initial.as_micros()).unwrap_or(MAX_RETRANSMIT_US).max(1);
    ssl.set_ex_data(timer_index(), us);
    // SAFETY: live SSL; the callback is a plain function that outlives every SSL.
    unsafe { ffi::DTLS_set_timer_cb(ssl.as_ptr(), Some(timer_cb)) };
}

/// `DTLSv1_get_timeout`: time left on the retransmission timer (by OpenSSL's own clock).
pub fn retransmit_in(ssl: &SslRef) -> Option<Duration> {
    let mut tv = ffi::Timeval { tv_sec: 0, tv_usec: 0 };
    // SAFETY: live SSL; DTLS_CTRL_GET_TIMEOUT writes one struct timeval through the pointer.
    let armed = unsafe {
        ffi::SSL_ctrl(
            ssl.as_ptr(),
            ffi::DTLS_CTRL_GET_TIMEOUT,
            0,
            (&mut tv as *mut ffi::Timeval).cast(),
        )
    };
    (armed == 1).then(|| {
        let us = (tv.tv_sec.max(0) as u64) * 1_000_000 + tv.tv_usec.max(0) as u64;
        Duration::from_micros(us)
    })
}

/// `DTLSv1_handle_timeout`: 1 = retransmitted, 0 = not due, -1 = failed.
pub fn handle_retransmit(ssl: &SslRef) -> i32 {
    // SAFETY: live SSL; DTLS_CTRL_HANDLE_TIMEOUT takes no pointer. Called from `&self` because
    // the crate's stream gives no `&mut SslRef`; the SSL is not shared between threads.
    unsafe { ffi::SSL_ctrl(ssl.as_ptr(), ffi::DTLS_CTRL_HANDLE_TIMEOUT, 0, ffi::NO_ARG) as i32 }
}

fn new_ssl(ctx: &SslContext, settings: &DtlsSettings, cookie: CookieKey) -> Result<SslIo<DatagramPipe>, TlsError> {
    let mut ssl = Ssl::new(ctx).map_err(|e| config_error("SSL_new", &e))?;
    ssl.set_ex_data(cookie_index(), cookie);
    let mtu = u32::try_from(settings.mtu).unwrap_or(u32::MAX);
    ssl.set_mtu(mtu).map_err(|e| config_error("Failed to set MTU", &e))?;
    ssl.set_ex_data(events_index(), Arc::default());
    set_retransmit_timer(&mut ssl, settings.initial_retransmit);
    ssl.set_accept_state();
    let pipe = DatagramPipe {
        mtu: settings.mtu,
        ..DatagramPipe::default()
    };
    let stream = SslIo::new(ssl, pipe).map_err(|e| config_error("SSL BIO", &e))?;
    super::output::attach(stream.ssl());
    Ok(stream)
}

/// A server DTLS association over a [`DatagramPipe`], implementing [`DatagramTls`].
pub type OpensslDtls = SslConn<DatagramPipe>;

impl SslConn<DatagramPipe> {
    /// The `SSL`'s record-layer buffers were given back ([`DatagramTls::release_buffers`])
    /// and not taken again since: what a half-open association looks like.
    pub fn record_buffers_released(&self) -> bool {
        self.stream.get_ref().released
    }
}

impl DatagramTls for OpensslDtls {
    fn skip_next_datagram(&mut self) {
        self.stream.get_mut().skip_next = true;
    }

    fn pop_datagram(&mut self) -> Option<Bytes> {
        // OpenSSL writes every record (or MTU-sized handshake fragment) on its own; records of
        // one flight are packed into as few datagrams as the MTU allows (RFC 6347 §4.1.1), so
        // a flight is lost less often under packet loss. A record is never split.
        let pipe = self.stream.get_mut();
        let mtu = pipe.mtu;
        let Some(first) = pipe.outgoing.pop_front() else {
            if pipe.released {
                // Waiting for the peer: the flight's queue need not keep its capacity.
                pipe.outgoing = VecDeque::new();
            }
            return None;
        };
        if pipe.outgoing.front().is_none_or(|n| first.len() + n.len() > mtu) {
            return Some(first);
        }
        let mut packed = BytesMut::from(&first[..]);
        while let Some(next) = pipe.outgoing.front() {
            if packed.len() + next.len() > mtu {
                break;
            }
            packed.extend_from_slice(next);
            pipe.outgoing.pop_front();
        }
        Some(packed.freeze())
    }

    fn retransmit_in(&self) -> Option<Duration> {
        retransmit_in(self.stream.ssl())
    }

    fn on_retransmit_timer(&mut self) -> Result<bool, TlsError> {
        match handle_retransmit(self.stream.ssl()) {
            r if r > 0 => Ok(true),
            0 => Ok(false),
            _ => Err(take_queue(TlsErrorKind::Protocol, "DTLS retransmission failed")),
        }
    }

    fn srtp_profile(&self) -> Option<String> {
        self.stream
            .ssl()
            .selected_srtp_profile()
            .map(|p| String::from(p.name()))
    }

    fn release_buffers(&mut self) {
        // SAFETY: live SSL; SSL_free_buffers refuses (returns 0, frees nothing) while a record
        // is partly read or written.
        let freed = unsafe { ffi::SSL_free_buffers(self.stream.ssl().as_ptr()) } == 1;
        let pipe = self.stream.get_mut();
        pipe.released |= freed;
        // The queues are drained between calls; their grown capacity is not worth keeping.
        if pipe.incoming.is_empty() {
            pipe.incoming = VecDeque::new();
        }
        if pipe.outgoing.is_empty() {
            pipe.outgoing = VecDeque::new();
        }
    }

    fn restore_buffers(&mut self) -> Result<(), TlsError> {
        if !self.stream.get_ref().released {
            return Ok(());
        }
        // OpenSSL 3.0 sets the buffers up again before a read, but its DTLS write path
        // (`do_dtls1_write`, used by retransmissions, alerts and SSL_write) assumes they exist.
        // SAFETY: live SSL; allocates the read and write buffers if missing.
        if unsafe { ffi::SSL_alloc_buffers(self.stream.ssl().as_ptr()) } != 1 {
            return Err(take_queue(TlsErrorKind::Config, "SSL_alloc_buffers failed"));
        }
        self.stream.get_mut().released = false;
        Ok(())
    }
}

/// Owning `BIO_ADDR` (DTLSv1_listen writes the client address into one).
struct BioAddr(*mut ffi::BioAddr);

impl BioAddr {
    fn new() -> Option<Self> {
        // SAFETY: allocation; NULL on failure.
        let p = unsafe { ffi::BIO_ADDR_new() };
        (!p.is_null()).then_some(BioAddr(p))
    }
}

impl Drop for BioAddr {
    fn drop(&mut self) {
        // SAFETY: allocated by BIO_ADDR_new, freed exactly once here.
        unsafe { ffi::BIO_ADDR_free(self.0) };
    }
}

// SAFETY: the BIO_ADDR is plain memory owned by this value alone.
unsafe impl Send for BioAddr {}

/// The stateless front door: one reusable listener `SSL` running `DTLSv1_listen` on each
/// datagram from an unknown peer.
pub struct DtlsAcceptor {
    ctx: SslContext,
    settings: DtlsSettings,
    mac: Arc<CookieMac>,
    listen: Option<SslIo<DatagramPipe>>,
    addr: BioAddr,
}

impl core::fmt::Debug for DtlsAcceptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DtlsAcceptor")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl DtlsAcceptor {
    /// An acceptor for a DTLS context (built with [`super::ServerConfigBuilder::new_dtls`]),
    /// with a fresh random cookie secret.
    pub fn new(ctx: SslContext, settings: DtlsSettings) -> Result<Self, TlsError> {
        let mut secret = [0u8; 32];
        openssl::rand::rand_bytes(&mut secret).map_err(|e| config_error("RAND_bytes", &e))?;
        let mac = Arc::new(CookieMac::new(&secret)?);
        let addr = BioAddr::new().ok_or_else(|| TlsError::new(TlsErrorKind::Config, "BIO_ADDR_new failed"))?;
        Ok(DtlsAcceptor {
            ctx,
            settings,
            mac,
            listen: None,
            addr,
        })
    }

    fn listener_ssl(&mut self, peer: Vec<u8>) -> Result<SslIo<DatagramPipe>, TlsError> {
        if let Some(s) = self.listen.take() {
            if let Some(k) = s.ssl().ex_data(cookie_index()) {
                *k.peer.lock().unwrap_or_else(|p| p.into_inner()) = peer;
            }
            return Ok(s);
        }
        let cookie = CookieKey {
            mac: self.mac.clone(),
            peer: Mutex::new(peer),
        };
        new_ssl(&self.ctx, &self.settings, cookie)
    }
}

impl CookieAcceptor for DtlsAcceptor {
    type Tls = OpensslDtls;

    fn accept(&mut self, peer: SocketAddr, datagram: &[u8]) -> Acceptance<OpensslDtls> {
        let Ok(mut stream) = self.listener_ssl(address_bytes(peer)) else {
            return Acceptance::Ignore;
        };
        stream.get_mut().push(datagram);
        // SAFETY: live SSL with our pipe as both BIOs; `addr` is a live BIO_ADDR it may write.
        let r = unsafe { ffi::DTLSv1_listen(stream.ssl().as_ptr(), self.addr.0) };
        let pipe = stream.get_mut();
        pipe.incoming.clear();
        match r {
            1 => Acceptance::Accept(SslConn::from_stream(stream)),
            0 => {
                openssl::error::ErrorStack::get();
                let reply = pipe.outgoing.pop_front();
                pipe.outgoing.clear();
                self.listen = Some(stream);
                reply.map_or(Acceptance::Ignore, Acceptance::Reply)
            }
            _ => {
                openssl::error::ErrorStack::get();
                Acceptance::Ignore
            }
        }
    }
}

/// Builds a listener for a DTLS [`super::ServerConfig`].
pub(crate) fn listener(
    ctx: &SslContext,
    opts: Arc<SessionOptions>,
    settings: DtlsSettings,
    limits: ListenerLimits,
) -> Result<DtlsListener, TlsError> {
    Ok(DatagramListener::new(
        DtlsAcceptor::new(ctx.clone(), settings)?,
        opts,
        limits,
    ))
}

/// `-use_srtp`: the profiles offered to the client (`SSL_CTX_set_tlsext_use_srtp`).
pub(crate) fn use_srtp(ctx: &mut openssl::ssl::SslContextBuilder, profiles: &str) -> Result<(), TlsError> {
    ctx.set_tlsext_use_srtp(profiles)
        .map_err(|e| config_error("Error setting SRTP profile", &e))
}
