//! The command line as a user meets it: values never taken for flags, bad values refused with
//! one line before anything happens, `-help`/`-h`/`-?`/`-version`, console state kept per
//! connection, the ephemeral certificate's pins and URL, and the web modes' opt-in HTTP/1.1
//! (`-keep_alive`) against curl and Python.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sserve_tests::{curl, is_openssl, python, require, s_client, server, Server, TestDir, TIMEOUT};

#[test]
fn a_value_is_never_a_flag() {
    require!("openssl");
    let dir = TestDir::new();
    // `-context www` is a session id context, not the status page: the console mode prints the
    // client's data.
    let srv = server!(&dir).args(["-context", "www"]).start();
    let mut c = s_client(srv.port, &[]);
    c.write_stdin(b"GET / HTTP/1.0\n\n");
    srv.expect_stdout("GET / HTTP/1.0");
    assert!(!srv.stdout().contains("HTTP/1.0 200 ok"), "{}", srv.dump());
    c.kill();
    // `-context msg -www`: the status page, and no -msg trace.
    let srv = server!(&dir).args(["-context", "msg", "-www"]).start();
    let page = curl(&["-sk", &srv.url("/")]);
    assert!(
        page.out().contains("Ciphers supported in s_server binary"),
        "{}",
        page.dump()
    );
    assert!(!srv.stdout().contains(">>> "), "{}", srv.dump());
}

#[test]
fn bad_values_are_one_line_before_anything_happens() {
    if is_openssl() {
        return; // s_server's wording and checks differ (docs/compat.md)
    }
    let dir = TestDir::new();
    for (args, needle) in [
        (&["-key", "/nonexistent.key"][..], "/nonexistent.key"),
        (&["-accept", "notaport"][..], "invalid port 'notaport'"),
        (&["-accept", "99999"][..], "invalid port '99999'"),
        (&["-accept", "[::1"][..], "missing ']'"),
        (&["-naccept", "0"][..], "Non-positive number \"0\" for option -naccept"),
        (
            &["-naccept", "x"][..],
            "Can't parse \"x\" as a number for option -naccept",
        ),
        (&["-threads", "20000"][..], "for option -threads is out of range"),
        (
            &["-read_buf", "0"][..],
            "Non-positive number \"0\" for option -read_buf",
        ),
        (
            &["-read_buf", "99999999999"][..],
            "for option -read_buf is out of range",
        ),
        (&["-runtime", "foo"][..], "unknown runtime 'foo'"),
        (&["-keep_alive"][..], "-keep_alive needs -www or -WWW"),
        (&["-WWW", "-alpn", "h2,http/1.1"][..], "not h2"),
    ] {
        // No -cert: a value error must come before the ephemeral certificate is made.
        let f = server!(&dir).no_cert().args(args).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{args:?}\n{}", f.dump());
        let err = f.err();
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line\n{}", f.dump());
        assert!(
            err.starts_with("sserve: ") && err.contains(needle),
            "{args:?}\n{}",
            f.dump()
        );
        assert!(f.out().is_empty(), "{args:?}\n{}", f.dump());
    }
}

#[test]
fn help_and_version() {
    if is_openssl() {
        return; // s_server prints its help on stderr and has no -version
    }
    let dir = TestDir::new();
    for flag in ["-help", "-h", "-?"] {
        let f = server!(&dir).arg(flag).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(0), "{flag}\n{}", f.dump());
        let help = f.out();
        assert!(help.starts_with("Usage: sserve [options]\n"), "{flag}: {help}");
        assert!(help.contains("\n -accept val "), "{help}");
        assert!(help.contains("\n -cipher val "), "SSL_CONF options are listed\n{help}");
        assert!(help.contains("\nsserve options:\n"), "{help}");
        assert!(!help.contains("--") && !help.contains("..."), "{help}");
        assert!(f.err().is_empty(), "{}", f.dump());
    }
    let f = server!(&dir).arg("-version").run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(0), "{}", f.dump());
    assert!(
        f.out().starts_with("sserve ") && f.out().contains(&sserve_tests::server_openssl_version()),
        "{}",
        f.dump()
    );
}

#[test]
fn rev_reports_each_connection_on_its_own() {
    require!("openssl");
    if is_openssl() {
        return; // s_server serves one -rev connection at a time
    }
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-rev").start();
    let mut good = s_client(srv.port, &[]);
    good.write_stdin(b"hello\n");
    good.expect_stdout("olleh");
    srv.expect_stderr("CONNECTION ESTABLISHED");
    // A second connection that sends garbage fails its handshake while the first is open.
    let mut bad = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    bad.write_all(b"this is not a TLS ClientHello\r\n\r\n").unwrap();
    let _ = bad.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = bad.read(&mut [0u8; 64]);
    srv.expect_stderr("CONNECTION FAILURE");
    good.write_stdin(b"abc\n");
    good.expect_stdout("cba");
    good.kill();
}

#[test]
fn ephemeral_certificate_pins_and_url() {
    require!("openssl", "curl");
    if is_openssl() {
        return; // s_server needs a certificate
    }
    let dir = TestDir::new();
    let srv = server!(&dir).no_cert().arg("-www").start();
    srv.expect_stderr(&format!("open https://localhost:{}/", srv.port));
    let err = srv.stderr().text();
    let spki = err
        .split("SPKI SHA-256 base64 ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no SPKI pin\n{err}"));
    // curl's --pinnedpubkey takes the same pin: it matches the served key.
    let pinned = curl(&["-sk", "--pinnedpubkey", &format!("sha256//{spki}"), &srv.url("/")]);
    assert!(pinned.success(), "{}", pinned.dump());
    // notBefore is an hour back (a client whose clock lags a little accepts it).
    let cert = s_client_cert(&srv);
    let f = sserve_tests::run(
        {
            let mut c = std::process::Command::new("openssl");
            c.args(["x509", "-noout", "-startdate", "-dateopt", "iso_8601"]);
            c
        },
        cert.as_bytes(),
        TIMEOUT,
    );
    let start = f.out();
    let stamp = start.trim().trim_start_matches("notBefore=").to_string();
    let check = python(&format!(
        "import datetime\nt = datetime.datetime.strptime('{stamp}', '%Y-%m-%d %H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)\nago = datetime.datetime.now(datetime.timezone.utc) - t\nprint(int(ago.total_seconds()))\n"
    ), &[]);
    let ago: i64 = check
        .out()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}\n{}", f.dump(), check.dump()));
    assert!((3500..3700).contains(&ago), "notBefore {stamp} is {ago} s back");
}

/// The server's certificate as PEM, via `s_client -showcerts`.
fn s_client_cert(srv: &Server) -> String {
    let f = sserve_tests::s_client_finish(srv.port, &["-showcerts"], b"");
    let out = f.out();
    let start = out.find("-----BEGIN CERTIFICATE-----").expect("a certificate");
    let end = out.find("-----END CERTIFICATE-----").expect("its end") + "-----END CERTIFICATE-----".len();
    format!("{}\n", &out[start..end])
}

#[test]
fn keep_alive_reuses_one_connection_with_real_types_and_codes() {
    require!("curl");
    if is_openssl() {
        return; // -keep_alive is an sserve extension
    }
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), b"hello\n").unwrap();
    std::fs::write(dir.www().join("s.css"), b"body{color:red}\n").unwrap();
    let srv = server!(&dir).args(["-WWW", "-keep_alive"]).start();
    let f = curl(&[
        "-skv",
        &srv.url("/a.txt"),
        &srv.url("/s.css"),
        "--path-as-is",
        &srv.url("/../x"),
        &srv.url("/missing"),
    ]);
    let err = f.err();
    assert_eq!(f.out().matches("hello\n").count(), 1, "{}", f.dump());
    assert!(f.out().contains("body{color:red}"), "{}", f.dump());
    assert_eq!(err.matches("Re-using existing connection").count(), 3, "{}", f.dump());
    assert!(err.contains("< Content-Type: text/css"), "{}", f.dump());
    assert!(err.contains("< Content-Length: 6"), "{}", f.dump());
    assert!(err.contains("< HTTP/1.1 403 Forbidden"), "{}", f.dump());
    assert!(err.contains("< HTTP/1.1 404 Not Found"), "{}", f.dump());
    // One TLS connection served all four.
    assert_eq!(srv.stderr().count("FILE:"), 1 + 1, "{}", srv.dump());
}

#[test]
fn keep_alive_status_page_and_connection_close_with_python() {
    require!("python3");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-www", "-keep_alive"]).start();
    // http.client keeps one connection for both requests; the second asks to close.
    let script = format!(
        r#"
import http.client, ssl
ctx = ssl._create_unverified_context()
c = http.client.HTTPSConnection("127.0.0.1", {port}, context=ctx, timeout=10)
c.request("GET", "/")
r = c.getresponse(); body = r.read()
print(r.status, r.getheader("Content-Type"), len(body) == int(r.getheader("Content-Length")))
sock = c.sock
c.request("GET", "/", headers={{"Connection": "close"}})
r = c.getresponse(); r.read()
print(r.status, r.getheader("Connection"), c.sock is None or c.sock is sock)
"#,
        port = srv.port
    );
    let f = python(&script, &[]);
    assert!(f.success(), "{}\n{}", f.dump(), srv.dump());
    assert_eq!(
        f.out(),
        "200 text/html; charset=utf-8 True\n200 close True\n",
        "{}",
        f.dump()
    );
}
