//! Broken and hostile input into a server session: it fails cleanly, says so with an alert when
//! OpenSSL sends one, never panics, and ignores everything after the end.
#![cfg(feature = "openssl")]

mod common;

use common::*;
use sserve_engine::{AppMode, CloseReason, Event, SessionError, SessionOptions, TlsErrorKind};

fn tls_error(events: &[Event]) -> sserve_engine::TlsError {
    match events.last() {
        Some(Event::Closed(CloseReason::Error(SessionError::Tls(e)))) => e.clone(),
        other => panic!("expected Closed(Error(Tls)) last, got {other:?} in {events:?}"),
    }
}

#[test]
fn http_request_into_tls_fails_without_alert() {
    // OpenSSL recognises a plain HTTP request and, like for any first record that does not look
    // like TLS, sends no alert (SSL_AD_NO_ALERT): s_server's peer sees the connection close.
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    s.handle_input(sserve_engine::Instant::ZERO, b"GET / HTTP/1.0\r\n\r\n");
    assert!(s.is_closed());
    let (out, events) = drain(&mut s);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = tls_error(&events);
    assert_eq!(e.kind, TlsErrorKind::Protocol);
    assert!(e.stack.iter().any(|l| l.contains("http request")), "{e:?}");
    assert!(out.is_empty() || out[0] == 0x15, "{out:?}");
}

#[test]
fn malformed_client_hello_gets_an_alert() {
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    // A TLS handshake record holding a truncated ClientHello.
    s.handle_input(
        sserve_engine::Instant::ZERO,
        b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",
    );
    assert!(s.is_closed());
    let (out, events) = drain(&mut s);
    tls_error(&events);
    assert_eq!(out.first(), Some(&0x15), "an alert record goes out first: {out:?}");
    let recs = records(&out);
    assert_eq!(recs, vec![(0x15, 2)], "exactly one alert");
}

#[test]
fn wrong_record_version_gets_an_alert() {
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    // A handshake record whose body is garbage.
    let mut rec = b"\x16\x03\x01\x00\x40".to_vec();
    rec.extend(std::iter::repeat_n(0xee, 0x40));
    s.handle_input(sserve_engine::Instant::ZERO, &rec);
    let (out, events) = drain(&mut s);
    tls_error(&events);
    assert_eq!(out.first(), Some(&0x15), "{out:?}");
}

#[test]
fn input_after_close_is_ignored() {
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    s.handle_input(
        sserve_engine::Instant::ZERO,
        b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",
    );
    drain(&mut s);
    s.handle_input(
        sserve_engine::Instant::ZERO,
        b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",
    );
    s.handle_eof(sserve_engine::Instant::ZERO);
    s.handle_timeout(sserve_engine::Instant::from_micros(u64::MAX));
    s.console_input(b"hello\n");
    s.console_eof();
    s.send(b"x");
    assert_eq!(drain(&mut s), (vec![], vec![]), "nothing after Closed");
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn empty_input_is_harmless() {
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    s.handle_input(sserve_engine::Instant::ZERO, b"");
    assert!(!s.is_closed());
    assert_eq!(drain(&mut s), (vec![], vec![]));
}

#[test]
fn byte_at_a_time_garbage_never_panics() {
    let config = default_config();
    for seed in 0u32..32 {
        let mut s = session(&config, SessionOptions::s_server());
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for _ in 0..4096 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            s.handle_input(sserve_engine::Instant::ZERO, &[(x >> 24) as u8]);
            if s.is_closed() {
                break;
            }
        }
        let (out, events) = drain(&mut s);
        if s.is_closed() {
            tls_error(&events);
            assert!(
                out.is_empty() || out[0] == 0x15,
                "seed {seed}: only an alert goes out: {out:?}"
            );
        } else {
            assert!(events.is_empty());
        }
    }
}

#[test]
fn garbage_after_handshake_is_an_error_with_alert() {
    let config = default_config();
    for (client, alert_type) in [(ClientOptions::tls13(), 0x17), (ClientOptions::tls12(), 0x15)] {
        let mut p = Pair::connected(&config, SessionOptions::s_server(), client);
        p.assert_established();
        let at = p.to_client.len();
        // An application-data record with a bogus authentication tag.
        let mut rec = b"\x17\x03\x03\x00\x20".to_vec();
        rec.extend(std::iter::repeat_n(0x42, 0x20));
        p.server.handle_input(p.now, &rec);
        p.drive();
        assert!(
            matches!(p.closed(), Some(CloseReason::Error(SessionError::Tls(_)))),
            "{:?}",
            p.events
        );
        // An alert: record type 0x15 in TLS 1.2; in TLS 1.3 it is encrypted (outer type 0x17).
        assert_eq!(records(&p.to_client[at..]).first().map(|r| r.0), Some(alert_type));
        let err = p.client.error.as_deref().expect("the client reads the alert");
        assert!(err.contains("bad record mac"), "{err}");
    }
}

#[test]
fn client_alert_closes_the_session() {
    let config = default_config();
    let mut p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls12());
    // A fatal alert in the clear is refused once encryption is on, which is also fatal.
    p.server.handle_input(p.now, b"\x15\x03\x03\x00\x02\x02\x28");
    p.drain_server();
    assert!(matches!(p.closed(), Some(CloseReason::Error(_))), "{:?}", p.events);
}

#[test]
fn web_mode_survives_a_flood_without_newlines() {
    let config = default_config();
    let opts = SessionOptions {
        mode: AppMode::Web(sserve_engine::http::WebMode::Files),
        ..Default::default()
    };
    let mut p = Pair::connected(&config, opts, ClientOptions::tls13());
    p.assert_established();
    // 1 MiB of non-request data in 64 KiB writes: ignored line pieces, no answer, no growth.
    for _ in 0..16 {
        p.client_send(&vec![b'z'; 64 * 1024]);
        assert!(p.closed().is_none());
        assert_eq!(p.server.pending_transmit(), 0);
    }
    assert_eq!(p.client.plaintext, b"");
    p.client_send(b"\nGET /ok.txt HTTP/1.0\r\n");
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::FileRequest(r) if r.path == "ok.txt")),
        "{:?}",
        p.kinds()
    );
}

#[test]
fn record_cut_short_by_eof_gets_decode_error() {
    let config = default_config();
    let mut hello = Pair::new(&config, SessionOptions::s_server(), ClientOptions::tls13());
    hello.client.pump();
    let hello = std::mem::take(&mut hello.client.stream.get_mut().outgoing);
    let cuts: [&[u8]; 5] = [
        b"",
        b"\x16",
        b"\x16\x03\x01",
        b"\x16\x03\x01\x02\x00\x01",
        &hello[..hello.len() - 1],
    ];
    for cut in cuts {
        let mut s = session(&config, SessionOptions::s_server());
        s.handle_input(sserve_engine::Instant::ZERO, cut);
        assert!(!s.is_closed(), "waiting for the rest of the record");
        s.handle_eof(sserve_engine::Instant::ZERO);
        assert!(s.is_closed());
        let (out, events) = drain(&mut s);
        assert_eq!(out, unexpected_eof_bytes(), "after {cut:02x?}");
        assert_eq!(tls_error(&events).kind, TlsErrorKind::UnexpectedEof);
    }
}

#[test]
fn sslv2_client_hello_cut_short_gets_decode_error() {
    // An SSLv2-format ClientHello (2-byte header with the high bit set), cut after 10 bytes.
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    s.handle_input(
        sserve_engine::Instant::ZERO,
        b"\x80\x22\x01\x03\x03\x00\x09\x00\x00\x00",
    );
    s.handle_eof(sserve_engine::Instant::ZERO);
    let (out, events) = drain(&mut s);
    assert_eq!(out, unexpected_eof_bytes());
    tls_error(&events);
}

#[test]
fn ignore_unexpected_eof_makes_eof_a_clean_close() {
    let config = server_config(|b| b.ignore_unexpected_eof());
    let mut p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls12());
    p.assert_established();
    p.server.handle_eof(p.now);
    p.drive();
    assert_eq!(p.closed(), Some(&CloseReason::PeerClosed));
    assert!(p.client.closed, "close_notify, no alert: {:?}", p.client.error);
}

#[test]
fn a_closed_sessions_last_bytes_still_time_out() {
    // A response's tail and its close_notify are sent after the session ended: the adapter must
    // keep writing them while the peer reads (however slowly), and give up only at the send
    // timeout.
    let config = default_config();
    let mut opts = SessionOptions::s_server();
    opts.send_timeout = Some(sserve_engine::Duration::from_secs(60));
    let mut p = Pair::connected(&config, opts, ClientOptions::tls13());
    p.assert_established();
    p.server.close();
    assert!(p.server.is_closed());
    let closed = |p: &mut Pair| {
        p.drain_server();
        p.events.iter().filter(|e| matches!(e, Event::Closed(_))).count()
    };
    assert_eq!(closed(&mut p), 1);

    let t0 = p.now;
    p.server.send_blocked(t0);
    let deadline = p.server.poll_timeout().expect("the send timer runs after the close");
    assert_eq!(deadline, t0 + sserve_engine::Duration::from_secs(60));
    p.server.handle_timeout(t0 + sserve_engine::Duration::from_secs(1));
    assert!(
        !p.server.is_send_stalled(),
        "a write slower than a second is not a stall"
    );
    p.server.send_progress(t0 + sserve_engine::Duration::from_secs(2));
    assert_eq!(p.server.poll_timeout(), None, "progress stops the timer");

    let t1 = t0 + sserve_engine::Duration::from_secs(3);
    p.server.send_blocked(t1);
    p.server.handle_timeout(t1 + sserve_engine::Duration::from_secs(60));
    assert!(p.server.is_send_stalled());
    assert_eq!(p.server.poll_timeout(), None);
    assert_eq!(closed(&mut p), 1, "the session reported its end once");
}
