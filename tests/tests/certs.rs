//! Certificate and key-exchange extras against `openssl s_client`: the SNI context
//! (`-servername`, `-cert2`, `-key2`, `-servername_fatal`), a second certificate of another
//! key type (`-dcert`, `-dkey`, `-dpass`, `-dcertform`, `-dkeyform`, `-dcert_chain`), extended
//! certificates (`-xcert`, `-xkey`, `-xchain`, `-xchain_build`, `-xcertform`, `-xkeyform`),
//! `-serverinfo`, `-dhparam`, `-no_dhe` and `-nextprotoneg`.

use std::path::{Path, PathBuf};

use sserve_tests::{openssl, require, server, Finished, TestDir, SERVER_CN, TIMEOUT};

/// Runs `openssl s_client` to completion with empty stdin; `args` include any `-servername`.
fn s_client_run(port: u16, args: &[&str]) -> Finished {
    sserve_tests::s_client_finish(port, args, b"")
}

/// The subject of the certificate the server sent (s_client's ` 0 s:CN = …` line).
fn leaf_subject(f: &Finished) -> String {
    f.out()
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("0 s:").map(str::to_owned))
        .unwrap_or_else(|| panic!("no certificate in the s_client output\n{}", f.dump()))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Issues a certificate for `cn` from the test CA, with a new key of `alg` (`EC` or `RSA`),
/// into the PKI directory: returns (cert, key).
fn issue(dir: &TestDir, name: &str, cn: &str, alg: &str) -> (PathBuf, PathBuf) {
    let pki = dir.pki.ca_cert.parent().unwrap();
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    let csr = format!("{name}.csr");
    let opt = if alg == "RSA" {
        "rsa_keygen_bits:2048"
    } else {
        "ec_paramgen_curve:P-256"
    };
    openssl(&["genpkey", "-algorithm", alg, "-pkeyopt", opt, "-out", &key], pki);
    openssl(
        &["req", "-new", "-key", &key, "-out", &csr, "-subj", &format!("/CN={cn}")],
        pki,
    );
    openssl(
        &[
            "x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "30", "-out", &pem,
        ],
        pki,
    );
    (pki.join(pem), pki.join(key))
}

// ---------------------------------------------------------------------------------------------
// SNI: -servername, -cert2, -key2, -servername_fatal
// ---------------------------------------------------------------------------------------------

#[test]
fn servername_switches_to_cert2_and_reports_the_host_name() {
    require!("openssl");
    let dir = TestDir::new();
    let (cert2, key2) = issue(&dir, "second", "second.example", "EC");
    let srv = server!(&dir)
        .args(["-servername", "second.example", "-cert2", p(&cert2), "-key2", p(&key2)])
        .start();
    srv.expect_stdout("Setting secondary ctx parameters\n");

    // The name matches case-insensitively: the second certificate is used.
    let hit = s_client_run(srv.port, &["-servername", "SECOND.example"]);
    assert_eq!(leaf_subject(&hit), "CN = second.example", "{}", srv.dump());
    srv.expect_stdout("Hostname in TLS extension: \"SECOND.example\"\nSwitching server context.\n");

    // Another name: a warning alert only; the first certificate is used.
    let miss = s_client_run(srv.port, &["-servername", "other.example", "-tls1_2"]);
    assert!(miss.success(), "{}", miss.dump());
    assert_eq!(leaf_subject(&miss), format!("CN = {SERVER_CN}"));
    srv.expect_stdout("Hostname in TLS extension: \"other.example\"\n");

    // No SNI at all: nothing printed, first certificate.
    let none = s_client_run(srv.port, &["-noservername"]);
    assert_eq!(leaf_subject(&none), format!("CN = {SERVER_CN}"));
    srv.expect_stdout("CONNECTION CLOSED");
    let out = srv.stdout().text();
    assert_eq!(out.matches("Hostname in TLS extension").count(), 2, "{out}");
    assert_eq!(out.matches("Switching server context.").count(), 1, "{out}");
}

#[test]
fn servername_fatal_rejects_other_names_with_unrecognized_name() {
    require!("openssl");
    let dir = TestDir::new();
    let (cert2, key2) = issue(&dir, "second", "second.example", "EC");
    let srv = server!(&dir)
        .args(["-servername", "second.example", "-servername_fatal"])
        .args(["-cert2", p(&cert2), "-key2", p(&key2)])
        .start();
    let miss = s_client_run(srv.port, &["-servername", "other.example"]);
    assert!(
        miss.err().contains("unrecognized name") && miss.err().contains("alert number 112"),
        "{}",
        miss.dump()
    );
    let hit = s_client_run(srv.port, &["-servername", "second.example"]);
    assert_eq!(leaf_subject(&hit), "CN = second.example", "{}", srv.dump());
    // A client without SNI is not a mismatch.
    let none = s_client_run(srv.port, &["-noservername"]);
    assert_eq!(leaf_subject(&none), format!("CN = {SERVER_CN}"), "{}", srv.dump());
}

#[test]
fn servername_lines_are_not_printed_with_quiet() {
    require!("openssl");
    let dir = TestDir::new();
    let (cert2, key2) = issue(&dir, "second", "second.example", "EC");
    // -quiet prints no ACCEPT line: listen on a port chosen here.
    let port = free_port();
    let srv = server!(&dir)
        .accept(port.to_string())
        .args([
            "-quiet",
            "-servername",
            "second.example",
            "-cert2",
            p(&cert2),
            "-key2",
            p(&key2),
        ])
        .spawn();
    let hit = retry_connect(port, &["-servername", "second.example"]);
    assert_eq!(leaf_subject(&hit), "CN = second.example");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = srv.stdout.text();
    assert!(
        !out.contains("Hostname in TLS extension") && !out.contains("Switching") && !out.contains("secondary"),
        "{out}"
    );
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// s_client against a server that prints no ACCEPT line: retry until it listens.
fn retry_connect(port: u16, args: &[&str]) -> Finished {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let f = s_client_run(port, args);
        if f.success() || std::time::Instant::now() > deadline {
            return f;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn servername_without_cert2_uses_server2_pem() {
    require!("openssl");
    let dir = TestDir::new();
    // No server2.pem in the working directory: a start-up error.
    let f = server!(&dir)
        .args(["-servername", "second.example"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("server2.pem"), "{}", f.dump());
    // With server2.pem (certificate and key in one file) it is the second certificate.
    let (cert2, key2) = issue(&dir, "second", "second.example", "EC");
    let mut both = std::fs::read(&cert2).unwrap();
    both.extend(std::fs::read(&key2).unwrap());
    std::fs::write(dir.www().join("server2.pem"), both).unwrap();
    let srv = server!(&dir).args(["-servername", "second.example"]).start();
    let hit = s_client_run(srv.port, &["-servername", "second.example"]);
    assert_eq!(leaf_subject(&hit), "CN = second.example", "{}", srv.dump());
    // -cert2 alone (no -servername) is ignored, as in s_server: even a missing file.
    let lone = server!(&dir).args(["-cert2", "/nonexistent/cert2.pem"]).start();
    let f = s_client_run(lone.port, &["-servername", "second.example"]);
    assert_eq!(leaf_subject(&f), format!("CN = {SERVER_CN}"), "{}", lone.dump());
}

// ---------------------------------------------------------------------------------------------
// -dcert and friends
// ---------------------------------------------------------------------------------------------

#[test]
fn dcert_serves_rsa_to_a_client_that_only_accepts_rsa() {
    require!("openssl");
    let dir = TestDir::new();
    let (rsa, _) = issue(&dir, "rsa", "rsa.example", "RSA");
    // An encrypted second key, opened with -dpass.
    let pki = dir.pki.ca_cert.parent().unwrap();
    openssl(
        &[
            "pkey",
            "-in",
            "rsa.key",
            "-aes256",
            "-passout",
            "pass:dsecret",
            "-out",
            "rsa-enc.key",
        ],
        pki,
    );
    let enc = pki.join("rsa-enc.key");
    let srv = server!(&dir)
        .args(["-dcert", p(&rsa), "-dkey", p(&enc), "-dpass", "pass:dsecret"])
        .args([
            "-dcertform",
            "PEM",
            "-dkeyform",
            "PEM",
            "-dcert_chain",
            p(&dir.pki.ca_cert),
        ])
        .start();
    // Default client: the (ECDSA) main certificate.
    let ec = s_client_run(srv.port, &["-servername", "localhost"]);
    assert_eq!(leaf_subject(&ec), format!("CN = {SERVER_CN}"), "{}", srv.dump());
    // RSA-only client (TLS 1.2, RSA signatures): the -dcert, sent with its -dcert_chain.
    let r = s_client_run(srv.port, &["-tls1_2", "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256"]);
    assert_eq!(leaf_subject(&r), "CN = rsa.example", "{}", srv.dump());
    assert!(r.out().contains(" 1 s:CN = sserve-test-ca"), "{}", r.dump());
    // The main certificate's chain is not the -dcert's.
    assert!(!ec.out().contains(" 1 s:"), "{}", ec.dump());

    // A wrong -dpass is a start-up error.
    let f = server!(&dir)
        .args(["-dcert", p(&rsa), "-dkey", p(&enc), "-dpass", "pass:wrong"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    // A key that does not belong to the certificate too.
    let f = server!(&dir)
        .args(["-dcert", p(&rsa), "-dkey", p(&dir.pki.client_key)])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
}

// ---------------------------------------------------------------------------------------------
// -xcert and friends
// ---------------------------------------------------------------------------------------------

#[test]
fn xcert_picks_a_valid_certificate_per_handshake() {
    require!("openssl");
    let dir = TestDir::new();
    let (rsa, rsa_key) = issue(&dir, "rsa", "rsa.example", "RSA");
    let (ec, ec_key) = issue(&dir, "ec", "ec.example", "EC");
    let srv = server!(&dir)
        .args(["-xcert", p(&rsa), "-xkey", p(&rsa_key), "-xchain", p(&dir.pki.ca_cert)])
        .args([
            "-xcert",
            p(&ec),
            "-xkey",
            p(&ec_key),
            "-xcertform",
            "PEM",
            "-xkeyform",
            "PEM",
        ])
        .start();
    // An ECDHE-RSA client: both are valid for its signature algorithms, the cipher picks RSA,
    // sent with its -xchain.
    let r = s_client_run(srv.port, &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]);
    assert_eq!(leaf_subject(&r), "CN = rsa.example", "{}", srv.dump());
    assert!(r.out().contains(" 1 s:CN = sserve-test-ca"), "{}", r.dump());
    srv.expect_stderr("Checking cert chain 1:\nSubject: CN = rsa.example\n\tOverall Validity: OK\n");
    srv.expect_stderr("Checking cert chain 2:\nSubject: CN = ec.example\n\tOverall Validity: OK\n");
    srv.expect_stderr("\tCertificate Type: OK\n\tSuite B: not tested\n");
    // An ECDSA-only client: the RSA chain cannot be signed explicitly with the client's
    // algorithms (still valid in TLS 1.2's lax mode); the EC one serves. The -cert one is
    // never used.
    let e = s_client_run(srv.port, &["-tls1_2", "-sigalgs", "ECDSA+SHA256"]);
    assert_eq!(leaf_subject(&e), "CN = ec.example", "{}", srv.dump());
    srv.expect_stderr("\tExplicitly sign with EE key: NOT OK\n");

    // -xchain_build builds the chain from the trust store (-CAfile).
    let srv = server!(&dir)
        .args(["-xcert", p(&rsa), "-xkey", p(&rsa_key), "-xchain_build"])
        .args(["-CAfile", p(&dir.pki.ca_cert)])
        .start();
    let r = s_client_run(srv.port, &["-tls1_2"]);
    assert_eq!(leaf_subject(&r), "CN = rsa.example", "{}", srv.dump());
}

#[test]
fn xcert_errors_are_refused_at_start() {
    require!("openssl");
    let dir = TestDir::new();
    let key = p(&dir.pki.server_key);
    let cert = p(&dir.pki.server_cert);
    for args in [
        vec!["-xcert", cert, "-xkey", key, "-xkey", key],
        vec!["-xcert", "/nonexistent.pem"],
    ] {
        let f = server!(&dir).args(&args).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{args:?}\n{}", f.dump());
    }
}

// ---------------------------------------------------------------------------------------------
// -serverinfo
// ---------------------------------------------------------------------------------------------

#[test]
fn serverinfo_extension_is_sent_to_a_client_that_asks() {
    require!("openssl");
    let dir = TestDir::new();
    // Extension 1000 with data "abcd", in SSL_CTX_use_serverinfo_file's PEM format.
    let file = dir.join("serverinfo.pem");
    std::fs::write(
        &file,
        "-----BEGIN SERVERINFO FOR TEST-----\nA+gABGFiY2Q=\n-----END SERVERINFO FOR TEST-----\n",
    )
    .unwrap();
    let srv = server!(&dir).args(["-serverinfo", p(&file)]).start();
    let f = s_client_run(srv.port, &["-tls1_2", "-serverinfo", "1000"]);
    assert!(
        f.out()
            .contains("-----BEGIN SERVERINFO FOR EXTENSION 1000-----\nA+gABGFiY2Q=\n"),
        "{}",
        f.dump()
    );
    // Not asked for: not sent.
    let f = s_client_run(srv.port, &["-tls1_2", "-serverinfo", "1001"]);
    assert!(!f.out().contains("SERVERINFO FOR EXTENSION"), "{}", f.dump());

    // A file with no serverinfo blocks is a start-up error.
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "nothing here\n").unwrap();
    let f = server!(&dir).args(["-serverinfo", p(&bad)]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
}

// ---------------------------------------------------------------------------------------------
// -dhparam, -no_dhe
// ---------------------------------------------------------------------------------------------

const DHE: &str = "DHE-RSA-AES128-GCM-SHA256";

#[test]
fn dhparam_sets_the_dhe_group() {
    require!("openssl");
    let dir = TestDir::new();
    let (rsa, rsa_key) = issue(&dir, "rsa", "rsa.example", "RSA");
    let pki = dir.pki.ca_cert.parent().unwrap();
    openssl(
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            "dh_param:ffdhe3072",
            "-out",
            "dh3072.pem",
        ],
        pki,
    );
    let srv = server!(&dir)
        .cert(&rsa, &rsa_key)
        .args(["-dhparam", p(&pki.join("dh3072.pem"))])
        .start();
    srv.expect_stdout("Setting temp DH parameters\nACCEPT");
    let f = s_client_run(srv.port, &["-tls1_2", "-cipher", DHE]);
    assert!(f.out().contains("Server Temp Key: DH, 3072 bits"), "{}", f.dump());
    drop(srv);

    // Without -dhparam, DH parameters in the -cert file are used.
    let mut with_dh = std::fs::read(&rsa).unwrap();
    with_dh.extend(std::fs::read(pki.join("dh3072.pem")).unwrap());
    let combined = pki.join("rsa-dh.pem");
    std::fs::write(&combined, with_dh).unwrap();
    let srv = server!(&dir).cert(&combined, &rsa_key).start();
    srv.expect_stdout("Setting temp DH parameters\nACCEPT");
    let f = s_client_run(srv.port, &["-tls1_2", "-cipher", DHE]);
    assert!(f.out().contains("Server Temp Key: DH, 3072 bits"), "{}", f.dump());
    drop(srv);

    // An unreadable -dhparam is reported and the built-in parameters are used, as s_server.
    let srv = server!(&dir)
        .cert(&rsa, &rsa_key)
        .args(["-dhparam", "/nonexistent/dh.pem"])
        .start();
    srv.expect_stdout("Using default temp DH parameters\nACCEPT");
    let f = s_client_run(srv.port, &["-tls1_2", "-cipher", DHE]);
    assert!(f.out().contains("Server Temp Key: DH, 2048 bits"), "{}", f.dump());
}

#[test]
fn no_dhe_fails_a_dhe_only_client() {
    require!("openssl");
    let dir = TestDir::new();
    let (rsa, rsa_key) = issue(&dir, "rsa", "rsa.example", "RSA");
    let srv = server!(&dir).cert(&rsa, &rsa_key).arg("-no_dhe").start();
    let f = s_client_run(srv.port, &["-tls1_2", "-cipher", DHE]);
    assert!(!f.success() && f.err().contains("handshake failure"), "{}", f.dump());
    // ECDHE still works.
    let f = s_client_run(srv.port, &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]);
    assert!(f.success(), "{}", f.dump());
    // No DH start-up line at all.
    assert!(!srv.stdout().text().contains("temp DH parameters"), "{}", srv.dump());
}

// ---------------------------------------------------------------------------------------------
// -nextprotoneg
// ---------------------------------------------------------------------------------------------

#[test]
fn nextprotoneg_advertises_and_reports_the_choice() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-nextprotoneg", "foo,bar"]).start();
    let f = s_client_run(srv.port, &["-tls1_2", "-nextprotoneg", "bar"]);
    assert!(
        f.out().contains("Protocols advertised by server: foo, bar"),
        "{}",
        f.dump()
    );
    assert!(f.out().contains("Next protocol: (1) bar"), "{}", f.dump());
    srv.expect_stdout("NEXTPROTO is bar\n");
    // With -tls1_3 there is no NPN: refused at start.
    let f = server!(&dir)
        .args(["-tls1_3", "-nextprotoneg", "foo"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("Cannot supply -nextprotoneg with TLSv1.3"),
        "{}",
        f.dump()
    );
}
