//! OCSP stapling against `openssl s_client -status`: `-status_file` staples a response from a
//! file; `-status_url` and the certificate's AIA URL get one from a real `openssl ocsp`
//! responder started here; `-status_verbose` prints s_server's `cert_status:` lines.

use sserve_tests::{
    expect_client_handshake, is_openssl, openssl, require, s_client, server, unsupported_option, Proc, TestDir, TIMEOUT,
};
use std::path::Path;
use std::process::Command;

/// The index line for a valid certificate with this serial (hex) and subject.
fn index_line(serial: &str, subject: &str) -> String {
    format!("V\t301231000000Z\t\t{serial}\tunknown\t{subject}\n")
}

/// The serial of a certificate, upper-case hex, as `openssl x509 -serial` prints it.
/// An OCSP responder index (`index.txt`) where the test server's certificate is valid.
fn server_index(dir: &TestDir) -> std::path::PathBuf {
    let index = dir.join("index.txt");
    std::fs::write(
        &index,
        index_line(&serial(&dir.pki.server_cert, dir.path()), "/CN=localhost"),
    )
    .unwrap();
    index
}

fn serial(cert: &Path, dir: &Path) -> String {
    let f = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"], dir);
    f.out().trim().trim_start_matches("serial=").to_string()
}

/// A running `openssl ocsp` responder for the test CA (killed on drop).
struct Responder {
    proc: Proc,
    port: u16,
}

impl Responder {
    fn start(dir: &TestDir, index: &Path) -> Responder {
        Self::start_on(dir, index, 0)
    }

    fn start_on(dir: &TestDir, index: &Path, port: u16) -> Responder {
        let mut cmd = Command::new("openssl");
        cmd.current_dir(dir.path())
            .arg("ocsp")
            .arg("-index")
            .arg(index)
            .args(["-port", &port.to_string(), "-nmin", "5"])
            .arg("-rsigner")
            .arg(&dir.pki.ca_cert)
            .arg("-rkey")
            .arg(dir.pki.ca_cert.with_file_name("ca.key"))
            .arg("-CA")
            .arg(&dir.pki.ca_cert);
        let proc = Proc::spawn(cmd).expect("cannot start openssl ocsp");
        let mut port = None;
        // "ACCEPT [::]:PORT PID=N"
        proc.stdout.wait_until(TIMEOUT, |b| {
            let text = String::from_utf8_lossy(b);
            port = text
                .lines()
                .find_map(|l| l.strip_prefix("ACCEPT "))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|&p| p != 0);
            port.is_some()
        });
        let port = port.unwrap_or_else(|| panic!("openssl ocsp did not print its port\n{}", proc.dump()));
        Responder { proc, port }
    }
}

/// Runs s_client -status once; returns its output.
fn status_client(port: u16, ca: &Path) -> Proc {
    let client = s_client(port, &["-status", "-CAfile", ca.to_str().unwrap()]);
    expect_client_handshake(&client);
    client
}

#[test]
fn status_file_is_stapled() {
    require!("openssl");
    let dir = TestDir::new();
    let p = dir.path();
    std::fs::write(
        dir.join("index.txt"),
        index_line(&serial(&dir.pki.server_cert, p), "/CN=localhost"),
    )
    .unwrap();
    let (ca, cert) = (dir.pki.ca_cert.to_str().unwrap(), dir.pki.server_cert.to_str().unwrap());
    let key = dir.pki.ca_cert.with_file_name("ca.key");
    // A request and the responder's answer, both as files: no network needed.
    openssl(
        &["ocsp", "-issuer", ca, "-cert", cert, "-no_nonce", "-reqout", "req.der"],
        p,
    );
    let f = openssl(
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            ca,
            "-rkey",
            key.to_str().unwrap(),
            "-CA",
            ca,
            "-reqin",
            "req.der",
            "-respout",
            "resp.der",
        ],
        p,
    );
    assert!(dir.join("resp.der").exists(), "{}", f.dump());
    let resp = dir.join("resp.der");

    let srv = server!(&dir)
        .args(["-status_file", resp.to_str().unwrap(), "-status_verbose"])
        .start();
    let client = status_client(srv.port, &dir.pki.ca_cert);
    assert!(
        client.stdout.wait_for("OCSP Response Status: successful", TIMEOUT),
        "{}\n{}",
        client.dump(),
        srv.dump()
    );
    assert!(client.stdout.contains("Cert Status: good"), "{}", client.dump());
    srv.expect_stderr("cert_status: callback called");
    srv.expect_stderr("cert_status: ocsp response sent:");

    // Without -status_verbose, nothing about it on the console; a client that does not ask
    // gets no staple.
    let quiet = server!(&dir).args(["-status_file", resp.to_str().unwrap()]).start();
    let asked = status_client(quiet.port, &dir.pki.ca_cert);
    assert!(
        asked.stdout.wait_for("OCSP Response Status: successful", TIMEOUT),
        "{}",
        asked.dump()
    );
    // Console mode serves one connection at a time.
    drop(asked);
    let plain = s_client(quiet.port, &[]);
    expect_client_handshake(&plain);
    assert!(!plain.stdout.contains("OCSP response"), "{}", plain.dump());
    assert!(!quiet.stderr().contains("cert_status"), "{}", quiet.dump());
}

#[test]
fn status_file_that_is_not_a_response_is_refused() {
    require!("openssl");
    if is_openssl() {
        // s_server only reads the file during a handshake (and then fails it).
        return;
    }
    let dir = TestDir::new();
    let bogus = dir.join("bogus.der");
    std::fs::write(&bogus, b"not DER").unwrap();
    let f = server!(&dir)
        .args(["-status_file", bogus.to_str().unwrap()])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("cert_status: Error reading OCSP response"),
        "{}",
        f.dump()
    );
}

#[test]
fn status_url_fetches_from_a_responder() {
    require!("openssl");
    let dir = TestDir::new();
    let index = server_index(&dir);
    let responder = Responder::start(&dir, &index);
    let url = format!("http://127.0.0.1:{}/", responder.port);
    let srv = server!(&dir)
        .args(["-CAfile", dir.pki.ca_cert.to_str().unwrap(), "-status_url", &url])
        .args(["-status_timeout", "10", "-status_verbose"])
        .start();
    for _ in 0..2 {
        let client = status_client(srv.port, &dir.pki.ca_cert);
        assert!(
            client.stdout.wait_for("OCSP Response Status: successful", TIMEOUT),
            "{}\n{}\n{}",
            client.dump(),
            srv.dump(),
            responder.proc.dump()
        );
        assert!(client.stdout.contains("Cert Status: good"), "{}", client.dump());
    }
    srv.expect_stderr("cert_status: ocsp response sent:");
    if !is_openssl() {
        // sserve asks once and staples the cached response to both handshakes.
        assert_eq!(
            responder.proc.stderr.count("Received request"),
            1,
            "{}",
            responder.proc.dump()
        );
    }
}

#[test]
fn aia_url_is_used_and_printed() {
    require!("openssl");
    let dir = TestDir::new();
    let p = dir.path().join("pki");
    // The responder must know the serial before the certificate (which names its port) exists.
    let index = dir.join("index.txt");
    std::fs::write(&index, index_line("5E12AB", "/CN=localhost")).unwrap();
    let responder = Responder::start(&dir, &index);
    let url = format!("http://127.0.0.1:{}/ocsp", responder.port);
    std::fs::write(
        p.join("aia.ext"),
        format!("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nauthorityInfoAccess=OCSP;URI:{url}\n"),
    )
    .unwrap();
    let f = openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "0x5E12AB",
            "-days",
            "30",
            "-out",
            "aia.pem",
            "-extfile",
            "aia.ext",
        ],
        &p,
    );
    assert!(p.join("aia.pem").exists(), "{}", f.dump());
    let srv = server!(&dir)
        .cert(p.join("aia.pem"), &dir.pki.server_key)
        .args(["-CAfile", dir.pki.ca_cert.to_str().unwrap(), "-status_verbose"])
        .start();
    let client = status_client(srv.port, &dir.pki.ca_cert);
    assert!(
        client.stdout.wait_for("OCSP Response Status: successful", TIMEOUT),
        "{}\n{}\n{}",
        client.dump(),
        srv.dump(),
        responder.proc.dump()
    );
    srv.expect_stderr(&format!("cert_status: AIA URL: {url}"));
    assert!(
        responder.proc.stderr.contains("POST /ocsp"),
        "{}",
        responder.proc.dump()
    );
}

#[test]
fn no_responder_means_no_staple() {
    require!("openssl");
    let dir = TestDir::new();
    // -status without an AIA URL or -status_url: the handshake works, without a staple.
    let srv = server!(&dir).args(["-status"]).start();
    let client = status_client(srv.port, &dir.pki.ca_cert);
    assert!(
        client.stdout.wait_for("OCSP response: no response sent", TIMEOUT),
        "{}",
        client.dump()
    );
    assert!(
        srv.stderr()
            .wait_for("cert_status: no AIA and no default responder URL", TIMEOUT),
        "{}",
        srv.dump()
    );
}

#[test]
fn https_status_url_is_refused() {
    require!("openssl");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    let f = server!(&dir)
        .args(["-status_url", "https://127.0.0.1:1/"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("https responders are not supported"), "{}", f.dump());
}

/// A one-connection HTTP proxy: records the request line, rewrites its absolute URI to the
/// path, and relays the exchange to `upstream`.
fn one_shot_proxy(upstream: u16) -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let Ok((mut client, _)) = listener.accept() else {
            return String::new();
        };
        client.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        // Headers, then the body (Content-Length).
        let body_len = loop {
            let n = client.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return String::from_utf8_lossy(&req).into_owned();
            }
            req.extend_from_slice(&buf[..n]);
            if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break end + 4 + len;
            }
        };
        while req.len() < body_len {
            let n = client.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&req).into_owned();
        let first = text.lines().next().unwrap_or("").to_string();
        let origin = format!("http://127.0.0.1:{upstream}");
        let rewritten = first.replacen(&origin, "", 1);
        let mut out = rewritten.into_bytes();
        out.extend_from_slice(&req[first.len()..]);
        let mut up = std::net::TcpStream::connect(("127.0.0.1", upstream)).unwrap();
        up.set_read_timeout(Some(TIMEOUT)).unwrap();
        up.write_all(&out).unwrap();
        let mut resp = Vec::new();
        let _ = up.read_to_end(&mut resp);
        let _ = client.write_all(&resp);
        first
    });
    (port, handle)
}

#[test]
fn proxy_and_no_proxy() {
    require!("openssl");
    if !is_openssl() && unsupported_option("proxy").is_some() {
        return; // linked with 1.1.1: -proxy is refused (tests/openssl_versions.rs)
    }
    let dir = TestDir::new();
    let index = server_index(&dir);
    let responder = Responder::start(&dir, &index);
    let url = format!("http://127.0.0.1:{}/", responder.port);
    let ca = dir.pki.ca_cert.to_str().unwrap();

    // Through -proxy: the request line carries the absolute URI.
    let (proxy_port, proxy) = one_shot_proxy(responder.port);
    let srv = server!(&dir)
        .args(["-CAfile", ca, "-status_url", &url, "-status_timeout", "10"])
        .args(["-proxy", &format!("127.0.0.1:{proxy_port}")])
        .start();
    let client = status_client(srv.port, &dir.pki.ca_cert);
    assert!(
        client.stdout.wait_for("OCSP Response Status: successful", TIMEOUT),
        "{}\n{}",
        client.dump(),
        srv.dump()
    );
    let line = proxy.join().unwrap();
    assert_eq!(line, format!("POST {url} HTTP/1.0"), "{}", srv.dump());
    drop(client);
    drop(srv);

    // -no_proxy naming the responder's host: the (dead) proxy is not used.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let srv = server!(&dir)
        .args(["-CAfile", ca, "-status_url", &url, "-status_timeout", "10"])
        .args([
            "-proxy",
            &format!("127.0.0.1:{dead_port}"),
            "-no_proxy",
            "localhost,127.0.0.1",
        ])
        .start();
    let client = status_client(srv.port, &dir.pki.ca_cert);
    assert!(
        client.stdout.wait_for("OCSP Response Status: successful", TIMEOUT),
        "{}\n{}",
        client.dump(),
        srv.dump()
    );
}

#[test]
fn a_responder_that_comes_late_is_asked_again() {
    require!("openssl");
    let dir = TestDir::new();
    let index = server_index(&dir);
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let url = format!("http://127.0.0.1:{port}/");
    let srv = server!(&dir)
        .args(["-CAfile", dir.pki.ca_cert.to_str().unwrap(), "-status_url", &url])
        .args(["-status_timeout", "5"])
        .start();
    // Nobody answers yet: the handshake goes on without a staple.
    let client = status_client(srv.port, &dir.pki.ca_cert);
    assert!(
        client.stdout.wait_for("OCSP response: no response sent", TIMEOUT),
        "{}",
        client.dump()
    );
    assert!(
        srv.stderr().wait_for("cert_status: error querying responder", TIMEOUT),
        "{}",
        srv.dump()
    );
    drop(client);
    let responder = Responder::start_on(&dir, &index, port);
    // The handshakes that find no response make sserve ask again (at most every 5 s).
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let client = status_client(srv.port, &dir.pki.ca_cert);
        client.stdout.wait_for("OCSP response:", TIMEOUT);
        if client.stdout.contains("OCSP Response Status: successful") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no staple after the responder started\n{}\n{}",
            srv.dump(),
            responder.proc.dump()
        );
        drop(client);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
