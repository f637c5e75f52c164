//! Properties: transport chunking never changes what the server sees, an HTTP request split
//! anywhere gets the same answer, hostile bytes never panic, and the parsers keep their
//! invariants.
#![cfg(feature = "openssl")]

mod common;

use std::sync::{Arc, OnceLock};

use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use sserve_engine::command::{parse_console_chunk, ConsoleInput};
use sserve_engine::http::{self, WebMode};
use sserve_engine::line::{LineBuffer, MAX_LINE};
use sserve_engine::{AppMode, CloseReason, Event, FileRequest, Instant, ServerConfig, SessionError, SessionOptions};

fn keylog_config() -> &'static Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| server_config(|b| b.keylog()))
}

fn plain_config() -> &'static Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(default_config)
}

/// Event kinds with runs of `Plaintext` merged: how plaintext is cut into events depends on
/// record boundaries, not on the order of things.
fn coalesced_kinds(events: &[Event]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in events.iter().map(kind) {
        if !(k == "Plaintext" && out.last() == Some(&"Plaintext")) {
            out.push(k);
        }
    }
    out
}

struct Outcome {
    server_plaintext: Vec<u8>,
    kinds: Vec<&'static str>,
    client_plaintext: Vec<u8>,
    closed: Option<CloseReason>,
}

/// A whole console-mode conversation with the client's ciphertext cut by `chunking`; with
/// `batched`, the client writes every message before the server reads any, so one input holds
/// several records (and a cut can fall anywhere among them).
fn conversation(version: Version, chunking: Vec<usize>, batched: bool, pulled: bool, messages: &[Vec<u8>]) -> Outcome {
    let mut p = Pair::new(
        keylog_config(),
        SessionOptions::s_server(),
        ClientOptions {
            version,
            ..Default::default()
        },
    );
    p.chunking = chunking;
    p.pulled = pulled;
    p.drive();
    for m in messages {
        if batched {
            p.client.write(m);
        } else {
            p.client_send(m);
        }
    }
    p.drive();
    p.server.send(b"reply\n");
    p.drive();
    p.client.shutdown();
    p.drive();
    Outcome {
        server_plaintext: p.server_plaintext(),
        kinds: coalesced_kinds(&p.events),
        client_plaintext: p.client.plaintext.clone(),
        closed: p.closed().cloned(),
    }
}

/// One `-WWW`/`-HTTP` request written in pieces cut at `splits`; the adapter serves `body`.
fn web_request(mode: WebMode, request: &[u8], splits: &[Index], body: &[u8]) -> (Vec<FileRequest>, Vec<u8>, bool) {
    let opts = SessionOptions {
        mode: AppMode::Web(mode),
        ..Default::default()
    };
    let mut p = Pair::connected(plain_config(), opts, ClientOptions::tls13());
    p.take_events();
    let mut cuts: Vec<usize> = splits.iter().map(|i| i.index(request.len() + 1)).collect();
    cuts.push(0);
    cuts.push(request.len());
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        if p.server.is_closed() {
            break;
        }
        p.client_send(&request[w[0]..w[1]]);
    }
    let requests: Vec<FileRequest> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::FileRequest(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    if let Some(r) = requests.first() {
        p.server.respond_file(r, Ok(()));
        p.server.file_data(body);
        p.server.file_end();
        p.drive();
    }
    (requests, p.client.plaintext.clone(), p.client.closed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn chunking_does_not_change_the_conversation(
        tls13 in any::<bool>(),
        chunking in prop::collection::vec(prop_oneof![1usize..96, 96usize..1200], 1..8),
        batched in any::<bool>(),
        pulled in any::<bool>(),
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..5),
    ) {
        let version = if tls13 { Version::Tls13 } else { Version::Tls12 };
        let whole = conversation(version, Vec::new(), batched, false, &messages);
        let cut = conversation(version, chunking, batched, pulled, &messages);
        let sent: Vec<u8> = messages.concat();
        prop_assert_eq!(&whole.server_plaintext, &sent);
        prop_assert_eq!(&cut.server_plaintext, &sent);
        prop_assert_eq!(&cut.kinds, &whole.kinds);
        prop_assert_eq!(whole.kinds.iter().filter(|k| **k == "HandshakeComplete").count(), 1);
        prop_assert_eq!(whole.kinds.last(), Some(&"Closed"));
        prop_assert_eq!(&cut.client_plaintext, b"reply\n");
        prop_assert_eq!(&cut.closed, &Some(CloseReason::PeerClosed));
    }

    #[test]
    fn web_request_split_anywhere_gets_the_same_answer(
        name in "[a-z]{1,8}\\.(txt|html|htm|bin)",
        raw in any::<bool>(),
        host_first in any::<bool>(),
        splits in prop::collection::vec(any::<Index>(), 0..8),
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mode = if raw { WebMode::Raw } else { WebMode::Files };
        let mut request = Vec::new();
        if host_first {
            request.extend_from_slice(b"Host: localhost\r\n");
        }
        request.extend_from_slice(format!("GET /{name} HTTP/1.0\r\nUser-Agent: t\r\n\r\n").as_bytes());
        let (requests, answer, closed) = web_request(mode, &request, &splits, &body);
        prop_assert_eq!(requests, vec![FileRequest { path: name.clone() }]);
        let want = if raw { body.clone() } else { [http::file_header(&name), &body[..]].concat() };
        prop_assert_eq!(answer, want);
        prop_assert!(closed);
    }

    #[test]
    fn refused_web_request_split_anywhere(
        path in "[a-z./:]{0,12}",
        splits in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let request = format!("GET /{path} HTTP/1.0\r\n\r\n").into_bytes();
        let expected = http::classify_line(WebMode::Files, format!("GET /{path} HTTP/1.0\r\n").as_bytes());
        let (requests, answer, closed) = web_request(WebMode::Files, &request, &splits, b"BODY");
        match expected {
            http::Request::File(p) => {
                prop_assert_eq!(requests, vec![FileRequest { path: p.clone() }]);
                prop_assert_eq!(answer, [http::file_header(&p), &b"BODY"[..]].concat());
            }
            http::Request::Reject(msg) => {
                prop_assert!(requests.is_empty());
                prop_assert_eq!(answer, [http::TEXT_HEADER, &msg[..]].concat());
            }
            http::Request::StatusPage { .. } => prop_assert!(answer.starts_with(http::HTML_HEADER)),
            http::Request::Ignore => prop_assert!(false, "a GET / line is never ignored in -WWW"),
        }
        prop_assert!(closed);
    }

    #[test]
    fn hostile_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        tls_prefix in any::<bool>(),
        chunking in prop::collection::vec(1usize..512, 1..6),
    ) {
        let mut s = session(plain_config(), SessionOptions::s_server());
        let mut input = if tls_prefix { b"\x16\x03\x01".to_vec() } else { Vec::new() };
        input.extend_from_slice(&data);
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() && !s.is_closed() {
            let n = chunking[i % chunking.len()].min(rest.len());
            s.handle_input(Instant::ZERO, &rest[..n]);
            rest = &rest[n..];
            i += 1;
        }
        let (out, events) = drain(&mut s);
        if s.is_closed() {
            prop_assert_eq!(events.len(), 1, "{:?}", events);
            prop_assert!(matches!(events[0], Event::Closed(CloseReason::Error(SessionError::Tls(_)))), "{:?}", events);
            prop_assert!(out.is_empty() || out[0] == 0x15, "only an alert goes out");
        } else {
            prop_assert!(events.is_empty(), "{:?}", events);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn validate_path_output_is_confined(
        rest in prop::collection::vec(
            prop_oneof![
                Just(b'.'), Just(b'/'), Just(b'\\'), Just(b':'), Just(b' '), Just(b'a'), Just(b'\r'), Just(b'\n'),
                any::<u8>(),
            ],
            0..40,
        ),
    ) {
        if let Ok(path) = http::validate_path(&rest) {
            prop_assert!(!path.split(['/', '\\']).any(|c| c == ".."), "{path:?}");
            prop_assert!(!path.starts_with('/') && !path.starts_with('\\'), "{path:?}");
            prop_assert!(!path.contains(':'), "{path:?}");
            // The path is what came before the first space.
            prop_assert!(rest.starts_with(path.as_bytes()));
            prop_assert_eq!(rest.get(path.len()), Some(&b' '));
            prop_assert!(!path.contains(' '));
        }
    }

    #[test]
    fn console_chunks_never_panic_and_data_is_unchanged(chunk in prop::collection::vec(any::<u8>(), 0..64)) {
        match parse_console_chunk(&chunk) {
            ConsoleInput::Data(d) | ConsoleInput::CommandThenSend(_, d) => {
                prop_assert_eq!(d, &chunk[..]);
                prop_assert_eq!(d.as_ptr(), chunk.as_ptr());
            }
            ConsoleInput::Command(c) => {
                prop_assert_eq!(chunk.first().map(|&b| char::from(b)), Some(c.letter()));
            }
        }
    }

    #[test]
    fn line_buffer_pieces_are_bounded_and_lossless(
        data in prop::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..600),
        chunks in prop::collection::vec(1usize..64, 1..6),
    ) {
        check_line_buffer(&data, &chunks)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn line_buffer_long_lines(
        segments in prop::collection::vec((0usize..40_000, any::<bool>()), 1..4),
        chunks in prop::collection::vec(1usize..20_000, 1..6),
    ) {
        let mut data = Vec::new();
        for (len, newline) in segments {
            data.extend(std::iter::repeat_n(b'x', len));
            if newline {
                data.push(b'\n');
            }
        }
        check_line_buffer(&data, &chunks)?;
    }
}

fn check_line_buffer(data: &[u8], chunks: &[usize]) -> Result<(), TestCaseError> {
    let mut lb = LineBuffer::new();
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].min(rest.len());
        let consumed = lb.push(&rest[..n], |l| {
            pieces.push(l.to_vec());
            true
        });
        prop_assert_eq!(consumed, n, "everything is consumed when on_line keeps going");
        prop_assert!(lb.pending().len() < MAX_LINE);
        rest = &rest[n..];
        i += 1;
    }
    for p in &pieces {
        prop_assert!(!p.is_empty() && p.len() <= MAX_LINE, "piece of {} bytes", p.len());
        prop_assert!(p.ends_with(b"\n") || p.len() == MAX_LINE);
        prop_assert!(!p[..p.len() - 1].contains(&b'\n'), "a newline ends a piece");
    }
    let mut all: Vec<u8> = pieces.concat();
    all.extend_from_slice(lb.pending());
    prop_assert_eq!(&all[..], data);
    let mut tail = Vec::new();
    lb.take_pending(|l| tail.extend_from_slice(l));
    prop_assert!(lb.pending().is_empty());
    prop_assert!(data.ends_with(&tail));
    Ok(())
}

/// One thing happening on a connected console session.
#[derive(Debug, Clone)]
enum ConsoleOp {
    /// A console data line, typed in chunks of these sizes (cyclically).
    Line(Vec<u8>, Vec<usize>),
    /// `k`, `K`, `S` or `r` as one console chunk.
    Command(&'static [u8]),
    /// The client sends data.
    Client(Vec<u8>),
}

fn console_op() -> impl Strategy<Value = ConsoleOp> {
    // No chunk of a line may start with a command letter (`q Q r R P S k K c B`).
    let line = ("[0-9abd-jl-ps-z .,]{0,40}", prop::collection::vec(1usize..12, 1..4)).prop_map(|(text, cuts)| {
        let mut l = text.into_bytes();
        l.push(b'\n');
        ConsoleOp::Line(l, cuts)
    });
    prop_oneof![
        3 => line,
        2 => prop_oneof![Just(&b"k\n"[..]), Just(&b"K\n"[..]), Just(&b"S\n"[..]), Just(&b"r\n"[..])]
            .prop_map(ConsoleOp::Command),
        1 => prop::collection::vec(any::<u8>(), 1..200).prop_map(ConsoleOp::Client),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Console commands interleaved with data lines, typed in random chunks, with the transport
    /// cut at random and the two sides only partly caught up between inputs, never corrupt the
    /// session: every line arrives, in order and intact, and the session stays established.
    #[test]
    fn interleaved_console_commands_never_corrupt_the_session(
        tls13 in any::<bool>(),
        ops in prop::collection::vec((console_op(), 0usize..4), 1..24),
        chunking in prop::collection::vec(1usize..64, 0..5),
    ) {
        let version = if tls13 { Version::Tls13 } else { Version::Tls12 };
        let mut p = Pair::new(plain_config(), SessionOptions::s_server(), ClientOptions { version, ..Default::default() });
        p.chunking = chunking;
        p.drive();
        p.assert_established();
        p.take_events();
        let mut to_client = Vec::new();
        let mut to_server = Vec::new();
        let mut commands = Vec::new();
        for (op, steps) in &ops {
            match op {
                ConsoleOp::Line(line, cuts) => {
                    let mut rest = &line[..];
                    let mut i = 0;
                    while !rest.is_empty() {
                        let n = cuts[i % cuts.len()].min(rest.len());
                        p.server.console_input(&rest[..n]);
                        rest = &rest[n..];
                        i += 1;
                    }
                    to_client.extend_from_slice(line);
                }
                ConsoleOp::Command(c) => {
                    p.server.console_input(c);
                    if c[0] == b'S' {
                        to_client.extend_from_slice(c); // s_server sends the chunk too
                    } else {
                        commands.push(c[0]);
                    }
                }
                ConsoleOp::Client(d) => {
                    // Only between handshakes: a TLS 1.2 client cannot write while renegotiating.
                    p.drive();
                    p.client.write(d);
                    to_server.extend_from_slice(d);
                }
            }
            // Let the two sides catch up only partly: renegotiations and key updates stay in
            // flight while the next input arrives.
            for _ in 0..*steps {
                p.step();
            }
        }
        p.drive();
        prop_assert!(p.client.error.is_none(), "client error {:?}", p.client.error);
        prop_assert!(p.closed().is_none(), "closed: {:?}", p.events);
        prop_assert!(p.server.is_established());
        prop_assert_eq!(&p.client.plaintext, &to_client);
        prop_assert_eq!(p.server_plaintext(), to_server);
        let done: Vec<(u8, Option<i32>, Option<String>)> = p
            .events
            .iter()
            .filter_map(|e| match e {
                Event::CommandDone { command, result, error } => {
                    Some((command.letter() as u8, *result, error.clone()))
                }
                _ => None,
            })
            .collect();
        prop_assert_eq!(done.iter().map(|d| d.0).collect::<Vec<_>>(), commands);
        for (letter, result, error) in &done {
            match (tls13, letter) {
                (true, b'k' | b'K') => prop_assert_eq!(*result, Some(1)),
                // A second `r` while the first renegotiation is still running is refused.
                (false, b'r') => prop_assert!(
                    result.is_some() || error.as_deref() == Some("a renegotiation is already in progress"),
                    "r on 1.2: {:?} {:?}",
                    result,
                    error
                ),
                _ => prop_assert_eq!(*result, None, "{} is not for this version", *letter as char),
            }
        }
        let stats = p.events.iter().filter(|e| matches!(e, Event::Stats(_))).count();
        prop_assert_eq!(stats, ops.iter().filter(|(o, _)| matches!(o, ConsoleOp::Command(b"S\n"))).count());
        p.assert_data_flows("after the interleaving");
    }
}
