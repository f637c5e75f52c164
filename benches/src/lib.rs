//! Setup shared by the benchmarks (`benches/*.rs`): server configurations with a P-256 or
//! RSA-2048 certificate, an in-memory OpenSSL client, and the two server pairs measured side by
//! side in the same run:
//!
//! * [`EnginePair`]: a `sserve-engine` [`TlsSession`] and the client;
//! * [`RawPair`]: the baseline, a bare OpenSSL server `SslStream` over the same kind of
//!   in-memory pipe, on the **same** `SSL_CTX` as the engine (so both negotiate the same thing).

use std::io::{self, Read, Write};
use std::sync::Arc;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslMode, SslStream, SslVerifyMode, SslVersion};
use openssl::x509::{X509NameBuilder, X509};
use sserve_engine::ossl::CertFormat;
use sserve_engine::{Event, Instant, ServerConfig, ServerConfigBuilder, SessionOptions, TlsSession};

/// An in-memory byte pipe end: what the peer sent (`incoming`, read from `pos`) and what we
/// wrote (`outgoing`). Reads past the data return `WouldBlock`, like a non-blocking socket.
#[derive(Debug, Default)]
pub struct Pipe {
    /// Bytes received.
    pub incoming: Vec<u8>,
    /// How much of `incoming` was read.
    pub pos: usize,
    /// Bytes written.
    pub outgoing: Vec<u8>,
}

impl Pipe {
    /// Appends received bytes (compacting what was already read).
    pub fn push(&mut self, data: &[u8]) {
        if self.pos == self.incoming.len() {
            self.incoming.clear();
            self.pos = 0;
        }
        self.incoming.extend_from_slice(data);
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.incoming[self.pos..];
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The server certificate's key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on P-256 (sserve's ephemeral certificate).
    EcdsaP256,
    /// RSA 2048 (s_server's usual `server.pem`).
    Rsa2048,
}

impl KeyKind {
    /// A short label for benchmark names.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ecdsa-p256",
            KeyKind::Rsa2048 => "rsa-2048",
        }
    }
}

fn self_signed(kind: KeyKind) -> Result<(X509, PKey<Private>), ErrorStack> {
    let key = match kind {
        KeyKind::EcdsaP256 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
        KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
    };
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, "localhost")?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(2)?);
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

/// Runs `work`, never inlined: the profiling examples (`examples/record_profile.rs`,
/// `examples/stream_profile.rs`) count only what runs inside it, with callgrind's
/// `--toggle-collect=*measured*`.
#[inline(never)]
pub fn measured(work: &mut dyn FnMut()) {
    work();
}

/// A server configuration with s_server's defaults and a fresh self-signed certificate,
/// loaded through the same PEM path as `-cert`/`-key`.
pub fn server_config(kind: KeyKind) -> Arc<ServerConfig> {
    let (cert, key) = self_signed(kind).expect("certificate");
    let mut b = ServerConfigBuilder::new().expect("ServerConfigBuilder");
    b.certificate(&cert.to_pem().expect("pem"), CertFormat::Pem)
        .expect("certificate");
    b.private_key(&key.private_key_to_pem_pkcs8().expect("pem"), CertFormat::Pem, None)
        .expect("private key");
    b.build().expect("build")
}

/// A plain OpenSSL server context with a fresh certificate of `kind` and OpenSSL's defaults,
/// so its `SSL`s keep their record buffers for their whole life (no
/// `SSL_MODE_RELEASE_BUFFERS`), as `openssl s_server`'s do: the baseline for what the engine
/// adds to a record once neither side allocates per record.
pub fn plain_server_context(kind: KeyKind) -> SslContext {
    let (cert, key) = self_signed(kind).expect("certificate");
    let mut b = SslContext::builder(SslMethod::tls_server()).expect("server SSL_CTX");
    b.set_certificate(&cert).expect("certificate");
    b.set_private_key(&key).expect("private key");
    assert!(!b.set_mode(SslMode::empty()).contains(SslMode::RELEASE_BUFFERS));
    b.build()
}

/// A TLS 1.3 client context (verification off). `aes128` pins `TLS_AES_128_GCM_SHA256`, so the
/// record benchmarks compare with `openssl speed -evp aes-128-gcm`.
pub fn client_context(aes128: bool) -> SslContext {
    let mut b = SslContext::builder(SslMethod::tls_client()).expect("client SSL_CTX");
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(SslVersion::TLS1_3)).expect("version");
    if aes128 {
        b.set_ciphersuites("TLS_AES_128_GCM_SHA256").expect("ciphersuites");
    }
    b.build()
}

/// A new client in connect state.
pub fn client(ctx: &SslContext) -> SslStream<Pipe> {
    let mut ssl = Ssl::new(ctx).expect("client SSL");
    ssl.set_connect_state();
    SslStream::new(ssl, Pipe::default()).expect("client stream")
}

fn want(e: &openssl::ssl::Error) -> bool {
    matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE)
}

/// Runs the client's handshake as far as it goes; returns whether it finished.
fn client_step(c: &mut SslStream<Pipe>) -> bool {
    match c.do_handshake() {
        Ok(()) => true,
        Err(e) if want(&e) => false,
        Err(e) => panic!("client handshake failed: {e}"),
    }
}

/// Reads everything the client can read now (tickets, records) into `buf`; returns the bytes.
pub fn client_read_all(c: &mut SslStream<Pipe>, buf: &mut [u8]) -> usize {
    let mut total = 0;
    loop {
        match c.ssl_read(buf) {
            Ok(n) => total += n,
            Err(e) if want(&e) => return total,
            Err(e) => panic!("client read failed: {e}"),
        }
    }
}

/// Encrypts `data` on the client and returns the ciphertext.
pub fn client_seal(c: &mut SslStream<Pipe>, data: &[u8]) -> Vec<u8> {
    let mut rest = data;
    while !rest.is_empty() {
        let n = c.ssl_write(rest).expect("client write");
        rest = &rest[n..];
    }
    std::mem::take(&mut c.get_mut().outgoing)
}

/// The engine side: a console-mode [`TlsSession`] and a client.
pub struct EnginePair {
    /// The server session.
    pub server: TlsSession,
    /// The client.
    pub client: SslStream<Pipe>,
}

impl EnginePair {
    /// A fresh pair (no handshake yet).
    pub fn new(config: &ServerConfig, opts: &Arc<SessionOptions>, client_ctx: &SslContext) -> Self {
        EnginePair {
            server: config.session(opts.clone(), Instant::ZERO).expect("session"),
            client: client(client_ctx),
        }
    }

    /// Drains the server like an adapter does: transmits to the client, then events.
    pub fn drain_server(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            self.client.get_mut().push(&t.data);
        }
        while let Some(e) = self.server.poll_event() {
            if let Event::Closed(r) = &e {
                panic!("server closed: {r:?}");
            }
            std::hint::black_box(e);
        }
    }

    /// Runs the handshake to completion on both sides.
    pub fn handshake(&mut self) {
        for _ in 0..16 {
            let client_done = client_step(&mut self.client);
            let out = std::mem::take(&mut self.client.get_mut().outgoing);
            if !out.is_empty() {
                self.server.handle_input(Instant::ZERO, &out);
            }
            self.drain_server();
            if client_done && self.server.is_established() {
                return;
            }
        }
        panic!("engine handshake did not finish");
    }
}

/// The baseline: a bare OpenSSL server stream on the engine's `SSL_CTX`, and a client.
pub struct RawPair {
    /// The server.
    pub server: SslStream<Pipe>,
    /// The client.
    pub client: SslStream<Pipe>,
}

impl RawPair {
    /// A fresh pair (no handshake yet).
    pub fn new(config: &ServerConfig, client_ctx: &SslContext) -> Self {
        Self::on(config.context(), client_ctx)
    }

    /// A fresh pair whose server is an `SSL` of `server_ctx`.
    pub fn on(server_ctx: &SslContext, client_ctx: &SslContext) -> Self {
        let mut ssl = Ssl::new(server_ctx).expect("server SSL");
        ssl.set_accept_state();
        RawPair {
            server: SslStream::new(ssl, Pipe::default()).expect("server stream"),
            client: client(client_ctx),
        }
    }

    /// Runs the handshake to completion on both sides.
    pub fn handshake(&mut self) {
        for _ in 0..16 {
            let client_done = client_step(&mut self.client);
            let out = std::mem::take(&mut self.client.get_mut().outgoing);
            self.server.get_mut().push(&out);
            let server_done = match self.server.do_handshake() {
                Ok(()) => true,
                Err(e) if want(&e) => false,
                Err(e) => panic!("server handshake failed: {e}"),
            };
            let out = std::mem::take(&mut self.server.get_mut().outgoing);
            self.client.get_mut().push(&out);
            if client_done && server_done {
                return;
            }
        }
        panic!("raw handshake did not finish");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness works for both key types and both pairs, and they negotiate the same suite.
    #[test]
    fn pairs_handshake_and_exchange_data() {
        let ctx = client_context(true);
        for kind in [KeyKind::EcdsaP256, KeyKind::Rsa2048] {
            let config = server_config(kind);
            let opts = Arc::new(SessionOptions::s_server());
            let mut e = EnginePair::new(&config, &opts, &ctx);
            e.handshake();
            let mut r = RawPair::new(&config, &ctx);
            r.handshake();
            let suite = |s: &SslStream<Pipe>| s.ssl().current_cipher().map(|c| c.name().to_string());
            assert_eq!(suite(&e.client), Some("TLS_AES_128_GCM_SHA256".into()));
            assert_eq!(suite(&e.client), suite(&r.client));

            e.server.send(b"ping");
            e.drain_server();
            let mut buf = [0u8; 64];
            assert_eq!(client_read_all(&mut e.client, &mut buf), 4);
            assert_eq!(&buf[..4], b"ping");
        }
    }
}
