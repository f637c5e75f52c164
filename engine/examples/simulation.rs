//! A deterministic simulation: a server [`Session`](sserve_engine::Session) and an in-memory
//! OpenSSL client over a simulated TCP link on a virtual clock. Nothing reads a real clock or
//! touches a socket, so one seed always prints the same transcript.
//!
//! ```sh
//! cargo run -p sserve-engine --example simulation -- --seed 7
//! ```
//!
//! The seed picks the protocol version, the messages the client sends (the server echoes
//! each), how the connection ends (close_notify, a TCP FIN without close_notify, or a client
//! that goes quiet until the server's idle timeout), and the network: every write is cut into
//! 1–3 pieces, each delayed 1–40 ms, arriving in order (TCP).
//!
//! The transcript holds no ciphertext sizes: ECDSA signatures vary by a byte from run to run,
//! and the network's cuts and delays are drawn independently of sizes, so that does not move
//! anything printed.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::sync::Arc;

use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslStream, SslVerifyMode, SslVersion};
use sserve_engine::{Duration, Event, Instant, ServerConfig, ServerConfigBuilder, SessionOptions, TlsSession};

/// How long the server lets a connection sit without input.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on loop iterations (a bug must not hang the simulation).
const MAX_STEPS: usize = 10_000;

#[allow(dead_code)] // A test includes this file for `simulate`, without `main`.
fn main() {
    let mut args = std::env::args().skip(1);
    let seed = match (args.next().as_deref(), args.next()) {
        (None, _) => 1,
        (Some("--seed"), Some(n)) => n.parse().unwrap_or_else(|_| usage()),
        _ => usage(),
    };
    print!("{}", simulate(seed));
}

#[allow(dead_code)]
fn usage() -> ! {
    eprintln!("usage: simulation [--seed N]");
    std::process::exit(2)
}

/// splitmix64: a tiny seeded generator, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// One direction of a TCP connection: pieces arrive in order, each at its time; then maybe FIN.
#[derive(Default)]
struct Link {
    pieces: VecDeque<(Instant, Vec<u8>)>,
    last: Instant,
    fin: Option<Instant>,
}

impl Link {
    /// Cuts `data` into 1–3 pieces with their own delays. Draws the same number of random
    /// numbers whatever the size, so a size change moves no other draw.
    fn send(&mut self, now: Instant, data: &[u8], rng: &mut Rng) {
        let k = 1 + rng.below(3) as usize;
        for i in 0..k {
            let at = (now + rng.millis(1, 40)).max(self.last);
            let piece = &data[data.len() * i / k..data.len() * (i + 1) / k];
            if !piece.is_empty() {
                self.last = at;
                self.pieces.push_back((at, piece.to_vec()));
            }
        }
    }

    fn close(&mut self, now: Instant, rng: &mut Rng) {
        self.fin = Some((now + rng.millis(1, 40)).max(self.last));
    }

    /// When something (a piece, or FIN after the last piece) arrives next.
    fn next(&self) -> Option<Instant> {
        self.pieces.front().map(|p| p.0).or(self.fin)
    }

    /// Takes everything due at `now`; the flag is "FIN arrived".
    fn take(&mut self, now: Instant) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        while self.pieces.front().is_some_and(|p| p.0 <= now) {
            out.extend(self.pieces.pop_front().map(|p| p.1).unwrap_or_default());
        }
        let fin = self.pieces.is_empty() && self.fin.is_some_and(|t| t <= now);
        if fin {
            self.fin = None;
        }
        (out, fin)
    }
}

/// The client's side of its socket: received bytes in, bytes to send out.
#[derive(Default)]
struct Pipe {
    incoming: Vec<u8>,
    outgoing: Vec<u8>,
    eof: bool,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(self.incoming.len());
        buf[..n].copy_from_slice(&self.incoming[..n]);
        self.incoming.drain(..n);
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

/// How the client ends the connection.
#[derive(Debug, Clone, Copy)]
enum Ending {
    CloseNotify,
    FinWithoutCloseNotify,
    GoQuiet,
}

/// Runs the simulation for `seed` and returns its transcript.
pub fn simulate(seed: u64) -> String {
    let mut rng = Rng(seed);
    let tls13 = rng.below(2) == 0;
    let messages: Vec<Vec<u8>> = (0..1 + rng.below(4))
        .map(|i| vec![b'a' + i as u8; 1 + rng.below(3000) as usize])
        .collect();
    let ending = [Ending::CloseNotify, Ending::FinWithoutCloseNotify, Ending::GoQuiet][rng.below(3) as usize];

    let mut log = String::new();
    let _ = writeln!(
        log,
        "seed {seed}: TLS 1.{}, {} messages, ends by {ending:?}",
        if tls13 { 3 } else { 2 },
        messages.len()
    );
    let mut now = Instant::ZERO;
    let mut say = |now: Instant, who: &str, what: String| {
        let ms = now.as_micros() / 1000;
        let _ = writeln!(log, "{:>4}.{:03} s  {who:<6} {what}", ms / 1000, ms % 1000);
    };

    let config = server_config();
    let options = SessionOptions {
        commands: false,
        detailed_info: false,
        idle_timeout: Some(IDLE_TIMEOUT),
        ..SessionOptions::default()
    };
    let mut server: TlsSession = config.session(Arc::new(options), now).expect("server session");
    let mut client = client(tls13);
    let (mut up, mut down) = (Link::default(), Link::default());

    let mut next_message = 0;
    let mut echoed = 0;
    let mut expected = 0;
    let mut client_action: Option<Instant> = None;
    let mut client_done = false;
    say(now, "client", "connects".into());
    client_step(&mut client, &mut up, now, &mut rng);

    for _ in 0..MAX_STEPS {
        // Advance the virtual clock to whatever happens first.
        let Some(next) = [up.next(), down.next(), server.poll_timeout(), client_action]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        now = next;

        let (bytes, fin) = up.take(now);
        if !bytes.is_empty() {
            server.handle_input(now, &bytes);
        }
        if fin {
            say(now, "server", "sees FIN".into());
            server.handle_eof(now);
        }
        if server.poll_timeout().is_some_and(|t| t <= now) {
            server.handle_timeout(now);
        }
        while let Some(t) = server.poll_transmit() {
            down.send(now, &t.data, &mut rng);
        }
        while let Some(event) = server.poll_event() {
            match event {
                Event::HandshakeComplete(info) => say(
                    now,
                    "server",
                    format!("handshake complete: {} {}", info.protocol, info.cipher),
                ),
                Event::Plaintext(data) => {
                    say(now, "server", format!("got {} bytes, echoes them", data.len()));
                    server.send(&data);
                }
                Event::Closed(reason) => {
                    say(now, "server", format!("closed: {reason:?}"));
                    down.close(now, &mut rng);
                }
                _ => {}
            }
            while let Some(t) = server.poll_transmit() {
                down.send(now, &t.data, &mut rng);
            }
        }

        let (bytes, fin) = down.take(now);
        if (!bytes.is_empty() || fin) && !client_done {
            let stream = &mut client;
            stream.get_mut().incoming.extend_from_slice(&bytes);
            stream.get_mut().eof |= fin;
            let was_open = stream.ssl().is_init_finished();
            let got = client_step(stream, &mut up, now, &mut rng);
            if !was_open && stream.ssl().is_init_finished() {
                let version = stream.ssl().version_str();
                say(now, "client", format!("handshake complete: {version}"));
                client_action = Some(now + rng.millis(0, 200));
            }
            if got.data > 0 {
                echoed += got.data;
                say(now, "client", format!("has {echoed} of {expected} bytes back"));
                if echoed == expected {
                    client_action = Some(now + rng.millis(0, 200));
                }
            }
            if let Some(end) = got.end {
                say(now, "client", end);
                client_done = true;
            }
        }

        if client_action.is_some_and(|t| t <= now) {
            client_action = None;
            if let Some(message) = messages.get(next_message) {
                next_message += 1;
                expected += message.len();
                say(now, "client", format!("sends {} bytes", message.len()));
                client.ssl_write(message).expect("client write");
            } else {
                match ending {
                    Ending::CloseNotify => {
                        say(now, "client", "sends close_notify".into());
                        let _ = client.shutdown();
                    }
                    Ending::FinWithoutCloseNotify => {
                        say(now, "client", "closes TCP without close_notify".into());
                        up.close(now, &mut rng);
                        client_done = true;
                    }
                    Ending::GoQuiet => say(now, "client", "goes quiet".into()),
                }
            }
            client_step(&mut client, &mut up, now, &mut rng);
        }
    }
    let _ = writeln!(
        log,
        "done at {:.3} s, server closed: {}",
        now.as_micros() as f64 / 1e6,
        server.is_closed()
    );
    log
}

/// A server configuration with an ephemeral certificate, built once for every run.
fn server_config() -> Arc<ServerConfig> {
    static CONFIG: std::sync::OnceLock<Arc<ServerConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut builder = ServerConfigBuilder::new().expect("config builder");
            builder.ephemeral_certificate().expect("certificate");
            builder.build().expect("config")
        })
        .clone()
}

/// An OpenSSL client in connect state over a [`Pipe`], without verification (the server's
/// certificate is self-signed).
fn client(tls13: bool) -> SslStream<Pipe> {
    let mut ctx = SslContext::builder(SslMethod::tls_client()).expect("client context");
    ctx.set_verify(SslVerifyMode::NONE);
    let version = if tls13 { SslVersion::TLS1_3 } else { SslVersion::TLS1_2 };
    ctx.set_min_proto_version(Some(version)).expect("min version");
    ctx.set_max_proto_version(Some(version)).expect("max version");
    let mut ssl = Ssl::new(&ctx.build()).expect("client");
    ssl.set_connect_state();
    SslStream::new(ssl, Pipe::default()).expect("client stream")
}

/// What one client step received.
struct Received {
    data: usize,
    end: Option<String>,
}

/// Lets the client handshake or read, then sends what it wrote.
fn client_step(client: &mut SslStream<Pipe>, up: &mut Link, now: Instant, rng: &mut Rng) -> Received {
    let mut got = Received { data: 0, end: None };
    if !client.ssl().is_init_finished() {
        if let Err(e) = client.do_handshake() {
            if e.code() != ErrorCode::WANT_READ {
                got.end = Some(format!("handshake failed: {:?}", e.code()));
            }
        }
    }
    let mut buf = [0u8; 16 * 1024];
    while got.end.is_none() && client.ssl().is_init_finished() {
        match client.ssl_read(&mut buf) {
            Ok(n) => got.data += n,
            Err(e) if e.code() == ErrorCode::WANT_READ => break,
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => got.end = Some("got close_notify".into()),
            Err(_) if client.get_ref().eof => got.end = Some("got FIN without close_notify".into()),
            Err(e) => got.end = Some(format!("failed: {:?}", e.code())),
        }
    }
    let out = std::mem::take(&mut client.get_mut().outgoing);
    if !out.is_empty() {
        up.send(now, &out, rng);
    }
    got
}
