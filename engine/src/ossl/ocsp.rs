//! OCSP stapling (`-status*`), the external session cache (`-ext_cache`), session id prefixes
//! (`-id_prefix`) and the TLS 1.3 stateless cookie exchange (`-stateless`).
//!
//! The engine never fetches anything: [`OcspStaple`] is a slot shared by every connection that
//! the caller fills with a DER `OCSPResponse` (read from `-status_file`, or fetched from a
//! responder with the request [`OcspQuery`] builds). The status callback staples what the slot
//! holds; when it is empty the callback says so through the hook of [`OcspStaple::on_wanted`]
//! (it never blocks), so a fetcher can try again at once instead of waiting for its next
//! refresh.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ffi::{c_int, c_uint};
use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::asn1::Asn1Time;
use openssl::ex_data::Index;
use openssl::hash::MessageDigest;
use openssl::ocsp::{OcspCertId, OcspRequest, OcspResponse};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::ssl::{SslContext, SslRef, SslSession, SslSessionCacheMode};
use openssl::x509::{X509VerifyResult, X509};
use std::sync::{Mutex, OnceLock};

use super::bio::SslIo;
use super::callbacks::events_index;
use super::config::{CertFormat, ServerConfigBuilder};
use super::conn::Transport;
use super::errors::{config_error, take_queue};
use super::ffi;
use super::membio::MemBio;
use crate::error::{TlsError, TlsErrorKind};
use crate::event::Event;
use crate::tls::HandshakeStatus;

fn note(ssl: &SslRef, text: &str) {
    if let Some(ev) = ssl.ex_data(events_index()) {
        ev.push(Event::Note(String::from(text)));
    }
}

// ---------------------------------------------------------------------------------------------
// OCSP stapling

/// A DER `OCSPResponse` ready to staple, with s_server's `OCSP_RESPONSE_print` text of it.
#[derive(Debug)]
struct Staple {
    der: Vec<u8>,
    text: String,
}

#[derive(Default)]
struct StapleSlot {
    staple: Option<Arc<Staple>>,
    /// A handshake asked for a response while the slot was empty.
    wanted: bool,
    /// Told (once per empty spell) that a handshake wants a response.
    hook: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl core::fmt::Debug for StapleSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StapleSlot")
            .field("staple", &self.staple)
            .field("wanted", &self.wanted)
            .finish_non_exhaustive()
    }
}

/// The OCSP response stapled to every handshake whose client asks for one (`status_request`).
/// Cloning shares the slot: the fetcher keeps one clone, the [`ServerConfig`](super::ServerConfig)
/// the other.
#[derive(Debug, Clone, Default)]
pub struct OcspStaple {
    shared: Arc<Mutex<StapleSlot>>,
}

/// What [`OcspStaple::set`] learned from a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StapleInfo {
    /// The responder answered `successful` (other statuses are stapled too, as s_server does).
    pub successful: bool,
    /// Seconds until the earliest `nextUpdate` of the response's single responses, when it has
    /// one (negative once it has passed).
    pub next_update_in: Option<i64>,
}

impl OcspStaple {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StapleSlot> {
        // A poisoned lock only means a holder panicked; the slot is still consistent.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Staples `der` (a DER `OCSPResponse`) from now on. Fails, leaving the slot as it was, if
    /// `der` is not an OCSP response.
    pub fn set(&self, der: Vec<u8>) -> Result<StapleInfo, TlsError> {
        let resp = OcspResponse::from_der(&der).map_err(|e| config_error("Error reading OCSP response", &e))?;
        let info = response_info(&resp);
        let text = print_response(&resp);
        let mut slot = self.lock();
        slot.staple = Some(Arc::new(Staple { der, text }));
        slot.wanted = false;
        Ok(info)
    }

    /// Stops stapling (the response expired and no fresh one could be fetched).
    pub fn clear(&self) {
        self.lock().staple = None;
    }

    /// Is a response in the slot?
    pub fn is_set(&self) -> bool {
        self.lock().staple.is_some()
    }

    /// Calls `hook` whenever a handshake finds the slot empty (once until the slot is set or
    /// [`OcspStaple::take_wanted`] is called). It runs inside the handshake, so it must not
    /// block: wake a fetcher and return.
    pub fn on_wanted(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.lock().hook = Some(Arc::new(hook));
    }

    /// Did a handshake find the slot empty since the last call?
    pub fn take_wanted(&self) -> bool {
        core::mem::take(&mut self.lock().wanted)
    }

    fn current(&self) -> Option<Arc<Staple>> {
        let (staple, hook) = {
            let mut slot = self.lock();
            let hook = if slot.staple.is_none() && !slot.wanted {
                slot.wanted = true;
                slot.hook.clone()
            } else {
                None
            };
            (slot.staple.clone(), hook)
        };
        if let Some(hook) = hook {
            hook();
        }
        staple
    }
}

fn response_info(resp: &OcspResponse) -> StapleInfo {
    let successful = resp.status() == openssl::ocsp::OcspResponseStatus::SUCCESSFUL;
    let mut next_update_in = None;
    if let Ok(basic) = resp.basic() {
        // SAFETY: `basic` is a live OCSP_BASICRESP; the count is a read-only query.
        let n = unsafe { ffi::OCSP_resp_count(basic.as_ptr()) };
        for i in 0..n {
            // SAFETY: `i` is in range; OCSP_resp_get0 returns a pointer owned by `basic`.
            let single = unsafe { ffi::OCSP_resp_get0(basic.as_ptr(), i) };
            if single.is_null() {
                continue;
            }
            let mut next: *mut openssl_sys::ASN1_GENERALIZEDTIME = core::ptr::null_mut();
            // SAFETY: `single` belongs to `basic`; the out-pointers are ours or NULL (not wanted).
            let status = unsafe {
                ffi::OCSP_single_get0_status(
                    single,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    &mut next,
                )
            };
            if status < 0 || next.is_null() {
                continue;
            }
            if let Some(secs) = seconds_until(next) {
                next_update_in = Some(next_update_in.map_or(secs, |s: i64| s.min(secs)));
            }
        }
    }
    StapleInfo {
        successful,
        next_update_in,
    }
}

/// Seconds from now until `t` (a GeneralizedTime owned by a live response).
fn seconds_until(t: *const openssl_sys::ASN1_GENERALIZEDTIME) -> Option<i64> {
    let now = Asn1Time::days_from_now(0).ok()?;
    let (mut days, mut secs): (c_int, c_int) = (0, 0);
    // SAFETY: both times are live; ASN1_TIME_diff accepts a GeneralizedTime (an ASN1_TIME with
    // another tag) and only writes the two out-parameters.
    let ok = unsafe { ffi::ASN1_TIME_diff(&mut days, &mut secs, now.as_ptr(), t.cast()) };
    (ok == 1).then(|| i64::from(days) * 86_400 + i64::from(secs))
}

/// `OCSP_RESPONSE_print(bio, resp, 2)`, as s_server prints it after `cert_status: ocsp response sent:`.
fn print_response(resp: &OcspResponse) -> String {
    let Some(bio) = MemBio::new() else {
        return String::new();
    };
    // SAFETY: both pointers are live for the call; the function only writes to the BIO.
    unsafe { ffi::OCSP_RESPONSE_print(bio.as_ptr(), resp.as_ptr(), 2) };
    openssl::error::ErrorStack::get();
    bio.text()
}

impl ServerConfigBuilder {
    /// `-status*`: answer clients' certificate status requests with what `staple` holds
    /// (s_server's `cert_status_cb`). `verbose` (`-status_verbose`) adds its `cert_status:`
    /// lines as [`Event::Note`]s.
    pub fn ocsp_stapling(&mut self, staple: OcspStaple, verbose: bool) -> Result<(), TlsError> {
        self.ctx_mut()
            .set_status_callback(move |ssl| {
                if verbose {
                    note(ssl, "cert_status: callback called\n");
                }
                let Some(s) = staple.current() else {
                    return Ok(false);
                };
                ssl.set_ocsp_status(&s.der)?;
                if verbose {
                    note(ssl, "cert_status: ocsp response sent:\n");
                    note(ssl, &s.text);
                }
                Ok(true)
            })
            .map_err(|e| config_error("status callback", &e))
    }
}

/// Why [`OcspQuery::new`] could not build a request (s_server's `cert_status:` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspQueryError {
    /// The certificate has no OCSP AIA URL and no default responder was given.
    NoResponder,
    /// None of the candidate certificates issued the server certificate.
    NoIssuer,
    /// The certificate or the request could not be encoded.
    Other(String),
}

/// An OCSP request for the server certificate and where to send it.
#[derive(Debug, Clone)]
pub struct OcspQuery {
    /// The responder URL: the certificate's first OCSP AIA entry, else the default.
    pub url: String,
    /// Whether `url` came from the certificate (s_server prints `cert_status: AIA URL: …`).
    pub from_aia: bool,
    /// The DER `OCSPRequest` (one SHA-1 certificate id, no nonce).
    pub request: Vec<u8>,
}

impl OcspQuery {
    /// Builds the request for the first certificate of `cert`, looking for its issuer among
    /// `candidates` (PEM data: the trusted CAs, the chain, the rest of the certificate file).
    pub fn new(
        cert: &[u8],
        format: CertFormat,
        candidates: &[&[u8]],
        default_url: Option<&str>,
    ) -> Result<OcspQuery, OcspQueryError> {
        let other = |e: openssl::error::ErrorStack| OcspQueryError::Other(alloc::format!("{e}"));
        let leaf = match format {
            CertFormat::Pem => X509::from_pem(cert).map_err(other)?,
            CertFormat::Der => X509::from_der(cert).map_err(other)?,
        };
        let aia = leaf
            .ocsp_responders()
            .ok()
            .and_then(|s| s.iter().next().map(|u| String::from(&**u)));
        let (url, from_aia) = match (aia, default_url) {
            (Some(u), _) => (u, true),
            (None, Some(d)) => (String::from(d), false),
            (None, None) => return Err(OcspQueryError::NoResponder),
        };
        let issuer = candidates
            .iter()
            .filter_map(|pem| X509::stack_from_pem(pem).ok())
            .flatten()
            .find(|c| c.issued(&leaf) == X509VerifyResult::OK)
            .ok_or(OcspQueryError::NoIssuer)?;
        let id = OcspCertId::from_cert(MessageDigest::sha1(), &leaf, &issuer).map_err(other)?;
        let mut req = OcspRequest::new().map_err(other)?;
        req.add_id(id).map_err(other)?;
        Ok(OcspQuery {
            url,
            from_aia,
            request: req.to_der().map_err(other)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// -id_prefix

fn prefix_index() -> Index<SslContext, Vec<u8>> {
    static INDEX: OnceLock<Index<SslContext, Vec<u8>>> = OnceLock::new();
    // An allocation failure here is an out-of-memory at start-up; it aborts like any other.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// s_server's `MAX_SESSION_ID_ATTEMPTS`.
const MAX_SESSION_ID_ATTEMPTS: u32 = 10;

/// s_server's `generate_session_id`: random bytes starting with the prefix, retried while the
/// id is already in use.
extern "C" fn generate_session_id(ssl: *mut openssl_sys::SSL, id: *mut u8, id_len: *mut c_uint) -> c_int {
    if ssl.is_null() || id.is_null() || id_len.is_null() {
        return 0;
    }
    // SAFETY: OpenSSL calls this with its live SSL and an `*id_len`-byte buffer it owns.
    let (ssl_ref, buf) = unsafe {
        let len = *id_len as usize;
        (SslRef::from_ptr(ssl), core::slice::from_raw_parts_mut(id, len))
    };
    let Some(prefix) = ssl_ref.ssl_context().ex_data(prefix_index()) else {
        return 0;
    };
    for _ in 0..MAX_SESSION_ID_ATTEMPTS {
        if openssl::rand::rand_bytes(buf).is_err() {
            return 0;
        }
        let n = prefix.len().min(buf.len());
        buf[..n].copy_from_slice(&prefix[..n]);
        // SAFETY: live SSL and our buffer of `buf.len()` bytes (at most 32, fits a c_uint).
        if unsafe { ffi::SSL_has_matching_session_id(ssl, buf.as_ptr(), buf.len() as c_uint) } == 0 {
            return 1;
        }
    }
    0
}

// ---------------------------------------------------------------------------------------------
// -ext_cache

/// s_server's external cache: `(session id, DER session)`, newest first.
type ExternalCache = Arc<Mutex<VecDeque<(Vec<u8>, Vec<u8>)>>>;

/// Entries kept by `-ext_cache` (OpenSSL's default internal cache size); s_server's list is
/// unbounded.
const EXT_CACHE_MAX: usize = 20 * 1024;

fn lock_cache(c: &ExternalCache) -> std::sync::MutexGuard<'_, VecDeque<(Vec<u8>, Vec<u8>)>> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------------------
// -stateless

/// Marks a context built with [`ServerConfigBuilder::stateless`].
fn stateless_index() -> Index<SslContext, ()> {
    static INDEX: OnceLock<Index<SslContext, ()>> = OnceLock::new();
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// Does this connection's context want the stateless cookie exchange first?
pub(crate) fn stateless_enabled(ssl: &SslRef) -> bool {
    ssl.ssl_context().ex_data(stateless_index()).is_some()
}

/// HMAC-SHA256 of the ClientHello random (the same in both ClientHellos) under `secret`.
fn cookie(secret: &[u8], ssl: &SslRef) -> Option<Vec<u8>> {
    let mut random = [0u8; 32];
    let n = ssl.client_random(&mut random);
    let key = PKey::hmac(secret).ok()?;
    let mut signer = Signer::new(MessageDigest::sha256(), &key).ok()?;
    signer.update(&random[..n]).ok()?;
    signer.sign_to_vec().ok()
}

/// TLS record content types.
const RT_CCS: u8 = 20;
const RT_HANDSHAKE: u8 = 22;

/// Is a whole ClientHello buffered (after any ChangeCipherSpec records)? `SSL_stateless`
/// starts with `SSL_clear`, which drops a partly read record, so it must see whole records.
/// Returns whether a CCS came first.
fn client_hello_ready(mut buf: &[u8]) -> Option<bool> {
    let mut ccs = false;
    let mut msg: Vec<u8> = Vec::new();
    loop {
        let hdr = buf.get(..5)?;
        let len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        let body = buf.get(5..5 + len)?;
        buf = &buf[5 + len..];
        match hdr[0] {
            RT_CCS if msg.is_empty() => ccs = true,
            RT_HANDSHAKE => {
                msg.extend_from_slice(body);
                if msg.len() >= 4 {
                    let need = 4 + (usize::from(msg[1]) << 16 | usize::from(msg[2]) << 8 | usize::from(msg[3]));
                    if msg.len() >= need {
                        return Some(ccs);
                    }
                }
            }
            // Anything else is for OpenSSL to reject.
            _ => return Some(ccs),
        }
    }
}

/// One step of `-stateless` before the real handshake: `Some(status)` while the cookie exchange
/// goes on, `None` once a ClientHello with a valid cookie was accepted (s_server's
/// `SSL_stateless` loop, then `SSL_accept`).
pub(crate) fn stateless_step<T: Transport>(stream: &mut SslIo<T>) -> Result<Option<HandshakeStatus>, TlsError> {
    let (input, eof) = stream.get_ref().buffered_input();
    let ccs_first = match client_hello_ready(input) {
        Some(ccs) => ccs,
        None if !eof => return Ok(Some(HandshakeStatus::WantInput)),
        None => false,
    };
    let ssl = stream.ssl().as_ptr();
    // SAFETY: live SSL over our transport BIO; SSL_stateless only reads and writes through it.
    let mut r = unsafe { ffi::SSL_stateless(ssl) };
    if r < 0 && ccs_first {
        // The CCS a middlebox-compatible client sends between its ClientHellos makes
        // SSL_stateless stop after consuming it; the ClientHello behind it is read next.
        openssl::error::ErrorStack::get();
        // SAFETY: as above.
        r = unsafe { ffi::SSL_stateless(ssl) };
    }
    match r {
        1 => Ok(None),
        0 => {
            openssl::error::ErrorStack::get();
            Ok(Some(HandshakeStatus::WantInput))
        }
        _ => {
            let mut e = take_queue(TlsErrorKind::Protocol, "SSL_stateless");
            if e.stack.is_empty() {
                if eof {
                    e.kind = TlsErrorKind::UnexpectedEof;
                } else {
                    // A TLS 1.2 ClientHello runs the handshake up to the server's flight and
                    // fails without a reason on the queue.
                    e.reason = String::from("SSL_stateless: no TLSv1.3 ClientHello with a valid cookie (-stateless)");
                }
            }
            Err(e)
        }
    }
}

impl ServerConfigBuilder {
    /// `-id_prefix val`: new session ids start with `prefix` (clipped to the id length).
    pub fn session_id_prefix(&mut self, prefix: &[u8]) -> Result<(), TlsError> {
        self.ctx_mut().set_ex_data(prefix_index(), prefix.to_vec());
        // SAFETY: live SSL_CTX; the callback is a plain function reading the context's ex_data.
        let ok = unsafe { ffi::SSL_CTX_set_generate_session_id(self.ctx_mut().as_ptr(), Some(generate_session_id)) };
        if ok == 1 {
            Ok(())
        } else {
            Err(take_queue(TlsErrorKind::Config, "error setting 'id_prefix'"))
        }
    }

    /// `-ext_cache`: sessions live in an external cache (DER by session id) through the
    /// new/get/remove callbacks instead of OpenSSL's internal cache, with s_server's lines as
    /// [`Event::Note`]s.
    pub fn external_session_cache(&mut self) {
        let cache: ExternalCache = Arc::default();
        let ctx = self.ctx_mut();
        ctx.set_session_cache_mode(SslSessionCacheMode::SERVER | SslSessionCacheMode::NO_INTERNAL);
        let add = cache.clone();
        ctx.set_new_session_callback(move |ssl, session| match session.to_der() {
            Ok(der) => {
                let mut c = lock_cache(&add);
                c.push_front((session.id().to_vec(), der));
                c.truncate(EXT_CACHE_MAX);
                drop(c);
                note(ssl, "New session added to external cache\n");
            }
            Err(_) => note(ssl, "Error encoding session\n"),
        });
        let get = cache.clone();
        let lookup = move |ssl: &mut SslRef, id: &[u8]| {
            let der = lock_cache(&get).iter().find(|(i, _)| i == id).map(|(_, d)| d.clone());
            match der {
                Some(d) => {
                    note(ssl, "Lookup session: cache hit\n");
                    SslSession::from_der(&d).ok()
                }
                None => {
                    note(ssl, "Lookup session: cache miss\n");
                    None
                }
            }
        };
        // SAFETY: the callback returns only sessions decoded afresh from DER, never one that
        // belongs to another context.
        unsafe { ctx.set_get_session_callback(lookup) };
        ctx.set_remove_session_callback(move |_, session| {
            let mut c = lock_cache(&cache);
            if let Some(pos) = c.iter().position(|(i, _)| i == session.id()) {
                c.remove(pos);
            }
        });
    }

    /// `-stateless`: every TLS connection starts with `SSL_stateless`, so a TLS 1.3 client gets a
    /// HelloRetryRequest with a cookie and is served only when it returns it. The application
    /// part of the cookie is an HMAC of the ClientHello random under a random secret.
    pub fn stateless(&mut self) -> Result<(), TlsError> {
        let mut secret = [0u8; 32];
        openssl::rand::rand_bytes(&mut secret).map_err(|e| config_error("cookie secret", &e))?;
        let gen_secret = secret;
        let ctx = self.ctx_mut();
        ctx.set_ex_data(stateless_index(), ());
        ctx.set_stateless_cookie_generate_cb(move |ssl, out| {
            let c = cookie(&gen_secret, ssl).ok_or_else(openssl::error::ErrorStack::get)?;
            let n = c.len().min(out.len());
            out[..n].copy_from_slice(&c[..n]);
            Ok(n)
        });
        ctx.set_stateless_cookie_verify_cb(move |ssl, got| cookie(&secret, ssl).is_some_and(|c| c == got));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_needs_whole_records() {
        let ch = [22u8, 3, 1, 0, 6, 1, 0, 0, 2, 0xaa, 0xbb];
        assert_eq!(client_hello_ready(&ch), Some(false));
        assert_eq!(client_hello_ready(&ch[..10]), None);
        let mut with_ccs = alloc::vec![20u8, 3, 3, 0, 1, 1];
        with_ccs.extend_from_slice(&ch);
        assert_eq!(client_hello_ready(&with_ccs), Some(true));
        assert_eq!(client_hello_ready(&with_ccs[..6]), None);
        // A ClientHello split over two records.
        let split = [22u8, 3, 1, 0, 3, 1, 0, 0, 22, 3, 1, 0, 3, 2, 0xaa, 0xbb];
        assert_eq!(client_hello_ready(&split), Some(false));
    }

    #[test]
    fn an_empty_slot_is_wanted() {
        let s = OcspStaple::new();
        assert!(s.current().is_none());
        let calls = Arc::new(core::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        s.on_wanted(move || {
            seen.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
        });
        assert!(s.current().is_none());
        assert!(s.take_wanted());
        assert!(!s.take_wanted());
        assert!(s.current().is_none());
        assert!(s.current().is_none());
        assert_eq!(
            calls.load(core::sync::atomic::Ordering::SeqCst),
            1,
            "once per empty spell"
        );
        assert!(s.set(alloc::vec![1, 2, 3]).is_err());
        assert!(!s.is_set());
    }
}
