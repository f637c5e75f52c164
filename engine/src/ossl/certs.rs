//! s_server's extra certificate and key-exchange options: a second context chosen by SNI
//! (`-servername`, `-cert2`, `-key2`, `-servername_fatal`), a second certificate of another key
//! type (`-dcert`, `-dkey`, `-dcert_chain`), `-serverinfo`, `-dhparam`, `-no_dhe` and NPN
//! (`-nextprotoneg`).

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_int, c_uint, c_void};
use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::dh::Dh;
use openssl::ex_data::Index;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{NameType, SniError, SslAlert, SslContext, SslRef};
use openssl::stack::Stack;
use openssl::x509::X509;

use super::callbacks;
use super::config::{CertFormat, ServerConfigBuilder};
use super::errors::config_error;
use super::ffi;
use crate::error::{TlsError, TlsErrorKind};
use crate::event::Event;

fn cfg_err(context: &str) -> impl FnOnce(openssl::error::ErrorStack) -> TlsError + '_ {
    move |e| config_error(context, &e)
}

fn config(reason: impl Into<String>) -> TlsError {
    TlsError::new(TlsErrorKind::Config, reason.into())
}

/// What the SNI callback compares and does (s_server's `tlsextctx`).
struct SniPolicy {
    /// `-servername`: compared case-insensitively with the client's SNI.
    name: String,
    /// `-servername_fatal`: a mismatch is a fatal `unrecognized_name` alert instead of a warning.
    fatal: bool,
}

/// s_server's `ssl_servername_cb`: report the client's host name, switch to `target` when it
/// matches, otherwise answer as `-servername_fatal` says. `target` is `None` on the second
/// context itself, where s_server "switches" to the context already in use.
fn servername(policy: &SniPolicy, target: Option<&SslContext>, ssl: &mut SslRef) -> Result<(), SniError> {
    let Some(raw) = ssl.servername_raw(NameType::HOST_NAME).map(<[u8]>::to_vec) else {
        return Ok(());
    };
    let matches = raw.eq_ignore_ascii_case(policy.name.as_bytes());
    callbacks::push(
        ssl,
        Event::ServerName {
            host: escape_host(&raw),
            switched: matches,
        },
    );
    if !matches {
        return Err(if policy.fatal {
            SniError::ALERT_FATAL
        } else {
            SniError::ALERT_WARNING
        });
    }
    if let Some(ctx) = target {
        ssl.set_ssl_context(ctx).map_err(|_| SniError::ALERT_FATAL)?;
    }
    Ok(())
}

/// The host name as s_server prints it: printable ASCII as is, other bytes as `\xNN`.
fn escape_host(raw: &[u8]) -> String {
    let mut s = String::new();
    for &b in raw {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(char::from(b));
        } else {
            s.push_str(&alloc::format!("\\x{b:02x}"));
        }
    }
    s
}

/// The ex_data index of the NPN protocol list (wire format) on a context.
fn npn_index() -> Index<SslContext, Vec<u8>> {
    static INDEX: std::sync::OnceLock<Index<SslContext, Vec<u8>>> = std::sync::OnceLock::new();
    // Failure is an out-of-memory at start-up, as for the other indexes.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// s_server's `next_proto_cb`: advertise the `-nextprotoneg` list.
extern "C" fn next_proto_advertised(
    ssl: *mut openssl_sys::SSL,
    out: *mut *const u8,
    outlen: *mut c_uint,
    _arg: *mut c_void,
) -> c_int {
    // SAFETY: OpenSSL calls this with the live SSL of the handshake in progress.
    let ssl = unsafe { SslRef::from_ptr(ssl) };
    let Some(list) = ssl.ssl_context().ex_data(npn_index()) else {
        return openssl_sys::SSL_TLSEXT_ERR_NOACK;
    };
    let Ok(len) = c_uint::try_from(list.len()) else {
        return openssl_sys::SSL_TLSEXT_ERR_NOACK;
    };
    // SAFETY: `out`/`outlen` are OpenSSL's out-parameters; the list lives in the context's
    // ex_data, which outlives every SSL made from it (each SSL holds a context reference).
    unsafe {
        *out = list.as_ptr();
        *outlen = len;
    }
    openssl_sys::SSL_TLSEXT_ERR_OK
}

/// `SSL_SERVERINFOV2` (SSL_CTX_use_serverinfo(3)).
const SSL_SERVERINFOV2: c_uint = 2;
/// The extension context `SSL_CTX_use_serverinfo_file` gives version-1 blocks
/// (`SSL_EXT_TLS1_2_AND_BELOW_ONLY | SSL_EXT_IGNORE_ON_RESUMPTION | SSL_EXT_CLIENT_HELLO |
/// SSL_EXT_TLS1_2_SERVER_HELLO`).
const SYNTHV1CONTEXT: u32 = 0x01D0;

/// Parses a `-serverinfo` file as `SSL_CTX_use_serverinfo_file` does: PEM blocks named
/// `SERVERINFO FOR …` (type, length, data) or `SERVERINFOV2 FOR …` (a 4-byte context first),
/// returned as one version-2 buffer.
pub fn parse_serverinfo(pem: &[u8]) -> Result<Vec<u8>, TlsError> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut blocks = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim_end()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = alloc::format!("-----END {name}-----");
        let mut b64 = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l.trim_end() == end {
                closed = true;
                break;
            }
            b64.extend(l.chars().filter(|c| !c.is_whitespace()));
        }
        if !closed {
            return Err(config("bad end line"));
        }
        let data = openssl::base64::decode_block(&b64).map_err(cfg_err("bad base64 decode"))?;
        let v1 = if name.starts_with("SERVERINFO FOR ") {
            true
        } else if name.starts_with("SERVERINFOV2 FOR ") {
            false
        } else if name.len() < "SERVERINFO FOR ".len() {
            return Err(config("pem name too short"));
        } else {
            return Err(config("pem name bad prefix"));
        };
        let header = if v1 { 4 } else { 8 };
        let declared = data
            .get(header - 2..header)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        if declared != Some(data.len().wrapping_sub(header)) {
            return Err(config("bad data"));
        }
        if v1 {
            out.extend_from_slice(&SYNTHV1CONTEXT.to_be_bytes());
        }
        out.extend_from_slice(&data);
        blocks += 1;
    }
    if blocks == 0 {
        return Err(config("no pem extensions"));
    }
    Ok(out)
}

/// Loads DH parameters (PEM `DH PARAMETERS`/`X9.42 DH PARAMETERS`, or DER).
fn dh_params(data: &[u8]) -> Option<Dh<openssl::pkey::Params>> {
    Dh::params_from_pem(data).or_else(|_| Dh::params_from_der(data)).ok()
}

/// Whether `data` holds DH parameters ([`ServerConfigBuilder::dh_parameters`] would take it).
/// s_server also looks for them in the `-cert` file when no `-dhparam` is given.
pub fn has_dh_params(data: &[u8]) -> bool {
    dh_params(data).is_some()
}

/// The protocol the client selected with NPN, if any.
pub(crate) fn next_protocol(ssl: &SslRef) -> Option<String> {
    let mut data: *const u8 = core::ptr::null();
    let mut len: c_uint = 0;
    // SAFETY: `ssl` is live; OpenSSL stores a pointer into the SSL's own buffer (or NULL).
    unsafe { openssl_sys::SSL_get0_next_proto_negotiated(ssl.as_ptr(), &mut data, &mut len) };
    if data.is_null() {
        return None;
    }
    // SAFETY: `data` points to `len` bytes owned by the SSL, which outlives this borrow.
    let p = unsafe { core::slice::from_raw_parts(data, len as usize) };
    Some(String::from_utf8_lossy(p).into_owned())
}

/// An `-xcert` certificate: s_server's "extended certificates", chosen per handshake by a
/// certificate callback that keeps every one `SSL_check_chain` finds valid.
#[derive(Clone)]
pub struct ExtendedCert {
    cert: X509,
    key: PKey<Private>,
    chain: Option<Vec<X509>>,
    build_chain: bool,
}

impl core::fmt::Debug for ExtendedCert {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ExtendedCert")
            .field(
                "subject",
                &super::verify::print_name_text(self.cert.subject_name(), super::verify::XN_FLAG_ONELINE),
            )
            .finish_non_exhaustive()
    }
}

impl ExtendedCert {
    /// Loads `-xcert`/`-xkey` (no password, as s_server's `load_excert`), an optional `-xchain`
    /// (PEM) and `-xchain_build` (build the chain from the trust store on every handshake).
    pub fn load(
        cert: &[u8],
        cert_format: CertFormat,
        key: &[u8],
        key_format: CertFormat,
        chain: Option<&[u8]>,
        build_chain: bool,
    ) -> Result<Self, TlsError> {
        let cert = match cert_format {
            CertFormat::Pem => X509::from_pem(cert),
            CertFormat::Der => X509::from_der(cert),
        }
        .map_err(cfg_err("unable to load Server Certificate"))?;
        let key = match key_format {
            CertFormat::Pem => PKey::private_key_from_pem_callback(key, |_| Ok(0)),
            CertFormat::Der => PKey::private_key_from_der(key),
        }
        .map_err(cfg_err("unable to load server key"))?;
        let chain = chain
            .map(|pem| X509::stack_from_pem(pem).map_err(cfg_err("unable to load server chain")))
            .transpose()?;
        Ok(ExtendedCert {
            cert,
            key,
            chain,
            build_chain,
        })
    }
}

/// The ex_data index of the `-xcert` list on a context.
fn xcert_index() -> Index<SslContext, Vec<ExtendedCert>> {
    static INDEX: std::sync::OnceLock<Index<SslContext, Vec<ExtendedCert>>> = std::sync::OnceLock::new();
    // Failure is an out-of-memory at start-up, as for the other indexes.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

fn x509_stack(certs: &[X509]) -> Option<Stack<X509>> {
    let mut stack = Stack::new().ok()?;
    for c in certs {
        stack.push(c.clone()).ok()?;
    }
    Some(stack)
}

/// s_cb.c `set_cert_cb`: drop the context's certificates, then check every `-xcert` in order and
/// install each valid one (with its chain) on this connection.
extern "C" fn extended_cert_cb(ssl: *mut openssl_sys::SSL, _arg: *mut c_void) -> c_int {
    // SAFETY: OpenSSL calls this with the live SSL whose ClientHello is being processed.
    let ssl = unsafe { openssl::ssl::SslRef::from_ptr_mut(ssl) };
    // SAFETY: `ssl` is live; clearing its certificates is what s_server's callback does first.
    unsafe { ffi::SSL_certs_clear(ssl.as_ptr()) };
    let Some(list) = ssl.ssl_context().ex_data(xcert_index()).cloned() else {
        return 1;
    };
    // SAFETY: a read-only query of the SSL's certificate flags (SSL_set_cert_flags(s, 0)).
    let cert_flags = unsafe { ffi::SSL_ctrl(ssl.as_ptr(), ffi::SSL_CTRL_CERT_FLAGS, 0, ffi::NO_ARG) };
    let suite_b_on = cert_flags & 0x30000 != 0;
    for (i, x) in list.iter().enumerate() {
        let chain = match &x.chain {
            Some(c) => match x509_stack(c) {
                Some(s) => Some(s),
                None => return 0,
            },
            None => None,
        };
        let chain_ptr = chain.as_ref().map_or(core::ptr::null_mut(), |s| s.as_ptr());
        // SAFETY: every pointer is live for the call; SSL_check_chain only reads them.
        let rv = unsafe { ffi::SSL_check_chain(ssl.as_ptr(), x.cert.as_ptr(), x.key.as_ptr(), chain_ptr) };
        let flags = rv as u32;
        callbacks::push(
            ssl,
            Event::CertChainCheck(crate::event::CertChainCheck {
                index: i + 1,
                subject: super::verify::print_name_text(
                    x.cert.subject_name(),
                    super::verify::nameopt(ssl.ssl_context()),
                ),
                flags,
                suite_b: suite_b_on.then_some(flags & 0x800 != 0),
            }),
        );
        if flags & 0x1 == 0 {
            continue;
        }
        if ssl.set_certificate(&x.cert).is_err() || ssl.set_private_key(&x.key).is_err() {
            return 0;
        }
        let ok = if x.build_chain {
            // SAFETY: `ssl` is live; building the chain takes a flags value and no pointer.
            unsafe { ffi::SSL_ctrl(ssl.as_ptr(), ffi::SSL_CTRL_BUILD_CERT_CHAIN, 0, ffi::NO_ARG) }
        } else if let Some(s) = &chain {
            // SAFETY: `ssl` and the stack are live; SSL_set1_chain takes its own references.
            unsafe { ffi::SSL_ctrl(ssl.as_ptr(), ffi::SSL_CTRL_CHAIN, 1, s.as_ptr().cast()) }
        } else {
            1
        };
        if ok != 1 {
            return 0;
        }
    }
    1
}

impl ServerConfigBuilder {
    /// `-xcert …`: s_server's extended certificates. On every handshake the context's own
    /// certificates are dropped and each of `certs` that `SSL_check_chain` finds valid is used
    /// (reported as [`Event::CertChainCheck`]); none valid means no certificate.
    pub fn extended_certificates(&mut self, certs: Vec<ExtendedCert>) {
        self.ctx.set_ex_data(xcert_index(), certs);
        // SAFETY: `ctx` is a live SSL_CTX; the callback reads its list from the context's
        // ex_data and needs no argument.
        unsafe { ffi::SSL_CTX_set_cert_cb(self.ctx.as_ptr(), Some(extended_cert_cb), core::ptr::null_mut()) };
    }

    /// `-no_dhe`: no finite-field DHE at all (no automatic parameters); DHE-only clients fail.
    pub fn no_dhe(&mut self) {
        // SAFETY: `ctx` is a live SSL_CTX; SSL_CTRL_SET_DH_AUTO takes a long flag and no pointer.
        unsafe { ffi::SSL_CTX_ctrl(self.ctx.as_ptr(), ffi::SSL_CTRL_SET_DH_AUTO, 0, ffi::NO_ARG) };
    }

    /// `-dhparam`: fixed DH parameters for DHE (TLS 1.2 and earlier) instead of the automatic
    /// ones. PEM or DER.
    pub fn dh_parameters(&mut self, data: &[u8]) -> Result<(), TlsError> {
        let dh = dh_params(data).ok_or_else(|| config("unable to load DH parameters"))?;
        // SAFETY: `ctx` is a live SSL_CTX; turning the automatic parameters off takes no pointer.
        unsafe { ffi::SSL_CTX_ctrl(self.ctx.as_ptr(), ffi::SSL_CTRL_SET_DH_AUTO, 0, ffi::NO_ARG) };
        self.ctx
            .set_tmp_dh(&dh)
            .map_err(cfg_err("Error setting temp DH parameters"))
    }

    /// `-nextprotoneg a,b`: advertise these protocols with NPN (TLS 1.2 and earlier), in
    /// s_server's `next_protos_parse` format (empty names skipped, each at most 255 bytes).
    pub fn next_protocols(&mut self, list: &str) -> Result<(), TlsError> {
        let mut wire = Vec::new();
        for p in list.split(',').filter(|p| !p.is_empty()) {
            let len = u8::try_from(p.len()).map_err(|_| config(alloc::format!("NPN protocol name too long: '{p}'")))?;
            wire.push(len);
            wire.extend_from_slice(p.as_bytes());
        }
        if wire.is_empty() || list.len() >= 65535 {
            return Err(config("invalid NPN protocol list"));
        }
        self.ctx.set_ex_data(npn_index(), wire);
        // SAFETY: `ctx` is a live SSL_CTX; the callback reads its list from the context's
        // ex_data and needs no argument.
        unsafe {
            openssl_sys::SSL_CTX_set_next_protos_advertised_cb(
                self.ctx.as_ptr(),
                next_proto_advertised,
                core::ptr::null_mut(),
            )
        };
        Ok(())
    }

    /// `-serverinfo`: extensions to send with the current certificate (a file in
    /// `SSL_CTX_use_serverinfo_file`'s PEM format; see [`parse_serverinfo`]).
    pub fn serverinfo(&mut self, pem: &[u8]) -> Result<(), TlsError> {
        let info = parse_serverinfo(pem)?;
        // SAFETY: `ctx` is a live SSL_CTX; OpenSSL copies `info` (pointer and length valid).
        let ok =
            unsafe { ffi::SSL_CTX_use_serverinfo_ex(self.ctx.as_ptr(), SSL_SERVERINFOV2, info.as_ptr(), info.len()) };
        if ok == 1 {
            Ok(())
        } else {
            Err(config_error(
                "SSL_CTX_use_serverinfo_file",
                &openssl::error::ErrorStack::get(),
            ))
        }
    }

    /// `-dcert`/`-dkey`/`-dcert_chain`: a further certificate, normally of another key type
    /// (RSA next to ECDSA); OpenSSL picks the one the client supports. Like s_server's
    /// `set_cert_key_stuff`: the key must match, and `chain` (PEM) belongs to this certificate.
    pub fn additional_certificate(
        &mut self,
        cert: &[u8],
        cert_format: CertFormat,
        key: &[u8],
        key_format: CertFormat,
        password: Option<&[u8]>,
        chain: Option<&[u8]>,
    ) -> Result<(), TlsError> {
        let key: PKey<Private> = match (key_format, password) {
            (CertFormat::Pem, Some(p)) => PKey::private_key_from_pem_passphrase(key, p),
            (CertFormat::Pem, None) => PKey::private_key_from_pem_callback(key, |_| Ok(0)),
            (CertFormat::Der, _) => PKey::private_key_from_der(key),
        }
        .map_err(cfg_err("unable to load second certificate private key"))?;
        let cert = match cert_format {
            CertFormat::Pem => X509::from_pem(cert),
            CertFormat::Der => X509::from_der(cert),
        }
        .map_err(cfg_err("unable to load second server certificate"))?;
        self.ctx
            .set_certificate(&cert)
            .map_err(cfg_err("error setting certificate"))?;
        self.ctx
            .set_private_key(&key)
            .map_err(cfg_err("error setting private key"))?;
        self.ctx
            .check_private_key()
            .map_err(|_| config("Private key does not match the certificate public key"))?;
        if let Some(pem) = chain {
            let mut stack = Stack::new().map_err(cfg_err("error setting certificate chain"))?;
            for c in X509::stack_from_pem(pem).map_err(cfg_err("unable to load second server certificate chain"))? {
                stack.push(c).map_err(cfg_err("error setting certificate chain"))?;
            }
            // SAFETY: `ctx` is a live SSL_CTX; SSL_CTX_set1_chain takes its own references to
            // the stack's certificates, so dropping `stack` afterwards is fine.
            let ok = unsafe {
                ffi::SSL_CTX_ctrl(
                    self.ctx.as_ptr(),
                    ffi::SSL_CTRL_CHAIN,
                    1,
                    ForeignType::as_ptr(&stack).cast(),
                )
            };
            if ok != 1 {
                return Err(config_error(
                    "error setting certificate chain",
                    &openssl::error::ErrorStack::get(),
                ));
            }
        }
        Ok(())
    }

    /// `-servername name` with `-cert2`/`-key2`: when a client's SNI equals `name` (ignoring
    /// case) the connection switches to `second` (built here; the callback keeps it alive);
    /// on a mismatch the handshake goes on with this context after a warning alert, or fails
    /// with a fatal `unrecognized_name` alert if `fatal`. Every SNI produces an
    /// [`Event::ServerName`], as s_server prints one.
    pub fn sni_context(&mut self, name: &str, fatal: bool, mut second: ServerConfigBuilder) -> Result<(), TlsError> {
        let policy = |name: &str| SniPolicy {
            name: String::from(name),
            fatal,
        };
        let on_second = policy(name);
        second
            .ctx
            .set_servername_callback(move |ssl: &mut SslRef, _: &mut SslAlert| servername(&on_second, None, ssl));
        let second = second.build()?.ctx().clone();
        let on_first = policy(name);
        self.ctx
            .set_servername_callback(move |ssl: &mut SslRef, _: &mut SslAlert| {
                servername(&on_first, Some(&second), ssl)
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(name: &str, data: &[u8]) -> String {
        alloc::format!(
            "-----BEGIN {name}-----\n{}\n-----END {name}-----\n",
            openssl::base64::encode_block(data)
        )
    }

    #[test]
    fn serverinfo_v1_gets_the_synthetic_context() {
        let f = pem("SERVERINFO FOR TEST", &[0x12, 0x34, 0, 2, 0xAB, 0xCD]);
        assert_eq!(
            parse_serverinfo(f.as_bytes()).unwrap(),
            [0, 0, 0x01, 0xD0, 0x12, 0x34, 0, 2, 0xAB, 0xCD]
        );
        let f2 = pem("SERVERINFOV2 FOR TEST", &[0, 0, 0, 0x80, 0x12, 0x34, 0, 0]);
        assert_eq!(
            parse_serverinfo(f2.as_bytes()).unwrap(),
            [0, 0, 0, 0x80, 0x12, 0x34, 0, 0]
        );
    }

    #[test]
    fn serverinfo_rejects_bad_files() {
        assert_eq!(parse_serverinfo(b"").unwrap_err().reason, "no pem extensions");
        let bad_len = pem("SERVERINFO FOR TEST", &[0x12, 0x34, 0, 3, 0xAB]);
        assert_eq!(parse_serverinfo(bad_len.as_bytes()).unwrap_err().reason, "bad data");
        let bad_name = pem("CERTIFICATE REQUEST", &[0x12, 0x34, 0, 0]);
        assert_eq!(
            parse_serverinfo(bad_name.as_bytes()).unwrap_err().reason,
            "pem name bad prefix"
        );
    }

    #[test]
    fn host_names_are_escaped_like_s_server() {
        assert_eq!(escape_host(b"a\"b.example"), "a\"b.example");
        assert_eq!(escape_host(b"x\x01\xff"), "x\\x01\\xff");
    }
}
