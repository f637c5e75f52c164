//! Start-up errors and exit status, the ephemeral certificate, and robustness against peers
//! that do not speak TLS.

use sserve_tests::{
    curl, expect_client_handshake, is_openssl, openssl, require, s_client, server, tcp_garbage, tcp_send_then_fin,
    TestDir, TIMEOUT,
};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn nonempty_lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn bad_flag_exits_1_with_one_line() {
    require!("openssl");
    let dir = TestDir::new();
    let f = server!(&dir).arg("-bogus").run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("-bogus"),
        "stderr does not name the flag\n{}",
        f.dump()
    );
    assert!(!f.out().contains("ACCEPT"), "{}", f.dump());
    if !is_openssl() {
        // s_server adds "s_server: Use -help for summary."; sserve says it in one line.
        assert_eq!(nonempty_lines(&f.err()).len(), 1, "{}", f.dump());
    }
}

#[test]
fn extra_argument_exits_1() {
    require!("openssl");
    let dir = TestDir::new();
    let f = server!(&dir).arg("stray-argument").run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(!f.err().trim().is_empty(), "{}", f.dump());
}

#[test]
fn help_exits_0() {
    require!("openssl");
    let dir = TestDir::new();
    let f = server!(&dir).arg("-help").run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(0), "{}", f.dump());
    let all = format!("{}{}", f.out(), f.err());
    for opt in ["-accept", "-cert", "-www", "-WWW", "-HTTP", "-rev", "-naccept"] {
        assert!(all.contains(opt), "-help does not mention {opt}\n{}", f.dump());
    }
}

/// An encrypted P-256 key (password `right`) and a self-signed certificate for it.
fn encrypted_key(dir: &TestDir) -> (String, String) {
    let d = dir.path();
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes256",
            "-pass",
            "pass:right",
            "-out",
            "enc.key",
        ],
        d,
    );
    openssl(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "enc.key",
            "-passin",
            "pass:right",
            "-subj",
            "/CN=localhost",
            "-days",
            "2",
            "-out",
            "enc.pem",
        ],
        d,
    );
    (
        d.join("enc.pem").to_str().unwrap().to_owned(),
        d.join("enc.key").to_str().unwrap().to_owned(),
    )
}

#[test]
fn wrong_key_password_exits_1() {
    require!("openssl");
    let dir = TestDir::new();
    let (cert, key) = encrypted_key(&dir);
    let f = server!(&dir)
        .cert(&cert, &key)
        .args(["-pass", "pass:wrong"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(!f.err().trim().is_empty(), "no error message\n{}", f.dump());
    assert!(!f.out().contains("ACCEPT"), "{}", f.dump());
}

#[test]
fn right_key_password_serves() {
    require!("openssl");
    let dir = TestDir::new();
    let (cert, key) = encrypted_key(&dir);
    let srv = server!(&dir).cert(&cert, &key).args(["-pass", "pass:right"]).start();
    let mut client = s_client(srv.port, &[]);
    expect_client_handshake(&client);
    client.write_stdin(b"pass-ok\n");
    srv.expect_stdout("pass-ok");
}

#[test]
fn unreadable_key_or_cert_exits_1() {
    require!("openssl");
    let dir = TestDir::new();
    let missing = dir.join("missing.pem");
    let f = server!(&dir).cert(&dir.pki.server_cert, &missing).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "missing key\n{}", f.dump());
    let f = server!(&dir).cert(&missing, &dir.pki.server_key).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "missing cert\n{}", f.dump());
    // A key that does not match the certificate.
    let f = server!(&dir)
        .cert(&dir.pki.server_cert, &dir.pki.client_key)
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "mismatched key\n{}", f.dump());
}

#[test]
fn port_in_use() {
    require!("openssl");
    let dir = TestDir::new();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let f = server!(&dir).accept(format!("127.0.0.1:{port}")).run_to_exit(TIMEOUT);
    assert!(f.status.is_some(), "server did not exit\n{}", f.dump());
    assert!(
        f.err().to_lowercase().contains("in use"),
        "stderr does not say the address is in use\n{}",
        f.dump()
    );
    if !is_openssl() {
        // Documented deviation: s_server exits 0 here.
        assert_eq!(f.code(), Some(1), "{}", f.dump());
    }
    drop(busy);
}

/// Extracts a SHA-256 fingerprint (64 hex digits, colons optional) from text.
fn find_fingerprint(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
        .map(|tok| tok.replace(':', ""))
        .find(|hex| hex.len() == 64)
        .map(|h| h.to_ascii_uppercase())
}

/// The first PEM certificate in `text`.
fn first_pem_cert(text: &str) -> Option<String> {
    let start = text.find("-----BEGIN CERTIFICATE-----")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = text[start..].find(end_marker)? + start + end_marker.len();
    Some(format!("{}\n", &text[start..end]))
}

#[test]
fn ephemeral_certificate_when_none_is_given() {
    require!("openssl");
    let dir = TestDir::new();
    // dir.www() is empty: no server.pem.
    if is_openssl() {
        // s_server cannot load server.pem and gives up.
        let f = server!(&dir).no_cert().run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{}", f.dump());
        return;
    }
    let srv = server!(&dir).no_cert().start();
    // The line is written before ACCEPT, but stderr is captured by another thread: wait for it.
    srv.stderr().wait_for("fingerprint", TIMEOUT);
    let err = srv.stderr().text();
    let line = err
        .lines()
        .find(|l| {
            let l = l.to_lowercase();
            l.contains("ephemeral") || l.contains("self-signed") || l.contains("self signed")
        })
        .unwrap_or_else(|| panic!("no ephemeral-certificate line on stderr\n{}", srv.dump()))
        .to_owned();
    let printed = find_fingerprint(&line).unwrap_or_else(|| panic!("no SHA-256 fingerprint in {line:?}"));

    let mut client = s_client(srv.port, &["-tls1_3", "-showcerts"]);
    expect_client_handshake(&client);
    client.expect_stdout("TLSv1.3");
    client.write_stdin(b"ephemeral-ok\n");
    srv.expect_stdout("ephemeral-ok");

    // The fingerprint printed is that of the certificate actually served.
    let pem = first_pem_cert(&client.stdout.text()).expect("server certificate in -showcerts");
    std::fs::write(dir.join("served.pem"), pem).unwrap();
    let fp = openssl(
        &["x509", "-in", "served.pem", "-noout", "-fingerprint", "-sha256"],
        dir.path(),
    );
    let actual = find_fingerprint(&fp.out()).expect("openssl x509 fingerprint");
    assert_eq!(printed, actual, "printed fingerprint is not the served certificate's");
    let info = openssl(&["x509", "-in", "served.pem", "-noout", "-text"], dir.path()).out();
    assert!(info.contains("DNS:localhost"), "{info}");
    assert!(info.contains("IP Address:127.0.0.1"), "{info}");
    assert!(info.contains("P-256") || info.contains("prime256v1"), "{info}");
}

#[test]
fn garbage_client_then_real_client_www() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).arg("-www").start();
    let _ = tcp_garbage(srv.port, b"GET / HTTP/1.0\r\n\r\n");
    assert!(
        srv.proc.is_running(),
        "server died on a plaintext client\n{}",
        srv.dump()
    );
    let url = srv.url("/");
    let f = curl(&["-k", &url]);
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    assert!(f.out().contains("Ciphers supported in s_server binary"), "{}", f.dump());
}

#[test]
fn garbage_client_then_real_client_console() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).start();
    let _ = tcp_garbage(srv.port, b"GET / HTTP/1.0\r\n\r\n");
    // Random binary that is not a ClientHello either.
    let _ = tcp_garbage(srv.port, &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 6, 7]);
    assert!(srv.proc.is_running(), "server died on a garbage client\n{}", srv.dump());
    let mut client = s_client(srv.port, &[]);
    expect_client_handshake(&client);
    client.write_stdin(b"after-garbage\n");
    srv.expect_stdout("after-garbage");
}

#[test]
fn silent_tcp_peer_is_timed_out() {
    require!("openssl", "curl");
    if is_openssl() {
        // s_server waits forever for a ClientHello (documented sserve deviation).
        eprintln!("skipped against openssl s_server: it has no handshake timeout");
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-www", "-handshake_timeout", "2"]).start();
    let _silent = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Connections are served one after another: this one can only be served once the
    // silent one has been dropped by the handshake timeout.
    let started = Instant::now();
    let url = srv.url("/");
    let f = curl(&["-k", &url]);
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    assert!(f.out().contains("Ciphers supported in s_server binary"));
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "took {:?}",
        started.elapsed()
    );
}

/// A fatal alert record as OpenSSL 3.0 sends it before a version is agreed: content type 21,
/// record version 0x0303, length 2, level fatal (2), then the description.
fn fatal_alert(description: u8) -> Vec<u8> {
    vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
}

/// An SSLv2-format ClientHello (2-byte header with the high bit set) for TLS 1.2, offering three
/// ECDHE-ECDSA suites, with a 16-byte challenge.
fn sslv2_client_hello() -> Vec<u8> {
    let ciphers = [0x00, 0xc0, 0x2b, 0x00, 0xc0, 0x2c, 0x00, 0xc0, 0x09];
    let mut body = vec![0x01, 0x03, 0x03, 0x00, ciphers.len() as u8, 0x00, 0x00, 0x00, 16];
    body.extend_from_slice(&ciphers);
    body.extend(0u8..16);
    let mut hello = vec![0x80, body.len() as u8];
    hello.extend(body);
    hello
}

/// A stream that ends inside a record (or an SSLv2 hello) gets a decode_error alert
/// ("unexpected eof while reading"), byte for byte as from s_server; OpenSSL 1.1.1 sends nothing
/// (as s_server 1.1.1 does).
#[test]
fn record_cut_short_by_fin_gets_decode_error_alert() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-www").start();
    let hello = sslv2_client_hello();
    let cuts: [&[u8]; 5] = [
        b"\x16",
        b"\x16\x03\x01",
        b"\x16\x03\x01\x02\x00",
        b"\x16\x03\x01\x02\x00\x01",
        &hello[..10],
    ];
    let expected = if sserve_tests::server_is_ossl3() {
        fatal_alert(50)
    } else {
        Vec::new()
    };
    for cut in cuts {
        let got = tcp_send_then_fin(srv.port, cut);
        assert_eq!(got, expected, "after {cut:02x?}\nserver:\n{}", srv.dump());
    }
    // A complete SSLv2 hello is parsed, and refused with handshake_failure whether or not the
    // peer half-closes after it.
    assert_eq!(tcp_send_then_fin(srv.port, &hello), fatal_alert(40), "{}", srv.dump());
    assert_eq!(tcp_garbage(srv.port, &hello), fatal_alert(40), "{}", srv.dump());
    let f = curl(&["-k", &srv.url("/")]);
    assert!(f.success(), "still serving\n{}\nserver:\n{}", f.dump(), srv.dump());
}
