//! Protocol, session and record options against `openssl s_client`: `-tls1`, `-tls1_1`,
//! `-context`, `-keymatexport`, `-max_send_frag` (and its range check), `-no_ca_names`,
//! `-verify_quiet`, `-ignore_unexpected_eof`, `-no_resume_ephemeral`.

use sserve_tests::{expect_client_handshake, openssl, require, s_client, server, Proc, TestDir, TIMEOUT};

/// Runs `openssl s_client` to completion with empty stdin (a whole handshake, then close).
fn s_client_run(port: u16, args: &[&str]) -> sserve_tests::Finished {
    sserve_tests::s_client_finish(port, &[&["-servername", "localhost"], args].concat(), b"")
}

fn ca(dir: &TestDir) -> String {
    dir.pki.ca_cert.to_str().unwrap().to_owned()
}

#[test]
fn tls1_and_tls1_1_talk_only_their_version() {
    require!("openssl");
    for (flag, name) in [("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")] {
        let dir = TestDir::new();
        // OpenSSL 3's default security level forbids TLS < 1.2 (SHA-1 signatures), as s_server.
        let lax = "DEFAULT:@SECLEVEL=0";
        let srv = server!(&dir).args([flag, "-cipher", lax]).start();
        let ok = s_client_run(srv.port, &[flag, "-cipher", lax]);
        let protocol = format!("Protocol  : {name}");
        assert!(
            ok.out().lines().any(|l| l.trim() == protocol),
            "{flag}: expected {protocol}\n{}\n{}",
            ok.dump(),
            srv.dump()
        );
        // Any other version is refused.
        let newer = s_client_run(srv.port, &["-tls1_2"]);
        assert!(!newer.success(), "{flag} server accepted TLS 1.2\n{}", newer.dump());
        let newest = s_client_run(srv.port, &["-tls1_3"]);
        assert!(!newest.success(), "{flag} server accepted TLS 1.3\n{}", newest.dump());
        drop(srv);
        // Without @SECLEVEL=0 on the server the handshake fails, exactly as with s_server 3.x
        // (1.1.1's default level 1 still allows SHA-1 and so TLS 1.0 and 1.1).
        if !sserve_tests::server_is_ossl3() {
            continue;
        }
        let strict = server!(&dir).arg(flag).start();
        let f = s_client_run(strict.port, &[flag, "-cipher", lax]);
        assert!(
            !f.success(),
            "{flag} worked at the default security level\n{}",
            f.dump()
        );
    }
}

#[test]
fn multiple_protocol_flags_are_refused() {
    require!("openssl");
    let dir = TestDir::new();
    for args in [
        ["-tls1", "-tls1_2"],
        ["-tls1_1", "-tls1_3"],
        ["-tls1", "-tls1_1"],
        ["-tls1_2", "-tls1_3"],
    ] {
        let f = server!(&dir).args(args).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{args:?}\n{}", f.dump());
        assert!(
            f.err().contains("Cannot supply multiple protocol flags"),
            "{args:?}\n{}",
            f.dump()
        );
    }
    let f = server!(&dir).args(["-tls1_1", "-no_tls1_2"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("Cannot supply both a protocol flag and '-no_<prot>'"),
        "{}",
        f.dump()
    );
}

/// The PEM session block the server printed last.
fn last_session_pem(out: &str) -> String {
    let begin = out
        .rfind("-----BEGIN SSL SESSION PARAMETERS-----")
        .expect("session PEM");
    let end_marker = "-----END SSL SESSION PARAMETERS-----";
    let end = out[begin..].find(end_marker).expect("session PEM end") + begin + end_marker.len();
    format!("{}\n", &out[begin..end])
}

#[test]
fn context_sets_the_session_id_context_and_sessions_resume() {
    require!("openssl");
    let dir = TestDir::new();
    let context = "sserve-ctx-1";
    let srv = server!(&dir).args(["-context", context]).start();
    let sess = dir.join("client.sess");
    let sess = sess.to_str().unwrap();
    let first = s_client_run(srv.port, &["-tls1_2", "-sess_out", sess]);
    assert!(first.out().contains("New, "), "{}", first.dump());
    srv.expect_stdout("CIPHER is ");
    // The server's session carries our context (SSL_SESSION_print's Session-ID-ctx).
    let pem = dir.join("server.sess");
    std::fs::write(&pem, last_session_pem(&srv.stdout().text())).unwrap();
    let text = openssl(
        &["sess_id", "-in", pem.to_str().unwrap(), "-noout", "-text"],
        dir.path(),
    );
    let hex: String = context.bytes().map(|b| format!("{b:02X}")).collect();
    assert!(
        text.out().contains(&format!("Session-ID-ctx: {hex}")),
        "session id context is not {context:?}\n{}",
        text.dump()
    );
    // The same server resumes it.
    let mark = srv.stdout().len();
    let second = s_client_run(srv.port, &["-tls1_2", "-sess_in", sess]);
    assert!(second.out().contains("Reused, "), "{}\n{}", second.dump(), srv.dump());
    srv.expect_stdout_from(mark, "Reused session-id");
}

fn keying_material(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("    Keying material: "))
        .map(|h| h.trim().to_string())
}

#[test]
fn keymatexport_matches_s_client() {
    require!("openssl");
    let dir = TestDir::new();
    for (len, version) in [("20", "-tls1_3"), ("33", "-tls1_2")] {
        let srv = server!(&dir)
            .args(["-keymatexport", "sserve-label", "-keymatexportlen", len])
            .start();
        let client = s_client(
            srv.port,
            &[version, "-keymatexport", "sserve-label", "-keymatexportlen", len],
        );
        expect_client_handshake(&client);
        assert!(
            client.stdout.wait_for("Keying material: ", TIMEOUT),
            "{}",
            client.dump()
        );
        srv.expect_stdout("Keying material: ");
        let out = srv.stdout().text();
        assert!(
            out.contains("Keying material exporter:\n    Label: 'sserve-label'\n"),
            "{out}"
        );
        assert!(out.contains(&format!("    Length: {len} bytes\n")), "{out}");
        let ours = keying_material(&out).expect("server keying material");
        let theirs = keying_material(&client.stdout.text()).expect("client keying material");
        assert_eq!(ours.len(), 2 * len.parse::<usize>().unwrap(), "{out}");
        assert_eq!(ours, theirs, "server and client exported different material");
    }
}

/// The longest run of `A`s in `text` and how many there are in all.
fn runs_of_a(text: &str) -> (usize, usize) {
    let (mut longest, mut cur, mut total) = (0, 0, 0);
    for c in text.chars() {
        if c == 'A' {
            cur += 1;
            total += 1;
            longest = longest.max(cur);
        } else {
            cur = 0;
        }
    }
    (longest, total)
}

#[test]
fn max_send_frag_limits_record_size() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-max_send_frag", "512"]).start();
    // -msg prints a line per record, so each record's plaintext is a separate run of `A`s.
    let client: Proc = s_client(srv.port, &["-msg"]);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    let line = format!("{}\n", "A".repeat(2000));
    srv.write_stdin(line.as_bytes());
    let arrived = client
        .stdout
        .wait_until(TIMEOUT, |b| runs_of_a(&String::from_utf8_lossy(b)).1 >= 2000);
    assert!(arrived, "data did not arrive\n{}", client.dump());
    let (longest, _) = runs_of_a(&client.stdout.text());
    assert!(longest <= 512, "a record carried {longest} bytes\n{}", client.dump());
}

#[test]
fn out_of_range_fragment_sizes_exit_1() {
    require!("openssl");
    let dir = TestDir::new();
    // 512..=16384 for the maximum; 1..=max_send_frag for the split size.
    for (opt, n, what) in [
        ("-max_send_frag", "100", "Max send fragment size"),
        ("-max_send_frag", "16385", "Max send fragment size"),
        ("-split_send_frag", "20000", "Split send fragment size"),
    ] {
        let f = server!(&dir).args([opt, n]).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{}", f.dump());
        assert!(
            f.err().contains(&format!("{what} {n} is out of permitted range")),
            "{}",
            f.dump()
        );
        assert!(!f.out().contains("ACCEPT"), "{}", f.dump());
    }
}

#[test]
fn no_ca_names_sends_no_ca_list() {
    require!("openssl");
    // 3.x-only behaviour; the 1.1.1 refusal is checked in tests/tests/openssl_versions.rs.
    if !sserve_tests::server_is_ossl3() {
        return;
    }
    let dir = TestDir::new();
    let ca = ca(&dir);
    let with_names = server!(&dir).args(["-verify", "1", "-CAfile", &ca]).start();
    let f = s_client_run(with_names.port, &["-tls1_3"]);
    assert!(
        f.out().contains("Acceptable client certificate CA names"),
        "{}",
        f.dump()
    );
    drop(with_names);
    let without = server!(&dir)
        .args(["-verify", "1", "-CAfile", &ca, "-no_ca_names"])
        .start();
    let f = s_client_run(without.port, &["-tls1_3"]);
    assert!(f.out().contains("No client certificate CA names sent"), "{}", f.dump());
}

#[test]
fn verify_quiet_hides_successful_verify_lines() {
    require!("openssl");
    let dir = TestDir::new();
    let ca = ca(&dir);
    let cert = dir.pki.client_cert.to_str().unwrap().to_owned();
    let key = dir.pki.client_key.to_str().unwrap().to_owned();
    for quiet in [false, true] {
        let mut args = vec!["-verify", "1", "-CAfile", &ca];
        if quiet {
            args.push("-verify_quiet");
        }
        let srv = server!(&dir).args(&args).start();
        let f = s_client_run(srv.port, &["-cert", &cert, "-key", &key]);
        assert!(f.out().contains("Verify return code:"), "{}", f.dump());
        srv.expect_stdout("Client certificate");
        let err = srv.stderr().text();
        if quiet {
            assert!(!err.contains("verify return:1"), "{}", srv.dump());
            assert!(!err.contains("depth="), "{}", srv.dump());
        } else {
            srv.expect_stderr("verify return:1");
        }
    }
}

#[test]
fn ignore_unexpected_eof_turns_a_dropped_peer_into_done() {
    require!("openssl", "python3");
    // 3.x-only behaviour; the 1.1.1 refusal is checked in tests/tests/openssl_versions.rs.
    if !sserve_tests::server_is_ossl3() {
        return;
    }
    // The client completes the handshake, then ends the TCP connection with a FIN and no
    // close_notify (Python's SSLSocket.shutdown is a plain TCP shutdown), and keeps its socket
    // open until the server closes: a killed client could leave unread bytes behind and make
    // the kernel send a reset instead of the FIN this test is about.
    const FIN_CLIENT: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.shutdown(socket.SHUT_WR)
try:
    while s.recv(4096):
        pass
except Exception:
    pass
print("closed", flush=True)
"#;
    let dir = TestDir::new();
    for ignore in [false, true] {
        let args: &[&str] = if ignore { &["-ignore_unexpected_eof"] } else { &[] };
        let srv = server!(&dir).args(args).start();
        let client = sserve_tests::python(FIN_CLIENT, &[&srv.port.to_string()]);
        assert!(client.out().contains("closed"), "{}\n{}", client.dump(), srv.dump());
        srv.expect_stdout("CONNECTION CLOSED");
        let out = srv.stdout().text();
        if ignore {
            assert!(out.contains("DONE\n"), "{}", srv.dump());
            assert!(!srv.stderr().contains("unexpected eof"), "{}", srv.dump());
        } else {
            assert!(!out.contains("DONE\n"), "{}", srv.dump());
        }
    }
}

#[test]
fn no_resume_ephemeral_prevents_resumption() {
    require!("openssl");
    let dir = TestDir::new();
    for no_resume in [false, true] {
        let args: &[&str] = if no_resume { &["-no_resume_ephemeral"] } else { &[] };
        let srv = server!(&dir).args(args).start();
        let sess = dir.join(format!("s-{no_resume}.sess"));
        let sess = sess.to_str().unwrap();
        let first = s_client_run(srv.port, &["-tls1_2", "-sess_out", sess]);
        assert!(first.out().contains("New, "), "{}", first.dump());
        if no_resume {
            // The session is not resumable: no session id, no ticket, so s_client stores none;
            // a stored one would not resume.
            if std::path::Path::new(sess).exists() {
                let second = s_client_run(srv.port, &["-tls1_2", "-sess_in", sess]);
                assert!(!second.out().contains("Reused, "), "{}", second.dump());
            }
        } else {
            let second = s_client_run(srv.port, &["-tls1_2", "-sess_in", sess]);
            assert!(second.out().contains("Reused, "), "{}", second.dump());
        }
    }
}
