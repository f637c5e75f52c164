//! `-rev` mode with Python's `ssl` module over TLS 1.2 and TLS 1.3.

use sserve_tests::{py_fetch_ending, python, require, server, ClientEnd, TestDir};

/// Connects with the given TLS version, checks the negotiated version, sends lines and
/// expects them reversed, then sends `CLOSE` and expects the server to close.
const PY_REV: &str = r#"
import socket, ssl, sys
port, ver = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
v = ssl.TLSVersion.TLSv1_2 if ver == "1.2" else ssl.TLSVersion.TLSv1_3
ctx.minimum_version = v
ctx.maximum_version = v
raw = socket.create_connection(("127.0.0.1", port), timeout=15)
s = ctx.wrap_socket(raw, server_hostname="localhost")
print("version", s.version())
print("cipher", s.cipher()[0])
def roundtrip(line):
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            raise SystemExit("EOF while waiting for reply to %r (got %r)" % (line, buf))
        buf += d
    return buf
for line, want in [(b"hello world\n", b"dlrow olleh\n"),
                   (b"abc\r\n", b"cba\n"),
                   (b"\n", b"\n")]:
    got = roundtrip(line)
    if got != want:
        raise SystemExit("sent %r, want %r, got %r" % (line, want, got))
print("echo ok")
s.sendall(b"CLOSE\n")
try:
    rest = s.recv(100)
except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
    rest = b""
if rest != b"":
    raise SystemExit("expected the connection to close after CLOSE, got %r" % rest)
print("closed ok")
"#;

fn rev_with(version: &str, extra: &[&str]) {
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-rev").args(extra).start();
    let f = python(PY_REV, &[&srv.port.to_string(), version]);
    assert!(
        f.success(),
        "python -rev client failed\n{}\nserver:\n{}",
        f.dump(),
        srv.dump()
    );
    let out = f.out();
    assert!(out.contains(&format!("version TLSv{version}")), "{out}");
    assert!(out.contains("echo ok"), "{out}");
    assert!(out.contains("closed ok"), "{out}");
    srv.expect_stderr("CONNECTION ESTABLISHED");
    srv.expect_stderr("CONNECTION CLOSED");
    // The server keeps accepting.
    let f = python(PY_REV, &[&srv.port.to_string(), version]);
    assert!(
        f.success(),
        "second client failed\n{}\nserver:\n{}",
        f.dump(),
        srv.dump()
    );
}

#[test]
fn rev_tls13() {
    require!("openssl", "python3");
    rev_with("1.3", &[]);
}

#[test]
fn rev_tls12() {
    require!("openssl", "python3");
    rev_with("1.2", &[]);
}

#[test]
fn rev_tls12_only_server() {
    require!("openssl", "python3");
    rev_with("1.2", &["-tls1_2"]);
}

#[test]
fn rev_refuses_a_version_it_does_not_allow() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-rev", "-tls1_3"]).start();
    let f = python(PY_REV, &[&srv.port.to_string(), "1.2"]);
    assert!(!f.success(), "TLS 1.2 client served by a -tls1_3 server\n{}", f.dump());
    // And a TLS 1.3 client is still served afterwards.
    let f = python(PY_REV, &[&srv.port.to_string(), "1.3"]);
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
}

/// An unfinished last line is reversed when close_notify follows it (s_server's `BIO_gets`
/// returns it), and dropped (with a decode_error alert from OpenSSL 3; 1.1.1 sends none) when a
/// bare TCP FIN does.
#[test]
fn rev_unfinished_last_line() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-rev").start();
    let f = py_fetch_ending(srv.port, "any", b"abc\ndef", ClientEnd::CloseNotify);
    assert_eq!(String::from_utf8_lossy(&f.stdout), "cba\nfed\n", "{}", f.dump());
    assert!(f.err().contains("END: close_notify"), "{}", f.dump());
    let f = py_fetch_ending(srv.port, "any", b"abc\ndef", ClientEnd::Fin);
    assert_eq!(String::from_utf8_lossy(&f.stdout), "cba\n", "{}", f.dump());
    let end = if sserve_tests::server_is_ossl3() {
        "END: error TLSV1_ALERT_DECODE_ERROR"
    } else {
        "END: eof"
    };
    assert!(f.err().contains(end), "{}\nserver:\n{}", f.dump(), srv.dump());
}
