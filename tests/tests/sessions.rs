//! Session options against `openssl s_client`: `-id_prefix` (prefixed TLS 1.2 session ids),
//! `-ext_cache` (the external session cache and its console lines), `-stateless` (the TLS 1.3
//! cookie exchange).

use sserve_tests::{expect_client_handshake, is_openssl, require, s_client, server, TestDir, TIMEOUT};

/// Runs `openssl s_client` to completion with empty stdin.
fn s_client_run(port: u16, args: &[&str]) -> sserve_tests::Finished {
    sserve_tests::s_client_finish(port, &[&["-servername", "localhost"], args].concat(), b"")
}

#[test]
fn id_prefix_starts_tls12_session_ids() {
    require!("openssl");
    let dir = TestDir::new();
    // Without tickets the server's session id is the one the client sees.
    let srv = server!(&dir).args(["-id_prefix", "ABC", "-no_ticket"]).start();
    srv.expect_stderr("id_prefix 'ABC' set.");
    let client = s_client(srv.port, &["-tls1_2"]);
    expect_client_handshake(&client);
    let text = client.stdout.text();
    let id = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Session-ID: "))
        .unwrap_or_else(|| panic!("no Session-ID\n{}", client.dump()));
    // "ABC" in hex, then random bytes up to the 32-byte id.
    assert!(id.starts_with("414243"), "{id}\n{}", client.dump());
    assert_eq!(id.len(), 64, "{id}");
}

#[test]
fn ext_cache_resumes_and_prints_its_lines() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-ext_cache", "-no_ticket"]).start();
    let f = s_client_run(srv.port, &["-tls1_2", "-reconnect"]);
    let reused = f.out().lines().filter(|l| l.starts_with("Reused,")).count();
    // -reconnect: one full handshake, then five resumptions.
    assert_eq!(reused, 5, "{}\n{}", f.dump(), srv.dump());
    assert!(
        srv.stderr()
            .wait_until(TIMEOUT, |b| sserve_tests::count(b, b"Lookup session: cache hit") >= 5),
        "{}",
        srv.dump()
    );
    assert_eq!(
        srv.stderr().count("New session added to external cache"),
        1,
        "{}",
        srv.dump()
    );
    assert_eq!(srv.stderr().count("Lookup session: cache miss"), 0, "{}", srv.dump());
}

#[test]
fn ext_cache_miss_and_sess_in() {
    require!("openssl");
    let dir = TestDir::new();
    let sess = dir.join("sess.pem");
    let sess = sess.to_str().unwrap();
    let srv = server!(&dir).args(["-ext_cache", "-no_ticket"]).start();
    let first = s_client_run(srv.port, &["-tls1_2", "-sess_out", sess]);
    assert!(first.out().contains("New, TLSv1.2"), "{}", first.dump());
    let again = s_client_run(srv.port, &["-tls1_2", "-sess_in", sess]);
    assert!(
        again.out().contains("Reused, TLSv1.2"),
        "{}\n{}",
        again.dump(),
        srv.dump()
    );
    drop(srv);
    // A new server has an empty cache: the lookup misses and a full handshake follows.
    let fresh = server!(&dir).args(["-ext_cache", "-no_ticket"]).start();
    let missed = s_client_run(fresh.port, &["-tls1_2", "-sess_in", sess]);
    assert!(missed.out().contains("New, TLSv1.2"), "{}", missed.dump());
    assert!(
        fresh.stderr().wait_for("Lookup session: cache miss", TIMEOUT),
        "{}",
        fresh.dump()
    );
}

#[test]
fn stateless_tls13_handshake_works() {
    require!("openssl");
    if is_openssl() {
        // OpenSSL 3.0's s_server -stateless closes every TCP connection without answering
        // (docs/compat.md).
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-stateless"]).start();
    for extra in [&[][..], &["-no_middlebox"][..]] {
        let mut args = vec!["-tls1_3", "-msg"];
        args.extend_from_slice(extra);
        let f = s_client_run(srv.port, &args);
        let out = f.out();
        assert!(out.contains("New, TLSv1.3"), "{extra:?}\n{}\n{}", f.dump(), srv.dump());
        // The HelloRetryRequest with the cookie made the client send a second ClientHello.
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with(">>> ") && l.ends_with("ClientHello"))
                .count(),
            2,
            "{extra:?}\n{}",
            f.dump()
        );
    }
    assert!(srv.stdout().wait_for("CIPHER is TLS_", TIMEOUT), "{}", srv.dump());
}

#[test]
fn stateless_refuses_tls12_and_dtls() {
    require!("openssl");
    let dir = TestDir::new();
    let f = server!(&dir).args(["-stateless", "-dtls"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("Can only use --stateless with TLS"), "{}", f.dump());
    if is_openssl() {
        return;
    }
    // "Require TLSv1.3 cookies": a TLS 1.2 client is not served.
    let srv = server!(&dir).args(["-stateless"]).start();
    s_client_run(srv.port, &["-tls1_2"]);
    assert!(srv.stderr().wait_for("ERROR", TIMEOUT), "{}", srv.dump());
    assert!(srv.stderr().contains("no TLSv1.3 ClientHello"), "{}", srv.dump());
}
