//! What s_server prints about a connection, read from the `SSL` after the handshake.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, CStr};
use core::ptr;
use foreign_types::ForeignTypeRef;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::ssl::{NameType, SslContextRef, SslRef, SslVersion};
use openssl::x509::X509Ref;

use super::ffi;
use super::membio::MemBio;
use crate::connection::{Certificate, CipherSuite, ConnectionInfo, ProtocolVersion};
use crate::event::{CacheStats, HandshakeInfo, KeyingMaterial, PeerCertificate};

fn ssl_ptr(ssl: &SslRef) -> *mut openssl_sys::SSL {
    ssl.as_ptr()
}

fn cstr(p: *const c_char) -> Option<String> {
    // SAFETY: OpenSSL returns NUL-terminated static or SSL-owned strings (or NULL); we copy.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn ctrl(ssl: &SslRef, cmd: c_int, larg: i64) -> i64 {
    // SAFETY: read-only controls on a live SSL that take no pointer argument.
    // c_long is i64 on LP64 but not everywhere, hence the cast.
    let v: core::ffi::c_long = unsafe { ffi::SSL_ctrl(ssl_ptr(ssl), cmd, larg as _, ffi::NO_ARG) };
    v as i64
}

/// What the console and the status page show about the connection; see
/// [`crate::tls::TlsBackend::handshake_info`] for `detailed`.
pub(crate) fn handshake_info(ssl: &SslRef, detailed: bool) -> HandshakeInfo {
    let cipher = ssl.current_cipher();
    let peer = ssl.peer_certificate();
    let mut info = HandshakeInfo {
        protocol: ssl.version_str().to_string(),
        cipher: cipher.map(|c| c.name().to_string()).unwrap_or_default(),
        cipher_version: cipher.map(|c| c.version().to_string()).unwrap_or_default(),
        resumed: ssl.session_reused(),
        alpn: ssl
            .selected_alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        server_name: ssl.servername(NameType::HOST_NAME).map(ToString::to_string),
        group: negotiated_group(ssl),
        secure_renegotiation: ctrl(ssl, ffi::SSL_CTRL_GET_RI_SUPPORT, 0) != 0,
        peer_certificate: peer
            .as_ref()
            .map(|c| peer_certificate(c, detailed, super::verify::nameopt(ssl.ssl_context()))),
        verify_result: {
            let v = ssl.verify_result();
            (i64::from(v.as_raw()), v.error_string().to_string())
        },
        next_protocol: super::certs::next_protocol(ssl),
        ..HandshakeInfo::default()
    };
    if detailed {
        info.keying_material = keying_material(ssl);
        info.session_pem = session_print(ssl, true);
        info.session_text = session_print(ssl, false);
        info.shared_ciphers = shared_ciphers(ssl);
        info.client_ciphers = client_ciphers(ssl);
        info.sigalgs_lines = sigalgs_lines(ssl);
        info.groups_lines = groups_lines(ssl);
    }
    info
}

/// The typed facts an embedding program gets ([`crate::ConnectionInfo`]).
pub(crate) fn connection_info(ssl: &SslRef) -> ConnectionInfo {
    let protocol = match ssl.version2() {
        Some(v) if v == SslVersion::TLS1 => ProtocolVersion::Tls1_0,
        Some(v) if v == SslVersion::TLS1_1 => ProtocolVersion::Tls1_1,
        Some(v) if v == SslVersion::TLS1_2 => ProtocolVersion::Tls1_2,
        Some(v) if v == SslVersion::TLS1_3 => ProtocolVersion::Tls1_3,
        Some(v) if v == SslVersion::DTLS1 => ProtocolVersion::Dtls1_0,
        Some(v) if v == SslVersion::DTLS1_2 => ProtocolVersion::Dtls1_2,
        _ => ProtocolVersion::Other(0),
    };
    let cipher_suite = match ssl.current_cipher() {
        Some(c) => CipherSuite::new(
            u16::from_be_bytes(c.protocol_id()),
            c.standard_name().unwrap_or(c.name()),
            c.name(),
        ),
        None => CipherSuite::new(0, "", ""),
    };
    // On a server, SSL_get_peer_cert_chain leaves out the peer's own certificate.
    let mut chain: Vec<Certificate> = ssl.peer_certificate().iter().map(|c| certificate(c)).collect();
    if let Some(rest) = ssl.peer_cert_chain() {
        chain.extend(rest.iter().map(certificate));
    }
    let verify_result = (!chain.is_empty()).then(|| {
        let v = ssl.verify_result();
        (i64::from(v.as_raw()), v.error_string().to_string())
    });
    ConnectionInfo::new(
        protocol,
        cipher_suite,
        ssl.selected_alpn_protocol().map(<[u8]>::to_vec),
        ssl.servername(NameType::HOST_NAME).map(ToString::to_string),
        ssl.session_reused(),
        chain,
        verify_result,
    )
}

fn certificate(cert: &X509Ref) -> Certificate {
    let name = |n| super::verify::name_print_ex(n, 0, super::verify::XN_FLAG_RFC2253);
    let mut sha256 = [0u8; 32];
    if let Ok(d) = cert.digest(MessageDigest::sha256()) {
        sha256.copy_from_slice(&d[..32]);
    }
    Certificate::new(
        cert.to_der().unwrap_or_default(),
        name(cert.subject_name()),
        name(cert.issuer_name()),
        sha256,
    )
}

/// What `-keymatexport`/`-keymatexportlen` ask for (stored as `SSL_CTX` ex_data).
#[derive(Debug)]
pub(crate) struct KeymatRequest {
    pub(crate) label: String,
    pub(crate) len: usize,
}

/// The ex_data index of [`KeymatRequest`] on the server context.
pub(crate) fn keymat_index() -> openssl::ex_data::Index<openssl::ssl::SslContext, KeymatRequest> {
    static INDEX: std::sync::OnceLock<openssl::ex_data::Index<openssl::ssl::SslContext, KeymatRequest>> =
        std::sync::OnceLock::new();
    // As for the events index: failing here is an out-of-memory at start-up.
    *INDEX.get_or_init(|| openssl::ssl::SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// s_server's `Keying material exporter:` values, when `-keymatexport` was given.
fn keying_material(ssl: &SslRef) -> Option<KeyingMaterial> {
    let req = ssl.ssl_context().ex_data(keymat_index())?;
    let mut out = alloc::vec![0u8; req.len];
    let value = match ssl.export_keying_material(&mut out, &req.label, None) {
        Ok(()) => Some(out),
        Err(_) => None,
    };
    Some(KeyingMaterial {
        label: req.label.clone(),
        len: req.len,
        value,
    })
}

#[cfg(ossl300)]
fn negotiated_group(ssl: &SslRef) -> Option<String> {
    let nid = ctrl(ssl, ffi::SSL_CTRL_GET_NEGOTIATED_GROUP, 0);
    if nid <= 0 {
        return None;
    }
    group_name(ssl_ptr(ssl), nid as c_int)
}

/// 1.1.1 has no `SSL_get_negotiated_group`.
#[cfg(not(ossl300))]
fn negotiated_group(_ssl: &SslRef) -> Option<String> {
    None
}

/// A group's name (`SSL_group_to_name`, 3.0).
#[cfg(ossl300)]
fn group_name(s: *mut openssl_sys::SSL, id: c_int) -> Option<String> {
    // SAFETY: live SSL; returns a static name or NULL.
    cstr(unsafe { ffi::SSL_group_to_name(s, id) })
}

/// A group's name on 1.1.1, whose group lists hold NIDs: the NIST curve name, else the short
/// name; an unknown group (`TLSEXT_nid_unknown` set) as its hex code point, as 1.1.1's
/// `ssl_print_groups` prints them.
#[cfg(not(ossl300))]
fn group_name(_s: *mut openssl_sys::SSL, id: c_int) -> Option<String> {
    const TLSEXT_NID_UNKNOWN: c_int = 0x100_0000;
    if id & TLSEXT_NID_UNKNOWN != 0 {
        return Some(alloc::format!("0x{:04X}", id & 0xFFFF));
    }
    // SAFETY: returns a static string or NULL for any NID.
    cstr(unsafe { ffi::EC_curve_nid2nist(id) }).or_else(|| Nid::from_raw(id).short_name().ok().map(ToString::to_string))
}

fn session_print(ssl: &SslRef, pem: bool) -> String {
    let (Some(session), Some(bio)) = (ssl.session(), MemBio::new()) else {
        return String::new();
    };
    // SAFETY: both pointers are live for the call; the functions only read the session.
    let ok = unsafe {
        if pem {
            ffi::PEM_write_bio_SSL_SESSION(bio.as_ptr(), session.as_ptr())
        } else {
            ffi::SSL_SESSION_print(bio.as_ptr(), session.as_ptr())
        }
    };
    if ok <= 0 {
        openssl::error::ErrorStack::get();
    }
    bio.text()
}

fn shared_ciphers(ssl: &SslRef) -> String {
    let mut buf = [0u8; 16 * 1024];
    // SAFETY: `buf` is writable for its length; OpenSSL writes a NUL-terminated list or returns
    // NULL.
    let p = unsafe { ffi::SSL_get_shared_ciphers(ssl_ptr(ssl), buf.as_mut_ptr().cast(), buf.len() as c_int) };
    if p.is_null() {
        return String::new();
    }
    cstr(buf.as_ptr().cast()).unwrap_or_default()
}

fn client_ciphers(ssl: &SslRef) -> Vec<String> {
    // SAFETY: returns a stack owned by the SSL (or NULL); read at once while `ssl` lives.
    let sk = unsafe { ffi::SSL_get_client_ciphers(ssl_ptr(ssl)) };
    cipher_stack(sk).into_iter().map(|(_, name)| name).collect()
}

/// (version, name) of every cipher in a `STACK_OF(SSL_CIPHER)` owned by a live `SSL` (or NULL).
fn cipher_stack(sk: *mut openssl_sys::stack_st_SSL_CIPHER) -> Vec<(String, String)> {
    if sk.is_null() {
        return Vec::new();
    }
    // SAFETY: `sk` is a valid, non-NULL stack (callers pass what OpenSSL returned for a live SSL).
    let n = unsafe { openssl_sys::OPENSSL_sk_num(sk.cast()) };
    (0..n.max(0))
        .filter_map(|i| {
            // SAFETY: index within bounds; entries are SSL_CIPHER pointers.
            let c = unsafe { openssl_sys::OPENSSL_sk_value(sk.cast(), i) } as *const openssl_sys::SSL_CIPHER;
            if c.is_null() {
                return None;
            }
            // SAFETY: valid cipher; both functions return static strings.
            let (v, name) = unsafe {
                (
                    openssl_sys::SSL_CIPHER_get_version(c),
                    openssl_sys::SSL_CIPHER_get_name(c),
                )
            };
            Some((cstr(v).unwrap_or_default(), cstr(name).unwrap_or_default()))
        })
        .collect()
}

/// s_cb.c `get_sigtype`.
fn sigtype(nid: c_int) -> Option<&'static str> {
    Some(match nid {
        openssl_sys::EVP_PKEY_RSA => "RSA",
        openssl_sys::NID_rsassaPss => "RSA-PSS",
        openssl_sys::EVP_PKEY_DSA => "DSA",
        openssl_sys::EVP_PKEY_EC => "ECDSA",
        openssl_sys::NID_ED25519 => "ed25519",
        openssl_sys::NID_ED448 => "ed448",
        _ => return None,
    })
}

fn short_name(nid: c_int) -> String {
    Nid::from_raw(nid).short_name().unwrap_or("UNDEF").to_string()
}

/// s_cb.c `ssl_print_sigalgs` for a server: the client's and the shared lists, then the peer's
/// signing digest and type when it signed (client authentication).
fn sigalgs_lines(ssl: &SslRef) -> Vec<String> {
    let s = ssl_ptr(ssl);
    let mut lines = Vec::new();
    for shared in [false, true] {
        let get = |i: c_int, sign: &mut c_int, hash: &mut c_int, rsign: &mut u8, rhash: &mut u8| {
            // SAFETY: live SSL; all out-pointers are valid locals or NULL.
            unsafe {
                if shared {
                    ffi::SSL_get_shared_sigalgs(s, i, sign, hash, ptr::null_mut(), rsign, rhash)
                } else {
                    ffi::SSL_get_sigalgs(s, i, sign, hash, ptr::null_mut(), rsign, rhash)
                }
            }
        };
        // SAFETY: NULL out-pointers ask only for the count.
        let n = unsafe {
            if shared {
                ffi::SSL_get_shared_sigalgs(
                    s,
                    0,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            } else {
                ffi::SSL_get_sigalgs(
                    s,
                    -1,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            }
        };
        if n <= 0 {
            continue;
        }
        let mut names = Vec::new();
        for i in 0..n {
            let (mut sign, mut hash, mut rsign, mut rhash) = (0, 0, 0u8, 0u8);
            get(i, &mut sign, &mut hash, &mut rsign, &mut rhash);
            let code = u16::from(rsign) | u16::from(rhash) << 8;
            let fixed = match code {
                0x0809 => Some("rsa_pss_pss_sha256"),
                0x080a => Some("rsa_pss_pss_sha384"),
                0x080b => Some("rsa_pss_pss_sha512"),
                0x081a => Some("ecdsa_brainpoolP256r1_sha256"),
                0x081b => Some("ecdsa_brainpoolP384r1_sha384"),
                0x081c => Some("ecdsa_brainpoolP512r1_sha512"),
                _ => None,
            };
            let name = match fixed {
                Some(f) => f.to_string(),
                None => {
                    let st = sigtype(sign);
                    let mut s = st.map_or_else(|| alloc::format!("0x{rsign:02X}"), ToString::to_string);
                    if hash != openssl_sys::NID_undef {
                        s.push('+');
                        s.push_str(&short_name(hash));
                    } else if st.is_none() {
                        s.push_str(&alloc::format!("+0x{rhash:02X}"));
                    }
                    s
                }
            };
            names.push(name);
        }
        let prefix = if shared {
            "Shared Signature Algorithms: "
        } else {
            "Signature Algorithms: "
        };
        lines.push(alloc::format!("{prefix}{}", names.join(":")));
    }
    let mut nid: c_int = 0;
    // SAFETY: SSL_get_peer_signature_nid is SSL_ctrl(SSL_CTRL_GET_PEER_SIGNATURE_NID, 0, &nid).
    let got = unsafe {
        ffi::SSL_ctrl(
            s,
            ffi::SSL_CTRL_GET_PEER_SIGNATURE_NID,
            0,
            (&mut nid as *mut c_int).cast(),
        )
    };
    if got > 0 && nid != openssl_sys::NID_undef {
        lines.push(alloc::format!("Peer signing digest: {}", short_name(nid)));
    }
    let mut tnid: c_int = 0;
    // SAFETY: live SSL; valid out-pointer.
    if unsafe { ffi::SSL_get_peer_signature_type_nid(s, &mut tnid) } > 0 {
        if let Some(t) = sigtype(tnid) {
            lines.push(alloc::format!("Peer signature type: {t}"));
        }
    }
    lines
}

/// s_cb.c `ssl_print_groups`: the client's groups and the shared ones.
fn groups_lines(ssl: &SslRef) -> Vec<String> {
    let s = ssl_ptr(ssl);
    // SAFETY: NULL asks for the count only.
    let n = unsafe { ffi::SSL_ctrl(s, ffi::SSL_CTRL_GET_GROUPS, 0, ptr::null_mut()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut groups: Vec<c_int> = alloc::vec![0; n as usize];
    // SAFETY: `groups` has room for the `n` ints OpenSSL writes.
    unsafe { ffi::SSL_ctrl(s, ffi::SSL_CTRL_GET_GROUPS, 0, groups.as_mut_ptr().cast()) };
    let name = |id: c_int| group_name(s, id).unwrap_or_else(|| alloc::format!("0x{id:04X}"));
    let supported: Vec<String> = groups.iter().map(|&g| name(g)).collect();
    // SAFETY: n = -1 asks for the number of shared groups.
    let nshared = unsafe { ffi::SSL_ctrl(s, ffi::SSL_CTRL_GET_SHARED_GROUP, -1, ptr::null_mut()) };
    let shared: Vec<String> = (0..nshared.max(0))
        .map(|i| {
            // SAFETY: index within the count returned above.
            let id = unsafe { ffi::SSL_ctrl(s, ffi::SSL_CTRL_GET_SHARED_GROUP, i, ptr::null_mut()) };
            name(id as c_int)
        })
        .collect();
    let shared = if shared.is_empty() {
        "NONE".to_string()
    } else {
        shared.join(":")
    };
    alloc::vec![
        alloc::format!("Supported groups: {}", supported.join(":")),
        alloc::format!("Shared groups: {shared}")
    ]
}

fn peer_certificate(cert: &X509Ref, detailed: bool, nameopt: u64) -> PeerCertificate {
    use super::verify::{name_print_ex, print_name_text};
    let text = |r: Result<Vec<u8>, openssl::error::ErrorStack>| {
        r.map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_default()
    };
    PeerCertificate {
        subject: name_print_ex(cert.subject_name(), 0, nameopt),
        issuer: name_print_ex(cert.issuer_name(), 0, nameopt),
        subject_line: print_name_text(cert.subject_name(), nameopt),
        issuer_line: print_name_text(cert.issuer_name(), nameopt),
        pem: if detailed { text(cert.to_pem()) } else { String::new() },
        text: if detailed { text(cert.to_text()) } else { String::new() },
        sha256: cert
            .digest(MessageDigest::sha256())
            .map(|d| d.iter().map(|b| alloc::format!("{b:02x}")).collect())
            .unwrap_or_default(),
    }
}

/// Every cipher this connection enables, as s_server's status page lists them.
pub(crate) fn supported_ciphers(ssl: &SslRef) -> Vec<(String, String)> {
    // SAFETY: SSL_get_ciphers returns the SSL's own stack (or NULL); read at once while `ssl` lives.
    cipher_stack(unsafe { ffi::SSL_get_ciphers(ssl_ptr(ssl)) })
}

/// The context's session-cache counters (`print_stats`).
pub(crate) fn cache_stats(ctx: &SslContextRef) -> CacheStats {
    let c = |cmd: c_int| -> i64 {
        // SAFETY: read-only counters of a live SSL_CTX; no pointer argument.
        let v: core::ffi::c_long = unsafe { ffi::SSL_CTX_ctrl(ctx.as_ptr(), cmd, 0, ffi::NO_ARG) };
        v as i64
    };
    CacheStats {
        number: c(ffi::SSL_CTRL_SESS_NUMBER),
        connect: c(ffi::SSL_CTRL_SESS_CONNECT),
        connect_renegotiate: c(ffi::SSL_CTRL_SESS_CONNECT_RENEGOTIATE),
        connect_good: c(ffi::SSL_CTRL_SESS_CONNECT_GOOD),
        accept: c(ffi::SSL_CTRL_SESS_ACCEPT),
        accept_renegotiate: c(ffi::SSL_CTRL_SESS_ACCEPT_RENEGOTIATE),
        accept_good: c(ffi::SSL_CTRL_SESS_ACCEPT_GOOD),
        hits: c(ffi::SSL_CTRL_SESS_HIT),
        misses: c(ffi::SSL_CTRL_SESS_MISSES),
        timeouts: c(ffi::SSL_CTRL_SESS_TIMEOUTS),
        cb_hits: c(ffi::SSL_CTRL_SESS_CB_HIT),
        cache_full: c(ffi::SSL_CTRL_SESS_CACHE_FULL),
        cache_size: c(ffi::SSL_CTRL_GET_SESS_CACHE_SIZE),
    }
}
