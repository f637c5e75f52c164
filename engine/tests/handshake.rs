//! Handshakes against an in-memory OpenSSL client: versions, the connection info, key log, ALPN,
//! client verification, `SSL_CONF` options, timeouts.
#![cfg(feature = "openssl")]

mod common;

use common::*;
use sserve_engine::event::VerifyStep;
use sserve_engine::tls::TlsBackend;
use sserve_engine::{CloseReason, Duration, Event, Instant, SessionError, SessionOptions, TlsErrorKind};

fn check_info(p: &Pair, protocol: &str) {
    let info = p.handshake_info();
    assert_eq!(info.protocol, protocol);
    assert!(!info.cipher.is_empty());
    let client_cipher = p.client.stream.ssl().current_cipher().expect("client cipher").name();
    assert_eq!(info.cipher, client_cipher, "both sides agree on the cipher");
    assert!(info.session_text.contains("SSL-Session:"), "{}", info.session_text);
    assert!(
        info.session_text.contains(&format!("Protocol  : {protocol}")),
        "{}",
        info.session_text
    );
    assert!(
        info.session_pem.starts_with("-----BEGIN SSL SESSION PARAMETERS-----"),
        "{}",
        info.session_pem
    );
    assert!(info
        .session_pem
        .trim_end()
        .ends_with("-----END SSL SESSION PARAMETERS-----"));
    assert!(
        info.groups_lines.iter().any(|l| l.starts_with("Supported groups: ")),
        "{:?}",
        info.groups_lines
    );
    assert!(
        info.groups_lines.iter().any(|l| l.starts_with("Shared groups: ")),
        "{:?}",
        info.groups_lines
    );
    assert!(
        info.sigalgs_lines
            .iter()
            .any(|l| l.starts_with("Signature Algorithms: ")),
        "{:?}",
        info.sigalgs_lines
    );
    assert!(
        info.sigalgs_lines
            .iter()
            .any(|l| l.starts_with("Shared Signature Algorithms: ")),
        "{:?}",
        info.sigalgs_lines
    );
    assert!(
        info.shared_ciphers.contains(&info.cipher),
        "{} not in {}",
        info.cipher,
        info.shared_ciphers
    );
    assert!(info.client_ciphers.contains(&info.cipher), "{:?}", info.client_ciphers);
    // OpenSSL 1.1.1 has no SSL_get_negotiated_group.
    let ossl3 = sserve_engine::ossl::version::openssl_version_number() >= 0x3000_0000;
    assert_eq!(info.group.is_some(), ossl3, "a key-exchange group is known on 3.x");
    // OpenSSL clients signal RFC 5746, but 3.5's no longer does in a TLS 1.3-only hello.
    let tls13_only =
        sserve_engine::ossl::version::openssl_version_number() >= 0x3050_0000 && info.protocol == "TLSv1.3";
    assert!(
        info.secure_renegotiation || tls13_only,
        "OpenSSL clients support RFC 5746"
    );
    assert!(!info.resumed);
    assert!(info.peer_certificate.is_none());
    assert_eq!(info.verify_result, (0, "ok".to_string()));
    assert_eq!(p.kinds(), ["HandshakeComplete"], "no other event on a plain handshake");
}

#[test]
fn tls13_handshake_completes() {
    let config = default_config();
    let mut p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls13());
    p.assert_established();
    check_info(&p, "TLSv1.3");
    assert_eq!(p.handshake_info().cipher_version, "TLSv1.3");
}

#[test]
fn tls12_handshake_completes() {
    let config = default_config();
    let mut p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls12());
    p.assert_established();
    check_info(&p, "TLSv1.2");
    assert!(
        p.handshake_info().cipher.starts_with("ECDHE-ECDSA-"),
        "the ephemeral certificate is ECDSA"
    );
}

#[test]
fn default_client_gets_tls13() {
    let config = default_config();
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::default());
    assert_eq!(p.handshake_info().protocol, "TLSv1.3");
}

#[test]
fn server_exact_version_refuses_other_client() {
    let config = server_config(|b| b.only_version(sserve_engine::ossl::TlsVersion::Tls1_3).unwrap());
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls12());
    assert!(
        matches!(p.closed(), Some(CloseReason::Error(SessionError::Tls(_)))),
        "{:?}",
        p.events
    );
    assert!(p.client.error.is_some());
    assert_eq!(p.to_client.first(), Some(&0x15), "a protocol_version alert goes out");
}

#[test]
fn keylog_lines_for_tls13() {
    let config = server_config(|b| b.keylog());
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls13());
    let random = p.client.client_random_hex();
    let lines: Vec<&String> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::KeyLog(l) => Some(l),
            _ => None,
        })
        .collect();
    let labels: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    for want in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    ] {
        assert!(labels.contains(&want), "missing {want} in {labels:?}");
    }
    for l in &lines {
        let parts: Vec<&str> = l.split(' ').collect();
        assert_eq!(parts.len(), 3, "NSS key log format: {l}");
        assert_eq!(parts[1], random, "client random matches in {l}");
        assert!(
            parts[2].len() >= 64 && parts[2].bytes().all(|b| b.is_ascii_hexdigit()),
            "{l}"
        );
    }
    // The key log lines come while the handshake runs, so before HandshakeComplete.
    let hc = p
        .events
        .iter()
        .position(|e| matches!(e, Event::HandshakeComplete(_)))
        .unwrap();
    let last_key = p.events.iter().rposition(|e| matches!(e, Event::KeyLog(_))).unwrap();
    assert!(last_key < hc, "{:?}", p.kinds());
}

#[test]
fn keylog_tls12_uses_client_random_label() {
    let config = server_config(|b| b.keylog());
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls12());
    let random = p.client.client_random_hex();
    let lines: Vec<&String> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::KeyLog(l) => Some(l),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("CLIENT_RANDOM {random} ")),
        "{}",
        lines[0]
    );
}

#[test]
fn no_keylog_without_option() {
    let config = default_config();
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls13());
    assert!(!p.events.iter().any(|e| matches!(e, Event::KeyLog(_))));
}

#[test]
fn alpn_selects_common_protocol() {
    let config = server_config(|b| b.alpn(&["h2", "http/1.1"]).unwrap());
    let client = ClientOptions {
        alpn: vec!["http/1.1"],
        ..Default::default()
    };
    let mut p = Pair::connected(&config, SessionOptions::s_server(), client);
    p.assert_established();
    assert!(
        p.events.contains(&Event::Alpn {
            offered: vec!["http/1.1".into()],
            selected: Some("http/1.1".into())
        }),
        "{:?}",
        p.events
    );
    assert_eq!(p.handshake_info().alpn.as_deref(), Some("http/1.1"));
    assert_eq!(p.client.stream.ssl().selected_alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn alpn_prefers_server_order() {
    let config = server_config(|b| b.alpn(&["h2", "http/1.1"]).unwrap());
    let client = ClientOptions {
        alpn: vec!["http/1.1", "h2"],
        ..Default::default()
    };
    let p = Pair::connected(&config, SessionOptions::s_server(), client);
    assert_eq!(p.handshake_info().alpn.as_deref(), Some("h2"));
}

#[test]
fn alpn_without_overlap_fails_with_alert() {
    let config = server_config(|b| b.alpn(&["h2", "http/1.1"]).unwrap());
    let client = ClientOptions {
        alpn: vec!["foo"],
        ..Default::default()
    };
    let p = Pair::connected(&config, SessionOptions::s_server(), client);
    assert!(
        p.events.contains(&Event::Alpn {
            offered: vec!["foo".into()],
            selected: None
        }),
        "{:?}",
        p.events
    );
    assert!(!p.events.iter().any(|e| matches!(e, Event::HandshakeComplete(_))));
    assert!(
        matches!(p.closed(), Some(CloseReason::Error(SessionError::Tls(_)))),
        "{:?}",
        p.events
    );
    assert_eq!(p.to_client.first(), Some(&0x15), "an alert record");
    let err = p.client.error.as_deref().expect("client fails");
    // 1.1.1 may print the bare reason code; the alert is no_application_protocol (120) either way.
    assert!(
        err.contains("no application protocol") || err.contains("alert number 120"),
        "{err}"
    );
}

#[test]
fn alpn_client_without_alpn_still_connects() {
    let config = server_config(|b| b.alpn(&["h2"]).unwrap());
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::default());
    assert_eq!(p.handshake_info().alpn, None);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Alpn { .. })));
}

fn verify_steps(p: &Pair) -> Vec<VerifyStep> {
    p.events
        .iter()
        .filter_map(|e| match e {
            Event::Verify(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn verifying_config(
    ca: &(openssl::x509::X509, openssl::pkey::PKey<openssl::pkey::Private>),
    return_error: bool,
) -> std::sync::Arc<sserve_engine::ServerConfig> {
    let pem = ca.0.to_pem().unwrap();
    server_config(|b| {
        assert_eq!(b.trusted_certificates(&pem).unwrap(), 1);
        b.verify_client(1, true);
        b.verify_return_error(return_error);
    })
}

#[test]
fn required_client_cert_missing_fails() {
    let ca = make_ca("Test CA");
    let config = verifying_config(&ca, false);
    for client in [ClientOptions::tls13(), ClientOptions::tls12()] {
        let p = Pair::connected(&config, SessionOptions::s_server(), client);
        assert!(
            !p.events.iter().any(|e| matches!(e, Event::HandshakeComplete(_))),
            "{:?}",
            p.kinds()
        );
        assert!(
            matches!(p.closed(), Some(CloseReason::Error(SessionError::Tls(_)))),
            "{:?}",
            p.events
        );
        assert!(p.client.error.is_some(), "the client hears about it");
        assert!(p.to_client.windows(1).any(|b| b[0] == 0x15) || !p.client.handshake_done());
    }
}

#[test]
fn client_cert_signed_by_ca_is_accepted() {
    let ca = make_ca("Test CA");
    let leaf = make_leaf("test client", &ca);
    let config = verifying_config(&ca, true);
    for version in [Version::Tls13, Version::Tls12] {
        let client = ClientOptions {
            version,
            cert: Some(leaf.clone()),
            ..Default::default()
        };
        let mut p = Pair::connected(&config, SessionOptions::s_server(), client);
        p.assert_established();
        let info = p.handshake_info();
        let cert = info.peer_certificate.expect("peer certificate");
        assert!(cert.subject.contains("CN = test client"), "{}", cert.subject);
        assert!(cert.issuer.contains("CN = Test CA"), "{}", cert.issuer);
        assert!(cert.pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(cert.sha256.len(), 64);
        assert_eq!(info.verify_result, (0, "ok".to_string()));
        let steps = verify_steps(&p);
        assert!(
            steps
                .iter()
                .any(|s| s.depth == 1 && s.subject.contains("Test CA") && s.ok && s.error.is_none()),
            "{steps:?}"
        );
        assert!(
            steps
                .iter()
                .any(|s| s.depth == 0 && s.subject.contains("test client") && s.ok && s.error.is_none()),
            "{steps:?}"
        );
        assert!(
            info.sigalgs_lines
                .iter()
                .any(|l| l.starts_with("Peer signing digest: ")),
            "{:?}",
            info.sigalgs_lines
        );
        p.assert_data_flows("client auth");
    }
}

#[test]
fn untrusted_client_cert_is_forgiven_without_verify_return_error() {
    let ca = make_ca("Test CA");
    let stranger = make_self_signed("stranger");
    let config = verifying_config(&ca, false);
    let client = ClientOptions {
        cert: Some(stranger),
        ..Default::default()
    };
    let mut p = Pair::connected(&config, SessionOptions::s_server(), client);
    p.assert_established();
    let steps = verify_steps(&p);
    assert!(
        steps.iter().any(|s| s.error.is_some() && s.ok),
        "s_server's verify_callback forgives errors: {steps:?}"
    );
    let info = p.handshake_info();
    assert_ne!(info.verify_result.0, 0, "the verify result records the error");
    assert!(info.peer_certificate.unwrap().subject.contains("stranger"));
}

#[test]
fn untrusted_client_cert_fails_with_verify_return_error() {
    let ca = make_ca("Test CA");
    let stranger = make_self_signed("stranger");
    let config = verifying_config(&ca, true);
    let client = ClientOptions {
        cert: Some(stranger),
        ..Default::default()
    };
    let p = Pair::connected(&config, SessionOptions::s_server(), client);
    assert!(!p.events.iter().any(|e| matches!(e, Event::HandshakeComplete(_))));
    match p.closed() {
        Some(CloseReason::Error(SessionError::Tls(e))) => {
            assert_eq!(e.kind, TlsErrorKind::Verify, "{e:?}");
            assert!(e.verify_error.is_some(), "{e:?}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(verify_steps(&p).iter().any(|s| s.error.is_some() && !s.ok));
    assert!(p.client.error.is_some());
}

#[test]
fn ssl_conf_cipher_is_negotiated() {
    let config = server_config(|b| b.ssl_conf("-cipher", Some("ECDHE-ECDSA-AES128-GCM-SHA256")).unwrap());
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::tls12());
    assert_eq!(p.handshake_info().cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_eq!(p.handshake_info().shared_ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
}

#[test]
fn ssl_conf_rejects_unknown_and_incomplete_options() {
    let mut b = sserve_engine::ServerConfigBuilder::new().unwrap();
    assert!(b.ssl_conf("-bogus", None).is_err());
    assert!(b.ssl_conf("-cipher", None).is_err(), "-cipher takes a value");
    assert_eq!(b.ssl_conf_lookup("-cipher"), Some(true));
    assert_eq!(b.ssl_conf_lookup("-no_tls1_2"), Some(false));
    assert_eq!(b.ssl_conf_lookup("-bogus"), None);
    // A known option with a bad value is refused when the context is built.
    b.ssl_conf("-cipher", Some("NO-SUCH-CIPHER")).unwrap();
    b.ephemeral_certificate().unwrap();
    let e = b.build().expect_err("bad cipher list");
    assert_eq!(e.kind, TlsErrorKind::Config);
}

#[test]
fn ssl_conf_protocol_switch_applies() {
    let config = server_config(|b| b.ssl_conf("-no_tls1_3", None).unwrap());
    let p = Pair::connected(&config, SessionOptions::s_server(), ClientOptions::default());
    assert_eq!(p.handshake_info().protocol, "TLSv1.2");
}

#[test]
fn handshake_timeout_fires_at_deadline() {
    let config = default_config();
    let mut s = session(&config, SessionOptions::s_server());
    let deadline = Instant::ZERO + Duration::from_secs(10);
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(Instant::from_micros(deadline.as_micros() - 1));
    assert!(!s.is_closed(), "not yet");
    assert_eq!(drain(&mut s).1, vec![]);
    s.handle_timeout(deadline);
    assert!(s.is_closed());
    assert_eq!(
        drain(&mut s).1,
        vec![Event::Closed(CloseReason::Error(SessionError::HandshakeTimeout))]
    );
    assert_eq!(s.poll_timeout(), None);
    // Nothing more happens afterwards.
    s.handle_timeout(deadline + Duration::from_secs(100));
    s.handle_input(deadline, b"\x16\x03\x01");
    assert_eq!(drain(&mut s), (vec![], vec![]));
}

#[test]
fn handshake_timeout_during_a_stalled_handshake() {
    let config = default_config();
    let mut p = Pair::new(&config, SessionOptions::s_server(), ClientOptions::tls13());
    // Only the ClientHello reaches the server; the client never answers.
    p.client.pump();
    let hello = std::mem::take(&mut p.client.stream.get_mut().outgoing);
    p.server.handle_input(Instant::from_millis(5), &hello);
    p.drain_server();
    assert!(!p.server.is_established());
    assert_eq!(
        p.server.poll_timeout(),
        Some(Instant::ZERO + Duration::from_secs(10)),
        "the timer runs from creation"
    );
    p.server.handle_timeout(Instant::ZERO + Duration::from_secs(10));
    p.drain_server();
    assert_eq!(p.closed(), Some(&CloseReason::Error(SessionError::HandshakeTimeout)));
}

#[test]
fn no_handshake_timer_when_disabled() {
    let config = default_config();
    let s = session(
        &config,
        SessionOptions {
            handshake_timeout: None,
            ..Default::default()
        },
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn handshake_timer_is_gone_after_handshake() {
    let config = default_config();
    let opts = SessionOptions {
        buffer_linger: None,
        ..SessionOptions::s_server()
    };
    let mut p = Pair::connected(&config, opts, ClientOptions::tls13());
    p.assert_established();
    assert_eq!(p.server.poll_timeout(), None);
    p.server.handle_timeout(Instant::ZERO + Duration::from_secs(3600));
    p.drive();
    assert!(p.closed().is_none());
    p.assert_data_flows("late timer");
}

#[test]
fn idle_timeout_closes_with_close_notify() {
    let config = default_config();
    let opts = SessionOptions {
        idle_timeout: Some(Duration::from_secs(30)),
        buffer_linger: None,
        ..Default::default()
    };
    let mut p = Pair::new(&config, opts, ClientOptions::tls13());
    p.now = Instant::from_millis(1000);
    p.drive();
    p.assert_established();
    assert_eq!(p.server.poll_timeout(), Some(Instant::from_millis(31_000)));
    p.now = Instant::from_millis(20_000);
    p.client_send(b"still here\n");
    assert_eq!(
        p.server.poll_timeout(),
        Some(Instant::from_millis(50_000)),
        "input restarts the idle timer"
    );
    p.server.handle_timeout(Instant::from_millis(49_999));
    p.drive();
    assert!(p.closed().is_none());
    p.server.handle_timeout(Instant::from_millis(50_000));
    p.drive();
    assert_eq!(p.closed(), Some(&CloseReason::Error(SessionError::IdleTimeout)));
    assert!(p.client.closed, "the client got close_notify");
}

/// An open session keeps OpenSSL's record buffers while it reads and writes, and gives them
/// back once nothing happened for `buffer_linger`: its timer runs from the latest input, fires
/// without output or harm, and is armed again by the next record. A record cut after its
/// header (OpenSSL 1.1.1 and 3.0 before 3.0.14 would free the buffer holding it) or inside its
/// body is still read whole after a release.
#[test]
fn quiet_session_gives_its_buffers_back_and_goes_on() {
    let config = default_config();
    let linger = Duration::from_secs(1);
    for client in [ClientOptions::tls12(), ClientOptions::tls13()] {
        let opts = SessionOptions {
            handshake_timeout: None,
            send_timeout: None,
            ..SessionOptions::default()
        };
        assert_eq!(opts.buffer_linger, Some(linger), "the default");
        let mut p = Pair::new(&config, opts, client);
        p.now = Instant::from_millis(1000);
        p.drive();
        p.assert_established();
        p.now = Instant::from_millis(1500);
        assert!(!p.server.tls().keeps_buffers(), "only a handshake so far");
        p.client_send(b"hello\n");
        assert!(p.server.tls().keeps_buffers());
        assert_eq!(
            p.server.poll_timeout(),
            Some(p.now + linger),
            "input restarts the linger"
        );
        p.server.handle_timeout(p.now + Duration::from_millis(999));
        assert!(!p.drain_server());
        assert_eq!(p.server.poll_timeout(), Some(p.now + linger), "not due yet");
        p.server.handle_timeout(p.now + linger);
        assert!(!p.drain_server(), "giving buffers back sends and reports nothing");
        assert_eq!(p.server.poll_timeout(), None, "nothing more to give back");
        assert!(!p.server.tls().keeps_buffers());
        p.now = p.now + Duration::from_secs(5);
        p.assert_data_flows("after the release");
        assert!(p.server.poll_timeout().is_some(), "the next records armed it again");

        p.take_events();
        for cut in [5, 9] {
            p.client.write(b"cut across the release\n");
            let record = std::mem::take(&mut p.client.stream.get_mut().outgoing);
            p.server.handle_input(p.now, &record[..cut]);
            p.drain_server();
            let due = p.server.poll_timeout().expect("a release is due");
            p.server.handle_timeout(due);
            p.now = due + Duration::from_secs(1);
            p.server.handle_input(p.now, &record[cut..]);
            p.drain_server();
            assert_eq!(
                p.server_plaintext(),
                b"cut across the release\n",
                "cut after {cut} bytes"
            );
            p.take_events();
        }
        assert!(p.closed().is_none());
    }
}

/// Without a linger OpenSSL frees its record buffers after every record, as in the handshake,
/// and no timer runs for them.
#[test]
fn no_buffer_timer_without_linger() {
    let config = default_config();
    let opts = SessionOptions {
        handshake_timeout: None,
        send_timeout: None,
        buffer_linger: None,
        ..SessionOptions::default()
    };
    let mut p = Pair::connected(&config, opts, ClientOptions::tls13());
    p.assert_data_flows("no linger");
    assert!(!p.server.tls().keeps_buffers());
    assert_eq!(p.server.poll_timeout(), None);
}

/// A TLS 1.3 pair whose server keeps its record buffers: data has moved both ways.
fn keeping_buffers() -> Pair {
    let opts = SessionOptions {
        handshake_timeout: None,
        ..SessionOptions::default()
    };
    let mut p = Pair::connected(&default_config(), opts, ClientOptions::tls13());
    p.assert_data_flows("before");
    assert!(p.server.tls().keeps_buffers());
    p
}

/// A driver without timers gives the kept buffers back itself (`release_buffers`), with no
/// output and no event; data flows on, and the buffers are kept again.
#[test]
fn release_buffers_gives_them_back_at_once() {
    let mut p = keeping_buffers();
    p.server.release_buffers();
    assert!(!p.server.tls().keeps_buffers());
    assert!(p.server.poll_transmit().is_none());
    assert!(p.server.poll_event().is_none());
    p.assert_data_flows("after the release");
    assert!(p.server.tls().keeps_buffers());
}

/// Giving the buffers back leaves the session no share of the ciphertext it handed out: the
/// emptied queue a record was split from shows no capacity, yet would hold the record's whole
/// buffer once the adapter sent and dropped it (a download whose peer stopped reading kept
/// ~16 KiB more that way).
#[test]
fn released_buffers_hold_no_share_of_handed_out_records() {
    let mut p = keeping_buffers();
    // Two hand-overs: the second swaps the queue the first was split from into the transport.
    p.server.send(&[b'x'; 16 * 1024]);
    let first = p.server.poll_transmit().expect("a record");
    p.server.send(b"more\n");
    let second = p.server.poll_transmit().expect("a record");
    assert!(p.server.poll_transmit().is_none());
    drop(second);
    assert!(
        !first.data.is_unique(),
        "the emptied queue still shares the record's buffer"
    );
    p.server.release_buffers();
    assert!(first.data.is_unique(), "the released session still holds a share of it");
}

/// A session that keeps no buffers yet (a handshake, no data since) holds no view of the
/// ciphertext it handed out: an idle connection does not keep its flights' buffers alive.
#[test]
fn handshake_flights_are_handed_out_whole() {
    let config = default_config();
    for client in [ClientOptions::tls12(), ClientOptions::tls13()] {
        let mut p = Pair::new(&config, SessionOptions::s_server(), client);
        p.held = Some(Vec::new());
        p.drive();
        assert!(p.server.is_established() && p.client.handshake_done());
        let held = p.held.take().unwrap();
        assert!(held.len() >= 2, "a flight and the peer's answer to it");
        assert!(!p.server.tls().keeps_buffers());
        for (i, data) in held.iter().enumerate() {
            assert!(
                data.is_unique(),
                "transmit {i} of {} is still shared with the session",
                held.len()
            );
        }
    }
}

/// Once the handshake is done OpenSSL reads ahead: one transport read takes several records
/// (instead of a header and a body per record), and what it read ahead is still returned in
/// order, each record whole.
#[test]
fn open_session_reads_ahead_and_keeps_every_record_whole() {
    use sserve_engine::tls::{ReadStatus, TlsBackend};
    let config = default_config();
    for client in [ClientOptions::tls12(), ClientOptions::tls13()] {
        let mut p = Pair::connected(&config, SessionOptions::s_server(), client);
        let sizes = [16 * 1024, 5, 16 * 1024, 700];
        for (i, n) in sizes.iter().enumerate() {
            p.client.write(&vec![b'a' + i as u8; *n]);
        }
        let ciphertext = std::mem::take(&mut p.client.stream.get_mut().outgoing);
        let mut input = &ciphertext[..];
        let mut buf = bytes::BytesMut::new();
        let mut got = Vec::new();
        loop {
            let before = buf.len();
            match p.server.tls_mut().read_from(&mut input, &mut buf).expect("read") {
                ReadStatus::Data(n) => got.push(buf[before..before + n].to_vec()),
                other => panic!("unexpected {other:?}"),
            }
            if got.len() == 1 {
                // Without read-ahead OpenSSL stops at the end of the first record.
                assert!(
                    input.len() < ciphertext.len() - 16 * 1024 - 64,
                    "the first read took more than its record"
                );
            }
            if input.is_empty() && got.len() == sizes.len() {
                break;
            }
            assert!(got.len() < sizes.len(), "more reads than records");
        }
        let want: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| vec![b'a' + i as u8; *n])
            .collect();
        assert_eq!(got, want);
        assert!(p.server.tls().input_drained());
    }
}

/// A session can read the peer itself (`handle_readable`): the handshake, records of every
/// size and the peer's end arrive as they do through `handle_input`, and once the session is
/// open the reader is offered OpenSSL's own record buffer (room for a whole record), not a
/// copy's.
#[test]
fn session_reads_the_peer_itself() {
    use sserve_engine::Pulled;
    let config = default_config();
    for client in [ClientOptions::tls12(), ClientOptions::tls13()] {
        let mut p = Pair::new(&config, SessionOptions::s_server(), client);
        p.pulled = true;
        p.chunking = vec![7, 300, 5000];
        p.drive();
        p.assert_established();
        let sizes = [16 * 1024, 1, 9000];
        for (i, n) in sizes.iter().enumerate() {
            p.client.write(&vec![b'k' + i as u8; *n]);
        }
        let ciphertext = std::mem::take(&mut p.client.stream.get_mut().outgoing);
        let mut reader = ScriptedReader {
            data: ciphertext,
            ..Default::default()
        };
        let mut got = Vec::new();
        for _ in 0..100 {
            match p.server.handle_readable(p.now, &mut reader) {
                Pulled::Data(n) => assert!(n > 0),
                Pulled::WouldBlock => break,
                Pulled::End => panic!("no end was scripted"),
            }
            p.drain_server();
        }
        for e in p.take_events() {
            if let Event::Plaintext(d) = e {
                got.push(d.len());
            }
        }
        assert_eq!(got, sizes, "each record whole, in order");
        assert!(
            reader.largest_buffer > 16 * 1024,
            "OpenSSL's record buffer was offered: {}",
            reader.largest_buffer
        );
        // The peer goes away without close_notify.
        reader.end = true;
        assert_eq!(p.server.handle_readable(p.now, &mut reader), Pulled::End);
        p.drain_server();
        assert_eq!(p.closed(), Some(&CloseReason::PeerEof));
    }
}

/// The client's output so far, handed to the server as one input.
fn client_to_server(p: &mut Pair) {
    p.client.pump();
    let out = std::mem::take(&mut p.client.stream.get_mut().outgoing);
    assert!(!out.is_empty(), "the client had something to send");
    p.server.handle_input(Instant::ZERO, &out);
}

fn keylog_labels(server: &mut sserve_engine::ossl::TlsSession) -> Vec<String> {
    std::iter::from_fn(|| server.poll_event())
        .filter_map(|e| match e {
            Event::KeyLog(l) => Some(l.split(' ').next().unwrap().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn tls13_flight_goes_out_before_the_application_keys() {
    let config = server_config(|b| b.keylog());
    let mut p = Pair::new(&config, SessionOptions::s_server(), ClientOptions::tls13());
    client_to_server(&mut p);
    let flight = p.server.poll_transmit().expect("the server's flight");
    assert!(
        p.server.flight_waiting(),
        "the flight is to be sent before the handshake goes on"
    );
    let labels = keylog_labels(&mut p.server);
    assert!(
        labels.iter().any(|l| l == "SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        "{labels:?}"
    );
    assert!(
        !labels.iter().any(|l| l == "SERVER_TRAFFIC_SECRET_0"),
        "derived too early: {labels:?}"
    );
    // The flight is whole: the client finishes its side of the handshake with it alone.
    p.client.stream.get_mut().incoming.extend_from_slice(&flight.data);
    p.client.pump();
    assert!(p.client.handshake_done(), "the client finished with the first flight");
    // Asking again goes on: the application keys, nothing to send.
    assert!(p.server.poll_transmit().is_none());
    assert!(!p.server.flight_waiting());
    let labels = keylog_labels(&mut p.server);
    assert!(labels.iter().any(|l| l == "SERVER_TRAFFIC_SECRET_0"), "{labels:?}");
    client_to_server(&mut p);
    p.drive();
    p.assert_established();
    p.assert_data_flows("after a paused flight");
}

#[test]
fn paused_flight_goes_on_with_the_peers_next_input() {
    // An adapter that writes the flight and waits for the peer without asking again.
    let mut p = Pair::new(&default_config(), SessionOptions::s_server(), ClientOptions::tls13());
    client_to_server(&mut p);
    let flight = p.server.poll_transmit().expect("the server's flight");
    assert!(p.server.flight_waiting());
    p.client.stream.get_mut().incoming.extend_from_slice(&flight.data);
    client_to_server(&mut p);
    assert!(!p.server.flight_waiting());
    p.drive();
    p.assert_established();
    p.assert_data_flows("after the peer's input went on");
}

#[test]
fn tls12_flights_do_not_wait() {
    let mut p = Pair::new(&default_config(), SessionOptions::s_server(), ClientOptions::tls12());
    for _ in 0..4 {
        p.client.pump();
        let out = std::mem::take(&mut p.client.stream.get_mut().outgoing);
        if out.is_empty() {
            break;
        }
        p.server.handle_input(Instant::ZERO, &out);
        while let Some(t) = p.server.poll_transmit() {
            assert!(!p.server.flight_waiting(), "nothing costly follows a TLS 1.2 flight");
            p.client.stream.get_mut().incoming.extend_from_slice(&t.data);
        }
    }
    p.drive();
    p.assert_established();
    assert_eq!(p.handshake_info().protocol, "TLSv1.2");
}

#[test]
fn closing_a_paused_handshake_leaves_no_flight_waiting() {
    let mut p = Pair::new(&default_config(), SessionOptions::s_server(), ClientOptions::tls13());
    client_to_server(&mut p);
    p.server.poll_transmit().expect("the server's flight");
    assert!(p.server.flight_waiting());
    p.server.close();
    assert!(
        !p.server.flight_waiting(),
        "a closed session has no handshake to go on with"
    );
    for _ in 0..4 {
        if p.server.poll_transmit().is_none() {
            return;
        }
    }
    panic!("poll_transmit did not run dry after close");
}
