//! Two-party harness (after quinn's `Pair`): a server [`TlsSession`] and an OpenSSL client,
//! both over in-memory buffers, shuttled by [`Pair::drive`]. No sockets, no clock.
//!
//! Tests assert on events and plaintext, never on ciphertext bytes (OpenSSL randomness makes
//! ciphertext differ from run to run) — except for the unencrypted things the engine writes on
//! purpose (alerts, the `P` probe).

// Every test binary uses a different part of the harness.
#![allow(dead_code, missing_docs)]

use std::io::{self, Read, Write};
use std::sync::Arc;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslStream, SslVerifyMode, SslVersion};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509NameBuilder, X509};

use sserve_engine::{
    CloseReason, Event, HandshakeInfo, Instant, PeerRead, PeerReader, Pulled, ServerConfig, ServerConfigBuilder,
    SessionOptions, TlsSession,
};

/// How many [`Pair::step`]s [`Pair::drive`] allows before declaring non-termination.
pub const MAX_STEPS: usize = 1000;

/// A server configuration with an ephemeral certificate, adjusted by `f`.
pub fn server_config(f: impl FnOnce(&mut ServerConfigBuilder)) -> Arc<ServerConfig> {
    let mut b = ServerConfigBuilder::new().expect("ServerConfigBuilder::new");
    b.ephemeral_certificate().expect("ephemeral certificate");
    f(&mut b);
    b.build().expect("ServerConfigBuilder::build")
}

/// A server configuration with s_server's defaults and an ephemeral certificate.
pub fn default_config() -> Arc<ServerConfig> {
    server_config(|_| {})
}

/// A fresh server session at time zero.
pub fn session(config: &ServerConfig, opts: SessionOptions) -> TlsSession {
    config
        .session(Arc::new(opts), Instant::ZERO)
        .expect("ServerConfig::session")
}

/// The client's transport: bytes from the server in, bytes to the server out.
#[derive(Debug, Default)]
pub struct ClientIo {
    pub incoming: Vec<u8>,
    pub outgoing: Vec<u8>,
}

impl Read for ClientIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.incoming.len());
        buf[..n].copy_from_slice(&self.incoming[..n]);
        self.incoming.drain(..n);
        Ok(n)
    }
}

impl Write for ClientIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Protocol version the client allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// Whatever both sides support (TLS 1.3 here).
    #[default]
    Any,
    Tls12,
    Tls13,
}

/// How the test client is set up.
#[derive(Default)]
pub struct ClientOptions {
    pub version: Version,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<&'static str>,
    /// A client certificate and its key.
    pub cert: Option<(X509, PKey<Private>)>,
    /// Offer TLS 1.3 post-handshake authentication.
    pub post_handshake_auth: bool,
    /// TLS 1.2 cipher list (`SSL_CTX_set_cipher_list`).
    pub cipher_list: Option<&'static str>,
}

impl ClientOptions {
    pub fn tls12() -> Self {
        ClientOptions {
            version: Version::Tls12,
            ..Default::default()
        }
    }

    pub fn tls13() -> Self {
        ClientOptions {
            version: Version::Tls13,
            ..Default::default()
        }
    }
}

/// `SSL_CTX_set_post_handshake_auth`, which the `openssl` crate does not wrap.
#[allow(unsafe_code)]
fn enable_post_handshake_auth(ctx: &mut openssl::ssl::SslContextBuilder) {
    // SAFETY: `ctx.as_ptr()` is the live SSL_CTX owned by the builder; the call only sets a flag
    // on it and keeps no pointer.
    unsafe { openssl_sys::SSL_CTX_set_post_handshake_auth(ctx.as_ptr(), 1) };
}

/// An OpenSSL client in connect state over [`ClientIo`]. Verification is off (the server
/// certificate is self-signed).
pub struct Client {
    pub stream: SslStream<ClientIo>,
    /// Plaintext read from the server so far.
    pub plaintext: Vec<u8>,
    /// The server's close_notify arrived.
    pub closed: bool,
    /// The client failed (e.g. an alert from the server, a bad record); OpenSSL's text.
    pub error: Option<String>,
    /// Plaintext written while a (re)handshake was in progress, sent once it has finished
    /// (an OpenSSL client's `SSL_write` cannot make progress in the middle of one).
    pending_write: Vec<u8>,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Client {
        let mut ctx = SslContext::builder(SslMethod::tls_client()).expect("client SSL_CTX");
        ctx.set_verify(SslVerifyMode::NONE);
        let v = match opts.version {
            Version::Any => None,
            Version::Tls12 => Some(SslVersion::TLS1_2),
            Version::Tls13 => Some(SslVersion::TLS1_3),
        };
        if v.is_some() {
            ctx.set_min_proto_version(v).expect("min version");
            ctx.set_max_proto_version(v).expect("max version");
        }
        if !opts.alpn.is_empty() {
            let mut wire = Vec::new();
            for p in &opts.alpn {
                wire.push(u8::try_from(p.len()).expect("short ALPN name"));
                wire.extend_from_slice(p.as_bytes());
            }
            ctx.set_alpn_protos(&wire).expect("ALPN");
        }
        if let Some((cert, key)) = &opts.cert {
            ctx.set_certificate(cert).expect("client certificate");
            ctx.set_private_key(key).expect("client key");
        }
        if opts.post_handshake_auth {
            enable_post_handshake_auth(&mut ctx);
        }
        if let Some(list) = opts.cipher_list {
            ctx.set_cipher_list(list).expect("cipher list");
        }
        let mut ssl = Ssl::new(&ctx.build()).expect("client SSL");
        ssl.set_connect_state();
        let stream = SslStream::new(ssl, ClientIo::default()).expect("client stream");
        Client {
            stream,
            plaintext: Vec::new(),
            closed: false,
            error: None,
            pending_write: Vec::new(),
        }
    }

    /// Lets the client process what it received (handshake, records, alerts). Returns whether
    /// anything changed.
    pub fn pump(&mut self) -> bool {
        if self.error.is_some() || self.closed {
            return false;
        }
        let mut progress = false;
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.ssl_read(&mut buf) {
                Ok(n) => {
                    self.plaintext.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) => {
                    match e.code() {
                        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => {}
                        ErrorCode::ZERO_RETURN => {
                            self.closed = true;
                            progress = true;
                        }
                        _ => {
                            self.error = Some(e.to_string());
                            progress = true;
                        }
                    }
                    break;
                }
            }
        }
        if !self.pending_write.is_empty() && self.stream.ssl().is_init_finished() {
            let data = std::mem::take(&mut self.pending_write);
            self.write(&data);
            progress = true;
        }
        progress
    }

    /// Encrypts `data` for the server (after the handshake). During a renegotiation the data
    /// waits in `pending_write` and goes out from [`Client::pump`] once it has finished.
    pub fn write(&mut self, data: &[u8]) {
        if !self.pending_write.is_empty() || !self.stream.ssl().is_init_finished() {
            self.pending_write.extend_from_slice(data);
            return;
        }
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.stream.ssl_write(rest).expect("client write");
            rest = &rest[n..];
        }
    }

    /// Sends close_notify.
    pub fn shutdown(&mut self) {
        let _ = self.stream.shutdown();
    }

    pub fn handshake_done(&self) -> bool {
        self.stream.ssl().is_init_finished()
    }

    /// The client random as lower-case hex (the key log's second column).
    pub fn client_random_hex(&self) -> String {
        let mut r = [0u8; 32];
        let n = self.stream.ssl().client_random(&mut r);
        hex(&r[..n])
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A server session and a client talking over memory.
pub struct Pair {
    pub server: TlsSession,
    pub client: Client,
    /// Every event the server produced, in order.
    pub events: Vec<Event>,
    pub now: Instant,
    /// Everything the server transmitted.
    pub to_client: Vec<u8>,
    /// Everything the client transmitted.
    pub to_server: Vec<u8>,
    /// Split the client's ciphertext into chunks of these sizes (cyclically) before handing it
    /// to the server; empty = one call per flight.
    pub chunking: Vec<usize>,
    chunk_index: usize,
    /// Hand the client's ciphertext over through [`TlsSession::handle_readable`] (a reader
    /// serving it, each read at most the next chunk size) instead of `handle_input`.
    pub pulled: bool,
    /// When set, every transmit of the server is also kept here as handed out, to check what
    /// else still holds its buffer.
    pub held: Option<Vec<bytes::Bytes>>,
}

/// A peer's socket as a [`PeerReader`]: serves `data`, each read at most `max` bytes (and
/// what the buffer holds), then "would block", or the end once `end` is set.
#[derive(Debug, Default)]
pub struct ScriptedReader {
    pub data: Vec<u8>,
    pub max: Option<usize>,
    pub end: bool,
    /// Reads asked for, and the longest buffer offered.
    pub reads: usize,
    pub largest_buffer: usize,
}

impl PeerReader for ScriptedReader {
    #[allow(unsafe_code)]
    fn read<'b>(&mut self, buf: &'b mut [std::mem::MaybeUninit<u8>]) -> PeerRead<'b> {
        self.reads += 1;
        self.largest_buffer = self.largest_buffer.max(buf.len());
        if self.data.is_empty() {
            return if self.end { PeerRead::End } else { PeerRead::WouldBlock };
        }
        let n = buf.len().min(self.data.len()).min(self.max.unwrap_or(usize::MAX));
        for (dst, src) in buf.iter_mut().zip(self.data.drain(..n)) {
            dst.write(src);
        }
        // SAFETY: the loop above initialised the first `n` elements.
        PeerRead::Data(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) })
    }
}

impl Pair {
    pub fn new(config: &ServerConfig, opts: SessionOptions, client: ClientOptions) -> Pair {
        Pair {
            server: session(config, opts),
            client: Client::new(client),
            events: Vec::new(),
            now: Instant::ZERO,
            to_client: Vec::new(),
            to_server: Vec::new(),
            chunking: Vec::new(),
            chunk_index: 0,
            pulled: false,
            held: None,
        }
    }

    /// A pair with the default client, already driven (the handshake is done unless it failed).
    pub fn connected(config: &ServerConfig, opts: SessionOptions, client: ClientOptions) -> Pair {
        let mut p = Pair::new(config, opts, client);
        p.drive();
        p
    }

    /// One round: the client processes its input, its output goes to the server, the server's
    /// output and events are collected. Returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let mut progress = self.client.pump();
        let out = std::mem::take(&mut self.client.stream.get_mut().outgoing);
        if !out.is_empty() {
            progress = true;
            self.to_server.extend_from_slice(&out);
            self.feed_server(&out);
        }
        progress |= self.drain_server();
        progress
    }

    fn feed_server(&mut self, mut data: &[u8]) {
        if self.pulled {
            return self.pull_server(data);
        }
        if self.chunking.is_empty() {
            self.server.handle_input(self.now, data);
            return;
        }
        while !data.is_empty() {
            let size = self.chunking[self.chunk_index % self.chunking.len()].clamp(1, data.len());
            self.chunk_index += 1;
            self.server.handle_input(self.now, &data[..size]);
            data = &data[size..];
            self.drain_server();
        }
    }

    /// Lets the server read `data` itself, a chunk per read, until it has taken all of it.
    fn pull_server(&mut self, data: &[u8]) {
        let mut reader = ScriptedReader {
            data: data.to_vec(),
            ..Default::default()
        };
        // Every call either reads or, once, finds the session needing no read.
        for _ in 0..2 * data.len() + 2 {
            if reader.data.is_empty() {
                return;
            }
            if !self.chunking.is_empty() {
                reader.max = Some(self.chunking[self.chunk_index % self.chunking.len()].max(1));
                self.chunk_index += 1;
            }
            let before = reader.data.len();
            match self.server.handle_readable(self.now, &mut reader) {
                Pulled::Data(n) => assert_eq!(n, before - reader.data.len(), "Pulled::Data counts what was read"),
                Pulled::WouldBlock => assert_eq!(reader.data.len(), before, "nothing read"),
                Pulled::End => panic!("no end was scripted"),
            }
            self.drain_server();
        }
        panic!("the server stopped reading with {} bytes left", reader.data.len());
    }

    /// Moves the server's transmits to the client and collects its events.
    pub fn drain_server(&mut self) -> bool {
        let mut progress = false;
        while let Some(t) = self.server.poll_transmit() {
            assert!(!t.data.is_empty(), "poll_transmit returned an empty transmit");
            self.client.stream.get_mut().incoming.extend_from_slice(&t.data);
            self.to_client.extend_from_slice(&t.data);
            if let Some(held) = &mut self.held {
                held.push(t.data);
            }
            progress = true;
        }
        while let Some(e) = self.server.poll_event() {
            self.events.push(e);
            progress = true;
        }
        progress
    }

    /// Steps until neither side has anything to do; panics after [`MAX_STEPS`].
    pub fn drive(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() {
                return;
            }
        }
        panic!(
            "the pair did not settle after {MAX_STEPS} steps; events so far: {:?}",
            self.kinds()
        );
    }

    /// Console input to the server, then drive.
    pub fn console(&mut self, data: &[u8]) {
        self.server.console_input(data);
        self.drive();
    }

    /// Client plaintext to the server, then drive.
    pub fn client_send(&mut self, data: &[u8]) {
        self.client.write(data);
        self.drive();
    }

    /// Removes and returns the events collected so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Removes and returns the client's plaintext so far.
    pub fn take_client_plaintext(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.client.plaintext)
    }

    /// The event kinds so far (for messages and sequence checks).
    pub fn kinds(&self) -> Vec<&'static str> {
        self.events.iter().map(kind).collect()
    }

    /// The `HandshakeComplete` info; panics if the handshake did not complete.
    pub fn handshake_info(&self) -> HandshakeInfo {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::HandshakeComplete(i) => Some((**i).clone()),
                _ => None,
            })
            .unwrap_or_else(|| {
                panic!(
                    "no HandshakeComplete; events: {:?}; client error: {:?}",
                    self.events, self.client.error
                )
            })
    }

    /// The close reason, if the server closed.
    pub fn closed(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|e| match e {
            Event::Closed(r) => Some(r),
            _ => None,
        })
    }

    /// All plaintext the server received from the client (console mode).
    pub fn server_plaintext(&self) -> Vec<u8> {
        server_plaintext(&self.events)
    }

    /// Asserts the handshake completed and the session is open, clears the events.
    pub fn assert_established(&mut self) {
        assert!(
            self.client.handshake_done(),
            "client handshake not done: {:?}",
            self.client.error
        );
        assert!(
            self.server.is_established(),
            "server not established; events: {:?}",
            self.events
        );
        assert!(matches!(
            self.events
                .iter()
                .filter(|e| matches!(e, Event::HandshakeComplete(_)))
                .count(),
            1
        ));
    }

    /// Checks plaintext flows both ways.
    pub fn assert_data_flows(&mut self, tag: &str) {
        let before = self.server_plaintext().len();
        let msg = format!("to server {tag}\n");
        self.client_send(msg.as_bytes());
        assert_eq!(
            &self.server_plaintext()[before..],
            msg.as_bytes(),
            "client→server after {tag}"
        );
        let msg = format!("to client {tag}\n");
        let before = self.client.plaintext.len();
        self.server.send(msg.as_bytes());
        self.drive();
        assert_eq!(
            &self.client.plaintext[before..],
            msg.as_bytes(),
            "server→client after {tag}; client error {:?}",
            self.client.error
        );
        assert!(self.closed().is_none(), "closed after {tag}: {:?}", self.closed());
    }
}

/// The concatenated `Plaintext` events.
pub fn server_plaintext(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Plaintext(b) => Some(b.as_ref()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

/// A short name for an event's variant.
pub fn kind(e: &Event) -> &'static str {
    match e {
        Event::HandshakeComplete(_) => "HandshakeComplete",
        Event::Plaintext(_) => "Plaintext",
        Event::Alpn { .. } => "Alpn",
        Event::KeyLog(_) => "KeyLog",
        Event::Verify(_) => "Verify",
        Event::FileRequest(_) => "FileRequest",
        Event::FileServed(_) => "FileServed",
        Event::WebRequest(_) => "WebRequest",
        Event::CommandDone { .. } => "CommandDone",
        Event::Renegotiating(_) => "Renegotiating",
        Event::Stats(_) => "Stats",
        Event::HeartbeatUnsupported => "HeartbeatUnsupported",
        Event::StopServer => "StopServer",
        Event::RevClose => "RevClose",
        Event::Closed(_) => "Closed",
        _ => "Other",
    }
}

/// Drains a lone session (no client): all transmitted bytes and all events.
pub fn drain(server: &mut TlsSession) -> (Vec<u8>, Vec<Event>) {
    let mut out = Vec::new();
    while let Some(t) = server.poll_transmit() {
        out.extend_from_slice(&t.data);
    }
    let mut events = Vec::new();
    while let Some(e) = server.poll_event() {
        events.push(e);
    }
    (out, events)
}

/// Splits a TLS byte stream into records: (content type, record length).
pub fn records(stream: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push((rest[0], len));
        rest = &rest[(5 + len).min(rest.len())..];
    }
    out
}

fn p256_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn build_cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, ca: bool) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "sserve tests").unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap())
            .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().critical().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap())
            .unwrap();
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256()).unwrap();
    b.build()
}

/// A CA certificate and key.
pub fn make_ca(cn: &str) -> (X509, PKey<Private>) {
    let key = p256_key();
    (build_cert(cn, &key, None, true), key)
}

/// A leaf certificate signed by `ca`.
pub fn make_leaf(cn: &str, ca: &(X509, PKey<Private>)) -> (X509, PKey<Private>) {
    let key = p256_key();
    (build_cert(cn, &key, Some((&ca.0, &ca.1)), false), key)
}

/// A self-signed leaf certificate.
pub fn make_self_signed(cn: &str) -> (X509, PKey<Private>) {
    let key = p256_key();
    (build_cert(cn, &key, None, false), key)
}

/// Asserts what the client got from a server whose peer's transport ended without
/// close_notify: OpenSSL 3.x answers with a `decode_error` alert (as s_server 3.x does); 1.1.1
/// fails the read without an alert (as s_server 1.1.1 does), so the client sees nothing.
pub fn assert_unexpected_eof_answer(client: &Client) {
    if sserve_engine::ossl::version::openssl_version_number() >= 0x3000_0000 {
        let err = client.error.as_deref().expect("the client reads an alert");
        assert!(err.contains("decode error"), "{err}");
    } else {
        assert_eq!(client.error, None, "OpenSSL 1.1.1 sends no alert");
        assert!(!client.closed, "OpenSSL 1.1.1 sends no close_notify either");
    }
}

/// The bytes a server writes after its peer's transport ended inside or before a record: the
/// `decode_error` alert (level fatal, description 50) with OpenSSL 3.x, nothing with 1.1.1.
pub fn unexpected_eof_bytes() -> &'static [u8] {
    if sserve_engine::ossl::version::openssl_version_number() >= 0x3000_0000 {
        b"\x15\x03\x03\x00\x02\x02\x32"
    } else {
        b""
    }
}
