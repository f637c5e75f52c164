//! Pre-shared keys and TLS 1.3 early data against `openssl s_client`: `-psk` (TLS 1.2 and 1.3),
//! `-psk_identity`, `-psk_hint`, `-psk_session`, `-nocert`, `-early_data` (console and `-www`),
//! `-max_early_data`, `-recv_max_early_data`, `-anti_replay`/`-no_anti_replay`; SRP
//! (`-srpvfile`, `-srpuserseed`) against curl's TLS-SRP.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sserve_tests::{is_openssl, require, run, s_client, server, Finished, Proc, TestDir, TIMEOUT};

const KEY: &str = "1a2b3c4d5e6f7081";

/// Runs `openssl s_client` to completion with `input` on stdin.
fn s_client_run(port: u16, args: &[&str], input: &[u8]) -> Finished {
    sserve_tests::s_client_finish(port, args, input)
}

/// The client's `New, TLSv1.2, Cipher is X` / `Reused, TLSv1.3, Cipher is X` line.
fn cipher_line(f: &Finished) -> String {
    f.out()
        .lines()
        .find(|l| l.contains(", Cipher is "))
        .unwrap_or("")
        .to_string()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A full handshake that saves the session (with its TLS 1.3 ticket) to `sess`. s_client
/// writes the file when the ticket arrives (its console lines about it are not flushed).
fn save_ticket(port: u16, sess: &Path) {
    let _ = std::fs::remove_file(sess);
    let client = s_client(port, &["-sess_out", path_str(sess)]);
    let deadline = Instant::now() + TIMEOUT;
    while !std::fs::read_to_string(sess).is_ok_and(|t| t.contains("-----END SSL SESSION PARAMETERS-----")) {
        assert!(Instant::now() < deadline, "no ticket\n{}", client.dump());
        std::thread::sleep(Duration::from_millis(20));
    }
    // A clean close: a connection that dies without close_notify takes its session out of the
    // server's cache, and with anti-replay the 0-RTT tickets are only good while cached.
    let mut client = client;
    client.close_stdin();
    client.wait_exit(TIMEOUT);
}

/// Resumes `sess` sending `early` as early data; waits for the client's verdict line.
fn resume_with_early_data(port: u16, sess: &Path, early: &Path) -> Proc {
    let client = s_client(port, &["-sess_in", path_str(sess), "-early_data", path_str(early)]);
    assert!(
        client.stdout.wait_for("Early data was ", TIMEOUT),
        "no early data verdict\n{}",
        client.dump()
    );
    client
}

#[test]
fn psk_tls1_2_with_nocert() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).no_cert().args(["-nocert", "-psk", KEY]).start();
    let ok = s_client_run(srv.port, &["-tls1_2", "-psk", KEY], b"");
    let line = cipher_line(&ok);
    assert!(
        line.starts_with("New, TLSv1.2, Cipher is ") && line.contains("PSK"),
        "{}\n{}",
        ok.dump(),
        srv.dump()
    );
    srv.expect_stdout("CIPHER is ");
    // A wrong key fails the handshake.
    // A wrong key fails the handshake (the server cannot decrypt the client's Finished).
    let bad = s_client_run(srv.port, &["-tls1_2", "-psk", "ffff"], b"");
    assert!(!bad.success() && bad.err().contains("bad record mac"), "{}", bad.dump());
}

#[test]
fn psk_identity_mismatch_is_a_warning_in_tls1_2() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir)
        .no_cert()
        .args(["-nocert", "-psk", KEY, "-psk_hint", "the-hint"])
        .start();
    let client = s_client(srv.port, &["-tls1_2", "-psk", KEY, "-psk_identity", "someone"]);
    srv.expect_stdout("PSK warning: client identity not what we expected (got 'someone' expected 'Client_identity')");
    srv.expect_stdout("CIPHER is ");
    assert!(
        client.stdout.wait_for("PSK identity hint: the-hint", TIMEOUT),
        "{}",
        client.dump()
    );
    srv.write_stdin(b"psk-hello\n");
    client.expect_stdout("psk-hello");
}

#[test]
fn psk_identity_is_checked_in_tls1_2_only_by_warning_and_in_tls1_3_exactly() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir)
        .no_cert()
        .args(["-nocert", "-psk", KEY, "-psk_identity", "alice"])
        .start();
    let ok = s_client_run(srv.port, &["-tls1_3", "-psk", KEY, "-psk_identity", "alice"], b"");
    assert!(
        cipher_line(&ok).contains("TLSv1.3, Cipher is TLS_"),
        "{}\n{}",
        ok.dump(),
        srv.dump()
    );
    // TLS 1.3 with another identity: no PSK, and without a certificate no handshake.
    let other = s_client_run(srv.port, &["-tls1_3", "-psk", KEY, "-psk_identity", "bob"], b"");
    assert!(cipher_line(&other).contains("(NONE)"), "{}", other.dump());
}

#[test]
fn psk_tls1_3_and_wrong_key() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).no_cert().args(["-nocert", "-psk", KEY]).start();
    let ok = s_client_run(srv.port, &["-tls1_3", "-psk", KEY], b"");
    assert!(
        cipher_line(&ok).contains("TLSv1.3, Cipher is TLS_"),
        "{}\n{}",
        ok.dump(),
        srv.dump()
    );
    let bad = s_client_run(srv.port, &["-tls1_3", "-psk", "0011223344556677"], b"");
    assert!(cipher_line(&bad).contains("(NONE)"), "{}", bad.dump());
    // OpenSSL 3.5 answers a wrong PSK binder with decrypt_error instead.
    let alert = if sserve_tests::server_is_system_openssl() || !sserve_tests::server_is_ossl3() {
        "illegal parameter"
    } else {
        "decrypt error"
    };
    assert!(bad.out().contains(alert) || bad.err().contains(alert), "{}", bad.dump());
    srv.expect_stderr("binder does not verify");
}

#[test]
fn psk_with_a_certificate_still_serves_certificate_clients() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-psk", KEY]).start();
    // s_client binds its PSK to TLS_AES_128_GCM_SHA256; the server picks the client's first
    // suite, so the client must offer only SHA-256 suites for the PSK to be usable.
    let psk = s_client_run(
        srv.port,
        &["-tls1_3", "-psk", KEY, "-ciphersuites", "TLS_AES_128_GCM_SHA256"],
        b"",
    );
    assert!(cipher_line(&psk).starts_with("Reused, TLSv1.3"), "{}", psk.dump());
    let cert = s_client_run(srv.port, &["-tls1_3"], b"");
    assert!(cipher_line(&cert).starts_with("New, TLSv1.3"), "{}", cert.dump());
}

#[test]
fn psk_hint_with_tls1_3_only_is_a_warning() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir)
        .no_cert()
        .args(["-nocert", "-tls1_3", "-psk", KEY, "-psk_hint", "h"])
        .start();
    srv.expect_stdout("PSK warning: there is NO identity hint in TLSv1.3");
}

#[test]
fn psk_session_file() {
    require!("openssl");
    // The session file comes from the system's s_client (3.0), whose SSL_SESSION encoding
    // OpenSSL 1.1.1 cannot read ("nested asn1 error").
    if !sserve_tests::server_is_ossl3() {
        return;
    }
    let dir = TestDir::new();
    let sess = dir.join("psk-session.pem");
    // Any TLS 1.3 session will do as an external PSK: take one from a normal handshake.
    {
        let srv = server!(&dir).start();
        save_ticket(srv.port, &sess);
    }
    let srv = server!(&dir)
        .no_cert()
        .args(["-nocert", "-psk_session", path_str(&sess)])
        .start();
    let ok = s_client_run(srv.port, &["-tls1_3", "-psk_session", path_str(&sess)], b"");
    assert!(
        cipher_line(&ok).contains("TLSv1.3, Cipher is TLS_"),
        "{}\n{}",
        ok.dump(),
        srv.dump()
    );
    // Without the session the client has nothing the server accepts.
    let none = s_client_run(srv.port, &["-tls1_3"], b"");
    assert!(cipher_line(&none).contains("(NONE)"), "{}", none.dump());
}

#[test]
fn bad_psk_options_are_refused() {
    require!("openssl");
    let dir = TestDir::new();
    let f = server!(&dir).args(["-psk", "xyz"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("Not a hex number 'xyz'"), "{}", f.dump());
    let missing = dir.join("missing.pem");
    let f = server!(&dir)
        .args(["-psk_session", path_str(&missing)])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("Can't open PSK session file"), "{}", f.dump());
    let f = server!(&dir).args(["-early_data", "-rev"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("Can't use -early_data in combination with"),
        "{}",
        f.dump()
    );
}

#[test]
fn early_data_in_console_mode() {
    require!("openssl");
    let dir = TestDir::new();
    let sess = dir.join("sess.pem");
    let early = dir.join("early.txt");
    std::fs::write(&early, "early-bytes-0rtt\n").unwrap();
    let srv = server!(&dir).args(["-early_data"]).start();
    save_ticket(srv.port, &sess);
    srv.expect_stdout("No early data received\n");
    let client = resume_with_early_data(srv.port, &sess, &early);
    assert!(client.stdout.contains("Early data was accepted"), "{}", client.dump());
    srv.expect_stdout("Early data received:\nearly-bytes-0rtt\n\nEnd of early data\n");
    srv.expect_stdout("Reused session-id");
    // The early data comes before the connection summary, as in s_server.
    let out = srv.stdout().text();
    let second = &out[out.find("Early data received:").unwrap()..];
    assert!(second.contains("CIPHER is "), "{}", srv.dump());
}

#[test]
fn max_early_data_is_announced_in_tickets() {
    require!("openssl");
    let dir = TestDir::new();
    let sess = dir.join("sess.pem");
    let srv = server!(&dir).args(["-early_data", "-max_early_data", "77"]).start();
    save_ticket(srv.port, &sess);
    let text = sserve_tests::openssl(&["sess_id", "-in", path_str(&sess), "-noout", "-text"], dir.path());
    assert!(text.out().contains("Max Early Data: 77"), "{}", text.dump());
}

#[test]
fn recv_max_early_data_limits_what_is_accepted() {
    require!("openssl");
    let dir = TestDir::new();
    let sess = dir.join("sess.pem");
    let early = dir.join("early.txt");
    std::fs::write(&early, "x".repeat(2000)).unwrap();
    let srv = server!(&dir)
        .args(["-early_data", "-recv_max_early_data", "100"])
        .start();
    save_ticket(srv.port, &sess);
    let mut cmd = Command::new("openssl");
    cmd.arg("s_client").arg("-connect").arg(srv.addr()).args([
        "-sess_in",
        path_str(&sess),
        "-early_data",
        path_str(&early),
    ]);
    // The client believes its early data accepted until the server's alert arrives, and may
    // exit (0) before it does: only the server's side says what happened.
    let f = run(cmd, b"", TIMEOUT);
    assert!(f.out().contains("CONNECTED"), "{}", f.dump());
    srv.expect_stderr("Error reading early data");
    srv.expect_stderr("too much early data");
}

#[test]
fn anti_replay_rejects_a_reused_ticket_unless_disabled() {
    require!("openssl");
    let dir = TestDir::new();
    let early = dir.join("early.txt");
    std::fs::write(&early, "replayed\n").unwrap();
    for (flag, second) in [
        ("-anti_replay", "Early data was rejected"),
        ("-no_anti_replay", "Early data was accepted"),
    ] {
        let sess = dir.join(format!("sess{flag}.pem"));
        let srv = server!(&dir).args(["-early_data", flag]).start();
        save_ticket(srv.port, &sess);
        let first = resume_with_early_data(srv.port, &sess, &early);
        assert!(
            first.stdout.contains("Early data was accepted"),
            "{flag}\n{}",
            first.dump()
        );
        srv.expect_stdout("End of early data");
        drop(first);
        let again = resume_with_early_data(srv.port, &sess, &early);
        assert!(
            again.stdout.contains(second),
            "{flag}\n{}\n{}",
            again.dump(),
            srv.dump()
        );
    }
}

#[test]
fn early_data_get_is_served_in_www_mode() {
    require!("openssl");
    let dir = TestDir::new();
    if is_openssl() {
        // s_server refuses -early_data with the web modes; serving them is an sserve extension.
        let f = server!(&dir).args(["-early_data", "-www"]).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{}", f.dump());
        return;
    }
    let sess = dir.join("sess.pem");
    let get = dir.join("get.txt");
    std::fs::write(&get, "GET / HTTP/1.0\r\n\r\n").unwrap();
    let srv = server!(&dir).args(["-early_data", "-www"]).start();
    save_ticket(srv.port, &sess);
    let client = resume_with_early_data(srv.port, &sess, &get);
    assert!(client.stdout.contains("Early data was accepted"), "{}", client.dump());
    assert!(client.stdout.wait_for("HTTP/1.0 200 ok", TIMEOUT), "{}", client.dump());
    assert!(client.stdout.wait_for("-early_data -www", TIMEOUT), "{}", client.dump());
}

#[test]
fn early_data_other_than_get_gets_425_in_www_mode() {
    require!("openssl");
    if is_openssl() {
        return; // see early_data_get_is_served_in_www_mode
    }
    let dir = TestDir::new();
    std::fs::write(dir.www().join("index.html"), "hello").unwrap();
    let sess = dir.join("sess.pem");
    let post = dir.join("post.txt");
    std::fs::write(&post, "POST /index.html HTTP/1.0\r\n\r\n").unwrap();
    let srv = server!(&dir).args(["-early_data", "-WWW"]).start();
    save_ticket(srv.port, &sess);
    let client = resume_with_early_data(srv.port, &sess, &post);
    assert!(client.stdout.contains("Early data was accepted"), "{}", client.dump());
    assert!(
        client.stdout.wait_for("HTTP/1.0 425 Too Early", TIMEOUT),
        "{}",
        client.dump()
    );
    assert!(!client.stdout.contains("hello"), "{}", client.dump());
}

/// curl built with TLS-SRP (`openssl s_client -srpuser` crashes in OpenSSL 3.0, so curl is the
/// SRP client here).
fn curl_has_srp() -> bool {
    Command::new("curl")
        .arg("-V")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("TLS-SRP"))
}

/// A verifier file with user `alice` (password `secret123`, info `someinfo`).
fn srp_vfile(dir: &TestDir) -> std::path::PathBuf {
    let vf = dir.join("srp.vf");
    std::fs::write(&vf, "").unwrap();
    sserve_tests::openssl(
        &[
            "srp",
            "-srpvfile",
            path_str(&vf),
            "-add",
            "-passout",
            "pass:secret123",
            "-userinfo",
            "someinfo",
            "alice",
        ],
        dir.path(),
    );
    vf
}

fn curl_srp(srv: &sserve_tests::Server, user: &str, password: &str) -> Finished {
    sserve_tests::curl(&[
        "-k",
        "--tlsuser",
        user,
        "--tlspassword",
        password,
        "--tls-max",
        "1.2",
        &srv.url("/"),
    ])
}

#[test]
fn srp_login_with_a_verifier_file() {
    require!("openssl", "curl");
    if is_openssl() || !curl_has_srp() {
        // OpenSSL 3.0's s_server passes the wrong argument to its SRP callback and refuses every
        // user ("User <garbage> doesn't exist"); see docs/compat.md.
        return;
    }
    let dir = TestDir::new();
    let vf = srp_vfile(&dir);
    let srv = server!(&dir).args(["-www", "-srpvfile", path_str(&vf)]).start();
    let ok = curl_srp(&srv, "alice", "secret123");
    assert!(ok.success(), "{}\n{}", ok.dump(), srv.dump());
    assert!(ok.out().contains("SRP-"), "not an SRP suite\n{}", ok.dump());
    srv.expect_stdout("LOOKUP during accept alice\nLOOKUP done someinfo\n");
    srv.expect_stderr("SRP parameters set: username = \"alice\" info=\"someinfo\" \n");
    let wrong = curl_srp(&srv, "alice", "not-the-password");
    assert!(!wrong.success(), "{}", wrong.dump());
    let unknown = curl_srp(&srv, "bob", "x");
    assert!(!unknown.success(), "{}", unknown.dump());
    srv.expect_stdout("LOOKUP not successful\n");
    srv.expect_stderr("User bob doesn't exist\n");
}

#[test]
fn srpuserseed_hides_unknown_users() {
    require!("openssl", "curl");
    if is_openssl() || !curl_has_srp() {
        return; // see srp_login_with_a_verifier_file
    }
    let dir = TestDir::new();
    let vf = srp_vfile(&dir);
    let srv = server!(&dir)
        .args(["-www", "-srpvfile", path_str(&vf), "-srpuserseed", "some seed"])
        .start();
    // An unknown user gets a stand-in entry: the handshake fails as for a wrong password.
    let unknown = curl_srp(&srv, "bob", "x");
    assert!(!unknown.success(), "{}", unknown.dump());
    assert!(!unknown.err().contains("unknown psk identity"), "{}", unknown.dump());
    srv.expect_stdout("LOOKUP during accept bob\nLOOKUP done (null)\n");
    let ok = curl_srp(&srv, "alice", "secret123");
    assert!(ok.success(), "{}\n{}", ok.dump(), srv.dump());
}

#[test]
fn srpvfile_errors() {
    require!("openssl");
    let dir = TestDir::new();
    let missing = dir.join("none.vf");
    let f = server!(&dir)
        .args(["-srpvfile", path_str(&missing)])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("Cannot initialize SRP verifier file"), "{}", f.dump());
}
