//! The fuzz targets' harnesses and invariants, in one file shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, through `sserve_fuzz::checks`) and the corpus replay test on
//! stable (`engine/tests/fuzz_corpus.rs`, through `#[path]`).
//!
//! Only `std`, `openssl` and `sserve-engine` are used here, so the engine's test build (which
//! has no `arbitrary`/`libfuzzer-sys`) can include this file as is. Every `check_*` function
//! panics when an invariant breaks; that panic is what libFuzzer reports as a crash.
//!
//! Structured inputs are decoded by [`Cursor`], which reads integers exactly as
//! `arbitrary::Unstructured` does (little-endian, zero-filled when the input runs out), so the
//! fuzz crate's `Arbitrary` impls are thin wrappers over [`SessionInput::decode`] and a seed
//! written with [`SessionInput::encode`] means the same thing to both.
#![allow(dead_code, missing_docs, clippy::new_without_default)]

use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};

use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslStream, SslVerifyMode, SslVersion};
use sserve_engine::command::{parse_console_chunk, Command, ConsoleInput};
use sserve_engine::http::{self, Request, WebMode};
use sserve_engine::line::{LineBuffer, MAX_LINE};
use sserve_engine::{
    AppMode, Duration, Event, FileError, FileRequest, Instant, PeerRead, PeerReader, Pulled, ServerConfig,
    ServerConfigBuilder, SessionOptions, TlsSession,
};

// ------------------------------------------------------------------------------------------
// Input decoding
// ------------------------------------------------------------------------------------------

/// Reads primitives from fuzz input with `arbitrary::Unstructured`'s layout: integers are
/// little-endian and zero-filled past the end; byte strings are cut to what is left.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        let mut b = [0u8; 1];
        self.fill(&mut b);
        b[0]
    }

    pub fn u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        self.fill(&mut b);
        u16::from_le_bytes(b)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (b, rest) = self.data.split_at(n);
        self.data = rest;
        b
    }

    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// A chunk size from one input byte: 0 means "all at once".
fn chunk_size(b: u8) -> usize {
    if b == 0 {
        usize::MAX
    } else {
        usize::from(b)
    }
}

// ------------------------------------------------------------------------------------------
// command_parser
// ------------------------------------------------------------------------------------------

/// `parse_console_chunk` alone: `Data` (and the data of `CommandThenSend`) is the input
/// unchanged, and a command is the letter the chunk starts with, in s_server's rules.
pub fn check_console_chunk(chunk: &[u8]) {
    match parse_console_chunk(chunk) {
        ConsoleInput::Data(d) => {
            assert_eq!(d, chunk, "Data must be the chunk unchanged");
            assert!(core::ptr::eq(d, chunk), "Data must borrow the chunk itself");
            assert!(
                !matches!(chunk.first(), Some(b'q' | b'Q' | b'P' | b'S')),
                "a chunk starting with q/Q/P/S is always a command"
            );
        }
        ConsoleInput::CommandThenSend(c, d) => {
            assert_eq!(d, chunk, "CommandThenSend must send the chunk unchanged");
            assert!(
                matches!(c, Command::PlaintextProbe | Command::Stats),
                "{c:?} is not sent on"
            );
            assert_eq!(chunk.first().copied(), Some(c.letter() as u8));
        }
        ConsoleInput::Command(c) => {
            assert_eq!(chunk.first().copied(), Some(c.letter() as u8), "{c:?} from {chunk:?}");
            if !matches!(c, Command::Quit | Command::Shutdown) {
                assert!(
                    matches!(chunk.get(1), Some(b'\n' | b'\r')),
                    "{c:?} acts only on its letter followed by a line end"
                );
            }
        }
    }
}

/// Input: one flags byte, then chunks of `len: u8` + bytes. Every chunk goes through
/// [`check_console_chunk`], then the same chunks are typed on the console of a console-mode
/// [`Session`](sserve_engine::Session): with flag bit 0, a real client does the handshake first
/// and reads what the console sends (without it, the session stays in its handshake and only
/// queues, which keeps most executions cheap). Beyond the session invariants of [`Driver`], data chunks must reach the client
/// unchanged, in order, until a command that ends or corrupts the stream (`q`, `Q`, `P`).
pub fn check_command_parser(data: &[u8]) {
    let mut cur = Cursor::new(data);
    let flags = cur.u8();
    let mut chunks = Vec::new();
    while !cur.is_empty() && chunks.len() < 64 {
        let len = usize::from(cur.u8());
        chunks.push(cur.bytes(len));
    }
    check_console_chunk(data);
    for c in &chunks {
        check_console_chunk(c);
    }

    let opts = SessionOptions {
        commands: flags & 0x02 == 0,
        ign_eof: flags & 0x04 != 0,
        ..SessionOptions::s_server()
    };
    let version = if flags & 0x08 != 0 {
        Version::Tls12
    } else {
        Version::Any
    };
    let mut d = Driver::new(config(0), opts.clone(), version);
    if flags & 0x01 != 0 {
        d.client_step(0);
    }
    let mut expected = Vec::new();
    let mut tracking = true;
    for (i, c) in chunks.iter().enumerate() {
        if flags & 0x10 != 0 && i == chunks.len() / 2 {
            d.server.console_eof();
            d.drain();
            tracking = false; // EOF may close the connection
        }
        let sent: Option<&[u8]> = if !opts.commands {
            Some(c)
        } else {
            match parse_console_chunk(c) {
                ConsoleInput::Data(x) => Some(x),
                ConsoleInput::CommandThenSend(Command::PlaintextProbe, _) => {
                    tracking = false; // plaintext in the TLS stream: the client fails
                    None
                }
                ConsoleInput::CommandThenSend(_, x) => Some(x),
                ConsoleInput::Command(Command::Quit | Command::Shutdown) => {
                    tracking = false;
                    None
                }
                ConsoleInput::Command(_) => None,
            }
        };
        d.server.console_input(c);
        d.drain();
        if d.client.is_some() {
            d.client_step(0);
        }
        if let Some(s) = sent {
            expected.extend_from_slice(s);
        }
        if tracking && d.established_cleanly() {
            let got = &d.client.as_ref().expect("client").plaintext;
            assert_eq!(
                got.as_slice(),
                expected.as_slice(),
                "console data must reach the client unchanged"
            );
        } else {
            tracking = false;
        }
    }
    d.finish();
}

// ------------------------------------------------------------------------------------------
// http_request
// ------------------------------------------------------------------------------------------

/// A path the engine hands to the file reader stays under the served root.
pub fn check_path_stays_in_root(path: &str) {
    assert!(!path.contains(':'), "path with ':' accepted: {path:?}");
    assert!(
        !path.starts_with('/') && !path.starts_with('\\'),
        "absolute path accepted: {path:?}"
    );
    assert!(
        !path.split(['/', '\\']).any(|c| c == ".."),
        "path with a '..' component accepted: {path:?}"
    );
    assert!(!path.contains(' '), "path with a space accepted: {path:?}");
}

/// `validate_path` on the bytes after `GET /`.
pub fn check_validate_path(rest: &[u8]) {
    match http::validate_path(rest) {
        Ok(path) => {
            check_path_stays_in_root(&path);
            assert!(rest.starts_with(path.as_bytes()), "the path is a prefix of the request");
            assert_eq!(rest.get(path.len()), Some(&b' '), "the path ends at a space");
        }
        Err(e) => {
            let m = e.message();
            assert!(m.starts_with(b"'") && m.ends_with(b"\r\n"), "message shape: {m:?}");
        }
    }
}

/// One line through `classify_line`: the answer matches the line's prefix, and file paths
/// stay in the root.
pub fn check_classify(mode: WebMode, line: &[u8]) {
    let r = http::classify_line(mode, line);
    match (&r, mode) {
        (Request::Ignore, WebMode::Status) => assert!(!line.starts_with(b"GET ")),
        (Request::Ignore, _) => assert!(!line.starts_with(b"GET /")),
        (Request::StatusPage { renegotiate }, WebMode::Status) => {
            assert!(line.starts_with(b"GET "));
            assert_eq!(renegotiate.is_some(), line.starts_with(b"GET /reneg"));
        }
        (Request::StatusPage { renegotiate }, WebMode::Files) => {
            assert!(line.starts_with(b"GET /stats ") && renegotiate.is_none());
        }
        (Request::StatusPage { .. }, WebMode::Raw) => panic!("-HTTP has no status page"),
        (Request::File(path), _) => {
            assert!(mode != WebMode::Status, "-www serves no files");
            check_path_stays_in_root(path);
            let mut expect = b"GET /".to_vec();
            expect.extend_from_slice(path.as_bytes());
            expect.push(b' ');
            assert!(line.starts_with(&expect), "{path:?} is not the path of {line:?}");
        }
        (Request::Reject(m), _) => {
            assert!(mode != WebMode::Status && line.starts_with(b"GET /"));
            assert!(m.starts_with(b"'") && m.ends_with(b"\r\n"));
        }
    }
    if line.starts_with(b"GET /") {
        check_validate_path(&line[5..]);
    }
}

fn line_pieces(chunks: &mut dyn Iterator<Item = &[u8]>) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut lb = LineBuffer::new();
    let mut pieces = Vec::new();
    for c in chunks {
        let consumed = lb.push(c, |l| {
            pieces.push(l.to_vec());
            true
        });
        assert_eq!(consumed, c.len(), "push consumes everything while on_line says go on");
        assert!(lb.pending().len() < MAX_LINE, "a full line is never left pending");
    }
    let pending = lb.pending().to_vec();
    let mut tail = Vec::new();
    lb.take_pending(|l| tail.extend_from_slice(l));
    assert_eq!(pending, tail);
    assert!(lb.pending().is_empty());
    (pieces, tail)
}

/// Input: mode byte, chunk-size byte, then the plaintext stream. `LineBuffer` pieces are at most
/// [`MAX_LINE`] bytes, end at `\n` or are exactly `MAX_LINE` long, concatenate back to the
/// input, and do not depend on how the stream was chunked; every piece goes through
/// [`check_classify`] and the whole stream through [`check_validate_path`].
pub fn check_http_request(data: &[u8]) {
    let mut cur = Cursor::new(data);
    let mode = match cur.u8() % 3 {
        0 => WebMode::Status,
        1 => WebMode::Files,
        _ => WebMode::Raw,
    };
    let size = chunk_size(cur.u8());
    let stream = cur.rest();

    let (pieces, tail) = line_pieces(&mut stream.chunks(size.min(stream.len().max(1))));
    let mut joined = Vec::with_capacity(stream.len());
    for p in &pieces {
        assert!(!p.is_empty() && p.len() <= MAX_LINE, "piece of {} bytes", p.len());
        assert!(
            p.ends_with(b"\n") || p.len() == MAX_LINE,
            "a piece ends at a newline or at MAX_LINE"
        );
        assert!(!p[..p.len() - 1].contains(&b'\n'), "a piece holds at most one line end");
        joined.extend_from_slice(p);
    }
    assert!(tail.len() < MAX_LINE && !tail.contains(&b'\n'));
    joined.extend_from_slice(&tail);
    assert_eq!(joined, stream, "the pieces concatenate to the input");

    let (whole, whole_tail) = line_pieces(&mut core::iter::once(stream));
    assert_eq!(whole, pieces, "chunking changed the lines");
    assert_eq!(whole_tail, tail);

    // Stopping at the first line consumes exactly that line.
    let mut lb = LineBuffer::new();
    let mut first = None;
    let n = lb.push(stream, |l| {
        first = Some(l.to_vec());
        false
    });
    match first {
        Some(f) => {
            assert_eq!(f, pieces[0]);
            assert_eq!(n, f.len());
        }
        None => assert_eq!(n, stream.len()),
    }

    for p in pieces.iter().chain(core::iter::once(&tail)) {
        check_classify(mode, p);
    }
    check_validate_path(stream);
}

// ------------------------------------------------------------------------------------------
// session_input
// ------------------------------------------------------------------------------------------

/// One step of a [`SessionInput`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Ciphertext (or anything) from the transport.
    Raw(Vec<u8>),
    /// The transport ended.
    Eof,
    /// Time passes by this many milliseconds; the session's timer fires if due.
    Advance(u16),
    /// `handle_timeout(now)` whether due or not (must do nothing when not due).
    Timeout,
    /// A console chunk.
    Console(Vec<u8>),
    /// The console ended.
    ConsoleEof,
    /// Let the real client run (starting its handshake if it has none), its ciphertext cut in
    /// chunks of this size (0 = whole flights).
    Client(u8),
    /// The real client sends this plaintext (once its handshake is done).
    ClientData(u8, Vec<u8>),
    /// The real client sends close_notify.
    ClientClose,
    /// The file reader's answer to a pending request: 0 = the file (these bytes) and its end,
    /// 1 = data without the end, 2 = a directory, 3 = an open error, other = an answer to a
    /// request that was never made.
    File(u8, Vec<u8>),
    /// `Session::send` directly.
    Send(Vec<u8>),
    /// `Session::command` directly (index into the command list).
    Command(u8),
}

const OP_KINDS: u8 = 12;
/// Ops per input; more is ignored.
pub const MAX_OPS: usize = 64;

/// A structured `session_input` input: session flags, server configuration and a sequence of
/// transport / console / time / client / file operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInput {
    /// Bits 0..2: mode (0 console, 1 rev, 2 www, 3 WWW, 4 HTTP); 3: crlf; 4: commands off;
    /// 5: ign_eof; 6: idle timeout 5 s; 7: the client speaks only TLS 1.2.
    pub flags: u8,
    /// Bits 0..1: server configuration ([`config`]); bit 2: no handshake timeout; bit 3: the
    /// client speaks only TLS 1.3; bit 4: the server reads the transport itself
    /// (`handle_readable`) instead of being handed bytes.
    pub config: u8,
    pub ops: Vec<Op>,
}

impl SessionInput {
    /// Decodes fuzz input (never fails: missing bytes read as zero).
    pub fn decode(data: &[u8]) -> SessionInput {
        let mut cur = Cursor::new(data);
        let flags = cur.u8();
        let config = cur.u8();
        let mut ops = Vec::new();
        while !cur.is_empty() && ops.len() < MAX_OPS {
            let tag = cur.u8() % OP_KINDS;
            let op = match tag {
                0 => {
                    let n = cur.u16();
                    Op::Raw(cur.bytes(usize::from(n)).to_vec())
                }
                1 => Op::Eof,
                2 => Op::Advance(cur.u16()),
                3 => Op::Timeout,
                4 => {
                    let n = cur.u16();
                    Op::Console(cur.bytes(usize::from(n)).to_vec())
                }
                5 => Op::ConsoleEof,
                6 => Op::Client(cur.u8()),
                7 => {
                    let split = cur.u8();
                    let n = cur.u16();
                    Op::ClientData(split, cur.bytes(usize::from(n)).to_vec())
                }
                8 => Op::ClientClose,
                9 => {
                    let kind = cur.u8();
                    let n = cur.u16();
                    Op::File(kind, cur.bytes(usize::from(n)).to_vec())
                }
                10 => {
                    let n = cur.u16();
                    Op::Send(cur.bytes(usize::from(n)).to_vec())
                }
                _ => Op::Command(cur.u8()),
            };
            ops.push(op);
        }
        SessionInput { flags, config, ops }
    }

    /// The bytes [`SessionInput::decode`] turns back into `self` (for writing seeds).
    pub fn encode(&self) -> Vec<u8> {
        fn data(out: &mut Vec<u8>, d: &[u8]) {
            let n = u16::try_from(d.len()).expect("an op's data is at most 65535 bytes");
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(d);
        }
        let mut out = vec![self.flags, self.config];
        for op in &self.ops {
            match op {
                Op::Raw(d) => {
                    out.push(0);
                    data(&mut out, d);
                }
                Op::Eof => out.push(1),
                Op::Advance(ms) => {
                    out.push(2);
                    out.extend_from_slice(&ms.to_le_bytes());
                }
                Op::Timeout => out.push(3),
                Op::Console(d) => {
                    out.push(4);
                    data(&mut out, d);
                }
                Op::ConsoleEof => out.push(5),
                Op::Client(s) => out.extend_from_slice(&[6, *s]),
                Op::ClientData(s, d) => {
                    out.extend_from_slice(&[7, *s]);
                    data(&mut out, d);
                }
                Op::ClientClose => out.push(8),
                Op::File(k, d) => {
                    out.extend_from_slice(&[9, *k]);
                    data(&mut out, d);
                }
                Op::Send(d) => {
                    out.push(10);
                    data(&mut out, d);
                }
                Op::Command(c) => out.extend_from_slice(&[11, *c]),
            }
        }
        out
    }

    pub fn session_options(&self) -> SessionOptions {
        let mode = match self.flags & 0x07 {
            1 => AppMode::Rev,
            2 => AppMode::Web(WebMode::Status),
            3 => AppMode::Web(WebMode::Files),
            4 => AppMode::Web(WebMode::Raw),
            _ => AppMode::Console,
        };
        SessionOptions {
            mode,
            crlf: self.flags & 0x08 != 0,
            commands: self.flags & 0x10 == 0,
            ign_eof: self.flags & 0x20 != 0,
            idle_timeout: (self.flags & 0x40 != 0).then(|| Duration::from_secs(5)),
            handshake_timeout: (self.config & 0x04 == 0).then(|| Duration::from_secs(10)),
            argv: vec!["sserve".into(), "-www".into()],
            max_pending_console: 4096,
            ..SessionOptions::s_server()
        }
    }

    pub fn client_version(&self) -> Version {
        if self.flags & 0x80 != 0 {
            Version::Tls12
        } else if self.config & 0x08 != 0 {
            Version::Tls13
        } else {
            Version::Any
        }
    }
}

const COMMANDS: [Command; 10] = [
    Command::Quit,
    Command::Shutdown,
    Command::Renegotiate,
    Command::RenegotiateWithCert,
    Command::PlaintextProbe,
    Command::Stats,
    Command::KeyUpdate,
    Command::KeyUpdateRequested,
    Command::RequestClientCert,
    Command::Heartbeat,
];

/// Runs a [`SessionInput`] against a server session (and a real OpenSSL client when the input
/// asks for one). Invariants ([`Driver`]): once `Event::Closed` was seen, no transmit and no
/// event ever again, `poll_timeout()` is `None` and `is_closed()` holds; no empty transmit;
/// `handle_timeout` before the deadline does nothing; a `FileRequest` path stays in the root.
pub fn check_session_input(input: &SessionInput) {
    let mut d = Driver::new(
        config(input.config & 0x03),
        input.session_options(),
        input.client_version(),
    );
    d.pulled = input.config & 0x10 != 0;
    for op in &input.ops {
        d.apply(op);
    }
    d.finish();
}

/// [`check_session_input`] on raw fuzz bytes.
pub fn check_session_bytes(data: &[u8]) {
    check_session_input(&SessionInput::decode(data));
}

/// Server configurations, built once per process: 0 = s_server defaults; 1 = key log and ALPN
/// (`h2`, `http/1.1`); 2 = TLS 1.2 only with an optional client certificate; 3 = no session cache
/// and no tickets.
pub fn config(which: u8) -> Arc<ServerConfig> {
    static CONFIGS: OnceLock<Vec<Arc<ServerConfig>>> = OnceLock::new();
    CONFIGS
        .get_or_init(|| {
            (0..4)
                .map(|i| {
                    let mut b = ServerConfigBuilder::new().expect("ServerConfigBuilder");
                    b.ephemeral_certificate().expect("certificate");
                    match i {
                        1 => {
                            b.keylog();
                            b.alpn(&["h2", "http/1.1"]).expect("alpn");
                        }
                        2 => {
                            b.only_version(sserve_engine::ossl::TlsVersion::Tls1_2).expect("tls1_2");
                            b.verify_client(1, false);
                        }
                        3 => {
                            b.disable_session_cache();
                            b.num_tickets(0).expect("num_tickets");
                        }
                        _ => {}
                    }
                    b.build().expect("build")
                })
                .collect()
        })
        .get(usize::from(which) % 4)
        .expect("config")
        .clone()
}

/// Protocol versions the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Any,
    Tls12,
    Tls13,
}

/// The client's transport.
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

fn client_context(version: Version) -> SslContext {
    static CTX: OnceLock<[SslContext; 3]> = OnceLock::new();
    let all = CTX.get_or_init(|| {
        [None, Some(SslVersion::TLS1_2), Some(SslVersion::TLS1_3)].map(|v| {
            let mut b = SslContext::builder(SslMethod::tls_client()).expect("client SSL_CTX");
            b.set_verify(SslVerifyMode::NONE);
            if v.is_some() {
                b.set_min_proto_version(v).expect("min version");
                b.set_max_proto_version(v).expect("max version");
            }
            b.set_alpn_protos(b"\x08http/1.1\x02h2").expect("alpn");
            b.build()
        })
    });
    let i = match version {
        Version::Any => 0,
        Version::Tls12 => 1,
        Version::Tls13 => 2,
    };
    all[i].clone()
}

/// An in-memory OpenSSL client (verification off).
pub struct Client {
    pub stream: SslStream<ClientIo>,
    /// Plaintext received from the server.
    pub plaintext: Vec<u8>,
    pub closed: bool,
    pub error: Option<String>,
}

impl Client {
    pub fn new(version: Version) -> Client {
        let mut ssl = Ssl::new(&client_context(version)).expect("client SSL");
        ssl.set_connect_state();
        Client {
            stream: SslStream::new(ssl, ClientIo::default()).expect("client stream"),
            plaintext: Vec::new(),
            closed: false,
            error: None,
        }
    }

    /// Processes received bytes; returns whether anything changed.
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
        progress
    }

    pub fn usable(&self) -> bool {
        self.error.is_none() && !self.closed && self.stream.ssl().is_init_finished()
    }

    /// Takes what the client has written.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.stream.get_mut().outgoing)
    }
}

/// Drives one server session, checking the session invariants after every call.
pub struct Driver {
    pub server: TlsSession,
    pub client: Option<Client>,
    version: Version,
    pub now: Instant,
    pub closed_seen: bool,
    pub events: Vec<Event>,
    pub pending_file: Option<FileRequest>,
    /// Console data was sent in a way that corrupts the stream (`P`).
    pub probe_sent: bool,
    /// Transport bytes reach the server through `handle_readable` (a reader it calls), not
    /// `handle_input`.
    pub pulled: bool,
}

/// Serves bytes to `Session::handle_readable` as a socket would: as much as each read's
/// buffer holds, then "would block", or the end.
struct Served<'a> {
    data: &'a [u8],
    end: bool,
}

impl PeerReader for Served<'_> {
    #[allow(unsafe_code)]
    fn read<'b>(&mut self, buf: &'b mut [std::mem::MaybeUninit<u8>]) -> PeerRead<'b> {
        if self.data.is_empty() {
            return if self.end { PeerRead::End } else { PeerRead::WouldBlock };
        }
        let n = buf.len().min(self.data.len());
        for (dst, src) in buf.iter_mut().zip(&self.data[..n]) {
            dst.write(*src);
        }
        self.data = &self.data[n..];
        // SAFETY: the loop above initialised the first `n` elements.
        PeerRead::Data(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) })
    }
}

impl Driver {
    pub fn new(config: Arc<ServerConfig>, opts: SessionOptions, version: Version) -> Driver {
        Driver {
            server: config.session(Arc::new(opts), Instant::ZERO).expect("session"),
            client: None,
            version,
            now: Instant::ZERO,
            closed_seen: false,
            events: Vec::new(),
            pending_file: None,
            probe_sent: false,
            pulled: false,
        }
    }

    /// Transport bytes for the server: handed over, or read by the server itself, a read per
    /// call (draining in between, as an adapter does) until it has taken them all.
    pub fn feed(&mut self, data: &[u8]) {
        if !self.pulled {
            self.server.handle_input(self.now, data);
            return;
        }
        let mut served = Served { data, end: false };
        // Every call reads, or once finds nothing it needs to read.
        for _ in 0..2 * data.len() + 2 {
            if served.data.is_empty() {
                return;
            }
            let before = served.data.len();
            match self.server.handle_readable(self.now, &mut served) {
                Pulled::Data(n) => assert_eq!(n, before - served.data.len(), "Pulled::Data counts the read"),
                Pulled::WouldBlock => assert_eq!(served.data.len(), before, "a read was not reported"),
                Pulled::End => panic!("no end was served"),
            }
            self.drain();
        }
        panic!("the session stopped reading its transport");
    }

    /// The transport ended: told, or read by the server itself.
    pub fn feed_eof(&mut self) {
        if !self.pulled {
            return self.server.handle_eof(self.now);
        }
        let mut served = Served { data: &[], end: true };
        let got = self.server.handle_readable(self.now, &mut served);
        assert!(got == Pulled::End || self.closed_seen, "the end was not read: {got:?}");
    }

    /// Drains transmits, then events, checking the invariants. Returns whether anything came out.
    pub fn drain(&mut self) -> bool {
        let mut progress = false;
        while let Some(t) = self.server.poll_transmit() {
            assert!(
                !self.closed_seen,
                "transmit of {} bytes after Event::Closed",
                t.data.len()
            );
            assert!(!t.data.is_empty(), "empty transmit");
            if let Some(c) = self.client.as_mut() {
                c.stream.get_mut().incoming.extend_from_slice(&t.data);
            }
            progress = true;
        }
        while let Some(e) = self.server.poll_event() {
            assert!(!self.closed_seen, "event after Event::Closed: {e:?}");
            match &e {
                Event::Closed(_) => self.closed_seen = true,
                Event::FileRequest(r) => {
                    check_path_stays_in_root(&r.path);
                    assert!(self.pending_file.is_none(), "a second FileRequest");
                    self.pending_file = Some(r.clone());
                }
                Event::CommandDone {
                    command: Command::PlaintextProbe,
                    ..
                } => {}
                _ => {}
            }
            if self.events.len() < 1024 {
                self.events.push(e);
            }
            progress = true;
        }
        assert_eq!(
            self.server.is_closed(),
            self.closed_seen,
            "is_closed() disagrees with the Closed event"
        );
        if self.closed_seen {
            assert_eq!(self.server.poll_timeout(), None, "a closed session wants a timer");
            assert!(!self.server.is_established());
        }
        progress
    }

    /// Lets the client run and shuttles its output to the server in chunks of `split`.
    pub fn client_step(&mut self, split: u8) {
        if self.client.is_none() {
            self.client = Some(Client::new(self.version));
        }
        let size = chunk_size(split);
        for _ in 0..64 {
            let client = self.client.as_mut().expect("client");
            let mut progress = client.pump();
            let out = client.take_output();
            if !out.is_empty() {
                progress = true;
                for piece in out.chunks(size.min(out.len())) {
                    self.feed(piece);
                    self.drain();
                }
            }
            progress |= self.drain();
            if !progress {
                return;
            }
        }
    }

    /// Both sides finished the handshake, nothing failed and nothing closed.
    pub fn established_cleanly(&self) -> bool {
        !self.closed_seen
            && !self.probe_sent
            && self.server.is_established()
            && self.client.as_ref().is_some_and(Client::usable)
    }

    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Raw(d) => {
                self.feed(d);
                self.drain();
            }
            Op::Eof => {
                self.feed_eof();
                self.drain();
            }
            Op::Advance(ms) => {
                self.now = self.now + Duration::from_millis(u64::from(*ms));
                if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
                    self.server.handle_timeout(self.now);
                    let fired = self.drain();
                    // Every timer closes the session but the one that gives idle buffers back,
                    // which sends nothing; none is still due after it fired.
                    let quiet = !fired && self.server.poll_timeout().is_none_or(|t| t > self.now);
                    assert!(
                        (fired && self.closed_seen) || quiet,
                        "a due timer must close the session or be the buffer release"
                    );
                }
            }
            Op::Timeout => {
                let due = self.server.poll_timeout().is_some_and(|t| t <= self.now);
                self.server.handle_timeout(self.now);
                let fired = self.drain();
                if !due {
                    assert!(!fired, "handle_timeout before the deadline produced output");
                }
            }
            Op::Console(c) => {
                if c.first() == Some(&b'P') {
                    self.probe_sent = true;
                }
                self.server.console_input(c);
                self.drain();
            }
            Op::ConsoleEof => {
                self.server.console_eof();
                self.drain();
            }
            Op::Client(split) => self.client_step(*split),
            Op::ClientData(split, data) => {
                if let Some(c) = self.client.as_mut().filter(|c| c.usable()) {
                    let mut rest = data.as_slice();
                    while !rest.is_empty() {
                        match c.stream.ssl_write(rest) {
                            Ok(n) => rest = &rest[n..],
                            Err(e) => {
                                c.error = Some(e.to_string());
                                break;
                            }
                        }
                    }
                    self.client_step(*split);
                }
            }
            Op::ClientClose => {
                if let Some(c) = self.client.as_mut() {
                    let _ = c.stream.shutdown();
                    self.client_step(0);
                }
            }
            Op::File(kind, data) => {
                let bogus = FileRequest {
                    path: String::from_utf8_lossy(data).into_owned(),
                };
                let request = self.pending_file.clone();
                match (kind % 5, request) {
                    (0, Some(r)) => {
                        self.server.respond_file(&r, Ok(()));
                        self.server.file_data(data);
                        self.server.file_end();
                    }
                    (1, Some(r)) => {
                        self.server.respond_file(&r, Ok(()));
                        self.server.file_data(data);
                    }
                    (2, Some(r)) => self.server.respond_file(&r, Err(FileError::IsDirectory)),
                    (3, Some(r)) => self
                        .server
                        .respond_file(&r, Err(FileError::Open("No such file or directory".into()))),
                    _ => {
                        self.server.respond_file(&bogus, Ok(()));
                        self.server.file_data(data);
                        self.server.file_end();
                    }
                }
                self.drain();
            }
            Op::Send(d) => {
                self.server.send(d);
                self.drain();
            }
            Op::Command(c) => {
                let c = COMMANDS[usize::from(*c) % COMMANDS.len()];
                if c == Command::PlaintextProbe {
                    self.probe_sent = true;
                }
                self.server.command(c);
                self.drain();
            }
        }
        if self.closed_seen {
            self.after_close();
        }
    }

    /// Once closed, every input must be ignored.
    fn after_close(&mut self) {
        let now = self.now;
        self.server.handle_input(now, b"\x16\x03\x01\x00\x05hello");
        self.server.handle_eof(now);
        self.server.handle_timeout(Instant::from_micros(u64::MAX));
        self.server.console_input(b"hello\n");
        self.server.console_input(b"P\n");
        self.server.send(b"more");
        self.server.command(Command::PlaintextProbe);
        self.server.command(Command::Stats);
        self.server.command(Command::KeyUpdate);
        self.server.console_eof();
        self.drain();
    }

    /// End of input: let the client run once more (if any), then check the closed state.
    pub fn finish(&mut self) {
        if self.client.is_some() {
            self.client_step(0);
        }
        self.drain();
        if self.closed_seen {
            self.after_close();
        }
    }
}

/// Seeds for `session_input`: real client flights (TLS 1.2 and 1.3) captured from an in-memory
/// OpenSSL client talking to a server session, plus scripted conversations in every mode.
pub fn session_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (name, version, cfg) in [
        ("tls13", Version::Tls13, 0u8),
        ("tls12", Version::Tls12, 0),
        ("tls13-alpn-keylog", Version::Any, 1),
        ("tls12-clientauth", Version::Tls12, 2),
    ] {
        // Capture the client's flights while it really talks to a server session.
        let mut d = Driver::new(config(cfg), SessionOptions::s_server(), version);
        let mut client = Client::new(version);
        let mut flights = Vec::new();
        for _ in 0..8 {
            client.pump();
            let out = client.take_output();
            if out.is_empty() {
                break;
            }
            d.server.handle_input(Instant::ZERO, &out);
            flights.push(out);
            while let Some(t) = d.server.poll_transmit() {
                client.stream.get_mut().incoming.extend_from_slice(&t.data);
            }
            while d.server.poll_event().is_some() {}
        }
        client
            .stream
            .ssl_write(b"hello from the client\n")
            .expect("client write");
        flights.push(client.take_output());
        let cfg_byte = cfg | if version == Version::Tls13 { 0x08 } else { 0 };
        let flags = if version == Version::Tls12 { 0x80 } else { 0 };
        // The ClientHello alone, whole and cut into small pieces.
        seeds.push((
            format!("{name}-clienthello"),
            SessionInput {
                flags,
                config: cfg_byte,
                ops: vec![Op::Raw(flights[0].clone())],
            },
        ));
        let ch = &flights[0];
        seeds.push((
            format!("{name}-clienthello-split"),
            SessionInput {
                flags,
                config: cfg_byte,
                // Pieces of 7 bytes, larger if the hello would need more than MAX_OPS of them
                // (OpenSSL 3.5's ML-KEM key share makes it about 1.5 KB).
                ops: ch
                    .chunks(ch.len().div_ceil(MAX_OPS - 1).max(7))
                    .map(|c| Op::Raw(c.to_vec()))
                    .chain([Op::Eof])
                    .collect(),
            },
        ));
        // Every flight, as replayed ciphertext (later flights fail: new server randomness).
        seeds.push((
            format!("{name}-flights"),
            SessionInput {
                flags,
                config: cfg_byte,
                ops: flights.iter().map(|f| Op::Raw(f.clone())).chain([Op::Eof]).collect(),
            },
        ));
    }
    let script = |flags: u8, config: u8, ops: Vec<Op>| SessionInput { flags, config, ops };
    let conversations = [
        (
            "console-commands",
            script(
                0,
                0,
                vec![
                    Op::Console(b"early\n".to_vec()),
                    Op::Client(0),
                    Op::ClientData(0, b"hello\n".to_vec()),
                    Op::Console(b"reply\n".to_vec()),
                    Op::Console(b"k\n".to_vec()),
                    Op::Console(b"K\n".to_vec()),
                    Op::Console(b"S\n".to_vec()),
                    Op::Console(b"c\n".to_vec()),
                    Op::Client(0),
                    Op::Console(b"q\n".to_vec()),
                ],
            ),
        ),
        (
            "console-tls12-reneg",
            script(
                0x80,
                0,
                vec![
                    Op::Client(3),
                    Op::Console(b"r\n".to_vec()),
                    Op::Client(0),
                    Op::Console(b"R\n".to_vec()),
                    Op::Client(0),
                    Op::ClientData(1, b"x".to_vec()),
                    Op::ClientClose,
                ],
            ),
        ),
        (
            "console-probe",
            script(0, 0, vec![Op::Client(0), Op::Console(b"P\n".to_vec()), Op::Client(0)]),
        ),
        (
            "rev",
            script(
                1,
                0,
                vec![
                    Op::Client(0),
                    Op::ClientData(2, b"hello\r\nworld\n".to_vec()),
                    Op::ClientData(0, b"CLOSE\n".to_vec()),
                ],
            ),
        ),
        (
            "www",
            script(
                2,
                0,
                vec![Op::Client(0), Op::ClientData(0, b"GET / HTTP/1.0\r\n\r\n".to_vec())],
            ),
        ),
        (
            "www-reneg-tls12",
            script(
                0x82,
                0,
                vec![
                    Op::Client(0),
                    Op::ClientData(0, b"GET /reneg HTTP/1.0\r\n\r\n".to_vec()),
                    Op::Client(0),
                ],
            ),
        ),
        (
            "WWW-file",
            script(
                3,
                0,
                vec![
                    Op::Client(0),
                    Op::ClientData(5, b"GET /index.html HTTP/1.0\r\n\r\n".to_vec()),
                    Op::File(0, b"<html>hi</html>\n".to_vec()),
                    Op::Client(0),
                ],
            ),
        ),
        (
            "HTTP-missing",
            script(
                4,
                0,
                vec![
                    Op::Client(0),
                    Op::ClientData(0, b"GET /nope.txt HTTP/1.0\r\n".to_vec()),
                    Op::File(3, Vec::new()),
                ],
            ),
        ),
        (
            "WWW-dotdot",
            script(
                3,
                0,
                vec![
                    Op::Client(0),
                    Op::ClientData(0, b"GET /../etc/passwd HTTP/1.0\r\n".to_vec()),
                ],
            ),
        ),
        (
            "idle-timeout",
            script(
                0x40,
                0,
                vec![Op::Client(0), Op::Advance(4000), Op::Timeout, Op::Advance(2000)],
            ),
        ),
        (
            "handshake-timeout",
            script(
                0,
                0,
                vec![
                    Op::Raw(b"\x16\x03\x01\x00".to_vec()),
                    Op::Advance(9999),
                    Op::Timeout,
                    Op::Advance(1),
                ],
            ),
        ),
        (
            "garbage",
            script(0, 0, vec![Op::Raw(b"GET / HTTP/1.0\r\n\r\n".to_vec()), Op::Eof]),
        ),
    ];
    for (name, input) in conversations {
        seeds.push((name.to_string(), input));
    }
    seeds.into_iter().map(|(n, i)| (n, i.encode())).collect()
}
