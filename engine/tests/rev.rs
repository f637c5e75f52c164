//! `-rev`: every line comes back reversed; `CLOSE` closes unless `-ign_eof`.
#![cfg(feature = "openssl")]

mod common;

use common::*;
use sserve_engine::{AppMode, CloseReason, Event, SessionOptions};

fn rev_pair(ign_eof: bool) -> Pair {
    let config = default_config();
    let opts = SessionOptions {
        mode: AppMode::Rev,
        ign_eof,
        ..Default::default()
    };
    let mut p = Pair::connected(&config, opts, ClientOptions::default());
    p.assert_established();
    p.take_events();
    p
}

#[test]
fn lines_come_back_reversed() {
    let mut p = rev_pair(false);
    p.client_send(b"hello world\r\n");
    assert_eq!(p.client.plaintext, b"dlrow olleh\n");
    p.client_send(b"abc\n");
    assert_eq!(p.client.plaintext, b"dlrow olleh\ncba\n");
    assert!(p.events.is_empty(), "no plaintext events in -rev: {:?}", p.events);
}

#[test]
fn empty_line_gives_newline() {
    let mut p = rev_pair(false);
    p.client_send(b"\n");
    assert_eq!(p.client.plaintext, b"\n");
    p.client_send(b"\r\n");
    assert_eq!(p.client.plaintext, b"\n\n");
}

#[test]
fn lines_split_across_records() {
    let mut p = rev_pair(false);
    p.client_send(b"hel");
    assert_eq!(p.client.plaintext, b"", "no answer before the line ends");
    p.client_send(b"lo\nwor");
    assert_eq!(p.client.plaintext, b"olleh\n");
    p.client_send(b"ld\nx\ny\n");
    assert_eq!(p.client.plaintext, b"olleh\ndlrow\nx\ny\n");
}

#[test]
fn close_line_closes() {
    let mut p = rev_pair(false);
    p.client_send(b"one\nCLOSE\r\n");
    assert_eq!(p.client.plaintext, b"eno\n");
    assert_eq!(p.events, vec![Event::RevClose, Event::Closed(CloseReason::LocalClose)]);
    assert!(p.client.closed, "close_notify sent");
}

#[test]
fn close_line_then_more_is_not_answered() {
    let mut p = rev_pair(false);
    p.client_send(b"CLOSE\nafter\n");
    assert_eq!(p.client.plaintext, b"");
    assert_eq!(p.events, vec![Event::RevClose, Event::Closed(CloseReason::LocalClose)]);
}

#[test]
fn close_needs_exact_line() {
    let mut p = rev_pair(false);
    p.client_send(b"CLOSED\n close\nCLOSE \n");
    assert_eq!(p.client.plaintext, b"DESOLC\nesolc \n ESOLC\n");
    assert!(p.closed().is_none());
}

#[test]
fn ign_eof_reverses_close() {
    let mut p = rev_pair(true);
    p.client_send(b"CLOSE\n");
    assert_eq!(p.client.plaintext, b"ESOLC\n");
    assert!(p.closed().is_none());
    assert!(!p.client.closed);
}

#[test]
fn console_is_ignored_in_rev_mode() {
    let mut p = rev_pair(false);
    p.console(b"q\n");
    p.console(b"hello\n");
    p.server.console_eof();
    p.drive();
    assert!(p.events.is_empty(), "{:?}", p.events);
    assert_eq!(p.client.plaintext, b"");
    p.client_send(b"ok\n");
    assert_eq!(p.client.plaintext, b"ko\n");
}

#[test]
fn overlong_line_is_answered_in_pieces() {
    let mut p = rev_pair(false);
    let max = sserve_engine::line::MAX_LINE;
    let mut line = vec![b'a'; max];
    line.extend_from_slice(b"bc\n");
    p.client_send(&line);
    // BIO_gets semantics: a full buffer is one line, the rest another.
    let mut want = vec![b'a'; max];
    want.extend_from_slice(b"\ncb\n");
    assert_eq!(p.client.plaintext, want);
}

#[test]
fn peer_close_notify_ends_rev() {
    let mut p = rev_pair(false);
    p.client_send(b"partial");
    p.client.shutdown();
    p.drive();
    // At close_notify BIO_gets returns the unfinished line: s_server reverses it too.
    assert_eq!(p.client.plaintext, b"laitrap\n");
    assert_eq!(p.closed(), Some(&CloseReason::PeerClosed));
    assert!(p.client.closed, "close_notify after the answer");
}

#[test]
fn unfinished_close_at_close_notify_closes() {
    let mut p = rev_pair(false);
    p.client.write(b"one\nCLOSE");
    p.client.shutdown();
    p.drive();
    assert_eq!(p.client.plaintext, b"eno\n");
    assert_eq!(p.events, vec![Event::RevClose, Event::Closed(CloseReason::LocalClose)]);
}

#[test]
fn unfinished_line_at_eof_without_close_notify_is_not_answered() {
    for client in [ClientOptions::tls13(), ClientOptions::tls12()] {
        let config = default_config();
        let opts = SessionOptions {
            mode: AppMode::Rev,
            ..Default::default()
        };
        let mut p = Pair::connected(&config, opts, client);
        p.assert_established();
        p.client_send(b"abc\ndef");
        p.server.handle_eof(p.now);
        p.drive();
        // OpenSSL fails the read (3.x sends decode_error) before the line is complete.
        assert_eq!(p.client.plaintext, b"cba\n");
        assert_eq!(p.closed(), Some(&CloseReason::PeerEof));
        assert_unexpected_eof_answer(&p.client);
    }
}

#[test]
fn unfinished_line_at_eof_with_ignore_unexpected_eof_is_answered() {
    let config = server_config(|b| b.ignore_unexpected_eof());
    let opts = SessionOptions {
        mode: AppMode::Rev,
        ..Default::default()
    };
    let mut p = Pair::connected(&config, opts, ClientOptions::tls13());
    p.assert_established();
    p.client_send(b"abc\ndef");
    p.server.handle_eof(p.now);
    p.drive();
    assert_eq!(p.client.plaintext, b"cba\nfed\n");
    assert_eq!(p.closed(), Some(&CloseReason::PeerClosed));
    assert!(p.client.closed, "close_notify, no alert: {:?}", p.client.error);
}
