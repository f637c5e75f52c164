//! Protocol options handed to OpenSSL's `SSL_CONF_cmd` (as s_server does) and the remaining
//! certificate, output and buffer options, each against `openssl s_client`: the test shows the
//! option acting where a client can see it, else that the server takes it and still serves.

use sserve_tests::{openssl, require, s_client_finish, server, Finished, TestDir, TIMEOUT};

/// One complete `s_client` session against `port` (stdin closed at once).
fn client(port: u16, args: &[&str]) -> Finished {
    s_client_finish(port, args, b"")
}

/// s_client's `New, TLSv1.x, Cipher is X` line.
fn cipher_line(f: &Finished) -> String {
    f.out()
        .lines()
        .find(|l| l.starts_with("New, ") || l.starts_with("Reused, "))
        .unwrap_or_else(|| panic!("no cipher line\n{}", f.dump()))
        .to_string()
}

/// How many of `-reconnect`'s six handshakes resumed a session.
fn reused(f: &Finished) -> usize {
    f.out().lines().filter(|l| l.starts_with("Reused, ")).count()
}

#[test]
fn groups_curves_and_named_curve_choose_the_key_exchange_group() {
    require!("openssl");
    let dir = TestDir::new();
    for flag in ["-groups", "-curves"] {
        let srv = server!(&dir).args([flag, "P-384"]).start();
        let f = client(srv.port, &[]);
        assert!(
            f.out().contains("Server Temp Key: ECDH, secp384r1"),
            "{flag}\n{}",
            f.dump()
        );
    }
    // -named_curve is the TLS 1.2 ECDHE curve.
    let srv = server!(&dir).args(["-named_curve", "P-384"]).start();
    let f = client(srv.port, &["-tls1_2"]);
    assert!(f.out().contains("Server Temp Key: ECDH, secp384r1"), "{}", f.dump());
}

#[test]
fn ciphersuites_serverpref_and_prioritize_chacha_choose_the_cipher() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir)
        .args(["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"])
        .start();
    assert!(cipher_line(&client(srv.port, &[])).ends_with("TLS_CHACHA20_POLY1305_SHA256"));
    drop(srv);

    // TLS 1.2: the client prefers AES128, the server AES256; -serverpref makes the server's win.
    let server_order = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
    let client_order = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384";
    let plain = server!(&dir).args(["-cipher", server_order]).start();
    let f = client(plain.port, &["-tls1_2", "-cipher", client_order]);
    assert!(
        cipher_line(&f).ends_with("ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{}",
        f.dump()
    );
    let pref = server!(&dir).args(["-cipher", server_order, "-serverpref"]).start();
    let f = client(pref.port, &["-tls1_2", "-cipher", client_order]);
    assert!(
        cipher_line(&f).ends_with("ECDHE-ECDSA-AES256-GCM-SHA384"),
        "{}",
        f.dump()
    );

    // -prioritize_chacha: with -serverpref, ChaCha20 still wins for a client that puts it first.
    // The server's default order puts AES-256 before ChaCha20.
    let chacha_first = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";
    let srv = server!(&dir).args(["-serverpref"]).start();
    let f = client(srv.port, &["-ciphersuites", chacha_first]);
    assert!(
        !cipher_line(&f).ends_with("TLS_CHACHA20_POLY1305_SHA256"),
        "{}",
        f.dump()
    );
    let srv = server!(&dir).args(["-serverpref", "-prioritize_chacha"]).start();
    let f = client(srv.port, &["-ciphersuites", chacha_first]);
    assert!(
        cipher_line(&f).ends_with("TLS_CHACHA20_POLY1305_SHA256"),
        "{}",
        f.dump()
    );
}

#[test]
fn protocol_range_options_limit_the_versions() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-min_protocol", "TLSv1.3"]).start();
    assert!(!client(srv.port, &["-tls1_2"]).success());
    assert!(cipher_line(&client(srv.port, &[])).starts_with("New, TLSv1.3"));
    for args in [&["-max_protocol", "TLSv1.2"][..], &["-no_tls1_3"][..]] {
        let srv = server!(&dir).args(args).start();
        let f = client(srv.port, &[]);
        assert!(cipher_line(&f).starts_with("New, TLSv1.2"), "{args:?}\n{}", f.dump());
    }
    // -no_tls1 / -no_tls1_1 (TLS 1.0/1.1 need security level 0 in OpenSSL 3, on both sides).
    let lax = "DEFAULT:@SECLEVEL=0";
    for (no, version) in [("-no_tls1", "-tls1"), ("-no_tls1_1", "-tls1_1")] {
        let open = server!(&dir).args(["-cipher", lax]).start();
        assert!(
            client(open.port, &[version, "-cipher", lax]).success(),
            "{version} refused"
        );
        let closed = server!(&dir).args(["-cipher", lax, no]).start();
        assert!(
            !client(closed.port, &[version, "-cipher", lax]).success(),
            "{no} had no effect"
        );
    }
}

/// A TLS 1.3 session saved from a `-www` GET (the client reads the tickets before the page),
/// then offered again: was it resumed?
fn tls13_resumes(dir: &TestDir, server_args: &[&str]) -> bool {
    let srv = server!(dir).args(["-www"]).args(server_args).start();
    let sess = dir.join("sess.pem");
    let _ = std::fs::remove_file(&sess);
    let get = b"GET / HTTP/1.0\r\n\r\n";
    let first = s_client_finish(srv.port, &["-ign_eof", "-sess_out", sess.to_str().unwrap()], get);
    assert!(first.success(), "{}", first.dump());
    // Without a ticket s_client has no session to save.
    if !std::fs::read_to_string(&sess).is_ok_and(|t| t.contains("BEGIN SSL SESSION PARAMETERS")) {
        return false;
    }
    let second = s_client_finish(srv.port, &["-ign_eof", "-sess_in", sess.to_str().unwrap()], get);
    cipher_line(&second).starts_with("Reused, ")
}

#[test]
fn num_tickets_and_no_cache_control_resumption() {
    require!("openssl");
    let dir = TestDir::new();
    assert!(tls13_resumes(&dir, &[]), "no resumption by default");
    assert!(
        !tls13_resumes(&dir, &["-num_tickets", "0"]),
        "-num_tickets 0 still resumed"
    );
    // TLS 1.2 without tickets resumes from the session cache, unless -no_cache.
    let srv = server!(&dir).args(["-no_ticket"]).start();
    assert_eq!(reused(&client(srv.port, &["-reconnect", "-tls1_2"])), 5);
    let srv = server!(&dir).args(["-no_ticket", "-no_cache"]).start();
    assert_eq!(reused(&client(srv.port, &["-reconnect", "-tls1_2"])), 0);
}

#[test]
fn sigalgs_and_client_sigalgs_choose_signature_algorithms() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-sigalgs", "ECDSA+SHA384"]).start();
    let f = client(srv.port, &["-tls1_2"]);
    assert!(f.out().contains("Peer signing digest: SHA384"), "{}", f.dump());
    // -client_sigalgs: what the CertificateRequest lists.
    let ca = dir.pki.ca_cert.to_str().unwrap();
    let srv = server!(&dir)
        .args(["-verify", "1", "-CAfile", ca, "-client_sigalgs", "ECDSA+SHA512"])
        .start();
    let f = client(srv.port, &["-tls1_2"]);
    let requested = f
        .out()
        .lines()
        .find(|l| l.starts_with("Requested Signature Algorithms:"))
        .unwrap_or_else(|| panic!("{}", f.dump()))
        .to_string();
    assert_eq!(
        requested,
        "Requested Signature Algorithms: ECDSA+SHA512",
        "{}",
        f.dump()
    );
}

#[test]
fn brief_prints_only_the_connection_summary() {
    require!("openssl");
    let dir = TestDir::new();
    // -brief implies -quiet, so there is no ACCEPT line to learn a port from: choose one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let srv = server!(&dir).accept(port.to_string()).args(["-brief"]).spawn();
    let deadline = std::time::Instant::now() + TIMEOUT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "server did not listen\n{}",
            srv.dump()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let f = s_client_finish(port, &["-tls1_3"], b"hello-brief\n");
    assert!(f.success(), "{}", f.dump());
    // The summary goes to stderr (s_server's print_ssl_summary on bio_err), the data to stdout.
    for line in ["Protocol version: TLSv1.3", "Ciphersuite: TLS_"] {
        assert!(srv.stderr.wait_for(line, TIMEOUT), "no {line:?}\n{}", srv.dump());
    }
    assert!(srv.stdout.wait_for("hello-brief", TIMEOUT), "{}", srv.dump());
    let out = srv.stdout.text() + &srv.stderr.text();
    assert!(
        !out.contains("Shared ciphers"),
        "-brief printed the full summary\n{}",
        srv.dump()
    );
}

#[test]
fn certform_and_keyform_der() {
    require!("openssl");
    let dir = TestDir::new();
    let (cert, key) = (dir.join("cert.der"), dir.join("key.der"));
    let pem_cert = dir.pki.server_cert.to_str().unwrap();
    let pem_key = dir.pki.server_key.to_str().unwrap();
    let c = openssl(
        &[
            "x509",
            "-in",
            pem_cert,
            "-outform",
            "DER",
            "-out",
            cert.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(c.success(), "{}", c.dump());
    let k = openssl(
        &["pkey", "-in", pem_key, "-outform", "DER", "-out", key.to_str().unwrap()],
        dir.path(),
    );
    assert!(k.success(), "{}", k.dump());
    let srv = server!(&dir)
        .cert(&cert, &key)
        .args(["-certform", "DER", "-keyform", "DER"])
        .start();
    let f = client(srv.port, &[]);
    assert!(f.out().contains("CN = localhost"), "{}", f.dump());
    // Without the form options the format is detected, as by OpenSSL 3's loader in s_server.
    let detected = server!(&dir).cert(&cert, &key).start();
    assert!(client(detected.port, &[]).out().contains("CN = localhost"));
    // A wrong explicit format is an error: one line, exit 1.
    let wrong = server!(&dir)
        .cert(&dir.pki.server_cert, &dir.pki.server_key)
        .args(["-certform", "DER"])
        .run_to_exit(TIMEOUT);
    assert_eq!(wrong.code(), Some(1), "{}", wrong.dump());
}

#[test]
fn capath_holds_the_client_ca() {
    require!("openssl");
    let dir = TestDir::new();
    let cadir = dir.join("cadir");
    std::fs::create_dir_all(&cadir).unwrap();
    let hash = openssl(
        &[
            "x509",
            "-in",
            dir.pki.ca_cert.to_str().unwrap(),
            "-noout",
            "-subject_hash",
        ],
        dir.path(),
    );
    std::fs::copy(&dir.pki.ca_cert, cadir.join(format!("{}.0", hash.out().trim()))).unwrap();
    let srv = server!(&dir)
        .args([
            "-Verify",
            "1",
            "-verify_return_error",
            "-CApath",
            cadir.to_str().unwrap(),
        ])
        .start();
    let (cert, key) = (
        dir.pki.client_cert.to_str().unwrap(),
        dir.pki.client_key.to_str().unwrap(),
    );
    let f = s_client_finish(srv.port, &["-cert", cert, "-key", key], b"with-cert\n");
    assert!(f.success(), "{}", f.dump());
    srv.expect_stdout("with-cert");
    srv.expect_stderr("verify return:1");
    drop(srv);
    // With an empty -CApath the same client certificate does not verify.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let srv = server!(&dir)
        .args([
            "-Verify",
            "1",
            "-verify_return_error",
            "-CApath",
            empty.to_str().unwrap(),
        ])
        .start();
    let _ = s_client_finish(srv.port, &["-cert", cert, "-key", key], b"x\n");
    srv.expect_stderr("verify error:num=20");
}

#[test]
fn http_server_binmode_serves_bytes_unchanged() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    std::fs::write(dir.www().join("bin.dat"), &bytes).unwrap();
    let srv = server!(&dir).args(["-WWW", "-http_server_binmode"]).start();
    let out = dir.join("got.dat");
    let got = sserve_tests::curl(&[
        "-k",
        "-o",
        out.to_str().unwrap(),
        &format!("https://127.0.0.1:{}/bin.dat", srv.port),
    ]);
    assert!(got.success(), "{}", got.dump());
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
}

/// Options whose effect a stock `s_client` cannot show (OpenSSL has no SSLv3 or compression
/// here; renegotiation and workaround flags change nothing in a plain handshake; buffer sizes
/// are invisible): the server must take each, hand it to OpenSSL and serve a normal session.
#[test]
fn flags_without_a_visible_effect_are_taken_and_the_server_serves() {
    require!("openssl");
    let dir = TestDir::new();
    let cases: &[&[&str]] = &[
        &["-bugs"],
        &["-comp"],
        &["-no_comp"],
        &["-no_etm"],
        &["-strict"],
        &["-allow_no_dhe_kex"],
        &["-legacy_renegotiation"],
        &["-client_renegotiation"],
        &["-no_renegotiation"],
        &["-no_ssl3"],
        &["-no-CAfile"],
        &["-no-CApath"],
        &["-record_padding", "512"],
        &["-read_buf", "65536"],
        &["-max_pipelines", "4"],
    ];
    for args in cases {
        // Options the linked OpenSSL lacks are refused (tests/tests/openssl_versions.rs).
        if sserve_tests::unsupported_option(args[0].trim_start_matches('-')).is_some() {
            continue;
        }
        let srv = server!(&dir).args(*args).start();
        let f = s_client_finish(srv.port, &[], b"ping\n");
        assert!(f.success(), "{args:?}\n{}\n{}", f.dump(), srv.dump());
        srv.expect_stdout("ping");
    }
}
