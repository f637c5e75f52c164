//! Default (console) mode against `openssl s_client`: data both ways, the connection
//! summary, `DONE`, and every connected command (`q Q r R k K c P S B`).

use sserve_tests::{
    expect_client_handshake, is_openssl, require, s_client, server, Proc, Server, TestDir, CLIENT_CN, TIMEOUT,
};
use std::time::Duration;

/// Starts a console-mode server and connects an `s_client` with `client_args`; returns once
/// both sides report the handshake.
fn connected(dir: &TestDir, server_args: &[&str], client_args: &[&str]) -> (Server, Proc) {
    let srv = server!(dir).args(server_args).start();
    let client = s_client(srv.port, client_args);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    (srv, client)
}

/// Client → server and server → client data still flow (distinct markers per call).
fn assert_echo_both_ways(srv: &mut Server, client: &mut Proc, tag: &str) {
    let from_client = format!("from-client-{tag}\n");
    client.write_stdin(from_client.as_bytes());
    srv.expect_stdout(from_client.trim_end());
    let from_server = format!("from-server-{tag}\n");
    srv.write_stdin(from_server.as_bytes());
    client.expect_stdout(from_server.trim_end());
}

#[test]
fn data_both_ways_cipher_line_and_done() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &["-tls1_3"]);
    // s_server prints `CIPHER is <name>` with the negotiated suite.
    let out = srv.stdout().text();
    let cipher_line = out
        .lines()
        .find(|l| l.starts_with("CIPHER is "))
        .expect("CIPHER is line");
    assert!(
        cipher_line.starts_with("CIPHER is TLS_"),
        "TLS 1.3 suite expected: {cipher_line:?}"
    );
    assert_echo_both_ways(&mut srv, &mut client, "1");
    // Client closes (stdin EOF → close_notify): the server prints DONE.
    client.close_stdin();
    client.expect_exit(TIMEOUT);
    srv.expect_stdout("DONE");
    // ... and keeps accepting.
    let mut c2 = s_client(srv.port, &[]);
    expect_client_handshake(&c2);
    c2.write_stdin(b"second-client\n");
    srv.expect_stdout("second-client");
}

#[test]
fn key_update_k_and_big_k_tls13() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &["-tls1_3"]);
    let mark = srv.stdout().len();
    srv.write_stdin(b"k\n");
    srv.expect_stdout_from(mark, "SSL_do_handshake -> 1");
    assert_echo_both_ways(&mut srv, &mut client, "after-k");
    let mark = srv.stdout().len();
    srv.write_stdin(b"K\n");
    srv.expect_stdout_from(mark, "SSL_do_handshake -> 1");
    assert_echo_both_ways(&mut srv, &mut client, "after-K");
    // The commands themselves are not sent to the client.
    assert!(
        !client.stdout.text().lines().any(|l| l == "k" || l == "K"),
        "key update command leaked to the client\n{}",
        client.dump()
    );
}

#[test]
fn renegotiate_r_and_big_r_tls12() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &["-tls1_2"]);
    let mark = srv.stdout().len();
    srv.write_stdin(b"r\n");
    srv.expect_stdout_from(mark, "SSL_do_handshake -> 1");
    assert_echo_both_ways(&mut srv, &mut client, "after-r");
    let mark = srv.stdout().len();
    srv.write_stdin(b"R\n");
    srv.expect_stdout_from(mark, "SSL_do_handshake -> 1");
    assert_echo_both_ways(&mut srv, &mut client, "after-R");
}

#[test]
fn post_handshake_auth_c() {
    require!("openssl");
    let dir = TestDir::new();
    let cert = dir.pki.client_cert.to_str().unwrap().to_owned();
    let key = dir.pki.client_key.to_str().unwrap().to_owned();
    let (mut srv, mut client) = connected(&dir, &[], &["-tls1_3", "-enable_pha", "-cert", &cert, "-key", &key]);
    // No client certificate was requested during the handshake.
    assert!(
        !srv.stdout().contains(CLIENT_CN) && !srv.stderr().contains(CLIENT_CN),
        "client certificate seen before `c`\n{}",
        srv.dump()
    );
    let mark = srv.stdout().len();
    srv.write_stdin(b"c\n");
    srv.expect_stdout_from(mark, "SSL_do_handshake -> 1");
    // The client answers the CertificateRequest; the server verifies (verify callback prints
    // the subject on stderr) once it reads the client's flight.
    client.write_stdin(b"after-pha\n");
    srv.expect_stdout("after-pha");
    assert!(
        srv.proc.wait_either(CLIENT_CN, TIMEOUT),
        "client certificate (CN={CLIENT_CN}) not reported after post-handshake auth\n{}",
        srv.dump()
    );
    assert_echo_both_ways(&mut srv, &mut client, "after-c");
}

#[test]
fn stats_s_prints_cache_stats_and_sends_s() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, client) = connected(&dir, &[], &[]);
    srv.write_stdin(b"S\n");
    srv.expect_stdout("items in the session cache");
    srv.expect_stdout("server accepts that finished");
    srv.expect_stdout("cache full overflows");
    // The chunk is also sent to the peer.
    assert!(
        client
            .stdout
            .wait_until(TIMEOUT, |b| String::from_utf8_lossy(b).lines().any(|l| l == "S")),
        "client did not receive `S`\n{}",
        client.dump()
    );
}

#[test]
fn plaintext_p_breaks_the_client() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &[]);
    srv.write_stdin(b"P\n");
    // "Lets print some clear text" arrives unencrypted inside the TLS stream: the client
    // fails with a record-layer error and exits.
    let status = client.expect_exit(TIMEOUT);
    let all = format!("{}{}", client.stdout.text(), client.stderr.text()).to_lowercase();
    assert!(
        all.contains("error") || all.contains("wrong version number"),
        "client did not report an error ({status:?})\n{}",
        client.dump()
    );
    assert!(
        !client.stdout.text().contains("Lets print some clear text"),
        "cleartext was accepted as application data\n{}",
        client.dump()
    );
    // The server survives and serves the next client.
    let mut c2 = s_client(srv.port, &[]);
    expect_client_handshake(&c2);
    c2.write_stdin(b"after-P\n");
    srv.expect_stdout("after-P");
}

#[test]
fn q_closes_connection_but_keeps_accepting() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &[]);
    srv.write_stdin(b"q\n");
    srv.expect_stdout("DONE");
    // The client sees the connection end.
    client.expect_exit(TIMEOUT);
    // The server is still running and accepts the next connection.
    assert!(srv.proc.is_running(), "server exited after `q`\n{}", srv.dump());
    let mut c2 = s_client(srv.port, &[]);
    expect_client_handshake(&c2);
    c2.write_stdin(b"after-q\n");
    srv.expect_stdout("after-q");
}

#[test]
fn big_q_stops_the_server_with_status_0() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &[]);
    srv.write_stdin(b"Q\n");
    let status = srv.proc.expect_exit(TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", srv.dump());
    assert!(srv.stdout().contains("DONE"), "{}", srv.dump());
    client.expect_exit(TIMEOUT);
}

#[test]
fn b_says_heartbeats_are_unsupported() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, mut client) = connected(&dir, &[], &[]);
    srv.write_stdin(b"B\n");
    if is_openssl() {
        // OpenSSL 3 has no heartbeats: `B` is plain data.
        assert!(
            client
                .stdout
                .wait_until(TIMEOUT, |b| String::from_utf8_lossy(b).lines().any(|l| l == "B")),
            "{}",
            client.dump()
        );
    } else {
        // Documented sserve deviation (docs/compat.md): say so instead (stdout or stderr).
        let deadline = std::time::Instant::now() + TIMEOUT;
        let said = |p: &Proc| {
            format!("{}{}", p.stdout.text(), p.stderr.text())
                .to_lowercase()
                .contains("heartbeat")
        };
        while !said(&srv.proc) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(said(&srv.proc), "no line about heartbeats\n{}", srv.dump());
    }
    // The connection is still usable.
    assert_echo_both_ways(&mut srv, &mut client, "after-B");
}

#[test]
fn client_disconnect_without_close_notify_keeps_server_alive() {
    require!("openssl");
    let dir = TestDir::new();
    let (srv, mut client) = connected(&dir, &[], &[]);
    client.kill();
    std::thread::sleep(Duration::from_millis(200));
    let mut c2 = s_client(srv.port, &[]);
    expect_client_handshake(&c2);
    c2.write_stdin(b"after-kill\n");
    srv.expect_stdout("after-kill");
}

#[test]
fn crlf_turns_console_newlines_into_crlf() {
    require!("openssl");
    let dir = TestDir::new();
    let (mut srv, client) = connected(&dir, &["-crlf"], &[]);
    srv.write_stdin(b"crlf-line\n");
    client.expect_stdout("crlf-line\r\n");
}

/// `s_client -reconnect` closes each connection first; the server's late close_notify then
/// meets a closed socket. s_server says nothing about that, and neither does sserve: every
/// connection still ends with its `CONNECTION CLOSED` line.
#[test]
fn a_peer_that_closed_first_is_not_a_write_error() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-no_ticket"]).start();
    let client = sserve_tests::s_client_finish(srv.port, &["-tls1_3", "-reconnect"], b"");
    assert_eq!(
        client.out().matches("drop connection and then reconnect").count(),
        5,
        "{}",
        client.dump()
    );
    assert!(
        srv.stdout()
            .wait_until(TIMEOUT, |b| sserve_tests::count(b, b"CONNECTION CLOSED") >= 6),
        "{}",
        srv.dump()
    );
    std::thread::sleep(Duration::from_millis(200));
    let err = srv.stderr().text();
    assert!(
        !err.contains("Broken pipe") && !err.contains("write:"),
        "{}",
        srv.dump()
    );
}

/// Python snippet: sends `argv[2]` KiB of a fixed byte pattern (every byte value, newlines among
/// them) to `127.0.0.1:argv[1]` in 1 MiB writes, then close_notify and waits for the server's.
const PY_UPLOAD: &str = r#"
import socket, ssl, sys
port, kib = int(sys.argv[1]), int(sys.argv[2])
data = bytes(range(256)) * (kib * 4)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with ctx.wrap_socket(raw) as s:
        for i in range(0, len(data), 1 << 20):
            s.sendall(data[i:i + (1 << 20)])
        s.unwrap()
"#;

/// Ends the server however the test ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Uploads 3 MiB into a console-mode server whose stdout `read` returns so far, and checks
/// that the data lands there whole, once and in order among the console lines.
fn upload_lands_whole(read: impl Fn() -> Vec<u8>) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    let port = loop {
        if let Some(p) = sserve_tests::parse_accept_port(&read()) {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "no ACCEPT line on stdout");
        std::thread::sleep(Duration::from_millis(20));
    };
    const KIB: usize = 3 * 1024;
    let up = sserve_tests::python(PY_UPLOAD, &[&port.to_string(), &KIB.to_string()]);
    assert!(up.success(), "{}", up.dump());
    let data: Vec<u8> = (0..=255u8).cycle().take(KIB * 1024).collect();
    let mut out = read();
    while !sserve_tests::contains(&out, b"CONNECTION CLOSED") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        out = read();
    }
    let at = sserve_tests::find(&out, &data).expect("the data, whole and in order, on stdout");
    let (before, after) = (&out[..at], &out[at + data.len()..]);
    assert!(
        sserve_tests::find(before, &data[..256]).is_none() && sserve_tests::find(after, &data[..256]).is_none(),
        "the data once"
    );
    if !is_openssl() {
        // s_server prints its lines through a buffered FILE and the data with write(2), so only
        // sserve is held to the order.
        let cipher = sserve_tests::find(&out, b"CIPHER is ").expect("CIPHER line");
        let done = sserve_tests::find(&out[at..], b"DONE").expect("DONE after the data");
        assert!(cipher < at && done > 0);
    }
}

/// With stdout a regular file the server writes it from the serving thread itself (no writer
/// thread in between): peer data lands whole and in order among the console lines.
#[test]
fn console_output_to_a_file_keeps_data_whole_and_in_order() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    let path = dir.join("stdout.bin");
    let file = std::fs::File::create(&path).unwrap();
    let mut cmd = server!(&dir).command();
    cmd.stdin(std::process::Stdio::piped())
        .stdout(file)
        .stderr(std::process::Stdio::null());
    let _server = Killed(cmd.spawn().expect("start the server"));
    upload_lands_whole(|| std::fs::read(&path).unwrap_or_default());
}

/// With stdout a pipe the server writes what the pipe takes at once and queues the rest for its
/// writer thread (here the pipe is read slowly, so both happen): the data still lands whole and
/// in order among the console lines.
#[test]
fn console_output_to_a_slow_pipe_keeps_data_whole_and_in_order() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    let mut cmd = server!(&dir).command();
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut server = Killed(cmd.spawn().expect("start the server"));
    let mut stdout = server.0.stdout.take().expect("stdout");
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buf) {
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
            // Slower than the upload: the pipe fills and the writer thread takes over.
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    upload_lands_whole(|| got.lock().unwrap().clone());
}
