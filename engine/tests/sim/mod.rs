//! Deterministic simulation: many concurrent connections, each a server [`TlsSession`] from one
//! shared [`ServerConfig`] and an in-memory OpenSSL client ([`crate::common::Client`]), over a
//! seeded virtual network ([`Netem`]) on a virtual clock ([`Instant`]). Nothing reads a real
//! clock; the only randomness the harness adds comes from [`Rng`] seeded by the run's seed.
//!
//! Needs `mod common;` next to `mod sim;` in the test crate.
//!
//! # A run
//!
//! [`random_scenarios`] picks, from the seed, 4–8 connections: console mode (lines both ways,
//! `k`/`K` on TLS 1.3, `r` on TLS 1.2, `S`, closed by `q` or by the client's close_notify),
//! `-rev`, `-WWW` (a file answered by the harness in pieces, or an open error) and `-www`; TLS 1.2
//! or 1.3; start times; and up to two clients that never finish their handshake (one silent, one
//! stalled in the middle of its ClientHello), which the handshake timeout must close.
//!
//! [`Sim::run`] is a discrete-event loop: it repeatedly takes the earliest thing that can happen
//! — a piece of bytes arriving at either end of a connection, a session's
//! [`poll_timeout`](sserve_engine::Session::poll_timeout), or the next scripted action of a
//! client or of the server's console/file reader — advances the clock to it and does it. Every
//! write into the network is cut into random pieces, each delayed by a random time; pieces of
//! one direction of one connection keep their order (TCP), pieces of different connections
//! interleave freely. Ties are broken by a per-seed random rank of the connections.
//!
//! The server side models an adapter's socket: what the client has not taken yet is capped by
//! [`TRANSPORT_WINDOW`]; beyond it the server's writes block (the session is told with
//! `send_blocked`, and `send_progress` once the client reads again), and file pieces wait until
//! the last one is written. An [`App::StopsReading`] client stops reading a large download, which
//! the send timeout must close; [`Sim::with_shutdown_at`] stops the whole server at one instant,
//! as SIGINT/SIGTERM does.
//!
//! Scripted actions wait for what they causally need (a command waits for the handshake, `q`
//! waits until the server has every client line, close_notify until the client has every
//! server line, …), so what each side ends up seeing does not depend on the schedule.
//!
//! # Determinism
//!
//! The [`Outcome::trace`] holds, per connection, the server's events rendered without their
//! random parts (no ciphertext, session ids, keys or cache counters; plaintext events are
//! concatenated, because where records are cut depends on timing), and what the client received.
//! The same seed always gives the same trace.
//!
//! The *schedule* ([`Outcome::schedule`]: when which piece of how many bytes arrived) is
//! identical for a seed only as long as OpenSSL produces messages of the same lengths: ECDSA
//! signatures, for one, vary by a byte or two from run to run, which shifts cut points and the
//! number of pieces. Each connection and direction draws from its own [`Rng`] stream, a fixed
//! number of draws per write, so such a shift stays local; it never changes the trace.
//!
//! # Replay
//!
//! A failing seed is printed together with `SSERVE_SIM_SEED=<n>`; with that variable set the
//! simulation tests run only that seed (and `many_seeds` prints its trace). `SSERVE_SIM_SEEDS=<n>`
//! runs seeds `0..n` instead of the default 300 (see [`seeds_from_env`]).

#![allow(dead_code, missing_docs)]

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;

use openssl::ssl::ErrorCode;
use sserve_engine::http::{self, WebMode};
use sserve_engine::{
    AppMode, CloseReason, Duration, Event, FileError, FileRequest, Instant, ServerConfig, SessionError, SessionOptions,
    TlsSession,
};

use crate::common::{Client, ClientOptions};

/// The environment variable that replays one seed.
pub const SEED_ENV: &str = "SSERVE_SIM_SEED";

/// The handshake timeout of every simulated session.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The send timeout of every simulated session (the library default).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// What the simulated transport holds for a peer that does not read (a socket send buffer plus
/// the peer's receive buffer): beyond it the server's writes block.
pub const TRANSPORT_WINDOW: usize = 48 * 1024;

/// Size of the file an [`App::StopsReading`] client asks for.
const STOPS_READING_FILE: usize = 512 * 1024;

/// Plaintext an [`App::StopsReading`] client reads before it stops.
const STOPS_READING_AFTER: usize = 8 * 1024;

/// Upper bound on loop iterations of one run (non-termination guard).
const MAX_ITERATIONS: usize = 200_000;

/// The environment variable that runs more (or fewer) seeds: `0..n`.
pub const SEEDS_ENV: &str = "SSERVE_SIM_SEEDS";

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

/// The seeds to run: only `SSERVE_SIM_SEED` when set; `0..SSERVE_SIM_SEEDS` when that is set;
/// else `default`.
pub fn seeds_from_env(default: impl IntoIterator<Item = u64>) -> Vec<u64> {
    if let Some(seed) = env_number(SEED_ENV) {
        vec![seed]
    } else if let Some(n) = env_number(SEEDS_ENV) {
        (0..n).collect()
    } else {
        default.into_iter().collect()
    }
}

/// splitmix64: tiny, fast, good enough for schedules; no dependency.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for `(seed, path…)`: consuming it never disturbs another stream.
    pub fn derive(seed: u64, path: &[u64]) -> Rng {
        let mut r = Rng::new(seed ^ 0x5353_4552_5645_5349);
        for &p in path {
            let x = r.next_u64();
            r = Rng::new(x ^ p.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `permille`/1000.
    pub fn chance(&mut self, permille: u32) -> bool {
        self.below(1000) < u64::from(permille)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// `n` characters from `alphabet`.
    pub fn text(&mut self, alphabet: &[u8], n: usize) -> Vec<u8> {
        (0..n).map(|_| alphabet[self.index(alphabet.len())]).collect()
    }

    /// A duration uniform in `lo..=hi`, in multiples of `step` (coarse steps make simultaneous
    /// events, hence interleaving decisions, common).
    pub fn duration(&mut self, lo: Duration, hi: Duration, step: Duration) -> Duration {
        let step = step.as_micros().max(1);
        let (lo, hi) = (lo.as_micros() / step, hi.as_micros() / step);
        Duration::from_micros(self.range(lo, hi.max(lo)) * step)
    }
}

// ---------------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------------

/// One direction of a simulated transport, sans-I/O like the sessions it connects (str0m's
/// `netem`): bytes go in with [`Link::send`] and come out at their delivery time.
pub trait Link {
    /// Bytes written at `now`.
    fn send(&mut self, now: Instant, data: &[u8]);
    /// The next piece whose delivery time has come, if any (call until `None`).
    fn poll_deliver(&mut self, now: Instant) -> Option<Vec<u8>>;
    /// When the next piece is due; `None` when nothing is in flight.
    fn next_event_time(&self) -> Option<Instant>;
    /// Nothing in flight.
    fn is_idle(&self) -> bool {
        self.next_event_time().is_none()
    }
}

/// How a [`Netem`] treats writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// A byte stream (TCP): writes are cut into pieces at random points; pieces keep their order;
    /// nothing is lost or duplicated.
    Stream,
    /// Datagrams (UDP, for DTLS): a write is one datagram, never cut; each one is delayed
    /// independently (so they reorder), and may be lost or duplicated.
    Datagram,
}

/// The knobs of a [`Netem`].
#[derive(Debug, Clone)]
pub struct NetemConfig {
    pub mode: LinkMode,
    /// One-way delay range of a piece or datagram.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Delays are multiples of this.
    pub granularity: Duration,
    /// Stream: a write is cut into at most this many pieces.
    pub max_pieces: usize,
    /// Datagram: chance in ‰ that a datagram is lost.
    pub loss_permille: u32,
    /// Datagram: chance in ‰ that a datagram arrives twice.
    pub duplicate_permille: u32,
}

impl NetemConfig {
    /// A TCP-like stream with 0–20 ms per piece, cut into up to 4 pieces per write.
    pub fn stream() -> NetemConfig {
        NetemConfig {
            mode: LinkMode::Stream,
            min_delay: Duration::ZERO,
            max_delay: Duration::from_millis(20),
            granularity: Duration::from_millis(1),
            max_pieces: 4,
            loss_permille: 0,
            duplicate_permille: 0,
        }
    }

    /// A UDP-like link with 0–20 ms per datagram (reordering), no loss, no duplication.
    pub fn datagram() -> NetemConfig {
        NetemConfig {
            mode: LinkMode::Datagram,
            max_pieces: 1,
            ..NetemConfig::stream()
        }
    }
}

/// A delivered piece, for schedule comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub at: Instant,
    pub len: usize,
}

/// A seeded network emulator for one direction. Stream mode keeps order; datagram mode may
/// reorder, drop and duplicate. The same seed and the same writes give the same deliveries.
#[derive(Debug)]
pub struct Netem {
    config: NetemConfig,
    rng: Rng,
    /// In flight, by (delivery time, send sequence): a stable order for equal times.
    queue: BTreeMap<(Instant, u64), Vec<u8>>,
    seq: u64,
    /// Stream mode: the latest delivery time scheduled (pieces never overtake).
    last: Instant,
    /// What was delivered when.
    pub delivered: Vec<Delivery>,
    /// Datagrams lost / duplicated so far.
    pub lost: usize,
    pub duplicated: usize,
}

impl Netem {
    pub fn new(config: NetemConfig, rng: Rng) -> Netem {
        Netem {
            config,
            rng,
            queue: BTreeMap::new(),
            seq: 0,
            last: Instant::ZERO,
            delivered: Vec::new(),
            lost: 0,
            duplicated: 0,
        }
    }

    fn delay(&mut self) -> Duration {
        let c = &self.config;
        let (lo, hi, step) = (c.min_delay, c.max_delay, c.granularity);
        self.rng.duration(lo, hi, step)
    }

    fn enqueue(&mut self, at: Instant, data: Vec<u8>) {
        self.seq += 1;
        self.queue.insert((at, self.seq), data);
    }

    /// Cut points for a write of `len` bytes. Always draws the same number of values, whatever
    /// `len`, so a length change does not shift the rest of the stream.
    fn cuts(&mut self, len: usize) -> Vec<usize> {
        let max = self.config.max_pieces.max(1);
        let pieces = 1 + self.rng.index(max);
        let mut draws: Vec<u64> = (0..max - 1).map(|_| self.rng.next_u64()).collect();
        draws.truncate(pieces - 1);
        let mut cuts: Vec<usize> = draws
            .into_iter()
            .filter(|_| len > 1)
            .map(|d| 1 + (d % (len as u64 - 1)) as usize)
            .collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

impl Link for Netem {
    fn send(&mut self, now: Instant, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match self.config.mode {
            LinkMode::Stream => {
                let cuts = self.cuts(data.len());
                let delays: Vec<Duration> = (0..self.config.max_pieces.max(1)).map(|_| self.delay()).collect();
                for (w, delay) in cuts.windows(2).zip(delays) {
                    let at = (now + delay).max(self.last);
                    self.last = at;
                    self.enqueue(at, data[w[0]..w[1]].to_vec());
                }
            }
            LinkMode::Datagram => {
                let lost = self.rng.chance(self.config.loss_permille);
                let dup = self.rng.chance(self.config.duplicate_permille);
                let (d1, d2) = (self.delay(), self.delay());
                if lost {
                    self.lost += 1;
                    return;
                }
                self.enqueue(now + d1, data.to_vec());
                if dup {
                    self.duplicated += 1;
                    self.enqueue(now + d2, data.to_vec());
                }
            }
        }
    }

    fn poll_deliver(&mut self, now: Instant) -> Option<Vec<u8>> {
        let entry = self.queue.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let data = entry.remove();
        self.delivered.push(Delivery {
            at: now,
            len: data.len(),
        });
        Some(data)
    }

    fn next_event_time(&self) -> Option<Instant> {
        self.queue.first_key_value().map(|(k, _)| k.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// What a connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// Console mode: lines both ways, connected commands.
    Console,
    /// `-rev`.
    Rev,
    /// `-WWW`: one file request.
    Files,
    /// `-www`: the status page.
    Status,
    /// A client that connects and never sends a byte.
    Silent,
    /// A client that sends part of its ClientHello, then nothing.
    Stalled,
    /// `-WWW`: a large file, and a client that stops reading after the first bytes: the server's
    /// sends block, and the send timeout must close it.
    StopsReading,
}

impl App {
    fn mode(self) -> AppMode {
        match self {
            App::Console | App::Silent | App::Stalled => AppMode::Console,
            App::Rev => AppMode::Rev,
            App::Files | App::StopsReading => AppMode::Web(WebMode::Files),
            App::Status => AppMode::Web(WebMode::Status),
        }
    }

    /// The handshake never completes: the timeout must close it.
    pub fn times_out(self) -> bool {
        matches!(self, App::Silent | App::Stalled)
    }
}

/// A scripted client action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Plaintext to the server (after the handshake).
    Write(Vec<u8>),
    /// close_notify, once the client has everything the server will send.
    CloseNotify,
}

/// A scripted action on the server side: its console, or the adapter answering a file request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// A console read (a data line or a command).
    Console(Vec<u8>),
    /// [`sserve_engine::Session::send`].
    Send(Vec<u8>),
    /// Console `q`, once the server has every client line.
    Quit,
    /// The answer to the file request.
    Respond(Result<(), FileError>),
    FileData(Vec<u8>),
    FileEnd,
}

/// How the harness answers the `-WWW` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileReply {
    /// The file exists: its contents, sent in this many `file_data` calls.
    Serve { contents: Vec<u8>, pieces: usize },
    /// The file cannot be opened.
    Missing,
}

/// Everything one connection does, chosen from the seed.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub app: App,
    pub tls13: bool,
    /// When the connection is accepted (and the client starts).
    pub start: Instant,
    pub client: Vec<ClientStep>,
    pub server: Vec<ServerStep>,
    /// `-WWW`: the requested path and the answer.
    pub file: Option<(String, FileReply)>,
}

const WORDS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 .,-";
/// Console data chunks must not start with (or be) a command: no `q Q r R P S k K c B` first.
const CONSOLE_SAFE: &[u8] = b"abdefghijlmnopstuvwxyz0123456789";

impl Scenario {
    /// A random scenario for connection `conn` of run `seed`.
    pub fn random(seed: u64, conn: u64, app: App) -> Scenario {
        let mut r = Rng::derive(seed, &[1, conn]);
        let tls13 = r.chance(500);
        let start = Instant::ZERO + r.duration(Duration::ZERO, Duration::from_millis(100), Duration::from_millis(1));
        let mut s = Scenario {
            app,
            tls13,
            start,
            client: Vec::new(),
            server: Vec::new(),
            file: None,
        };
        match app {
            App::Console => s.console(&mut r, conn),
            App::Rev => s.rev(&mut r),
            App::Files => s.files(&mut r, seed, conn),
            App::StopsReading => {
                s.files(&mut r, seed, conn);
                let path = s.file.take().map(|f| f.0).unwrap_or_default();
                let reply = FileReply::Serve {
                    contents: r.bytes(STOPS_READING_FILE),
                    pieces: 16,
                };
                s.file = Some((path, reply));
            }
            App::Status => {
                let host = r.chance(500);
                let mut req = Vec::new();
                if host {
                    req.extend_from_slice(b"Host: localhost\r\n");
                }
                req.extend_from_slice(b"GET / HTTP/1.0\r\n\r\n");
                s.client = chunked(&mut r, &req, 4);
            }
            App::Silent | App::Stalled => {}
        }
        s
    }

    fn console(&mut self, r: &mut Rng, conn: u64) {
        for i in 0..r.range(0, 5) {
            let mut line = format!("c{conn}.{i} ").into_bytes();
            if r.chance(300) {
                let n = r.index(40);
                line.extend(r.bytes(n)); // binary is fine: plaintext is opaque
            } else {
                let n = r.index(60);
                line.extend(r.text(WORDS, n));
            }
            line.push(b'\n');
            self.client.push(ClientStep::Write(line));
        }
        for i in 0..r.range(0, 8) {
            let step = match r.below(8) {
                0 | 1 => {
                    let n = r.index(50);
                    let mut line = format!("s{conn}.{i} ").into_bytes();
                    line.extend(r.text(WORDS, n));
                    line.push(b'\n');
                    ServerStep::Send(line)
                }
                2 => {
                    let n = 1 + r.index(40);
                    let mut line = r.text(CONSOLE_SAFE, n);
                    line.push(b'\n');
                    ServerStep::Console(line)
                }
                3 => ServerStep::Console(b"S\n".to_vec()),
                // The commands of the negotiated version, sometimes the other version's (they
                // fail without harm).
                _ => {
                    let wrong = r.chance(100);
                    let letter: &[u8] = match (self.tls13 != wrong, r.chance(500)) {
                        (true, false) => b"k\n",
                        (true, true) => b"K\n",
                        (false, _) => b"r\n",
                    };
                    ServerStep::Console(letter.to_vec())
                }
            };
            self.server.push(step);
        }
        if r.chance(500) {
            self.server.push(ServerStep::Quit);
        } else {
            self.client.push(ClientStep::CloseNotify);
        }
    }

    fn rev(&mut self, r: &mut Rng) {
        let mut text = Vec::new();
        for _ in 0..r.range(1, 6) {
            let n = r.index(50);
            text.extend(r.text(WORDS, n));
            text.extend_from_slice(if r.chance(200) { b"\r\n" } else { b"\n" });
        }
        let by_close_line = r.chance(500);
        if by_close_line {
            text.extend_from_slice(b"CLOSE\n");
        }
        self.client = chunked(r, &text, 6);
        if !by_close_line {
            self.client.push(ClientStep::CloseNotify);
        }
    }

    fn files(&mut self, r: &mut Rng, seed: u64, conn: u64) {
        let ext = ["txt", "html", "bin"][r.index(3)];
        let path = format!("s{seed}/c{conn}.{ext}");
        let mut req = Vec::new();
        if r.chance(500) {
            req.extend_from_slice(b"User-Agent: sim\r\n");
        }
        req.extend_from_slice(format!("GET /{path} HTTP/1.0\r\n\r\n").as_bytes());
        self.client = chunked(r, &req, 5);
        let reply = if r.chance(150) {
            FileReply::Missing
        } else {
            let len = match r.below(4) {
                0 => r.index(16),
                1 | 2 => r.index(4000),
                _ => r.index(70_000),
            };
            FileReply::Serve {
                contents: r.bytes(len),
                pieces: 1 + r.index(6),
            }
        };
        self.file = Some((path, reply));
    }

    /// The plaintext the server must receive (console mode).
    pub fn expected_server_plaintext(&self) -> Vec<u8> {
        match self.app {
            App::Console => self.client_bytes(),
            _ => Vec::new(),
        }
    }

    fn client_bytes(&self) -> Vec<u8> {
        self.client
            .iter()
            .filter_map(|s| match s {
                ClientStep::Write(d) => Some(&d[..]),
                ClientStep::CloseNotify => None,
            })
            .flatten()
            .copied()
            .collect()
    }

    /// The plaintext the client must receive; `None` when only a summary can be checked (`-www`).
    pub fn expected_client_plaintext(&self) -> Option<Vec<u8>> {
        match self.app {
            App::Console => Some(
                self.server
                    .iter()
                    .filter_map(|s| match s {
                        ServerStep::Send(d) => Some(&d[..]),
                        // Data lines, and `S` (s_server prints the stats and sends the chunk).
                        ServerStep::Console(d) if !is_command(d) || d.starts_with(b"S") => Some(&d[..]),
                        _ => None,
                    })
                    .flatten()
                    .copied()
                    .collect(),
            ),
            App::Rev => {
                let text = self.client_bytes();
                let mut out = Vec::new();
                for line in text.split_inclusive(|&b| b == b'\n') {
                    let trimmed = trim_line_end(line);
                    if trimmed == b"CLOSE" {
                        break;
                    }
                    out.extend(trimmed.iter().rev());
                    out.push(b'\n');
                }
                Some(out)
            }
            App::Files | App::StopsReading => {
                let (path, reply) = self.file.as_ref()?;
                Some(match reply {
                    FileReply::Serve { contents, .. } => [http::file_header(path), &contents[..]].concat(),
                    FileReply::Missing => [
                        http::TEXT_HEADER,
                        &http::open_error_message(path, false, "No such file or directory")[..],
                    ]
                    .concat(),
                })
            }
            App::Status => None,
            App::Silent | App::Stalled => Some(Vec::new()),
        }
    }

    /// The `CommandDone` results the script must produce, in order: (letter, succeeded).
    pub fn expected_commands(&self) -> Vec<(char, bool)> {
        self.server
            .iter()
            .filter_map(|s| match s {
                ServerStep::Console(d) if is_command(d) && !d.starts_with(b"S") => {
                    let letter = char::from(d[0]);
                    let ok = if self.tls13 { letter != 'r' } else { letter == 'r' };
                    Some((letter, ok))
                }
                _ => None,
            })
            .collect()
    }

    /// The `Closed` reason the connection must end with, rendered.
    pub fn expected_close(&self) -> &'static str {
        match self.app {
            App::Silent | App::Stalled => "Error(HandshakeTimeout)",
            App::StopsReading => "Error(SendStalled)",
            App::Console if self.server.contains(&ServerStep::Quit) => "LocalClose",
            App::Console | App::Rev if self.client.contains(&ClientStep::CloseNotify) => "PeerClosed",
            _ => "LocalClose",
        }
    }
}

fn is_command(d: &[u8]) -> bool {
    matches!(d, b"k\n" | b"K\n" | b"r\n" | b"S\n")
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    &line[..end]
}

/// `data` as up to `max` writes cut at random points.
fn chunked(r: &mut Rng, data: &[u8], max: usize) -> Vec<ClientStep> {
    let mut cuts: Vec<usize> = (0..r.index(max)).map(|_| r.index(data.len() + 1)).collect();
    cuts.push(0);
    cuts.push(data.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| ClientStep::Write(data[w[0]..w[1]].to_vec()))
        .collect()
}

/// The connections of run `seed`: 4–8, shuffled, including up to two that never finish their
/// handshake (seeds ≡ 0 mod 4 have none).
pub fn random_scenarios(seed: u64) -> Vec<Scenario> {
    let mut r = Rng::derive(seed, &[0]);
    let n = r.range(4, 8) as usize;
    let hung = if seed % 4 == 0 { 0 } else { 1 + r.index(2) };
    let mut apps: Vec<App> = Vec::with_capacity(n);
    for i in 0..n {
        apps.push(match i {
            0 if hung > 0 => App::Silent,
            1 if hung > 1 => App::Stalled,
            _ => [
                App::Console,
                App::Console,
                App::Console,
                App::Rev,
                App::Files,
                App::Status,
            ][r.index(6)],
        });
    }
    // Fisher–Yates: where the hung ones sit among the others is part of the schedule.
    for i in (1..n).rev() {
        apps.swap(i, r.index(i + 1));
    }
    apps.iter()
        .enumerate()
        .map(|(i, &app)| Scenario::random(seed, i as u64, app))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------------------------

/// The client side: the OpenSSL client plus plaintext it could not write yet (during a TLS 1.2
/// renegotiation `SSL_write` wants to read first).
struct SimClient {
    c: Client,
    pending: VecDeque<Vec<u8>>,
    /// The first handshake completed.
    established: bool,
    /// A stalled client: deliveries are ignored, nothing more is sent.
    frozen: bool,
}

impl SimClient {
    fn flush_writes(&mut self) {
        while let Some(front) = self.pending.front_mut() {
            if self.c.error.is_some() {
                return;
            }
            match self.c.stream.ssl_write(front) {
                Ok(n) if n == front.len() => {
                    self.pending.pop_front();
                }
                Ok(n) => {
                    front.drain(..n);
                }
                Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => return,
                Err(e) => self.c.error = Some(format!("write: {e}")),
            }
        }
    }

    fn in_init(&self) -> bool {
        !self.c.stream.ssl().is_init_finished()
    }
}

/// What the loop can do next for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    ToServer,
    ToClient,
    Timeout,
    ServerStep,
    ClientStep,
}

/// A scripted track: steps and when the next one is due.
struct Track<S> {
    steps: VecDeque<S>,
    next_at: Instant,
    rng: Rng,
}

impl<S> Track<S> {
    fn new(steps: impl IntoIterator<Item = S>, start: Instant, rng: Rng) -> Track<S> {
        let mut t = Track {
            steps: steps.into_iter().collect(),
            next_at: start,
            rng,
        };
        t.think(start);
        t
    }

    /// Schedules the next step a random 0–30 ms after `now`.
    fn think(&mut self, now: Instant) {
        self.next_at = now
            + self
                .rng
                .duration(Duration::ZERO, Duration::from_millis(30), Duration::from_millis(1));
    }
}

struct Conn {
    id: usize,
    scenario: Scenario,
    server: TlsSession,
    client: SimClient,
    c2s: Netem,
    s2c: Netem,
    client_track: Track<ClientStep>,
    server_track: Track<ServerStep>,
    connect_at: Option<Instant>,
    events: Vec<(Instant, Event)>,
    server_plaintext_len: usize,
    expected_server_len: usize,
    expected_client_len: Option<usize>,
    last_activity: Instant,
    closed_at: Option<Instant>,
    /// Ciphertext sent towards the client and not yet taken by it (see [`TRANSPORT_WINDOW`]).
    in_flight: usize,
    /// Ciphertext the server produced that the full transport could not take yet.
    blocked: VecDeque<Vec<u8>>,
    /// When the server's writes last went from flowing to blocked.
    blocked_at: Option<Instant>,
    writes_blocked: bool,
    /// The server stopped (signal shutdown): no more server steps.
    stopped: bool,
    /// The server stopped before this connection was accepted: nothing happens on it.
    never_accepted: bool,
}

impl Conn {
    fn new(id: usize, seed: u64, config: &ServerConfig, scenario: Scenario, net: &NetemConfig) -> Conn {
        let opts = SessionOptions {
            mode: scenario.app.mode(),
            handshake_timeout: Some(HANDSHAKE_TIMEOUT),
            argv: vec!["sserve".into(), "-sim".into()],
            ..SessionOptions::s_server()
        };
        let server = config
            .session(Arc::new(opts), scenario.start)
            .expect("ServerConfig::session");
        let client = Client::new(if scenario.tls13 {
            ClientOptions::tls13()
        } else {
            ClientOptions::tls12()
        });
        let k = id as u64;
        Conn {
            id,
            server,
            client: SimClient {
                c: client,
                pending: VecDeque::new(),
                established: false,
                frozen: false,
            },
            c2s: Netem::new(net.clone(), Rng::derive(seed, &[2, k, 0])),
            s2c: Netem::new(net.clone(), Rng::derive(seed, &[2, k, 1])),
            client_track: Track::new(scenario.client.clone(), scenario.start, Rng::derive(seed, &[3, k, 0])),
            server_track: Track::new(scenario.server.clone(), scenario.start, Rng::derive(seed, &[3, k, 1])),
            connect_at: (scenario.app != App::Silent).then_some(scenario.start),
            events: Vec::new(),
            server_plaintext_len: 0,
            expected_server_len: scenario.expected_server_plaintext().len(),
            expected_client_len: scenario.expected_client_plaintext().map(|p| p.len()),
            last_activity: scenario.start,
            closed_at: None,
            in_flight: 0,
            blocked: VecDeque::new(),
            blocked_at: None,
            writes_blocked: false,
            stopped: false,
            never_accepted: false,
            scenario,
        }
    }

    fn reneg_pending(&self) -> bool {
        use sserve_engine::tls::TlsBackend;
        self.server.tls().renegotiation_pending()
    }

    fn client_has_everything(&self) -> bool {
        self.expected_client_len
            .is_none_or(|n| self.client.c.plaintext.len() >= n)
    }

    /// The causal preconditions of the next client step.
    fn client_step_ready(&self) -> bool {
        let c = &self.client;
        if c.c.closed || c.c.error.is_some() || c.frozen {
            return true; // dropped when performed
        }
        match self.client_track.steps.front() {
            None => false,
            Some(ClientStep::Write(_)) => c.established,
            Some(ClientStep::CloseNotify) => {
                c.established
                    && c.pending.is_empty()
                    && !c.in_init()
                    && self.server_track.steps.is_empty()
                    && self.client_has_everything()
                    && !self.reneg_pending()
            }
        }
    }

    fn server_step_ready(&self) -> bool {
        if self.server.is_closed() || self.stopped {
            return !self.server_track.steps.is_empty(); // dropped when performed
        }
        match self.server_track.steps.front() {
            None => false,
            Some(ServerStep::Console(d)) if d == b"r\n" => self.server.is_established() && !self.reneg_pending(),
            Some(ServerStep::Console(_) | ServerStep::Send(_)) => self.server.is_established(),
            Some(ServerStep::Quit) => {
                self.server.is_established()
                    && self.client_track.steps.is_empty()
                    && self.client.pending.is_empty()
                    && !self.client.in_init()
                    && self.server_plaintext_len >= self.expected_server_len
                    && !self.reneg_pending()
            }
            // The adapter reads the next piece only once the last one is written.
            Some(ServerStep::Respond(_) | ServerStep::FileData(_) | ServerStep::FileEnd) => self.blocked.is_empty(),
        }
    }

    /// The earliest thing this connection can do, if any.
    fn next(&self) -> Option<(Instant, Item)> {
        if self.never_accepted {
            return None;
        }
        let mut c: Vec<(Instant, Item)> = Vec::with_capacity(5);
        if let Some(t) = self.c2s.next_event_time() {
            c.push((t, Item::ToServer));
        }
        if let Some(t) = self.s2c.next_event_time() {
            c.push((t, Item::ToClient));
        }
        if let Some(t) = self.server.poll_timeout() {
            c.push((t, Item::Timeout));
        }
        if let Some(t) = self.connect_at {
            c.push((t, Item::ClientStep));
        } else if self.client_step_ready() && !self.client_track.steps.is_empty() {
            c.push((self.client_track.next_at, Item::ClientStep));
        }
        if self.server_step_ready() {
            c.push((self.server_track.next_at, Item::ServerStep));
        }
        c.into_iter().min()
    }

    fn perform(&mut self, now: Instant, item: Item) {
        self.last_activity = now;
        match item {
            Item::ToServer => {
                while let Some(data) = self.c2s.poll_deliver(now) {
                    self.server.handle_input(now, &data);
                    self.drain_server(now);
                }
            }
            Item::ToClient => {
                while let Some(data) = self.s2c.poll_deliver(now) {
                    if self.scenario.app == App::StopsReading && self.client.c.plaintext.len() >= STOPS_READING_AFTER {
                        // Not read: it stays in the transport's buffers.
                        continue;
                    }
                    self.in_flight -= data.len();
                    if !self.client.frozen {
                        self.client.c.stream.get_mut().incoming.extend_from_slice(&data);
                        self.pump_client(now);
                    }
                }
                self.flush_blocked(now);
            }
            Item::Timeout => {
                self.server.handle_timeout(now);
                self.drain_server(now);
            }
            Item::ClientStep => self.client_step(now),
            Item::ServerStep => self.server_step(now),
        }
    }

    fn client_step(&mut self, now: Instant) {
        if self.connect_at.take().is_some() {
            self.client.c.pump(); // writes the ClientHello
            let hello = std::mem::take(&mut self.client.c.stream.get_mut().outgoing);
            if self.scenario.app == App::Stalled {
                self.client.frozen = true;
                self.c2s.send(now, &hello[..hello.len() / 2]);
            } else {
                self.c2s.send(now, &hello);
            }
            self.client_track.think(now);
            return;
        }
        let Some(step) = self.client_track.steps.pop_front() else {
            return;
        };
        self.client_track.think(now);
        if self.client.c.closed || self.client.c.error.is_some() || self.client.frozen {
            return;
        }
        match step {
            ClientStep::Write(d) => {
                self.client.pending.push_back(d);
                self.pump_client(now);
            }
            ClientStep::CloseNotify => {
                self.client.c.shutdown();
                self.pump_client(now);
            }
        }
    }

    fn pump_client(&mut self, now: Instant) {
        let c = &mut self.client;
        c.c.pump();
        if c.c.handshake_done() {
            c.established = true;
        }
        if c.established {
            c.flush_writes();
        }
        let out = std::mem::take(&mut c.c.stream.get_mut().outgoing);
        self.c2s.send(now, &out);
    }

    fn server_step(&mut self, now: Instant) {
        let Some(step) = self.server_track.steps.pop_front() else {
            return;
        };
        self.server_track.think(now);
        if self.server.is_closed() || self.stopped {
            return;
        }
        match step {
            ServerStep::Console(d) => self.server.console_input(&d),
            ServerStep::Send(d) => self.server.send(&d),
            ServerStep::Quit => self.server.console_input(b"q\n"),
            ServerStep::Respond(result) => {
                let path = self.scenario.file.as_ref().map(|f| f.0.clone()).unwrap_or_default();
                self.server.respond_file(&FileRequest { path }, result);
            }
            ServerStep::FileData(d) => self.server.file_data(&d),
            ServerStep::FileEnd => self.server.file_end(),
        }
        self.drain_server(now);
    }

    fn drain_server(&mut self, now: Instant) {
        while let Some(t) = self.server.poll_transmit() {
            assert!(!t.data.is_empty(), "conn {}: empty transmit", self.id);
            self.blocked.push_back(t.data.to_vec());
        }
        self.flush_blocked(now);
        while let Some(e) = self.server.poll_event() {
            match &e {
                Event::Plaintext(b) => self.server_plaintext_len += b.len(),
                Event::FileRequest(r) => self.on_file_request(now, r),
                Event::Closed(reason) => {
                    self.closed_at = Some(now);
                    if *reason == CloseReason::Error(SessionError::SendStalled) {
                        // The peer is not reading: the adapter gives up on what it still holds.
                        self.blocked.clear();
                    }
                }
                _ => {}
            }
            self.events.push((now, e));
        }
    }

    /// The adapter's part of writing: hands what the transport can take to the network, the rest
    /// waits, and the session learns whether the peer is taking its data.
    fn flush_blocked(&mut self, now: Instant) {
        let mut progressed = false;
        while let Some(front) = self.blocked.front() {
            if self.in_flight + front.len() > TRANSPORT_WINDOW && self.in_flight > 0 {
                if !self.writes_blocked {
                    self.writes_blocked = true;
                    self.blocked_at = Some(now);
                }
                self.server.send_blocked(now);
                return;
            }
            let data = self.blocked.pop_front().unwrap_or_default();
            self.in_flight += data.len();
            self.s2c.send(now, &data);
            progressed = true;
        }
        if progressed && self.writes_blocked {
            self.writes_blocked = false;
            self.server.send_progress(now);
        }
    }

    /// The server stops (SIGINT/SIGTERM in the CLI): what every adapter does on its shutdown
    /// switch.
    fn shutdown(&mut self, now: Instant) {
        self.stopped = true;
        if self.connect_at.is_some() || now < self.scenario.start {
            // Not accepted yet: the listener is closed, this client never gets in.
            self.never_accepted = true;
            return;
        }
        self.server.close();
        self.drain_server(now);
    }

    /// The adapter's part of `-WWW`: answer, then the contents in pieces, each a scripted step.
    fn on_file_request(&mut self, now: Instant, request: &FileRequest) {
        let Some((path, reply)) = self.scenario.file.clone() else {
            return;
        };
        assert_eq!(request.path, path, "conn {}: requested path", self.id);
        match reply {
            FileReply::Missing => self
                .server_track
                .steps
                .push_back(ServerStep::Respond(Err(FileError::Open(
                    "No such file or directory".into(),
                )))),
            FileReply::Serve { contents, pieces } => {
                self.server_track.steps.push_back(ServerStep::Respond(Ok(())));
                let size = contents.len().div_ceil(pieces).max(1);
                for piece in contents.chunks(size) {
                    self.server_track.steps.push_back(ServerStep::FileData(piece.to_vec()));
                }
                self.server_track.steps.push_back(ServerStep::FileEnd);
            }
        }
        self.server_track.think(now);
    }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// A whole simulated run.
pub struct Sim {
    pub seed: u64,
    conns: Vec<Conn>,
    /// Tie-break order of the connections for simultaneous events.
    rank: Vec<usize>,
    pub now: Instant,
    /// (time, connection, 0 = to server / 1 = to client, piece length), in delivery order.
    schedule: Vec<(Instant, usize, u8, usize)>,
    /// When the server is stopped by a signal, if it is.
    shutdown_at: Option<Instant>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub seed: u64,
    /// One rendered block per connection; same seed ⇒ same trace.
    pub trace: Vec<String>,
    /// Every delivery: (time µs, connection, direction, bytes).
    pub schedule: Vec<(u64, usize, u8, usize)>,
    /// Per connection: when its server session closed, and when the connection last did anything.
    pub closed_at: Vec<Option<Instant>>,
    pub last_activity: Vec<Instant>,
    pub scenarios: Vec<Scenario>,
    /// Per connection: the server events, the client's plaintext, its close_notify, its error.
    pub events: Vec<Vec<Event>>,
    pub client_plaintext: Vec<Vec<u8>>,
    pub client_closed: Vec<bool>,
    pub client_error: Vec<Option<String>>,
    /// Per connection: when the server's writes first blocked.
    pub blocked_at: Vec<Option<Instant>>,
    /// Virtual time at the end.
    pub end: Instant,
}

impl Sim {
    /// Run `seed` with its random scenarios over TCP-like links.
    pub fn from_seed(config: &ServerConfig, seed: u64) -> Sim {
        Sim::new(config, seed, random_scenarios(seed), &NetemConfig::stream())
    }

    pub fn new(config: &ServerConfig, seed: u64, scenarios: Vec<Scenario>, net: &NetemConfig) -> Sim {
        let conns: Vec<Conn> = scenarios
            .into_iter()
            .enumerate()
            .map(|(i, s)| Conn::new(i, seed, config, s, net))
            .collect();
        let mut r = Rng::derive(seed, &[4]);
        let mut rank: Vec<usize> = (0..conns.len()).collect();
        for i in (1..rank.len()).rev() {
            rank.swap(i, r.index(i + 1));
        }
        Sim {
            seed,
            conns,
            rank,
            now: Instant::ZERO,
            schedule: Vec::new(),
            shutdown_at: None,
        }
    }

    /// Stops the server at `at`, as SIGINT/SIGTERM does.
    pub fn with_shutdown_at(mut self, at: Instant) -> Sim {
        self.shutdown_at = Some(at);
        self
    }

    /// Runs until nothing can happen any more.
    pub fn run(mut self) -> Outcome {
        for _ in 0..MAX_ITERATIONS {
            let next = self
                .conns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.next().map(|(t, item)| ((t, self.rank[i], item), i)))
                .min();
            if let Some(at) = self.shutdown_at.filter(|&at| next.is_none_or(|((t, ..), _)| at < t)) {
                self.shutdown_at = None;
                self.now = self.now.max(at);
                for &i in &self.rank {
                    self.conns[i].shutdown(self.now);
                }
                continue;
            }
            let Some(((t, _, item), i)) = next else {
                return self.finish();
            };
            self.now = self.now.max(t);
            let c = &mut self.conns[i];
            let before = (c.c2s.delivered.len(), c.s2c.delivered.len());
            c.perform(self.now, item);
            for d in &c.c2s.delivered[before.0..] {
                self.schedule.push((d.at, i, 0, d.len));
            }
            for d in &c.s2c.delivered[before.1..] {
                self.schedule.push((d.at, i, 1, d.len));
            }
        }
        panic!(
            "seed {}: no end after {MAX_ITERATIONS} iterations (virtual time {} µs)",
            self.seed,
            self.now.as_micros()
        );
    }

    fn finish(self) -> Outcome {
        let trace = self.conns.iter().map(render).collect();
        Outcome {
            seed: self.seed,
            trace,
            schedule: self
                .schedule
                .iter()
                .map(|&(t, c, d, n)| (t.as_micros(), c, d, n))
                .collect(),
            closed_at: self.conns.iter().map(|c| c.closed_at).collect(),
            last_activity: self.conns.iter().map(|c| c.last_activity).collect(),
            scenarios: self.conns.iter().map(|c| c.scenario.clone()).collect(),
            events: self
                .conns
                .iter()
                .map(|c| c.events.iter().map(|(_, e)| e.clone()).collect())
                .collect(),
            client_plaintext: self.conns.iter().map(|c| c.client.c.plaintext.clone()).collect(),
            client_closed: self.conns.iter().map(|c| c.client.c.closed).collect(),
            client_error: self.conns.iter().map(|c| c.client.c.error.clone()).collect(),
            blocked_at: self.conns.iter().map(|c| c.blocked_at).collect(),
            end: self.now,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Traces and expectations
// ---------------------------------------------------------------------------------------------

/// FNV-1a, to show long byte strings compactly.
pub fn fnv64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Bytes as escaped text, or a length and hash when long.
pub fn show(data: &[u8]) -> String {
    if data.len() <= 120 {
        let s: String = data
            .iter()
            .flat_map(|&b| std::ascii::escape_default(b))
            .map(char::from)
            .collect();
        format!("\"{s}\"")
    } else {
        format!("<{} bytes fnv {:016x}>", data.len(), fnv64(data))
    }
}

/// The deterministic part of an event.
pub fn render_event(e: &Event) -> String {
    match e {
        Event::HandshakeComplete(i) => format!("HandshakeComplete({} {})", i.protocol, i.cipher),
        Event::Plaintext(b) => format!("Plaintext({})", show(b)),
        Event::FileRequest(r) => format!("FileRequest({})", r.path),
        Event::FileServed(p) => format!("FileServed({p})"),
        Event::CommandDone { command, result, error } => format!(
            "CommandDone({} {:?}{})",
            command.letter(),
            result,
            if error.is_some() { " err" } else { "" }
        ),
        Event::Renegotiating(r) => format!("Renegotiating({r})"),
        Event::Stats(_) => "Stats".into(),
        Event::Closed(r) => format!("Closed({})", close_kind(r)),
        other => format!("{other:?}")
            .split(['(', ' ', '{'])
            .next()
            .unwrap_or("?")
            .to_string(),
    }
}

pub fn close_kind(r: &CloseReason) -> String {
    match r {
        CloseReason::PeerClosed => "PeerClosed".into(),
        CloseReason::PeerEof => "PeerEof".into(),
        CloseReason::LocalClose => "LocalClose".into(),
        CloseReason::Error(SessionError::Tls(e)) => format!("Error(Tls {:?}: {})", e.kind, e.reason),
        CloseReason::Error(e) => format!("Error({e:?})"),
        other => format!("{other:?}"),
    }
}

/// A `-www` page without its random parts: the first line, the cipher line, and whether the
/// page ends as s_server ends it.
pub fn status_summary(page: &[u8]) -> String {
    let text = String::from_utf8_lossy(page);
    let first = text.lines().next().unwrap_or("");
    let cipher = text
        .lines()
        .find(|l| l.contains(", Cipher is "))
        .unwrap_or("<no cipher line>");
    let end = text.ends_with("</pre></BODY></HTML>\r\n\r\n");
    format!("page[{first:?} | {cipher:?} | complete={end}]")
}

fn render(c: &Conn) -> String {
    let s = &c.scenario;
    let mut out = format!(
        "conn {} {:?} {}:",
        c.id,
        s.app,
        if s.tls13 { "tls1.3" } else { "tls1.2" }
    );
    let mut plaintext = Vec::new();
    for (_, e) in &c.events {
        if let Event::Plaintext(b) = e {
            plaintext.extend_from_slice(b);
        } else {
            let _ = write!(out, " {}", render_event(e));
        }
    }
    let _ = write!(out, "\n  server got {}", show(&plaintext));
    let got = &c.client.c.plaintext;
    let shown = if s.app == App::Status {
        status_summary(got)
    } else {
        show(got)
    };
    let _ = write!(
        out,
        "\n  client got {shown} closed={} error={}",
        c.client.c.closed,
        c.client.c.error.is_some()
    );
    out
}

impl Outcome {
    /// The whole trace as one string.
    pub fn trace_text(&self) -> String {
        let mut t = format!("seed {}\n", self.seed);
        for block in &self.trace {
            t.push_str(block);
            t.push('\n');
        }
        t
    }

    /// Checks every connection against its scenario. `Err` describes the first violations.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let hung_deadline = self
            .scenarios
            .iter()
            .filter(|s| s.app.times_out())
            .map(|s| s.start + HANDSHAKE_TIMEOUT)
            .min();
        for (i, s) in self.scenarios.iter().enumerate() {
            if let Err(e) = self.check_conn(i, s, hung_deadline) {
                problems.push(format!(
                    "conn {i} ({:?}, tls1.{}): {e}",
                    s.app,
                    if s.tls13 { 3 } else { 2 }
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    fn check_conn(&self, i: usize, s: &Scenario, hung_deadline: Option<Instant>) -> Result<(), String> {
        let events = &self.events[i];
        let rendered: Vec<String> = events.iter().map(render_event).collect();
        let closed = events.iter().find_map(|e| match e {
            Event::Closed(r) => Some(close_kind(r)),
            _ => None,
        });
        let ensure = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{what}; events {rendered:?}; client error {:?}",
                    self.client_error[i]
                ))
            }
        };
        ensure(
            closed.as_deref() == Some(s.expected_close()),
            &format!("closed {closed:?}, expected {}", s.expected_close()),
        )?;
        ensure(
            matches!(events.last(), Some(Event::Closed(_))),
            "Closed is not the last event",
        )?;
        if s.app == App::StopsReading {
            let blocked = self.blocked_at[i];
            ensure(blocked.is_some(), "the server's writes never blocked")?;
            ensure(
                self.closed_at[i] == blocked.map(|b| b + SEND_TIMEOUT),
                &format!(
                    "closed at {:?}, not at the send timeout after {blocked:?}",
                    self.closed_at[i]
                ),
            )?;
            let got = &self.client_plaintext[i];
            let want = s.expected_client_plaintext().unwrap_or_default();
            ensure(
                got.len() < want.len() && want.starts_with(got),
                "the client's bytes are not a strict prefix of the file",
            )?;
            return Ok(());
        }
        if s.app.times_out() {
            ensure(events.len() == 1, "a hung client gets nothing but the timeout")?;
            ensure(
                self.closed_at[i] == Some(s.start + HANDSHAKE_TIMEOUT),
                &format!("closed at {:?}, not at the deadline", self.closed_at[i]),
            )?;
            return Ok(());
        }
        if let Some(deadline) = hung_deadline {
            ensure(
                self.last_activity[i] < deadline,
                &format!(
                    "finished at {} µs, not before the first handshake timeout ({} µs)",
                    self.last_activity[i].as_micros(),
                    deadline.as_micros()
                ),
            )?;
        }
        let info = events.iter().find_map(|e| match e {
            Event::HandshakeComplete(i) => Some(i),
            _ => None,
        });
        let Some(info) = info else {
            return ensure(false, "no HandshakeComplete");
        };
        ensure(
            matches!(events.first(), Some(Event::HandshakeComplete(_))),
            "HandshakeComplete is not first",
        )?;
        ensure(
            info.protocol == if s.tls13 { "TLSv1.3" } else { "TLSv1.2" },
            &format!("protocol {}", info.protocol),
        )?;
        ensure(self.client_error[i].is_none(), "the client failed")?;
        ensure(self.client_closed[i], "the client did not get close_notify")?;
        let server_got = crate::common::server_plaintext(events);
        ensure(
            server_got == s.expected_server_plaintext(),
            &format!(
                "server got {} instead of {}",
                show(&server_got),
                show(&s.expected_server_plaintext())
            ),
        )?;
        let got = &self.client_plaintext[i];
        match s.expected_client_plaintext() {
            Some(want) => ensure(
                *got == want,
                &format!("client got {} instead of {}", show(got), show(&want)),
            )?,
            None => {
                // -www: the page, for this connection's cipher.
                let text = String::from_utf8_lossy(got);
                ensure(got.starts_with(http::HTML_HEADER), "no HTML header")?;
                ensure(
                    text.contains(&format!(", Cipher is {}\n", info.cipher)),
                    &format!("the page does not name the cipher {}", info.cipher),
                )?;
                ensure(text.ends_with("</pre></BODY></HTML>\r\n\r\n"), "the page is cut")?;
            }
        }
        let commands: Vec<(char, bool)> = events
            .iter()
            .filter_map(|e| match e {
                Event::CommandDone { command, result, .. } => Some((command.letter(), *result == Some(1))),
                _ => None,
            })
            .collect();
        ensure(
            commands == s.expected_commands(),
            &format!("commands {commands:?}, expected {:?}", s.expected_commands()),
        )?;
        let stats = events.iter().filter(|e| matches!(e, Event::Stats(_))).count();
        let want_stats = s
            .server
            .iter()
            .filter(|st| **st == ServerStep::Console(b"S\n".to_vec()))
            .count();
        ensure(
            stats == want_stats,
            &format!("{stats} Stats events, expected {want_stats}"),
        )?;
        let want_kinds: Vec<&str> = match (s.app, &s.file) {
            (App::Files, Some((_, FileReply::Serve { .. }))) => {
                vec!["HandshakeComplete", "FileRequest", "FileServed", "WebRequest", "Closed"]
            }
            (App::Files, _) => vec!["HandshakeComplete", "FileRequest", "WebRequest", "Closed"],
            (App::Status, _) => vec!["HandshakeComplete", "WebRequest", "Closed"],
            (App::Rev, _) if !s.client.contains(&ClientStep::CloseNotify) => {
                vec!["HandshakeComplete", "RevClose", "Closed"]
            }
            (App::Rev, _) => vec!["HandshakeComplete", "Closed"],
            _ => Vec::new(),
        };
        if !want_kinds.is_empty() {
            let kinds: Vec<&str> = events.iter().map(crate::common::kind).collect();
            ensure(kinds == want_kinds, &format!("event kinds, expected {want_kinds:?}"))?;
        }
        Ok(())
    }
}

/// Runs `seed` and checks it; on failure panics with the seed, the replay hint and the trace.
pub fn run_checked(config: &ServerConfig, seed: u64) -> Outcome {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Sim::from_seed(config, seed).run()))
        .unwrap_or_else(|_| panic!("simulation panicked for seed {seed}; replay with {SEED_ENV}={seed}"));
    if let Err(e) = outcome.check() {
        panic!(
            "simulation failed for seed {seed}; replay with {SEED_ENV}={seed}\n{e}\n--- trace ---\n{}",
            outcome.trace_text()
        );
    }
    outcome
}
