//! Console mode: plaintext both ways, `-crlf`, the connected commands and console EOF.
#![cfg(feature = "openssl")]

mod common;

use common::*;
use sserve_engine::command::Command;
use sserve_engine::tls::TlsBackend;
use sserve_engine::{CloseReason, Event, SessionError, SessionOptions};

fn command_events(events: &[Event]) -> Vec<(Command, Option<i32>, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::CommandDone { command, result, error } => Some((*command, *result, error.clone())),
            _ => None,
        })
        .collect()
}

fn connected(client: ClientOptions, opts: SessionOptions) -> Pair {
    let config = default_config();
    let mut p = Pair::connected(&config, opts, client);
    p.assert_established();
    p.take_events();
    p
}

#[test]
fn plaintext_flows_both_ways() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.client_send(b"hello server\n");
    assert_eq!(p.server_plaintext(), b"hello server\n");
    assert!(
        p.events.iter().all(|e| matches!(e, Event::Plaintext(_))),
        "{:?}",
        p.events
    );
    p.server.send(b"hi\n");
    p.drive();
    assert_eq!(p.client.plaintext, b"hi\n");
    p.console(b"from the console\n");
    assert_eq!(p.client.plaintext, b"hi\nfrom the console\n");
}

#[test]
fn large_plaintext_arrives_whole() {
    let mut p = connected(ClientOptions::tls12(), SessionOptions::s_server());
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    p.client_send(&big);
    assert_eq!(p.server_plaintext(), big);
    p.server.send(&big);
    p.drive();
    assert_eq!(p.client.plaintext, big);
}

#[test]
fn crlf_expands_newlines() {
    let mut p = connected(
        ClientOptions::tls13(),
        SessionOptions {
            crlf: true,
            ..Default::default()
        },
    );
    p.server.send(b"a\nb\n\nc");
    p.drive();
    assert_eq!(p.client.plaintext, b"a\r\nb\r\n\r\nc");
    // Peer plaintext is not touched.
    p.client_send(b"x\ny\n");
    assert_eq!(p.server_plaintext(), b"x\ny\n");
}

#[test]
fn without_crlf_newlines_are_unchanged() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.server.send(b"a\nb\n");
    p.drive();
    assert_eq!(p.client.plaintext, b"a\nb\n");
}

#[test]
fn console_input_before_handshake_is_queued() {
    let config = default_config();
    let mut p = Pair::new(&config, SessionOptions::s_server(), ClientOptions::tls13());
    p.server.console_input(b"early bird\n");
    p.drive();
    p.assert_established();
    assert_eq!(p.client.plaintext, b"early bird\n");
}

#[test]
fn console_queue_before_handshake_is_bounded() {
    let config = default_config();
    let mut s = session(
        &config,
        SessionOptions {
            max_pending_console: 8,
            ..Default::default()
        },
    );
    s.send(b"12345678");
    assert!(!s.is_closed());
    s.send(b"9");
    assert!(s.is_closed());
    let (_, events) = drain(&mut s);
    assert_eq!(
        events,
        vec![Event::Closed(CloseReason::Error(SessionError::BufferLimit(
            "console queue"
        )))]
    );
}

#[test]
fn key_update_tls13() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    let sent_before = p.to_server.len();
    p.console(b"k\n");
    assert_eq!(command_events(&p.events), vec![(Command::KeyUpdate, Some(1), None)]);
    assert!(p.client.error.is_none(), "{:?}", p.client.error);
    assert_eq!(p.client.plaintext, b"", "the command is not sent as data");
    // Not requested: the client answers with nothing.
    assert_eq!(
        p.to_server.len(),
        sent_before,
        "client sent {:?}",
        records(&p.to_server[sent_before..])
    );
    p.assert_data_flows("k");
}

#[test]
fn key_update_requested_tls13() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    let sent_before = p.to_server.len();
    p.console(b"K\n");
    assert_eq!(
        command_events(&p.events),
        vec![(Command::KeyUpdateRequested, Some(1), None)]
    );
    p.client_send(b"after K\n");
    // The client's own KeyUpdate (a record of its own) comes before its data: two records.
    let recs = records(&p.to_server[sent_before..]);
    assert_eq!(recs.len(), 2, "client KeyUpdate + data: {recs:?}");
    assert_eq!(p.server_plaintext(), b"after K\n");
    p.assert_data_flows("K");
}

#[test]
fn key_update_with_cr_line_end() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"k\r\n");
    assert_eq!(command_events(&p.events), vec![(Command::KeyUpdate, Some(1), None)]);
}

#[test]
fn key_update_fails_on_tls12() {
    let mut p = connected(ClientOptions::tls12(), SessionOptions::s_server());
    p.console(b"k\n");
    let cmds = command_events(&p.events);
    assert_eq!(cmds.len(), 1);
    assert_eq!((cmds[0].0, cmds[0].1), (Command::KeyUpdate, None));
    assert!(cmds[0].2.is_some(), "an error reason");
    assert!(p.closed().is_none(), "a failed command does not close");
    p.assert_data_flows("k on 1.2");
}

#[test]
fn renegotiate_tls12() {
    let mut p = connected(ClientOptions::tls12(), SessionOptions::s_server());
    assert_eq!(p.server.tls().cache_stats().accept_good, 1);
    p.console(b"r\n");
    assert_eq!(command_events(&p.events), vec![(Command::Renegotiate, Some(1), None)]);
    assert!(p.client.error.is_none(), "{:?}", p.client.error);
    // The client only answers the HelloRequest while reading; data in both directions drives it.
    p.assert_data_flows("r");
    assert!(!p.server.tls().renegotiation_pending(), "the renegotiation finished");
    let stats = p.server.tls().cache_stats();
    assert_eq!(stats.accept_good, 2, "a second handshake finished: {stats:?}");
    assert!(stats.accept_renegotiate >= 1, "{stats:?}");
    assert_eq!(
        p.kinds().iter().filter(|k| **k == "HandshakeComplete").count(),
        0,
        "no second HandshakeComplete"
    );
}

/// A second `r` while the first renegotiation is still pending is refused (a second
/// HelloRequest would make OpenSSL clients abort with no_renegotiation), and the session goes on.
#[test]
fn second_renegotiation_while_pending_is_refused() {
    let mut p = connected(ClientOptions::tls12(), SessionOptions::s_server());
    // Both before the client had a chance to answer the first HelloRequest.
    p.server.console_input(b"r\n");
    assert!(p.server.tls().renegotiation_pending());
    p.server.console_input(b"r\n");
    p.drive();
    assert_eq!(
        command_events(&p.events),
        vec![
            (Command::Renegotiate, Some(1), None),
            (
                Command::Renegotiate,
                None,
                Some("a renegotiation is already in progress".to_string())
            ),
        ]
    );
    p.assert_data_flows("double r");
    assert!(p.client.error.is_none(), "{:?}", p.client.error);
    assert!(!p.server.tls().renegotiation_pending());
}

/// `R`: OpenSSL resumes the session on renegotiation (no CertificateRequest in an abbreviated
/// handshake), so, as with s_server, the certificate only arrives with `-no_resumption_on_reneg`.
#[test]
fn renegotiate_with_cert_request_tls12() {
    let cert = make_self_signed("reneg client");
    let client = ClientOptions {
        cert: Some(cert),
        ..ClientOptions::tls12()
    };
    let config = server_config(|b| b.ssl_conf("-no_resumption_on_reneg", None).unwrap());
    let mut p = Pair::connected(&config, SessionOptions::s_server(), client);
    p.assert_established();
    p.take_events();
    assert!(p.server.tls().ssl().peer_certificate().is_none());
    p.console(b"R\n");
    assert_eq!(
        command_events(&p.events),
        vec![(Command::RenegotiateWithCert, Some(1), None)]
    );
    p.assert_data_flows("R");
    let peer = p
        .server
        .tls()
        .ssl()
        .peer_certificate()
        .expect("client certificate after R");
    assert!(format!("{:?}", peer.subject_name()).contains("reneg client"));
    assert!(
        p.events.iter().any(|e| matches!(e, Event::Verify(_))),
        "verify steps: {:?}",
        p.kinds()
    );
}

#[test]
fn renegotiate_with_cert_request_resumes_by_default() {
    let cert = make_self_signed("reneg client");
    let client = ClientOptions {
        cert: Some(cert),
        ..ClientOptions::tls12()
    };
    let mut p = connected(client, SessionOptions::s_server());
    p.console(b"R\n");
    assert_eq!(
        command_events(&p.events),
        vec![(Command::RenegotiateWithCert, Some(1), None)]
    );
    p.assert_data_flows("R");
    let stats = p.server.tls().cache_stats();
    assert_eq!(
        (stats.accept_good, stats.hits),
        (2, 1),
        "abbreviated renegotiation: {stats:?}"
    );
    assert!(p.server.tls().ssl().peer_certificate().is_none());
}

#[test]
fn renegotiate_fails_on_tls13() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"r\n");
    let cmds = command_events(&p.events);
    assert_eq!(cmds.len(), 1);
    assert_eq!((cmds[0].0, cmds[0].1), (Command::Renegotiate, None));
    assert!(cmds[0].2.is_some());
    p.assert_data_flows("r on 1.3");
}

#[test]
fn commands_need_exact_line() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"keep going\n");
    p.console(b"r");
    assert!(command_events(&p.events).is_empty());
    assert_eq!(p.client.plaintext, b"keep going\nr");
}

#[test]
fn post_handshake_client_cert() {
    let cert = make_self_signed("pha client");
    let client = ClientOptions {
        cert: Some(cert),
        post_handshake_auth: true,
        ..ClientOptions::tls13()
    };
    let mut p = connected(client, SessionOptions::s_server());
    assert!(p.server.tls().ssl().peer_certificate().is_none());
    p.console(b"c\n");
    assert_eq!(
        command_events(&p.events),
        vec![(Command::RequestClientCert, Some(1), None)]
    );
    assert!(p.client.error.is_none(), "{:?}", p.client.error);
    p.assert_data_flows("c");
    let peer = p
        .server
        .tls()
        .ssl()
        .peer_certificate()
        .expect("client certificate after c");
    assert!(format!("{:?}", peer.subject_name()).contains("pha client"));
    let info = p.server.tls().handshake_info(true);
    assert!(info
        .peer_certificate
        .expect("in the info too")
        .subject
        .contains("CN = pha client"));
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::Verify(v) if v.depth == 0 && v.ok)),
        "{:?}",
        p.events
    );
}

#[test]
fn post_handshake_auth_needs_client_support() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"c\n");
    let cmds = command_events(&p.events);
    assert_eq!(cmds.len(), 1);
    assert_eq!((cmds[0].0, cmds[0].1), (Command::RequestClientCert, None));
    assert!(
        cmds[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("Failed to initiate request"),
        "{:?}",
        cmds[0].2
    );
    p.assert_data_flows("c without pha");
}

#[test]
fn stats_command_reports_and_sends() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"S\n");
    let stats = p
        .events
        .iter()
        .find_map(|e| match e {
            Event::Stats(s) => Some(*s),
            _ => None,
        })
        .expect("Stats event");
    assert_eq!(stats.accept, 1);
    assert_eq!(stats.accept_good, 1);
    assert_eq!(stats.cache_size, 128);
    assert_eq!(stats.connect, 0);
    assert_eq!(p.client.plaintext, b"S\n", "s_server also sends the chunk");
    assert!(p.closed().is_none());
}

#[test]
fn plaintext_probe_breaks_the_client() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    let at = p.to_client.len();
    p.console(b"P\n");
    let sent = &p.to_client[at..];
    assert!(
        sent.starts_with(sserve_engine::session::PLAINTEXT_PROBE),
        "raw probe first: {:?}",
        &sent[..sent.len().min(40)]
    );
    assert_eq!(sserve_engine::session::PLAINTEXT_PROBE, b"Lets print some clear text\n");
    let err = p.client.error.as_deref().expect("the client's next read fails");
    assert!(err.contains("wrong version number") || err.contains("record"), "{err}");
    assert_eq!(p.client.plaintext, b"", "nothing readable");
    // The client's alert ends the session.
    assert!(matches!(p.closed(), Some(CloseReason::Error(_))), "{:?}", p.events);
}

#[test]
fn quit_closes_with_close_notify() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"q\n");
    assert!(p.client.closed, "close_notify reached the client");
    assert_eq!(p.events, vec![Event::Closed(CloseReason::LocalClose)]);
    assert!(p.server.is_closed());
    // Anything after the close is ignored.
    p.console(b"more\n");
    p.server.send(b"more\n");
    p.server.handle_input(p.now, b"\x17\x03\x03\x00\x01x");
    p.server.handle_eof(p.now);
    assert_eq!(drain(&mut p.server), (vec![], vec![]));
}

#[test]
fn quit_matches_any_chunk_starting_with_q() {
    let mut p = connected(ClientOptions::tls12(), SessionOptions::s_server());
    p.console(b"quiet please\n");
    assert_eq!(p.events, vec![Event::Closed(CloseReason::LocalClose)]);
    assert!(p.client.closed);
    assert_eq!(p.client.plaintext, b"");
}

#[test]
fn shutdown_stops_server() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"Q\n");
    assert_eq!(
        p.events,
        vec![Event::StopServer, Event::Closed(CloseReason::LocalClose)]
    );
    assert!(p.client.closed);
}

#[test]
fn heartbeat_is_unsupported() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.console(b"B\n");
    assert_eq!(p.events, vec![Event::HeartbeatUnsupported]);
    p.assert_data_flows("B");
}

#[test]
fn console_eof_stops_server() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.server.console_eof();
    p.drive();
    assert_eq!(
        p.events,
        vec![Event::StopServer, Event::Closed(CloseReason::LocalClose)]
    );
    assert!(p.client.closed);
}

#[test]
fn console_eof_with_ign_eof_keeps_connection() {
    let mut p = connected(
        ClientOptions::tls13(),
        SessionOptions {
            ign_eof: true,
            ..Default::default()
        },
    );
    p.server.console_eof();
    p.drive();
    assert_eq!(p.events, vec![]);
    assert!(!p.client.closed);
    // The console is done: later console input is ignored, but the peer still talks.
    p.console(b"q\n");
    assert!(p.closed().is_none());
    assert_eq!(p.client.plaintext, b"");
    p.assert_data_flows("ign_eof");
}

#[test]
fn console_eof_without_commands_keeps_connection() {
    let mut p = connected(
        ClientOptions::tls13(),
        SessionOptions {
            commands: false,
            ..Default::default()
        },
    );
    p.server.console_eof();
    p.drive();
    assert!(p.closed().is_none(), "{:?}", p.events);
    assert!(!p.client.closed);
}

#[test]
fn commands_off_sends_letters_as_data() {
    let mut p = connected(
        ClientOptions::tls13(),
        SessionOptions {
            commands: false,
            ..Default::default()
        },
    );
    for chunk in [&b"q\n"[..], b"Q\n", b"k\n", b"S\n", b"P\n"] {
        p.console(chunk);
    }
    assert_eq!(p.client.plaintext, b"q\nQ\nk\nS\nP\n");
    assert!(p.events.is_empty(), "{:?}", p.events);
}

#[test]
fn peer_close_notify_is_peer_closed() {
    let mut p = connected(ClientOptions::tls13(), SessionOptions::s_server());
    p.client_send(b"bye\n");
    p.client.shutdown();
    p.drive();
    assert_eq!(p.server_plaintext(), b"bye\n");
    assert_eq!(p.closed(), Some(&CloseReason::PeerClosed));
    assert!(p.client.closed, "the server answers with its close_notify");
}

#[test]
fn peer_eof_after_handshake_is_peer_eof() {
    for client in [ClientOptions::tls13(), ClientOptions::tls12()] {
        let mut p = connected(client, SessionOptions::s_server());
        p.server.handle_eof(p.now);
        p.drive();
        assert_eq!(p.events, vec![Event::Closed(CloseReason::PeerEof)]);
        assert!(p.server.is_closed());
        // As from s_server: OpenSSL 3 answers the missing close_notify with a decode_error alert.
        assert_unexpected_eof_answer(&p.client);
    }
}

#[test]
fn peer_eof_during_handshake_is_an_error() {
    let config = default_config();
    let mut p = Pair::new(&config, SessionOptions::s_server(), ClientOptions::tls13());
    p.client.pump();
    let hello = std::mem::take(&mut p.client.stream.get_mut().outgoing);
    p.server.handle_input(p.now, &hello);
    p.server.handle_eof(p.now);
    p.drain_server();
    assert!(
        matches!(p.closed(), Some(CloseReason::Error(SessionError::Tls(_)))),
        "{:?}",
        p.events
    );
}

/// Console data typed while a TLS 1.2 renegotiation waits for the client's Finished: `SSL_write`
/// wants to read first. s_server retries the write (it blocks, or loops on "Write BLOCK" with
/// `-nbio`); the session must keep the data and send it once the handshake finished, not fail.
/// Found by the simulation (engine/tests/simulation.rs).
#[test]
fn send_during_renegotiation_is_delivered_after_it() {
    let mut p = connected(ClientOptions::tls12(), SessionOptions::s_server());
    p.server.console_input(b"r\n");
    p.drain_server();
    // The client reads the HelloRequest and answers with a ClientHello; the server answers that
    // with its flight and now waits for the client's Finished.
    p.client.pump();
    let hello = std::mem::take(&mut p.client.stream.get_mut().outgoing);
    assert!(!hello.is_empty(), "the client renegotiates");
    p.server.handle_input(p.now, &hello);
    p.drain_server();
    assert!(p.server.tls().renegotiation_pending());
    p.server.send(b"typed during the renegotiation\n");
    p.drain_server();
    assert!(p.closed().is_none(), "{:?}", p.events);
    p.drive();
    assert!(!p.server.tls().renegotiation_pending(), "the renegotiation finished");
    assert_eq!(p.client.plaintext, b"typed during the renegotiation\n");
    p.assert_data_flows("after r");
}
