//! The `dtls_datagram` target's harness and invariants: arbitrary datagrams from arbitrary peers
//! into a [`DatagramListener`](sserve_engine::dtls::DatagramListener), beside a real in-memory
//! OpenSSL DTLS client. Shared, like `checks.rs`, by the cargo-fuzz target and the stable corpus
//! replay (`engine/tests/fuzz_corpus.rs`), so it uses only `std`, `openssl` and `sserve-engine`.
//!
//! Invariants beyond "no panic":
//! - a peer that never echoed a valid cookie gets no state: fuzz-only peers never have an
//!   association, and each of their datagrams moves exactly one listener counter;
//! - the reply to a cookieless datagram is one small HelloVerifyRequest (no amplification);
//! - every datagram sent fits the MTU, and associations never exceed the limit;
//! - traffic from other addresses never disturbs the real client: unless the input spoofs its
//!   address, types a console command or lets the handshake time out, its handshake completes
//!   and data reaches the server unchanged.
#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslOptions, SslStream, SslVerifyMode};
use sserve_engine::command::{parse_console_chunk, ConsoleInput};
use sserve_engine::dtls::{ListenerLimits, ListenerStats};
use sserve_engine::ossl::dtls::DatagramPipe;
use sserve_engine::ossl::{DtlsListener, DtlsSettings, DtlsVersion, Transport};
use sserve_engine::{AppMode, Duration, Event, Instant, ServerConfig, ServerConfigBuilder, SessionOptions};

/// Largest datagram the listener may send.
const MTU: usize = 1200;
/// Largest HelloVerifyRequest we accept as "small" (DTLS 1.2's is about 60 bytes).
const MAX_HVR: usize = 256;
/// Most associations at once in the harness.
const MAX_PEERS: usize = 2;
/// Bound on handshake round trips for the real client.
const MAX_ROUNDS: usize = 40;

/// The real client's address, and three addresses only the fuzzer uses.
fn peer(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i + 1], 4000 + u16::from(i)))
}

fn server_config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut b = ServerConfigBuilder::new_dtls(DtlsVersion::Any).expect("DTLS context");
            b.ephemeral_certificate().expect("certificate");
            b.build().expect("config")
        })
        .clone()
}

fn client_context() -> SslContext {
    static CTX: OnceLock<SslContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut b = SslContext::builder(SslMethod::dtls_client()).expect("client DTLS context");
        b.set_verify(SslVerifyMode::NONE);
        b.set_options(SslOptions::NO_QUERY_MTU);
        b.build()
    })
    .clone()
}

/// An in-memory OpenSSL DTLS client.
struct DtlsClient {
    stream: SslStream<DatagramPipe>,
    done: bool,
    failed: bool,
}

impl DtlsClient {
    fn new() -> DtlsClient {
        let mut ssl = Ssl::new(&client_context()).expect("client SSL");
        ssl.set_mtu(MTU as u32).expect("client MTU");
        ssl.set_connect_state();
        DtlsClient {
            stream: SslStream::new(ssl, DatagramPipe::default()).expect("client stream"),
            done: false,
            failed: false,
        }
    }

    /// Feeds datagrams, drives the handshake, returns what the client sends.
    fn step(&mut self, input: &[Vec<u8>]) -> Vec<Vec<u8>> {
        for d in input {
            self.stream.get_mut().push(d);
        }
        if !self.done && !self.failed {
            match self.stream.do_handshake() {
                Ok(()) => self.done = true,
                Err(e) if e.code() == ErrorCode::WANT_READ => {}
                Err(_) => self.failed = true,
            }
            // Clear OpenSSL's thread-local error queue so one run cannot leak into the next.
            let _ = openssl::error::ErrorStack::get();
        }
        let mut out = Vec::new();
        while let Some(d) = self.stream.get_mut().pop() {
            out.push(d.to_vec());
        }
        out
    }

    /// Plaintext available after feeding `input`.
    fn read(&mut self, input: &[Vec<u8>]) -> Vec<u8> {
        for d in input {
            self.stream.get_mut().push(d);
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = self.stream.ssl_read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        let _ = openssl::error::ErrorStack::get();
        got
    }

    fn write(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        self.stream.ssl_write(data).expect("client write after the handshake");
        self.step(&[])
    }
}

/// Feeds the listener and checks every output; remembers what the server received from the
/// real client.
struct Harness {
    listener: DtlsListener,
    now: Instant,
    /// When the run started: enough virtual time past it legitimately times the client out.
    start: Instant,
    /// Datagrams from the listener to the real client, not yet delivered.
    to_client: Vec<Vec<u8>>,
    /// Plaintext the server received from the real client.
    received: Vec<u8>,
}

fn counters(s: ListenerStats) -> u64 {
    s.hello_verify_requests + s.accepted + s.dropped
}

impl Harness {
    fn new(mode: AppMode) -> Harness {
        let opts = Arc::new(SessionOptions {
            mode,
            ..SessionOptions::s_server()
        });
        let settings = DtlsSettings {
            mtu: MTU,
            ..DtlsSettings::default()
        };
        let limits = ListenerLimits {
            max_peers: MAX_PEERS,
            ..ListenerLimits::default()
        };
        Harness {
            listener: server_config().dtls_listener(opts, settings, limits).expect("listener"),
            now: Instant::from_millis(1),
            start: Instant::from_millis(1),
            to_client: Vec::new(),
            received: Vec::new(),
        }
    }

    /// Moves the listener's output into place, checking sizes and destinations.
    fn collect(&mut self) {
        while let Some(t) = self.listener.poll_transmit() {
            assert!(t.data.len() <= MTU, "datagram of {} bytes above the MTU", t.data.len());
            if t.peer == peer(0) {
                self.to_client.push(t.data.to_vec());
            } else {
                assert!(t.data.len() <= MAX_HVR, "a cookieless peer got {} bytes", t.data.len());
            }
        }
        while let Some((p, e)) = self.listener.poll_event() {
            assert_eq!(p, peer(0), "event {e:?} for a peer without an association");
            if let (true, Event::Plaintext(b)) = (p == peer(0), &e) {
                self.received.extend_from_slice(b);
            }
        }
        assert!(self.listener.peer_count() <= MAX_PEERS);
        for i in 1..4 {
            assert!(
                self.listener.peer(&peer(i)).is_none(),
                "state kept for cookieless peer {}",
                peer(i)
            );
        }
    }

    /// One datagram from `from`.
    fn datagram(&mut self, from: SocketAddr, data: &[u8]) {
        let known = self.listener.peer(&from).is_some();
        let before = counters(self.listener.stats());
        let sent_before = self.listener.stats().hello_verify_requests;
        self.listener.handle(self.now, from, data);
        let stats = self.listener.stats();
        if !known {
            assert_eq!(
                counters(stats),
                before + 1,
                "a datagram from a peer without an association moves exactly one counter"
            );
        }
        assert!(
            stats.hello_verify_requests <= sent_before + 1,
            "one reply per datagram at most"
        );
        self.collect();
    }

    fn advance(&mut self, ms: u16) {
        self.now = self.now + Duration::from_millis(u64::from(ms));
        self.listener.handle_timeout(self.now);
        self.collect();
    }

    /// Delivers pending datagrams to the client and its answers to the server.
    fn client_round(&mut self, client: &mut DtlsClient) {
        let input = core::mem::take(&mut self.to_client);
        for d in client.step(&input) {
            self.datagram(peer(0), &d);
        }
    }
}

/// Decoded input: a flags byte, then operations.
///
/// Flags: bit 0 runs a real client at `peer(0)`; bit 1 lets fuzz datagrams come from
/// `peer(0)` too (spoofing, which may legitimately break that client); bit 2 selects `-rev`
/// instead of the console mode.
///
/// Operations, by `op & 3`: 0 = a datagram of `u16 % 1500` bytes from peer `(op >> 2) % 4`
/// (`peer(0)` only when spoofing is allowed); 1 = advance the clock by a `u16` of milliseconds;
/// 2 = one client round trip; 3 = `u8` bytes of console input.
pub fn check_dtls_datagram(data: &[u8]) {
    let mut cur = super::checks::Cursor::new(data);
    let flags = cur.u8();
    let with_client = flags & 1 != 0;
    let spoof = flags & 2 != 0;
    let mode = if flags & 4 != 0 { AppMode::Rev } else { AppMode::Console };
    let mut h = Harness::new(mode);
    let mut client = with_client.then(DtlsClient::new);
    if let Some(c) = client.as_mut() {
        for d in c.step(&[]) {
            h.datagram(peer(0), &d);
        }
    }
    let mut ops = 0;
    let mut commanded = false;
    while !cur.is_empty() && ops < 256 {
        ops += 1;
        let op = cur.u8();
        match op & 3 {
            0 => {
                let mut from = (op >> 2) % 4;
                if from == 0 && !spoof {
                    from = 1;
                }
                let len = usize::from(cur.u16() % 1500);
                let d = cur.bytes(len);
                h.datagram(peer(from), d);
            }
            1 => {
                let ms = cur.u16();
                h.advance(ms);
            }
            2 => {
                if let Some(c) = client.as_mut() {
                    h.client_round(c);
                }
            }
            _ => {
                let len = usize::from(cur.u8());
                let d = cur.bytes(len).to_vec();
                // A console command (`Q`, `q`, `P`, `r`, …) may end or corrupt the association.
                commanded |= !matches!(parse_console_chunk(&d), ConsoleInput::Data(_));
                h.listener.console_input(&d);
                h.collect();
            }
        }
    }
    let Some(mut c) = client else { return };
    // A spoofed datagram may break the client, and so may a console command or the clock: the handshake timeout
    // (10 s by default) can expire while the client has not finished.
    let timed_out = SessionOptions::s_server()
        .handshake_timeout
        .is_some_and(|t| h.now - h.start >= t);
    if spoof || timed_out || commanded {
        return;
    }
    for _ in 0..MAX_ROUNDS {
        if c.done || c.failed {
            break;
        }
        h.client_round(&mut c);
    }
    assert!(
        c.done && !c.failed,
        "traffic from other addresses broke the real client's handshake"
    );
    // The handshake's last flight may still be in flight to the server.
    h.client_round(&mut c);
    let probe = b"dtls probe\n";
    for d in c.write(probe) {
        h.datagram(peer(0), &d);
    }
    if mode == AppMode::Rev {
        let answer = c.read(&core::mem::take(&mut h.to_client));
        assert!(
            answer.windows(10).any(|w| w == b"eborp sltd"),
            "-rev did not answer the client's line: {:?}",
            String::from_utf8_lossy(&answer)
        );
    } else {
        assert!(
            h.received.ends_with(probe),
            "the server did not receive the client's data: {:?}",
            String::from_utf8_lossy(&h.received)
        );
    }
}

/// Seeds: a real client alone, with interleaved garbage, with a flood of cookieless
/// ClientHellos from other peers, and in `-rev` mode.
pub fn dtls_seeds() -> Vec<(String, Vec<u8>)> {
    // A ClientHello-shaped record: handshake type 22, DTLS 1.2 (0xfefd), epoch 0, ClientHello.
    let mut hello = vec![22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60, 1, 0, 0, 48, 0, 0];
    hello.resize(73, 0);
    let datagram_op = |from: u8, body: &[u8]| {
        let mut v = vec![(from << 2) & 0xfc];
        v.extend_from_slice(&(body.len() as u16).to_le_bytes());
        v.extend_from_slice(body);
        v
    };
    let rounds = |n: usize| vec![2u8; n];
    let mut flood = vec![1u8];
    for i in 0..20u8 {
        flood.extend(datagram_op(1 + i % 3, &hello));
        flood.push(2);
    }
    let mut garbage = vec![1u8];
    garbage.extend(datagram_op(2, b"\x17\xfe\xfd\x00\x01garbage"));
    garbage.extend(rounds(2));
    garbage.extend(datagram_op(3, &[0u8; 40]));
    garbage.extend([1u8, 0xe8, 0x03]); // 1000 ms
    garbage.extend(rounds(4));
    garbage.extend([3u8, 5]);
    garbage.extend_from_slice(b"hello");
    let mut rev = vec![5u8];
    rev.extend(rounds(6));
    let mut spoofed = vec![3u8];
    spoofed.extend(rounds(1));
    spoofed.extend(datagram_op(0, &hello));
    spoofed.extend(rounds(3));
    vec![
        ("seed-client-alone".into(), [vec![1u8], rounds(6)].concat()),
        ("seed-hello-flood".into(), flood),
        ("seed-garbage-timers-console".into(), garbage),
        ("seed-rev".into(), rev),
        ("seed-spoofed-hello".into(), spoofed),
        ("seed-no-client".into(), [vec![0u8], datagram_op(1, &hello)].concat()),
    ]
}
