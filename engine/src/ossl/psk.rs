//! Pre-shared keys and TLS 1.3 early data for the OpenSSL backend, as s_server does them:
//! `psk_server_cb` (TLS 1.2 and below), `psk_find_session_cb` (TLS 1.3, from the key or a
//! `-psk_session` file), `SSL_read_early_data` and the early-data limits.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::BytesMut;
use core::ffi::{c_int, c_uchar};
use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::ex_data::Index;
use openssl::ssl::{ErrorCode, SslContext, SslRef, SslSession, SslVersion};

use super::bio::SslIo;
use super::callbacks::events_index;
use super::config::ServerConfigBuilder;
use super::errors::{config_error, from_ssl_error};
use super::ffi;
use crate::error::{TlsError, TlsErrorKind};
use crate::event::{EarlyDataStatus, Event};
use crate::tls::EarlyRead;

/// What the PSK callbacks need, stored as `SSL_CTX` ex_data (the TLS 1.3 callback is a plain C
/// function and finds it there).
struct PskConfig {
    /// `-psk_identity` (s_server's default `Client_identity`).
    identity: String,
    /// `-psk`, decoded.
    key: Option<Vec<u8>>,
    /// `-psk_session`: used as is for TLS 1.3 instead of one made from the key.
    session: Option<SslSession>,
}

fn psk_index() -> Index<SslContext, PskConfig> {
    static INDEX: std::sync::OnceLock<Index<SslContext, PskConfig>> = std::sync::OnceLock::new();
    // As for the events index: failing here is an out-of-memory at start-up.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// s_server's default `-psk_identity`.
pub const DEFAULT_PSK_IDENTITY: &str = "Client_identity";

/// `TLS_AES_128_GCM_SHA256`, the suite s_server binds a TLS 1.3 PSK made from `-psk` to.
const TLS13_AES128GCMSHA256_ID: [u8; 2] = [0x13, 0x01];

/// Decodes an `SSL SESSION PARAMETERS` PEM block (what `s_client -sess_out` writes).
fn session_from_pem(pem: &[u8]) -> Result<SslSession, TlsError> {
    let bad = || TlsError::new(TlsErrorKind::Config, "no SSL SESSION PARAMETERS PEM block found");
    let text = core::str::from_utf8(pem).map_err(|_| bad())?;
    let body = text
        .split("-----BEGIN SSL SESSION PARAMETERS-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END SSL SESSION PARAMETERS-----").next())
        .ok_or_else(bad)?;
    let b64: String = body.split_whitespace().collect();
    let der = openssl::base64::decode_block(&b64).map_err(|e| config_error("bad PEM base64", &e))?;
    SslSession::from_der(&der).map_err(|e| config_error("bad SSL session", &e))
}

impl ServerConfigBuilder {
    /// `-psk key -psk_identity id -psk_session pem`: accept this pre-shared key for the client
    /// identity `identity`. TLS 1.2 and below use `key` through the PSK server callback (a
    /// client sending another identity still gets the key, with
    /// [`Event::PskIdentityMismatch`]); TLS 1.3 resumes the `session` if given, else a session
    /// made from `key` with `TLS_AES_128_GCM_SHA256` (only for the exact identity).
    pub fn psk(&mut self, identity: &str, key: Option<&[u8]>, session_pem: Option<&[u8]>) -> Result<(), TlsError> {
        let session = session_pem.map(session_from_pem).transpose()?;
        if let Some(key) = key {
            let (key, expected) = (key.to_vec(), identity.to_string());
            self.ctx
                .set_psk_server_callback(move |ssl, id, psk| Ok(psk_server(ssl, id, psk, &key, &expected)));
        }
        self.ctx.set_ex_data(
            psk_index(),
            PskConfig {
                identity: identity.to_string(),
                key: key.map(<[u8]>::to_vec),
                session,
            },
        );
        if key.is_some() || session_pem.is_some() {
            // SAFETY: `ctx` is a live SSL_CTX; the callback is a plain function that reads its
            // state from the context's ex_data, which lives as long as the context.
            unsafe { ffi::SSL_CTX_set_psk_find_session_callback(self.ctx.as_ptr(), Some(find_session)) };
        }
        Ok(())
    }

    /// `-psk_hint hint`: the PSK identity hint sent in TLS 1.2 and below.
    pub fn psk_identity_hint(&mut self, hint: &str) -> Result<(), TlsError> {
        let hint = alloc::ffi::CString::new(hint)
            .map_err(|_| TlsError::new(TlsErrorKind::Config, "PSK identity hint contains a NUL byte"))?;
        // SAFETY: `ctx` is a live SSL_CTX; OpenSSL copies the NUL-terminated hint.
        if unsafe { ffi::SSL_CTX_use_psk_identity_hint(self.ctx.as_ptr(), hint.as_ptr()) } == 1 {
            Ok(())
        } else {
            Err(super::errors::take_queue(
                TlsErrorKind::Config,
                "error setting PSK identity hint to context",
            ))
        }
    }

    /// `-max_early_data n`: the early data we announce in session tickets (0 disables 0-RTT).
    pub fn max_early_data(&mut self, n: u32) -> Result<(), TlsError> {
        self.ctx
            .set_max_early_data(n)
            .map_err(|e| config_error("max_early_data", &e))
    }

    /// `-recv_max_early_data n`: the most early data we accept.
    pub fn recv_max_early_data(&mut self, n: u32) -> Result<(), TlsError> {
        // SAFETY: `ctx` is a live SSL_CTX; the call stores a number.
        if unsafe { ffi::SSL_CTX_set_recv_max_early_data(self.ctx.as_ptr(), n) } == 1 {
            Ok(())
        } else {
            Err(TlsError::new(TlsErrorKind::Config, "recv_max_early_data: refused"))
        }
    }
}

/// s_server's `psk_server_cb`: the key for TLS 1.2 and below, whatever identity the client sent
/// (a different one is only warned about). Returns the key length, 0 for "no PSK".
fn psk_server(ssl: &mut SslRef, identity: Option<&[u8]>, psk: &mut [u8], key: &[u8], expected: &str) -> usize {
    // TLS 1.3 PSKs go through `find_session`.
    if ssl.version2() == Some(SslVersion::TLS1_3) {
        return 0;
    }
    let Some(identity) = identity else {
        return 0;
    };
    if identity != expected.as_bytes() {
        if let Some(ev) = ssl.ex_data(events_index()) {
            ev.push(Event::PskIdentityMismatch {
                got: String::from_utf8_lossy(identity).into_owned(),
                expected: expected.to_string(),
            });
        }
    }
    if key.len() > psk.len() {
        return 0;
    }
    psk[..key.len()].copy_from_slice(key);
    key.len()
}

/// s_server's `psk_find_session_cb` (TLS 1.3): for the configured identity, the `-psk_session`
/// session or a new one holding the key; any other identity gets no session (the handshake goes
/// on without a PSK).
unsafe extern "C" fn find_session(
    ssl: *mut openssl_sys::SSL,
    identity: *const c_uchar,
    identity_len: usize,
    sess: *mut *mut openssl_sys::SSL_SESSION,
) -> c_int {
    // SAFETY: OpenSSL calls this with a live SSL, `identity_len` readable bytes at `identity`
    // (or none), and a writable out-pointer `sess`.
    let (ssl_ref, identity) = unsafe {
        *sess = core::ptr::null_mut();
        let id: &[u8] = if identity.is_null() || identity_len == 0 {
            &[]
        } else {
            core::slice::from_raw_parts(identity, identity_len)
        };
        (SslRef::from_ptr(ssl), id)
    };
    let Some(cfg) = ssl_ref.ssl_context().ex_data(psk_index()) else {
        return 1;
    };
    if cfg.identity.as_bytes() != identity {
        return 1;
    }
    if let Some(s) = &cfg.session {
        // The reference taken by `clone` (SSL_SESSION_up_ref) goes to OpenSSL.
        let s = s.clone();
        let p = s.as_ptr();
        core::mem::forget(s);
        // SAFETY: `sess` is the out-pointer checked above; OpenSSL owns the reference now.
        unsafe { *sess = p };
        return 1;
    }
    let Some(key) = &cfg.key else {
        return 1;
    };
    // SAFETY: live SSL; the id is two readable bytes. The cipher is a static table entry.
    let cipher = unsafe { ffi::SSL_CIPHER_find(ssl, TLS13_AES128GCMSHA256_ID.as_ptr()) };
    if cipher.is_null() {
        return 0;
    }
    // SAFETY: SSL_SESSION_new returns an owned session or NULL.
    let raw = unsafe { ffi::SSL_SESSION_new() };
    if raw.is_null() {
        return 0;
    }
    // SAFETY: `raw` is a new session we own; `SslSession` frees it on every early return.
    let session = unsafe { SslSession::from_ptr(raw) };
    // SAFETY: `raw` is live; the key slice is valid for its length; `cipher` came from
    // SSL_CIPHER_find; SSL_version only reads the live SSL.
    let ok = unsafe {
        ffi::SSL_SESSION_set1_master_key(raw, key.as_ptr(), key.len()) == 1
            && ffi::SSL_SESSION_set_cipher(raw, cipher) == 1
            && ffi::SSL_SESSION_set_protocol_version(raw, openssl_sys::SSL_version(ssl)) == 1
    };
    if !ok {
        return 0;
    }
    core::mem::forget(session);
    // SAFETY: as above; the session's only reference goes to OpenSSL.
    unsafe { *sess = raw };
    1
}

/// Largest early data piece one read asks for (one TLS record).
const EARLY_CHUNK: usize = 16 * 1024;

/// `SSL_read_early_data` on `stream`, appending to `buf` (see [`crate::tls::TlsBackend::read_early_data`]).
pub(crate) fn read_early_data<T>(stream: &mut SslIo<T>, buf: &mut BytesMut) -> Result<EarlyRead, TlsError> {
    // SAFETY: live SSL, read-only query.
    if unsafe { ffi::SSL_is_dtls(stream.ssl().as_ptr()) } == 1 {
        return Ok(EarlyRead::Finished(EarlyDataStatus::NotSent));
    }
    let start = buf.len();
    // Only sessions with `-early_data` come here, and 0-RTT is rare: a zero-filled chunk is fine.
    buf.resize(start + EARLY_CHUNK, 0);
    let r = stream.read_early_data(&mut buf[start..]);
    match r {
        Ok(n) => {
            buf.truncate(start + n);
            if n > 0 {
                return Ok(EarlyRead::Data(n));
            }
            // SAFETY: live SSL, read-only query.
            let status = match unsafe { ffi::SSL_get_early_data_status(stream.ssl().as_ptr()) } {
                ffi::SSL_EARLY_DATA_ACCEPTED => EarlyDataStatus::Accepted,
                ffi::SSL_EARLY_DATA_REJECTED => EarlyDataStatus::Rejected,
                _ => EarlyDataStatus::NotSent,
            };
            Ok(EarlyRead::Finished(status))
        }
        Err(e) => {
            buf.truncate(start);
            if matches!(e.code, ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) {
                openssl::error::ErrorStack::get();
                Ok(EarlyRead::WantInput)
            } else {
                Err(from_ssl_error(e))
            }
        }
    }
}
