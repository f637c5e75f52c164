//! The OpenSSL side of the diagnostic options (`-msg`, `-trace`, `-state`, `-tlsextdebug`,
//! `-security_debug[_verbose]`, `-debug`): callbacks that turn what s_cb.c would print into
//! [`Diagnostic`] events. Each is installed only when asked for, so the default server runs
//! none of this code.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_long, c_uchar, c_void, CStr};
use foreign_types::ForeignTypeRef;
use openssl::ex_data::Index;
use openssl::ssl::{SslContext, SslContextRef, SslRef};

use super::callbacks::events_index;
use super::config::ServerConfigBuilder;
use super::ffi;
#[cfg(ssl_trace)]
use super::membio::MemBio;
use crate::event::Event;
use crate::output::{Diagnostic, ProtocolMessage, SecurityCheck, StateChange, TlsExtension, TransportIo};

/// Per-connection diagnostics, read once when a connection is created.
#[derive(Debug, Clone, Copy, Default)]
struct PerConnection {
    /// `-tlsextdebug`: the extension debug callback (it exists only per `SSL`).
    tlsext: bool,
    /// `-debug`: dump the transport BIO's traffic.
    transport: bool,
}

fn per_connection_index() -> Index<SslContext, PerConnection> {
    static INDEX: std::sync::OnceLock<Index<SslContext, PerConnection>> = std::sync::OnceLock::new();
    // As for the events index: failing here is an allocation failure at start-up.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// Receives security checks made on the context itself (loading the certificate, …), where no
/// connection exists to carry an event.
pub type SecuritySink = Box<dyn Fn(SecurityCheck) + Send + Sync>;

/// `-security_debug` state, kept in the context's ex_data.
struct SecurityDebug {
    /// `-security_debug_verbose`: report passing checks too.
    verbose: bool,
    /// The callback we wrap (OpenSSL's default security-level policy).
    old: ffi::SecurityCallback,
    sink: SecuritySink,
}

fn security_index() -> Index<SslContext, SecurityDebug> {
    static INDEX: std::sync::OnceLock<Index<SslContext, SecurityDebug>> = std::sync::OnceLock::new();
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// What OpenSSL owns behind a callback's raw `SSL *`.
///
/// # Safety
/// `ssl` must be NULL or a live `SSL`, as OpenSSL guarantees for the callbacks below.
unsafe fn ssl_ref<'a>(ssl: *const openssl_sys::SSL) -> Option<&'a SslRef> {
    // SAFETY: per the contract above; the reference does not outlive the callback.
    (!ssl.is_null()).then(|| unsafe { SslRef::from_ptr(ssl.cast_mut()) })
}

fn push(ssl: &SslRef, d: Diagnostic) {
    if let Some(ev) = ssl.ex_data(events_index()) {
        ev.push(Event::Diagnostic(d));
    }
}

/// Copies `len` bytes at `p` (nothing for NULL or 0).
///
/// # Safety
/// `p` must point to `len` readable bytes when non-NULL.
unsafe fn bytes(p: *const c_void, len: usize) -> Vec<u8> {
    if p.is_null() || len == 0 {
        return Vec::new();
    }
    // SAFETY: per the contract above.
    unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec()
}

/// A C string from OpenSSL as an owned `String` (empty for NULL).
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per the contract above.
    String::from(unsafe { CStr::from_ptr(p) }.to_string_lossy())
}

extern "C" fn msg_cb(
    write_p: c_int,
    version: c_int,
    content_type: c_int,
    buf: *const c_void,
    len: usize,
    ssl: *mut openssl_sys::SSL,
    _arg: *mut c_void,
) {
    // SAFETY: OpenSSL passes the live SSL and `len` readable bytes at `buf`.
    let (Some(s), data) = (unsafe { ssl_ref(ssl) }, unsafe { bytes(buf, len) }) else {
        return;
    };
    push(
        s,
        Diagnostic::Message(ProtocolMessage {
            write: write_p != 0,
            version,
            content_type,
            data,
        }),
    );
}

#[cfg(ssl_trace)]
extern "C" fn trace_cb(
    write_p: c_int,
    version: c_int,
    content_type: c_int,
    buf: *const c_void,
    len: usize,
    ssl: *mut openssl_sys::SSL,
    _arg: *mut c_void,
) {
    // SAFETY: OpenSSL passes the live SSL.
    let Some(s) = (unsafe { ssl_ref(ssl) }) else {
        return;
    };
    let Some(bio) = MemBio::new() else {
        return;
    };
    // SAFETY: the arguments are exactly those OpenSSL gave the message callback; SSL_trace
    // prints to the memory BIO we own (its `arg`).
    unsafe { ffi::SSL_trace(write_p, version, content_type, buf, len, ssl, bio.as_ptr().cast()) };
    let t = bio.text();
    if !t.is_empty() {
        push(s, Diagnostic::Trace(t));
    }
}

/// Notes the alerts of an info-callback call in the connection's [`super::callbacks::ConnEvents`].
fn record_alert(s: &SslRef, where_: c_int, ret: c_int) {
    if where_ & ffi::SSL_CB_ALERT != 0 {
        if let Some(ev) = s.ex_data(events_index()) {
            ev.record_alert(where_ & ffi::SSL_CB_READ != 0, (ret & 0xff) as u8);
        }
    }
}

/// The info callback every context has (unless `-state` installs [`info_cb`]): it only
/// records alerts, so a failure's [`crate::TlsError`] says which alert was sent or received.
pub(crate) extern "C" fn alert_cb(ssl: *const openssl_sys::SSL, where_: c_int, ret: c_int) {
    // SAFETY: OpenSSL passes the live SSL.
    if let Some(s) = unsafe { ssl_ref(ssl) } {
        record_alert(s, where_, ret);
    }
}

extern "C" fn info_cb(ssl: *const openssl_sys::SSL, where_: c_int, ret: c_int) {
    // SAFETY: OpenSSL passes the live SSL.
    let Some(s) = (unsafe { ssl_ref(ssl) }) else {
        return;
    };
    record_alert(s, where_, ret);
    let w = where_ & !ffi::SSL_ST_MASK;
    let side = if w & ffi::SSL_ST_CONNECT != 0 {
        "SSL_connect"
    } else if w & ffi::SSL_ST_ACCEPT != 0 {
        "SSL_accept"
    } else {
        "undefined"
    };
    // SAFETY: live SSL; the returned strings are static.
    let state = || unsafe { text(openssl_sys::SSL_state_string_long(ssl)) };
    let change = if where_ & ffi::SSL_CB_LOOP != 0 {
        StateChange::Loop { side, state: state() }
    } else if where_ & ffi::SSL_CB_ALERT != 0 {
        StateChange::Alert {
            read: where_ & ffi::SSL_CB_READ != 0,
            // SAFETY: returns a static string for any value.
            level: unsafe { text(ffi::SSL_alert_type_string_long(ret)) },
            // SAFETY: likewise.
            description: unsafe { text(openssl_sys::SSL_alert_desc_string_long(ret)) },
        }
    } else if where_ & ffi::SSL_CB_EXIT != 0 && ret <= 0 {
        // A memory transport makes the handshake return early to wait for input, or to send its
        // flight (see `SslConn::handshake`); s_server's blocking socket never does, so that is
        // not an error worth a line. What tells such a wait is the transport's "retry" in the
        // direction OpenSSL waits for: a peer that closed mid-handshake leaves OpenSSL "reading"
        // too, but without a read to retry, and s_server reports that failure.
        // SAFETY: live SSL, read-only queries; its BIOs, when set, live as long as the SSL.
        let waiting = unsafe {
            let (bio, direction) = match ffi::SSL_want(ssl) {
                ffi::SSL_READING => (openssl_sys::SSL_get_rbio(ssl), openssl_sys::BIO_FLAGS_READ),
                ffi::SSL_WRITING => (openssl_sys::SSL_get_wbio(ssl), openssl_sys::BIO_FLAGS_WRITE),
                _ => (core::ptr::null_mut(), 0),
            };
            let retry = direction | openssl_sys::BIO_FLAGS_SHOULD_RETRY;
            !bio.is_null() && ffi::BIO_test_flags(bio, retry) == retry
        };
        if ret < 0 && waiting {
            return;
        }
        StateChange::Exit {
            side,
            failed: ret == 0,
            state: state(),
        }
    } else {
        return;
    };
    push(s, Diagnostic::State(change));
}

extern "C" fn tlsext_cb(
    ssl: *mut openssl_sys::SSL,
    client_server: c_int,
    ext_type: c_int,
    data: *const c_uchar,
    len: c_int,
    _arg: *mut c_void,
) {
    // SAFETY: OpenSSL passes the live SSL and `len` readable bytes at `data`.
    let (Some(s), data) = (unsafe { ssl_ref(ssl) }, unsafe {
        bytes(data.cast(), usize::try_from(len).unwrap_or(0))
    }) else {
        return;
    };
    push(
        s,
        Diagnostic::Extension(TlsExtension {
            server: client_server != 0,
            ext_type,
            data,
        }),
    );
}

extern "C" fn transport_cb(
    bio: *mut openssl_sys::BIO,
    oper: c_int,
    argp: *const c_char,
    len: usize,
    _argi: c_int,
    _argl: c_long,
    ret: c_int,
    processed: *mut usize,
) -> c_long {
    let write = match oper {
        o if o == ffi::BIO_CB_READ | ffi::BIO_CB_RETURN => false,
        o if o == ffi::BIO_CB_WRITE | ffi::BIO_CB_RETURN => true,
        _ => return c_long::from(ret),
    };
    // A memory transport runs dry where s_server's blocking socket would wait: not shown.
    // SAFETY: `bio` is the live BIO this callback is installed on.
    if ret <= 0 && unsafe { ffi::BIO_test_flags(bio, openssl_sys::BIO_FLAGS_SHOULD_RETRY) } != 0 {
        return c_long::from(ret);
    }
    // SAFETY: the callback argument is the SSL owning this BIO (set in `attach`), alive as long
    // as the BIO is.
    let Some(s) = (unsafe { ssl_ref(ffi::BIO_get_callback_arg(bio).cast()) }) else {
        return c_long::from(ret);
    };
    let result = if ret > 0 && !processed.is_null() {
        // SAFETY: after a successful call `*processed` bytes at `argp` were moved.
        Ok(unsafe { bytes(argp.cast(), *processed) })
    } else {
        Err(ret)
    };
    push(
        s,
        Diagnostic::Transport(TransportIo {
            write,
            bio: bio as usize,
            buf: argp as usize,
            requested: len,
            result,
        }),
    );
    c_long::from(ret)
}

/// `lookup(op, callback_types)` of s_cb.c.
fn secop_name(op: c_int) -> Option<&'static str> {
    Some(match op {
        x if x == ffi::SSL_SECOP_CIPHER_SUPPORTED => "Supported Ciphersuite",
        x if x == ffi::SSL_SECOP_CIPHER_SHARED => "Shared Ciphersuite",
        x if x == ffi::SSL_SECOP_CIPHER_CHECK => "Check Ciphersuite",
        x if x == ffi::SSL_SECOP_TMP_DH => "Temp DH key bits",
        x if x == ffi::SSL_SECOP_CURVE_SUPPORTED => "Supported Curve",
        x if x == ffi::SSL_SECOP_CURVE_SHARED => "Shared Curve",
        x if x == ffi::SSL_SECOP_CURVE_CHECK => "Check Curve",
        x if x == ffi::SSL_SECOP_SIGALG_SUPPORTED => "Supported Signature Algorithm",
        x if x == ffi::SSL_SECOP_SIGALG_SHARED => "Shared Signature Algorithm",
        x if x == ffi::SSL_SECOP_SIGALG_CHECK => "Check Signature Algorithm",
        x if x == ffi::SSL_SECOP_SIGALG_MASK => "Signature Algorithm mask",
        x if x == ffi::SSL_SECOP_EE_KEY => "Certificate chain EE key",
        x if x == ffi::SSL_SECOP_CA_KEY => "Certificate chain CA key",
        x if x == ffi::SSL_SECOP_EE_KEY | ffi::SSL_SECOP_PEER => "Peer Chain EE key",
        x if x == ffi::SSL_SECOP_CA_KEY | ffi::SSL_SECOP_PEER => "Peer Chain CA key",
        x if x == ffi::SSL_SECOP_CA_MD => "Certificate chain CA digest",
        x if x == ffi::SSL_SECOP_CA_MD | ffi::SSL_SECOP_PEER => "Peer chain CA digest",
        x if x == ffi::SSL_SECOP_COMPRESSION => "SSL compression",
        x if x == ffi::SSL_SECOP_TICKET => "Session ticket",
        _ => return None,
    })
}

/// RFC 8446 signature scheme names (s_cb.c `signature_tls13_scheme_list`).
fn scheme_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0401 => "rsa_pkcs1_sha256",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0xeded => "gostr34102001",
        0xeeee => "gostr34102012_256",
        0xefef => "gostr34102012_512",
        _ => return None,
    })
}

/// s_cb.c `security_callback_debug`'s text between `Security callback: ` and `: yes|no`.
///
/// # Safety
/// `other` must be what OpenSSL passes for `op` (an `SSL_CIPHER`, `X509` or 2-byte sigalg).
unsafe fn security_detail(op: c_int, bits: c_int, nid: c_int, other: *mut c_void) -> String {
    use core::fmt::Write as _;
    let mut out = String::new();
    let nm = secop_name(op);
    let mut show_nm = nm.is_some();
    let mut show_bits = true;
    let mut cert_md = false;
    match op {
        x if x == ffi::SSL_SECOP_TICKET || x == ffi::SSL_SECOP_COMPRESSION => {
            show_bits = false;
            show_nm = false;
        }
        x if x == ffi::SSL_SECOP_VERSION => {
            let _ = write!(
                out,
                "Version={}",
                crate::output::protocol_version_name(nid).unwrap_or("???")
            );
            show_bits = false;
            show_nm = false;
        }
        x if x == ffi::SSL_SECOP_CA_MD || x == ffi::SSL_SECOP_CA_MD | ffi::SSL_SECOP_PEER => cert_md = true,
        x if x == ffi::SSL_SECOP_SIGALG_SUPPORTED
            || x == ffi::SSL_SECOP_SIGALG_SHARED
            || x == ffi::SSL_SECOP_SIGALG_CHECK
            || x == ffi::SSL_SECOP_SIGALG_MASK =>
        {
            show_nm = false
        }
        _ => {}
    }
    if show_nm {
        let _ = write!(out, "{}=", nm.unwrap_or(""));
    }
    let sn = |n: c_int| {
        // SAFETY: OBJ_nid2sn returns a static string or NULL.
        unsafe { text(openssl_sys::OBJ_nid2sn(n)) }
    };
    match op & ffi::SSL_SECOP_OTHER_TYPE {
        t if t == ffi::SSL_SECOP_OTHER_CIPHER && !other.is_null() => {
            // SAFETY: for a cipher operation `other` is an `SSL_CIPHER` (the contract); the name
            // is static.
            out.push_str(&unsafe { text(openssl_sys::SSL_CIPHER_get_name(other.cast())) });
        }
        t if t == ffi::SSL_SECOP_OTHER_CURVE => {
            // SAFETY: a lookup returning a static string or NULL.
            let nist = unsafe { text(ffi::EC_curve_nid2nist(nid)) };
            out.push_str(&if nist.is_empty() { sn(nid) } else { nist });
        }
        t if t == ffi::SSL_SECOP_OTHER_CERT && !other.is_null() => {
            let x = other.cast::<openssl_sys::X509>();
            if cert_md {
                // SAFETY: for a certificate operation `other` is a live `X509` (the contract).
                out.push_str(&sn(unsafe { openssl_sys::X509_get_signature_nid(x) }));
            } else {
                // SAFETY: as above; the key stays owned by the certificate.
                let pkey = unsafe { ffi::X509_get0_pubkey(x) };
                if pkey.is_null() {
                    out.push_str("Public key missing");
                } else {
                    let mut alg: *const c_char = core::ptr::null();
                    let null = core::ptr::null_mut();
                    // s_cb.c prints the PEM string (empty for provider-only keys, as there).
                    // SAFETY: live key; NULL out-pointers are allowed, and a NULL method makes
                    // the call fail without touching `alg`.
                    unsafe {
                        ffi::EVP_PKEY_asn1_get0_info(
                            null,
                            null,
                            null,
                            core::ptr::null_mut(),
                            &mut alg,
                            ffi::EVP_PKEY_get0_asn1(pkey),
                        )
                    };
                    // SAFETY: `alg` is NULL or a static string of the method; `pkey` is live.
                    let (alg, bits) = unsafe { (text(alg), openssl_sys::EVP_PKEY_bits(pkey)) };
                    let _ = write!(out, "{alg}, bits={bits}");
                }
            }
        }
        t if t == ffi::SSL_SECOP_OTHER_SIGALG && !other.is_null() => {
            // SAFETY: for a sigalg operation `other` points to the 2-byte TLS code (the contract).
            let salg = unsafe { core::slice::from_raw_parts(other.cast::<u8>(), 2) };
            match nm {
                Some(n) => out.push_str(n),
                None => {
                    let _ = write!(out, "s_cb.c:security_callback_debug op=0x{op:x}");
                }
            }
            let code = u16::from_be_bytes([salg[0], salg[1]]);
            match scheme_name(code) {
                Some(s) => {
                    let _ = write!(out, " scheme={s}");
                }
                None => {
                    let alg = ["anonymous", "RSA", "DSA", "ECDSA"].get(usize::from(salg[1]));
                    let hash =
                        ["none", "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"].get(usize::from(salg[0]));
                    match (alg, hash) {
                        (Some(a), Some(h)) => {
                            let _ = write!(out, " digest={h}, algorithm={a}");
                        }
                        _ => {
                            let _ = write!(out, " scheme=unknown(0x{code:04x})");
                        }
                    }
                }
            }
        }
        _ => {}
    }
    if show_bits {
        let _ = write!(out, ", security bits={bits}");
    }
    out
}

extern "C" fn security_cb(
    ssl: *const openssl_sys::SSL,
    ctx: *const openssl_sys::SSL_CTX,
    op: c_int,
    bits: c_int,
    nid: c_int,
    other: *mut c_void,
    ex: *mut c_void,
) -> c_int {
    // A check on a connection names its SSL (and no context); one on the context, the context.
    let ctx_ptr = if ssl.is_null() {
        ctx.cast_mut()
    } else {
        // SAFETY: live SSL; the context outlives it.
        unsafe { openssl_sys::SSL_get_SSL_CTX(ssl) }
    };
    if ctx_ptr.is_null() {
        return 0;
    }
    // SAFETY: a live SSL_CTX (see above).
    let ctx_ref = unsafe { SslContextRef::from_ptr(ctx_ptr) };
    let Some(sd) = ctx_ref.ex_data(security_index()) else {
        return 0;
    };
    // SAFETY: the wrapped callback takes exactly the arguments OpenSSL gave us.
    let rv = match sd.old {
        Some(old) => unsafe { old(ssl, ctx, op, bits, nid, other, ex) },
        None => 1,
    };
    if rv == 1 && !sd.verbose {
        return rv;
    }
    let check = SecurityCheck {
        // SAFETY: `other` is what OpenSSL passes for `op`.
        detail: unsafe { security_detail(op, bits, nid, other) },
        allowed: rv != 0,
    };
    // SAFETY: NULL or the live SSL.
    match unsafe { ssl_ref(ssl) } {
        Some(s) => push(s, Diagnostic::Security(check)),
        None => (sd.sink)(check),
    }
    rv
}

/// Sets up the per-connection diagnostics of a new connection (`-tlsextdebug`, `-debug`); a
/// single ex_data lookup when none is configured. Call once the transport BIO is attached.
pub(crate) fn attach(ssl: &SslRef) {
    let Some(pc) = ssl.ssl_context().ex_data(per_connection_index()).copied() else {
        return;
    };
    let raw = ssl.as_ptr();
    if pc.tlsext {
        let cb: ffi::TlsextDebugCallback = tlsext_cb;
        // SAFETY: live SSL; SSL_CTRL_SET_TLSEXT_DEBUG_CB stores a function of exactly this type
        // (passed through OpenSSL's generic `void (*)(void)`).
        unsafe {
            ffi::SSL_callback_ctrl(
                raw,
                ffi::SSL_CTRL_SET_TLSEXT_DEBUG_CB,
                Some(core::mem::transmute::<ffi::TlsextDebugCallback, unsafe extern "C" fn()>(cb)),
            )
        };
    }
    if pc.transport {
        // SAFETY: live SSL; its read BIO (also its write BIO) is owned by the SSL, so the SSL
        // pointer stored as the callback argument outlives every call of the callback.
        unsafe {
            let bio = openssl_sys::SSL_get_rbio(raw);
            if !bio.is_null() {
                ffi::BIO_set_callback_arg(bio, raw.cast());
                ffi::BIO_set_callback_ex(bio, Some(transport_cb));
            }
        }
    }
}

impl ServerConfigBuilder {
    /// `-msg` (or `-trace` with `trace`): report every protocol message as
    /// [`Diagnostic::Message`] (or as `SSL_trace` text, [`Diagnostic::Trace`]).
    pub fn message_callback(&mut self, trace: bool) {
        // Without enable-ssl-trace the CLI refuses -trace (version::unsupported_option).
        #[cfg(ssl_trace)]
        let cb: ffi::MsgCallback = if trace { trace_cb } else { msg_cb };
        #[cfg(not(ssl_trace))]
        let cb: ffi::MsgCallback = {
            let _ = trace;
            msg_cb
        };
        // SAFETY: live SSL_CTX; the callback uses no argument and only the SSL it is given.
        unsafe { ffi::SSL_CTX_set_msg_callback(self.ctx.as_ptr(), Some(cb)) };
    }

    /// `-state`: report handshake states and alerts as [`Diagnostic::State`].
    pub fn state_callback(&mut self) {
        // SAFETY: live SSL_CTX; the callback only reads the SSL it is given.
        unsafe { ffi::SSL_CTX_set_info_callback(self.ctx.as_ptr(), Some(info_cb)) };
    }

    /// `-tlsextdebug`: report the TLS extensions of hello messages as [`Diagnostic::Extension`].
    pub fn tlsext_debug(&mut self) {
        self.per_connection(|p| p.tlsext = true);
    }

    /// `-debug`: report the ciphertext moved through each connection's transport as
    /// [`Diagnostic::Transport`].
    pub fn transport_debug(&mut self) {
        self.per_connection(|p| p.transport = true);
    }

    fn per_connection(&mut self, f: impl FnOnce(&mut PerConnection)) {
        // SAFETY: the builder's live SSL_CTX, borrowed only for this read (the builder offers no
        // ex_data getter).
        let current = unsafe { SslContextRef::from_ptr(self.ctx.as_ptr()) }
            .ex_data(per_connection_index())
            .copied();
        let mut pc = current.unwrap_or_default();
        f(&mut pc);
        self.ctx.set_ex_data(per_connection_index(), pc);
    }

    /// `-security_debug` (`verbose`: `-security_debug_verbose`): report failed (or all)
    /// security-level checks. Checks on a connection become [`Diagnostic::Security`] events;
    /// checks on the context (while it is configured, e.g. of the certificate) go to `sink`.
    /// Call it first, like s_server, so later configuration is checked under it.
    pub fn security_debug(&mut self, verbose: bool, sink: SecuritySink) {
        // SAFETY: live SSL_CTX; reading its current (default) security callback.
        let old = unsafe { ffi::SSL_CTX_get_security_callback(self.ctx.as_ptr()) };
        self.ctx
            .set_ex_data(security_index(), SecurityDebug { verbose, old, sink });
        // SAFETY: live SSL_CTX; the callback finds its state in the context's ex_data, set above
        // and freed with the context.
        unsafe { ffi::SSL_CTX_set_security_callback(self.ctx.as_ptr(), Some(security_cb)) };
    }
}
