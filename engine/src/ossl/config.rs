//! [`ServerConfig`]: the `SSL_CTX` built once from s_server's options and shared by every
//! session.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslContext, SslContextBuilder, SslMethod, SslMode, SslSessionCacheMode, SslVerifyMode, SslVersion};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};

use super::callbacks::{self, VerifyPolicy};
use super::conf::ConfCtx;
use super::conn::OpensslTls;
use super::errors::config_error;
use super::ffi;
use super::TlsSession;
use crate::error::{TlsError, TlsErrorKind};
use crate::mode::SessionOptions;
use crate::time::Instant;

/// Encoding of a certificate or key given as bytes (`-certform`, `-keyform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CertFormat {
    /// PEM (the default).
    #[default]
    Pem,
    /// DER.
    Der,
}

/// How a client can pin a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePins {
    /// SHA-256 of the certificate, colon-separated upper-case hex.
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo in base64 (Chromium's
    /// `--ignore-certificate-errors-spki-list`, HPKP's `pin-sha256`).
    pub spki_sha256_base64: String,
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// s_server's session id context: the C `int` 1 in host byte order (`01000000` on x86).
const SESSION_ID_CONTEXT: [u8; 4] = 1i32.to_ne_bytes();
/// s_server's session cache size (`SSL_CTX_sess_set_cache_size(ctx, 128)`).
const SESSION_CACHE_SIZE: i32 = 128;

/// Builds a [`ServerConfig`]. Files are read by the caller: every input is bytes, so the engine
/// never touches the file system.
pub struct ServerConfigBuilder {
    pub(super) ctx: SslContextBuilder,
    conf: Vec<(String, Option<String>)>,
    verify: Option<(SslVerifyMode, VerifyPolicy)>,
    return_error: bool,
    has_cert: bool,
    has_key: bool,
    dtls: bool,
    /// `-ssl_config` (engine/src/ossl/transport.rs).
    pub(super) transport: super::transport::Pending,
}

/// Which DTLS versions a DTLS context allows (`-dtls`, `-dtls1`, `-dtls1_2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtlsVersion {
    /// `-dtls`: any (DTLS 1.0 and 1.2).
    #[default]
    Any,
    /// `-dtls1`: DTLS 1.0 only.
    Dtls1,
    /// `-dtls1_2`: DTLS 1.2 only.
    Dtls1_2,
}

/// A TLS protocol version for [`ServerConfigBuilder::only_version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// `-tls1`: TLS 1.0.
    Tls1,
    /// `-tls1_1`: TLS 1.1.
    Tls1_1,
    /// `-tls1_2`: TLS 1.2.
    Tls1_2,
    /// `-tls1_3`: TLS 1.3.
    Tls1_3,
}

impl core::fmt::Debug for ServerConfigBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerConfigBuilder")
            .field("conf", &self.conf)
            .finish_non_exhaustive()
    }
}

fn cfg_err(context: &str) -> impl FnOnce(openssl::error::ErrorStack) -> TlsError + '_ {
    move |e| config_error(context, &e)
}

impl ServerConfigBuilder {
    /// A TLS server context with s_server's defaults: session cache of 128 with its id context,
    /// automatic DH parameters, no client verification.
    pub fn new() -> Result<Self, TlsError> {
        openssl_sys::init();
        let mut ctx = SslContext::builder(SslMethod::tls_server()).map_err(cfg_err("SSL_CTX_new"))?;
        ctx.set_session_id_context(&SESSION_ID_CONTEXT)
            .map_err(cfg_err("session id context"))?;
        ctx.set_session_cache_size(SESSION_CACHE_SIZE);
        // Idle connections give their 16 KiB+ record buffers back; thousands of idle sessions
        // would otherwise hold ~70 KiB each.
        ctx.set_mode(SslMode::RELEASE_BUFFERS);
        // SAFETY: `ctx` is a live SSL_CTX; SSL_CTRL_SET_DH_AUTO takes a long flag and no pointer.
        unsafe { ffi::SSL_CTX_ctrl(ctx.as_ptr(), ffi::SSL_CTRL_SET_DH_AUTO, 1, ffi::NO_ARG) };
        // SAFETY: live SSL_CTX; the callback only reads the SSL it is given.
        unsafe { ffi::SSL_CTX_set_info_callback(ctx.as_ptr(), Some(super::output::alert_cb)) };
        Ok(ServerConfigBuilder {
            ctx,
            conf: Vec::new(),
            verify: None,
            return_error: false,
            has_cert: false,
            has_key: false,
            dtls: false,
            transport: Default::default(),
        })
    }

    /// A DTLS server context (`-dtls`, `-dtls1`, `-dtls1_2`) with s_server's defaults and the
    /// stateless cookie callbacks (a MAC of the peer address, see [`super::dtls`]).
    pub fn new_dtls(version: DtlsVersion) -> Result<Self, TlsError> {
        openssl_sys::init();
        let mut ctx = SslContext::builder(SslMethod::dtls_server()).map_err(cfg_err("SSL_CTX_new"))?;
        ctx.set_session_id_context(&SESSION_ID_CONTEXT)
            .map_err(cfg_err("session id context"))?;
        ctx.set_session_cache_size(SESSION_CACHE_SIZE);
        ctx.set_mode(SslMode::RELEASE_BUFFERS);
        // SAFETY: `ctx` is a live SSL_CTX; SSL_CTRL_SET_DH_AUTO takes a long flag and no pointer.
        unsafe { ffi::SSL_CTX_ctrl(ctx.as_ptr(), ffi::SSL_CTRL_SET_DH_AUTO, 1, ffi::NO_ARG) };
        // SAFETY: live SSL_CTX; the callback only reads the SSL it is given.
        unsafe { ffi::SSL_CTX_set_info_callback(ctx.as_ptr(), Some(super::output::alert_cb)) };
        // The MTU is always set explicitly (SSL_set_mtu); a memory BIO cannot be asked for one.
        ctx.set_options(openssl::ssl::SslOptions::NO_QUERY_MTU);
        ctx.set_cookie_generate_cb(super::dtls::generate_cookie);
        ctx.set_cookie_verify_cb(super::dtls::verify_cookie);
        let v = match version {
            DtlsVersion::Any => None,
            DtlsVersion::Dtls1 => Some(SslVersion::DTLS1),
            DtlsVersion::Dtls1_2 => Some(SslVersion::DTLS1_2),
        };
        if v.is_some() {
            ctx.set_min_proto_version(v).map_err(cfg_err("protocol version"))?;
            ctx.set_max_proto_version(v).map_err(cfg_err("protocol version"))?;
        }
        Ok(ServerConfigBuilder {
            ctx,
            conf: Vec::new(),
            verify: None,
            return_error: false,
            has_cert: false,
            has_key: false,
            dtls: true,
            transport: Default::default(),
        })
    }

    /// `-use_srtp profiles`: offer these SRTP protection profiles (DTLS), colon separated.
    pub fn use_srtp(&mut self, profiles: &str) -> Result<(), TlsError> {
        super::dtls::use_srtp(&mut self.ctx, profiles)
    }

    /// The server certificate (`-cert`, `-certform`). With PEM, further certificates in the same
    /// data are added to the chain.
    pub fn certificate(&mut self, data: &[u8], format: CertFormat) -> Result<(), TlsError> {
        let mut certs = match format {
            CertFormat::Pem => X509::stack_from_pem(data).map_err(cfg_err("unable to load certificate"))?,
            CertFormat::Der => alloc::vec![X509::from_der(data).map_err(cfg_err("unable to load certificate"))?],
        };
        if certs.is_empty() {
            return Err(TlsError::new(
                TlsErrorKind::Config,
                "unable to load certificate: no certificate found",
            ));
        }
        let leaf = certs.remove(0);
        self.ctx
            .set_certificate(&leaf)
            .map_err(cfg_err("unable to use certificate"))?;
        for c in certs {
            self.ctx
                .add_extra_chain_cert(c)
                .map_err(cfg_err("unable to add chain certificate"))?;
        }
        self.has_cert = true;
        Ok(())
    }

    /// Extra chain certificates (`-cert_chain`), PEM.
    pub fn chain(&mut self, pem: &[u8]) -> Result<(), TlsError> {
        for c in X509::stack_from_pem(pem).map_err(cfg_err("unable to load certificate chain"))? {
            self.ctx
                .add_extra_chain_cert(c)
                .map_err(cfg_err("unable to add chain certificate"))?;
        }
        Ok(())
    }

    /// The private key (`-key`, `-keyform`, `-pass`).
    pub fn private_key(&mut self, data: &[u8], format: CertFormat, password: Option<&[u8]>) -> Result<(), TlsError> {
        let key: PKey<Private> = match (format, password) {
            (CertFormat::Pem, Some(p)) => PKey::private_key_from_pem_passphrase(data, p),
            (CertFormat::Pem, None) => PKey::private_key_from_pem_callback(data, |_| Ok(0)),
            (CertFormat::Der, _) => PKey::private_key_from_der(data),
        }
        .map_err(cfg_err("unable to load server private key"))?;
        self.ctx
            .set_private_key(&key)
            .map_err(cfg_err("unable to use private key"))?;
        self.has_key = true;
        Ok(())
    }

    /// Generates an ephemeral self-signed P-256 certificate (CN and SAN `localhost`, SAN
    /// `127.0.0.1`, `::1`; valid from an hour ago for 30 days) and uses it. Returns its SHA-256
    /// fingerprint as colon-separated upper-case hex, like `openssl x509 -fingerprint -sha256`.
    pub fn ephemeral_certificate(&mut self) -> Result<String, TlsError> {
        self.ephemeral_certificate_pins().map(|p| p.sha256)
    }

    /// Like [`ephemeral_certificate`](Self::ephemeral_certificate), returning both ways a
    /// client can pin the certificate.
    pub fn ephemeral_certificate_pins(&mut self) -> Result<CertificatePins, TlsError> {
        let e = |ctx: &'static str| cfg_err(ctx);
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(e("P-256 group"))?;
        let key = PKey::from_ec_key(EcKey::generate(&group).map_err(e("key generation"))?).map_err(e("key"))?;
        let mut name = X509NameBuilder::new().map_err(e("name"))?;
        name.append_entry_by_nid(Nid::COMMONNAME, "localhost")
            .map_err(e("name"))?;
        let name = name.build();
        let mut b = X509::builder().map_err(e("certificate"))?;
        b.set_version(2).map_err(e("certificate"))?;
        let mut serial = BigNum::new().map_err(e("serial"))?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false).map_err(e("serial"))?;
        let serial = serial.to_asn1_integer().map_err(e("serial"))?;
        b.set_serial_number(&serial).map_err(e("serial"))?;
        b.set_subject_name(&name).map_err(e("certificate"))?;
        b.set_issuer_name(&name).map_err(e("certificate"))?;
        b.set_pubkey(&key).map_err(e("certificate"))?;
        let (not_before, not_after) = (
            // An hour back, so that a client whose clock lags a little still accepts it.
            Asn1Time::from_unix(unix_now() - 3600).map_err(e("time"))?,
            Asn1Time::days_from_now(30).map_err(e("time"))?,
        );
        b.set_not_before(&not_before).map_err(e("time"))?;
        b.set_not_after(&not_after).map_err(e("time"))?;
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .ip("127.0.0.1")
            .ip("::1")
            .build(&b.x509v3_context(None, None))
            .map_err(e("subjectAltName"))?;
        b.append_extension(san).map_err(e("subjectAltName"))?;
        b.append_extension(
            BasicConstraints::new()
                .critical()
                .build()
                .map_err(e("basicConstraints"))?,
        )
        .map_err(e("basicConstraints"))?;
        b.sign(&key, MessageDigest::sha256()).map_err(e("signing"))?;
        let cert = b.build();
        self.ctx
            .set_certificate(&cert)
            .map_err(e("unable to use certificate"))?;
        self.ctx.set_private_key(&key).map_err(e("unable to use private key"))?;
        self.has_cert = true;
        self.has_key = true;
        let digest = cert.digest(MessageDigest::sha256()).map_err(e("fingerprint"))?;
        let spki = key.public_key_to_der().map_err(e("public key"))?;
        let spki_digest = openssl::hash::hash(MessageDigest::sha256(), &spki).map_err(e("fingerprint"))?;
        Ok(CertificatePins {
            sha256: digest
                .iter()
                .map(|b| alloc::format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":"),
            spki_sha256_base64: openssl::base64::encode_block(&spki_digest),
        })
    }

    /// Trusted CA certificates for client verification (`-CAfile`, or every file of `-CApath`),
    /// PEM; also sent to the client as acceptable CA names.
    pub fn trusted_certificates(&mut self, pem: &[u8]) -> Result<usize, TlsError> {
        let certs = X509::stack_from_pem(pem).map_err(cfg_err("unable to load CA certificates"))?;
        let n = certs.len();
        for c in certs {
            self.ctx
                .add_client_ca(&c)
                .map_err(cfg_err("unable to add client CA name"))?;
            self.ctx
                .cert_store_mut()
                .add_cert(c)
                .map_err(cfg_err("unable to add CA certificate"))?;
        }
        Ok(n)
    }

    /// Asks for a client certificate (`-verify depth`), or requires one (`-Verify depth`).
    pub fn verify_client(&mut self, depth: u32, require: bool) {
        let mut mode = SslVerifyMode::PEER | SslVerifyMode::CLIENT_ONCE;
        if require {
            mode |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
        }
        // s_server keeps `depth` for its callback only (verify_args.depth); the chain-length
        // limit of X509_VERIFY_PARAM is -verify_depth's.
        self.verify = Some((
            mode,
            VerifyPolicy {
                depth: Some(depth),
                return_error: false,
            },
        ));
    }

    /// `-verify_return_error`: a verification error fails the handshake.
    pub fn verify_return_error(&mut self, on: bool) {
        self.return_error = on;
    }

    /// Applies an option OpenSSL knows by name (`SSL_CONF_cmd` with the command-line spelling,
    /// e.g. `("-cipher", Some("ECDHE+AESGCM"))`, `("-no_tls1_2", None)`). Checked at once;
    /// applied in order by [`ServerConfigBuilder::build`].
    pub fn ssl_conf(&mut self, cmd: &str, value: Option<&str>) -> Result<(), TlsError> {
        let probe = ConfCtx::new(self.ctx.as_ptr())?;
        match probe.lookup(cmd) {
            None => {
                return Err(TlsError::new(
                    TlsErrorKind::Config,
                    alloc::format!("{cmd}: unknown option"),
                ))
            }
            Some(true) if value.is_none() => {
                return Err(TlsError::new(
                    TlsErrorKind::Config,
                    alloc::format!("{cmd}: missing value"),
                ))
            }
            _ => {}
        }
        self.conf.push((cmd.to_string(), value.map(ToString::to_string)));
        Ok(())
    }

    /// Whether OpenSSL's `SSL_CONF` knows `cmd` (with its leading `-`), and if so whether it takes
    /// a value.
    pub fn ssl_conf_lookup(&self, cmd: &str) -> Option<bool> {
        ConfCtx::new(self.ctx.as_ptr()).ok()?.lookup(cmd)
    }

    /// Allows only protocol version `v` (`-tls1`, `-tls1_1`, `-tls1_2`, `-tls1_3`). TLS 1.0 and
    /// 1.1 also need `@SECLEVEL=0` in the cipher string under OpenSSL 3's default security level,
    /// exactly as with s_server.
    pub fn only_version(&mut self, version: TlsVersion) -> Result<(), TlsError> {
        let v = match version {
            TlsVersion::Tls1 => SslVersion::TLS1,
            TlsVersion::Tls1_1 => SslVersion::TLS1_1,
            TlsVersion::Tls1_2 => SslVersion::TLS1_2,
            TlsVersion::Tls1_3 => SslVersion::TLS1_3,
        };
        self.ctx
            .set_min_proto_version(Some(v))
            .map_err(cfg_err("protocol version"))?;
        self.ctx
            .set_max_proto_version(Some(v))
            .map_err(cfg_err("protocol version"))
    }

    /// `-alpn a,b`: the protocols we accept, in our preference order.
    pub fn alpn(&mut self, protocols: &[&str]) -> Result<(), TlsError> {
        let mut wire = Vec::new();
        for p in protocols {
            let len = u8::try_from(p.len()).ok().filter(|&l| l > 0);
            let Some(len) = len else {
                return Err(TlsError::new(
                    TlsErrorKind::Config,
                    alloc::format!("invalid ALPN protocol name '{p}'"),
                ));
            };
            wire.push(len);
            wire.extend_from_slice(p.as_bytes());
        }
        self.ctx
            .set_alpn_select_callback(move |ssl, client| callbacks::alpn_select(&wire, ssl, client));
        Ok(())
    }

    /// `-num_tickets n`: TLS 1.3 session tickets sent after a full handshake.
    pub fn num_tickets(&mut self, n: usize) -> Result<(), TlsError> {
        self.ctx.set_num_tickets(n).map_err(cfg_err("num_tickets"))
    }

    /// `-context id`: the session id context (s_server sets it on every `SSL`; here on the
    /// context, which every `SSL` copies). At most 32 bytes.
    pub fn session_id_context(&mut self, id: &[u8]) -> Result<(), TlsError> {
        self.ctx
            .set_session_id_context(id)
            .map_err(cfg_err("Error setting session id context"))
    }

    /// `-keymatexport label -keymatexportlen len`: after each handshake,
    /// [`crate::HandshakeInfo::keying_material`] carries `len` bytes exported with `label`
    /// (RFC 5705, no context), as s_server prints them.
    pub fn export_keying_material(&mut self, label: &str, len: usize) {
        self.ctx.set_ex_data(
            super::info::keymat_index(),
            super::info::KeymatRequest {
                label: label.to_string(),
                len,
            },
        );
    }

    /// `-max_send_frag n`: the largest plaintext fragment per record (512 to 16384).
    pub fn max_send_fragment(&mut self, n: u32) -> Result<(), TlsError> {
        self.ctx_ctrl(ffi::SSL_CTRL_SET_MAX_SEND_FRAGMENT, n, "Max send fragment size")
    }

    /// `-split_send_frag n`: split writes into fragments of n bytes for pipelining (512 to the
    /// max send fragment).
    pub fn split_send_fragment(&mut self, n: u32) -> Result<(), TlsError> {
        self.ctx_ctrl(ffi::SSL_CTRL_SET_SPLIT_SEND_FRAGMENT, n, "Split send fragment size")
    }

    /// `-max_pipelines n`: records processed in parallel (1 to 32; needs a pipelining cipher
    /// engine to have an effect).
    pub fn max_pipelines(&mut self, n: u32) -> Result<(), TlsError> {
        self.ctx_ctrl(ffi::SSL_CTRL_SET_MAX_PIPELINES, n, "Max pipelines")
    }

    /// An `SSL_CTX_ctrl` setter returning 1 on success; otherwise s_server's
    /// `<what> <n> is out of permitted range`.
    fn ctx_ctrl(&mut self, cmd: core::ffi::c_int, n: u32, what: &str) -> Result<(), TlsError> {
        // SAFETY: `ctx` is a live SSL_CTX; these controls take a long value and no pointer.
        let ok = unsafe { ffi::SSL_CTX_ctrl(self.ctx.as_ptr(), cmd, n.into(), ffi::NO_ARG) };
        if ok == 1 {
            Ok(())
        } else {
            Err(TlsError::new(
                TlsErrorKind::Config,
                alloc::format!("{what} {n} is out of permitted range"),
            ))
        }
    }

    /// `-read_buf n`: the default read buffer length of new connections.
    pub fn read_buffer_len(&mut self, n: usize) {
        // SAFETY: `ctx` is a live SSL_CTX; the call only stores the length.
        unsafe { ffi::SSL_CTX_set_default_read_buffer_len(self.ctx.as_ptr(), n) };
    }

    /// `-no_ca_names`: do not send the trusted CA names in a CertificateRequest
    /// (`SSL_OP_DISABLE_TLSEXT_CA_NAMES`).
    pub fn no_ca_names(&mut self) {
        // SAFETY: `ctx` is a live SSL_CTX; the call only ORs an option bit in.
        unsafe { openssl_sys::SSL_CTX_set_options(self.ctx.as_ptr(), ffi::SSL_OP_DISABLE_TLSEXT_CA_NAMES) };
    }

    /// `-ignore_unexpected_eof`: a peer's EOF without close_notify counts as a clean close
    /// (after the handshake). OpenSSL 1.1.1 lacks `SSL_OP_IGNORE_UNEXPECTED_EOF`, so there the
    /// engine does it (the CLI still refuses the option there, as s_server 1.1.1 had none).
    pub fn ignore_unexpected_eof(&mut self) {
        super::eof::ignore_unexpected_eof(&mut self.ctx);
    }

    /// `-no_resume_ephemeral`: sessions with a forward-secure (ephemeral) key exchange are not
    /// cached for resumption (TLS 1.2 and earlier).
    pub fn no_resume_ephemeral(&mut self) {
        // SAFETY: `ctx` is a live SSL_CTX; the callback is a plain function without state.
        unsafe { ffi::SSL_CTX_set_not_resumable_session_callback(self.ctx.as_ptr(), Some(not_resumable)) };
    }

    /// `-no_cache`: turn the server session cache off.
    pub fn disable_session_cache(&mut self) {
        self.ctx.set_session_cache_mode(SslSessionCacheMode::OFF);
    }

    /// `-keylogfile`: emit [`crate::Event::KeyLog`] lines for every connection.
    pub fn keylog(&mut self) {
        self.ctx.set_keylog_callback(callbacks::keylog);
    }

    /// The context under construction, for the `impl ServerConfigBuilder` blocks of sibling
    /// modules (`ocsp`).
    pub(super) fn ctx_mut(&mut self) -> &mut SslContextBuilder {
        &mut self.ctx
    }

    /// Customises the OpenSSL context directly, for what this crate does not wrap (feature
    /// `openssl-context`). Runs at once; later builder calls may override what it set. This is
    /// the one place the `openssl` crate's types appear in the API.
    ///
    /// ```
    /// # fn main() -> Result<(), sserve_engine::TlsError> {
    /// let mut builder = sserve_engine::ServerConfigBuilder::new()?;
    /// builder.configure_context(|ctx| ctx.set_options(openssl::ssl::SslOptions::NO_TICKET));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "openssl-context")]
    pub fn configure_context<R>(&mut self, f: impl FnOnce(&mut SslContextBuilder) -> R) -> R {
        f(&mut self.ctx)
    }

    /// Was a certificate configured (by bytes or [`ServerConfigBuilder::ephemeral_certificate`])?
    pub fn has_certificate(&self) -> bool {
        self.has_cert
    }

    /// Applies the `SSL_CONF` commands, checks the key against the certificate and freezes the
    /// context.
    pub fn build(mut self) -> Result<Arc<ServerConfig>, TlsError> {
        let mut conf = ConfCtx::new(self.ctx.as_ptr())?;
        for (cmd, value) in &self.conf {
            conf.cmd(cmd, value.as_deref())?;
        }
        conf.finish()?;
        drop(conf);
        super::transport::apply(&self.transport, &mut self.ctx)?;
        let (mode, mut policy) = self.verify.unwrap_or((
            SslVerifyMode::NONE,
            VerifyPolicy {
                depth: None,
                return_error: false,
            },
        ));
        policy.return_error = self.return_error;
        self.ctx
            .set_verify_callback(mode, move |ok, x| callbacks::verify(policy, ok, x));
        if self.has_cert != self.has_key {
            return Err(TlsError::new(
                TlsErrorKind::Config,
                "a certificate needs its private key (and a key its certificate)",
            ));
        }
        if self.has_cert {
            self.ctx
                .check_private_key()
                .map_err(cfg_err("private key does not match the certificate public key"))?;
        }
        Ok(Arc::new(ServerConfig {
            ctx: self.ctx.build(),
            dtls: self.dtls,
        }))
    }
}

/// s_server's `not_resumable_sess_cb`: a session is not resumable when its key exchange was
/// forward secure.
extern "C" fn not_resumable(_ssl: *mut openssl_sys::SSL, is_forward_secure: core::ffi::c_int) -> core::ffi::c_int {
    is_forward_secure
}

/// The shared server context. Create sessions with [`ServerConfig::session`].
pub struct ServerConfig {
    ctx: SslContext,
    dtls: bool,
}

impl core::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerConfig").finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A new server session created at `now`.
    pub fn session(&self, opts: Arc<SessionOptions>, now: Instant) -> Result<TlsSession, TlsError> {
        Ok(crate::Session::new(OpensslTls::new(&self.ctx)?, opts, now))
    }

    /// Was this built with [`ServerConfigBuilder::new_dtls`]?
    pub fn is_dtls(&self) -> bool {
        self.dtls
    }

    /// A DTLS listener (stateless cookies, one [`crate::DtlsSession`] per verified peer) for a
    /// context built with [`ServerConfigBuilder::new_dtls`].
    pub fn dtls_listener(
        &self,
        opts: Arc<SessionOptions>,
        settings: super::DtlsSettings,
        limits: crate::dtls::ListenerLimits,
    ) -> Result<super::DtlsListener, TlsError> {
        if !self.dtls {
            return Err(TlsError::new(TlsErrorKind::Config, "not a DTLS configuration"));
        }
        super::dtls::listener(&self.ctx, opts, settings, limits)
    }

    /// The session-cache counters s_server prints at exit (`print_stats`).
    pub fn cache_stats(&self) -> crate::event::CacheStats {
        super::info::cache_stats(&self.ctx)
    }

    /// The underlying OpenSSL context, for what this crate does not wrap (feature
    /// `openssl-context`; it ties your code to the `openssl` crate's version).
    #[cfg(feature = "openssl-context")]
    pub fn context(&self) -> &SslContext {
        &self.ctx
    }

    pub(crate) fn ctx(&self) -> &SslContext {
        &self.ctx
    }
}
