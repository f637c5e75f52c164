//! s_server's diagnostic output options: `-msg`, `-msgfile`, `-trace`, `-state`, `-debug`,
//! `-tlsextdebug`, `-security_debug`, `-security_debug_verbose`. The `-msg`/`-state` test runs
//! the real `openssl s_server` next to the server under test and compares the line sequences.

use sserve_tests::{expect_client_handshake, require, s_client, server, Server, TestDir, TIMEOUT};

/// The real s_server (a wrapper script), to compare against.
const REAL_S_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/openssl-s_server");

/// One console connection: handshake, `hello` from the client, client close; `-naccept 1`
/// makes the server exit, so even s_server's buffered stdout is complete. Returns
/// (stdout, stderr).
fn one_connection(srv: Server, client_args: &[&str]) -> (String, String) {
    let mut srv = srv;
    let mut client = s_client(srv.port, client_args);
    expect_client_handshake(&client);
    client.write_stdin(b"hello\n");
    srv.expect_stdout("hello");
    client.close_stdin();
    client.expect_exit(TIMEOUT);
    if srv.proc.wait_exit(TIMEOUT).is_none() {
        panic!("server did not exit after -naccept 1\n{}", srv.dump());
    }
    srv.stdout().wait_closed(TIMEOUT);
    srv.stderr().wait_closed(TIMEOUT);
    (srv.stdout().text(), srv.stderr().text())
}

/// `msg_cb` header lines without the (legitimately varying) message length.
fn msg_headers(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("<<< ") || l.starts_with(">>> "))
        .map(|l| match (l.find(" [length "), l.find(']')) {
            (Some(a), Some(b)) if b > a => format!("{}{}", &l[..a], &l[b + 1..]),
            _ => l.to_string(),
        })
        .collect()
}

/// `apps_ssl_info_callback` lines.
fn state_lines(err: &str) -> Vec<String> {
    err.lines()
        .filter(|l| l.starts_with("SSL_accept:") || l.starts_with("SSL3 alert "))
        .map(str::to_string)
        .collect()
}

#[test]
fn msg_and_state_match_real_s_server() {
    require!("openssl");
    // The reference is the system's s_server; another OpenSSL (1.1.1, the vendored 3.5)
    // reports other messages.
    if !sserve_tests::server_is_system_openssl() {
        return;
    }
    let dir = TestDir::new();
    let args = ["-msg", "-state", "-naccept", "1"];
    let client = ["-tls1_3"];
    let ours = one_connection(server!(&dir).args(args).start(), &client);
    let real = one_connection(Server::builder(REAL_S_SERVER, &dir).args(args).start(), &client);
    let (ours_msg, real_msg) = (msg_headers(&ours.0), msg_headers(&real.0));
    assert!(
        ours_msg.iter().any(|l| l == "<<< TLS 1.3, Handshake, ClientHello"),
        "{ours_msg:#?}"
    );
    assert_eq!(
        ours_msg, real_msg,
        "-msg lines differ\nours: {}\nreal: {}",
        ours.0, real.0
    );
    // Every header is followed by the message bytes, 16 to a line.
    assert!(ours.0.lines().any(|l| l.starts_with("    16 03 ")), "{}", ours.0);
    let (ours_state, real_state) = (state_lines(&ours.1), state_lines(&real.1));
    assert!(
        ours_state.iter().any(|l| l == "SSL_accept:SSLv3/TLS read client hello"),
        "{}",
        ours.1
    );
    assert!(ours_state.iter().any(|l| l == "SSL3 alert read:warning:close notify"));
    assert_eq!(
        ours_state, real_state,
        "-state lines differ\nours: {}\nreal: {}",
        ours.1, real.1
    );
}

#[test]
fn msg_in_tls12_matches_real_s_server() {
    require!("openssl");
    // The reference is the system's s_server; another OpenSSL (1.1.1, the vendored 3.5)
    // reports other messages.
    if !sserve_tests::server_is_system_openssl() {
        return;
    }
    let dir = TestDir::new();
    let args = ["-msg", "-state", "-naccept", "1"];
    let client = ["-tls1_2"];
    let ours = one_connection(server!(&dir).args(args).start(), &client);
    let real = one_connection(Server::builder(REAL_S_SERVER, &dir).args(args).start(), &client);
    assert!(msg_headers(&ours.0)
        .iter()
        .any(|l| l == ">>> TLS 1.2, Handshake, ServerHelloDone"));
    assert_eq!(
        msg_headers(&ours.0),
        msg_headers(&real.0),
        "ours: {}\nreal: {}",
        ours.0,
        real.0
    );
    assert_eq!(
        state_lines(&ours.1),
        state_lines(&real.1),
        "ours: {}\nreal: {}",
        ours.1,
        real.1
    );
}

#[test]
fn tlsextdebug_shows_client_extensions() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-tlsextdebug", "-naccept", "1"]).start();
    let (out, _) = one_connection(srv, &[]);
    // s_client sends `-servername localhost`: 2-byte list length, type 0, 2-byte name length.
    let sni = "TLS client extension \"server name\" (id=0), len=14\n\
               0000 - 00 0c 00 00 09 6c 6f 63-61 6c 68 6f 73 74         .....localhost\n";
    assert!(out.contains(sni), "{out}");
    assert!(
        out.contains("TLS client extension \"key share\" (id=51), len="),
        "{out}"
    );
    assert!(
        out.contains("TLS client extension \"supported versions\" (id=43), len="),
        "{out}"
    );
}

#[test]
fn security_debug_reports_refused_checks() {
    require!("openssl");
    let dir = TestDir::new();
    // Security level 3 refuses 112-bit algorithms the client offers, and TLS 1.0.
    let srv = server!(&dir)
        .args(["-security_debug", "-cipher", "DEFAULT:@SECLEVEL=3", "-naccept", "1"])
        .start();
    let (_, err) = one_connection(srv, &[]);
    assert!(err.contains("Security callback: Version=TLS 1.0: no\n"), "{err}");
    assert!(
        err.contains(
            "Security callback: Shared Signature Algorithm digest=SHA224, algorithm=ECDSA, security bits=112: no\n"
        ),
        "{err}"
    );
    // Without _verbose, passing checks are not shown.
    assert!(!err.contains(": yes\n"), "{err}");
}

#[test]
fn security_debug_verbose_reports_every_check() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-security_debug_verbose", "-naccept", "1"]).start();
    let (_, err) = one_connection(srv, &["-tls1_3"]);
    // At start-up, on the server certificate (P-256; OpenSSL 3 names no algorithm here,
    // 1.1.1 says EC).
    let key = if sserve_tests::server_is_ossl3() { "" } else { "EC" };
    assert!(
        err.contains(&format!(
            "Security callback: Certificate chain EE key={key}, bits=256, security bits=128: yes\n"
        )),
        "{err}"
    );
    assert!(err.contains("Security callback: Version=TLS 1.3: yes\n"), "{err}");
    assert!(err.contains("Security callback: Shared Ciphersuite=TLS_"), "{err}");
}

#[test]
fn trace_prints_ssl_trace() {
    require!("openssl");
    // Builds without enable-ssl-trace refuse -trace (tests/tests/openssl_versions.rs).
    if sserve_tests::unsupported_option("trace").is_some() {
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-trace", "-naccept", "1"]).start();
    let (out, _) = one_connection(srv, &[]);
    // OpenSSL 3.2 and later say "Received TLS Record".
    assert!(
        out.contains("Received Record\nHeader:\n  Version = TLS 1.0 (0x301)\n")
            || out.contains("Received TLS Record\nHeader:\n  Version = TLS 1.0 (0x301)\n"),
        "{out}"
    );
    assert!(out.contains("    ClientHello, Length="), "{out}");
    assert!(
        out.contains("Sent Record\n") || out.contains("Sent TLS Record\n"),
        "{out}"
    );
    assert!(out.contains("    ServerHello, Length="), "{out}");
}

/// Checks `bio_dump_callback`'s lines: the 5-byte record header read first, then dumps.
fn assert_debug_dumps(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("read from 0x"))
        .unwrap_or_else(|| panic!("no read dump\n{out}"));
    assert!(
        lines[first].ends_with(" (5 bytes => 5 (0x5))") && lines[first].contains("] "),
        "{}",
        lines[first]
    );
    // A TLS handshake record header: 16 03 01 (ClientHello).
    assert!(lines[first + 1].starts_with("0000 - 16 03 01 "), "{}", lines[first + 1]);
    let write = lines
        .iter()
        .find(|l| l.starts_with("write to 0x"))
        .unwrap_or_else(|| panic!("no write dump\n{out}"));
    let (n, hex) = write
        .rsplit_once(" => ")
        .and_then(|(_, r)| r.trim_end_matches("))").split_once(" (0x"))
        .unwrap_or_else(|| panic!("{write}"));
    assert_eq!(format!("{:X}", n.parse::<usize>().unwrap()), hex, "{write}");
}

#[test]
fn debug_dumps_transport_reads_and_writes() {
    require!("openssl");
    let dir = TestDir::new();
    // -debug also makes -quiet's silenced output visible again, as in s_server.
    let srv = server!(&dir).args(["-debug", "-quiet", "-naccept", "1"]).start();
    let (out, _) = one_connection(srv, &[]);
    assert_debug_dumps(&out);
    assert!(out.contains("CONNECTION CLOSED"), "{out}");
}

#[test]
fn msg_and_debug_in_www_mode() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-www", "-msg", "-debug", "-naccept", "1"]).start();
    let mut client = s_client(srv.port, &["-quiet"]);
    client.write_stdin(b"GET / HTTP/1.0\r\n\r\n");
    client.expect_stdout("HTTP/1.0 200 ok");
    client.close_stdin();
    client.expect_exit(TIMEOUT);
    srv.proc.wait_exit(TIMEOUT).expect("server exits after -naccept 1");
    srv.stdout().wait_closed(TIMEOUT);
    let out = srv.stdout().text();
    assert!(out.contains("<<< TLS 1.3, Handshake [length "), "{out}");
    assert!(out.contains("], ClientHello\n"), "{out}");
    assert!(out.contains("], NewSessionTicket\n"), "{out}");
    assert_debug_dumps(&out);
}

#[test]
fn msgfile_takes_msg_output_off_stdout() {
    require!("openssl");
    let dir = TestDir::new();
    let file = dir.join("msgs.txt");
    let srv = server!(&dir)
        .args(["-msg", "-msgfile"])
        .arg(&file)
        .args(["-naccept", "1"])
        .start();
    let (out, _) = one_connection(srv, &[]);
    let msgs = std::fs::read_to_string(&file).expect("msgfile written");
    assert!(msgs.contains("<<< TLS 1.3, Handshake [length "), "{msgs}");
    assert!(msgs.contains("], ClientHello\n"), "{msgs}");
    assert!(!out.contains("<<< ") && !out.contains(">>> "), "{out}");
    assert!(out.contains("CIPHER is "), "{out}");
}

#[test]
fn msgfile_that_cannot_be_written_is_an_error() {
    let dir = TestDir::new();
    let bad = dir.join("no/such/dir/msgs.txt");
    let done = server!(&dir).args(["-msg", "-msgfile"]).arg(&bad).run_to_exit(TIMEOUT);
    assert!(!done.success(), "{}", done.dump());
    assert!(
        done.err().contains(&format!("Error writing file {}", bad.display())),
        "{}",
        done.dump()
    );
}

#[test]
fn diagnostics_are_refused_with_json() {
    if sserve_tests::is_openssl() {
        return; // -json is sserve's own option
    }
    let dir = TestDir::new();
    let done = server!(&dir).args(["-json", "-msg"]).run_to_exit(TIMEOUT);
    assert_eq!(done.code(), Some(1), "{}", done.dump());
    assert!(
        done.err()
            .contains("-msg prints s_server's text output and cannot be combined with -json"),
        "{}",
        done.dump()
    );
}

/// A refused handshake (version mismatch): the fatal alert and `error in` lines.
fn failed_connection(srv: Server) -> (String, String) {
    let mut srv = srv;
    let mut client = s_client(srv.port, &["-tls1_3"]);
    client.expect_exit(TIMEOUT);
    if srv.proc.wait_exit(TIMEOUT).is_none() {
        panic!("server did not exit after -naccept 1\n{}", srv.dump());
    }
    srv.stdout().wait_closed(TIMEOUT);
    srv.stderr().wait_closed(TIMEOUT);
    (srv.stdout().text(), srv.stderr().text())
}

#[test]
fn failed_handshake_msg_and_state_match_real_s_server() {
    require!("openssl");
    // The reference is the system's s_server; another OpenSSL (1.1.1, the vendored 3.5)
    // reports other messages.
    if !sserve_tests::server_is_system_openssl() {
        return;
    }
    let dir = TestDir::new();
    let args = ["-msg", "-state", "-tls1_2", "-naccept", "1"];
    let ours = failed_connection(server!(&dir).args(args).start());
    let real = failed_connection(Server::builder(REAL_S_SERVER, &dir).args(args).start());
    assert!(
        msg_headers(&ours.0)
            .iter()
            .any(|l| l == ">>> TLS 1.2, Alert, fatal protocol_version"),
        "{}",
        ours.0
    );
    let ours_state = state_lines(&ours.1);
    assert!(
        ours_state
            .iter()
            .any(|l| l == "SSL3 alert write:fatal:protocol version"),
        "{}",
        ours.1
    );
    assert!(
        ours_state.iter().any(|l| l == "SSL_accept:error in error"),
        "{}",
        ours.1
    );
    assert_eq!(
        msg_headers(&ours.0),
        msg_headers(&real.0),
        "ours: {}\nreal: {}",
        ours.0,
        real.0
    );
    assert_eq!(ours_state, state_lines(&real.1), "ours: {}\nreal: {}", ours.1, real.1);
}

/// A peer that closes mid-handshake, after sending `sent` (nothing, or part of a record): the
/// server's `-state` lines, `-naccept 1`.
fn closed_early(srv: Server, sent: &[u8]) -> String {
    use std::io::Write;
    let mut srv = srv;
    let mut peer = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    peer.write_all(sent).unwrap();
    drop(peer);
    if srv.proc.wait_exit(TIMEOUT).is_none() {
        panic!("server did not exit after -naccept 1\n{}", srv.dump());
    }
    srv.stderr().wait_closed(TIMEOUT);
    srv.stderr().text()
}

#[test]
fn peer_closing_mid_handshake_gets_s_servers_state_lines() {
    require!("openssl");
    let dir = TestDir::new();
    let args = ["-state", "-naccept", "1"];
    for sent in [&b""[..], b"\x16\x03\x01"] {
        let ours = closed_early(server!(&dir).args(args).start(), sent);
        let lines = state_lines(&ours);
        // OpenSSL 3 answers the cut-short stream with an alert and an error state; 1.1.1 takes
        // it as a plain end, but still reports the handshake's failed end.
        if sserve_tests::server_is_ossl3() {
            assert_eq!(
                lines,
                [
                    "SSL_accept:before SSL initialization",
                    "SSL3 alert write:fatal:decode error",
                    "SSL_accept:error in error",
                ],
                "after {sent:?}: {ours}"
            );
        } else {
            let last = lines.last().map(String::as_str).unwrap_or_default();
            assert!(
                last.starts_with("SSL_accept:error in ") || last.starts_with("SSL_accept:failed in "),
                "after {sent:?}: {ours}"
            );
        }
        if sserve_tests::server_is_system_openssl() {
            let real = closed_early(Server::builder(REAL_S_SERVER, &dir).args(args).start(), sent);
            assert_eq!(lines, state_lines(&real), "after {sent:?}\nours: {ours}\nreal: {real}");
        }
    }
}
