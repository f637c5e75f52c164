//! `-www` status page, `-WWW` file serving and `-HTTP`, driven by `curl` (and Python for
//! byte-exact raw responses).

use sserve_tests::{
    contains, curl, is_openssl, py_fetch, py_fetch_ending, random_bytes, require, server, ClientEnd, Server, TestDir,
};

/// `curl -sk` `url` with extra args; panics unless curl succeeds.
fn get(srv: &Server, path: &str, extra: &[&str]) -> Vec<u8> {
    let url = srv.url(path);
    let mut args = vec!["-k", "--path-as-is"];
    args.extend_from_slice(extra);
    args.push(&url);
    let f = curl(&args);
    assert!(f.success(), "curl {url} failed\n{}\nserver:\n{}", f.dump(), srv.dump());
    f.stdout
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn www_page_names_the_negotiated_tls13_cipher() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-www").start();
    // A suite that is not the default choice, so the page must reflect the negotiation.
    let page = text(&get(
        &srv,
        "/",
        &["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"],
    ));
    assert!(page.contains("Ciphers supported in s_server binary"), "{page}");
    assert!(
        page.contains("Cipher is TLS_CHACHA20_POLY1305_SHA256"),
        "page does not name the negotiated cipher\n{page}"
    );
    assert!(page.contains("<HTML><BODY BGCOLOR=\"#ffffff\">"), "{page}");
    assert!(page.contains("items in the session cache"), "{page}");
    assert!(page.contains("no client certificate available"), "{page}");
    assert!(page.trim_end().ends_with("</pre></BODY></HTML>"), "{page}");
}

#[test]
fn www_page_names_the_negotiated_tls12_cipher() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-www").start();
    let page = text(&get(
        &srv,
        "/",
        &[
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ],
    ));
    assert!(page.contains("Ciphers supported in s_server binary"), "{page}");
    assert!(
        page.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
        "page does not name the negotiated cipher\n{page}"
    );
    assert!(page.contains("Protocol  : TLSv1.2"), "{page}");
}

#[test]
fn www_raw_response_header() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-www").start();
    let f = py_fetch(srv.port, "1.3", b"GET / HTTP/1.0\r\n\r\n");
    assert!(f.success(), "{}", f.dump());
    assert!(
        f.stdout
            .starts_with(b"HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n"),
        "{}",
        f.dump()
    );
}

#[test]
fn www_files_text_and_1mib_binary_are_byte_identical() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let text_body = b"hello from -WWW\nsecond line\r\nthird\n".to_vec();
    let bin_body = random_bytes(1024 * 1024, 0x5eed_5e77e);
    std::fs::write(dir.www().join("a.txt"), &text_body).unwrap();
    std::fs::write(dir.www().join("random.bin"), &bin_body).unwrap();
    std::fs::create_dir(dir.www().join("sub")).unwrap();
    std::fs::write(dir.www().join("sub/nested.txt"), b"nested\n").unwrap();
    let srv = server!(&dir).arg("-WWW").start();

    assert_eq!(text(&get(&srv, "/a.txt", &[])), text(&text_body));
    let got = get(&srv, "/random.bin", &[]);
    assert_eq!(got.len(), bin_body.len(), "binary file length differs");
    assert!(got == bin_body, "binary file content differs");
    assert_eq!(get(&srv, "/sub/nested.txt", &[]), b"nested\n");

    // Headers: text/plain for anything but .html/.htm/.php.
    let head = text(&get(&srv, "/a.txt", &["-i"]));
    assert!(head.starts_with("HTTP/1.0 200 ok\r\n"), "{head}");
    assert!(head.contains("Content-type: text/plain\r\n"), "{head}");
}

#[test]
fn www_html_content_type() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    std::fs::write(dir.www().join("index.html"), b"<p>hi</p>\n").unwrap();
    std::fs::write(dir.www().join("page.htm"), b"<p>htm</p>\n").unwrap();
    let srv = server!(&dir).arg("-WWW").start();
    for (path, body) in [("/index.html", "<p>hi</p>\n"), ("/page.htm", "<p>htm</p>\n")] {
        let resp = text(&get(&srv, path, &["-i"]));
        assert!(resp.contains("Content-type: text/html\r\n"), "{path}: {resp}");
        assert!(resp.ends_with(body), "{path}: {resp}");
    }
}

#[test]
fn www_missing_file_and_directory() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    std::fs::create_dir(dir.www().join("sub")).unwrap();
    let srv = server!(&dir).arg("-WWW").start();
    let resp = text(&get(&srv, "/no-such-file.txt", &[]));
    assert!(
        resp.contains("Error opening 'no-such-file.txt'"),
        "missing file: {resp}"
    );
    let resp = text(&get(&srv, "/sub", &[]));
    assert!(resp.contains("'sub' is a directory"), "directory: {resp}");
}

#[test]
fn www_traversal_attempts_are_refused() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    // A secret next to (outside) the document root, and one inside a subdirectory.
    std::fs::write(dir.join("secret.txt"), b"TOP-SECRET\n").unwrap();
    std::fs::create_dir(dir.www().join("sub")).unwrap();
    std::fs::write(dir.www().join("x"), b"inside\n").unwrap();
    let srv = server!(&dir).arg("-WWW").start();
    let cases: &[(&str, &str)] = &[
        ("/../secret.txt", "'../secret.txt' contains '..' or ':'"),
        ("/sub/../../secret.txt", "'sub/../../secret.txt' contains '..' or ':'"),
        ("/sub/../x", "'sub/../x' contains '..' or ':'"),
        ("/..", "'..' contains '..' or ':'"),
        ("/c:x", "'c' contains '..' or ':'"),
        ("//etc/passwd", "'/etc/passwd' is an invalid path"),
    ];
    for (path, msg) in cases {
        let resp = get(&srv, path, &["-i"]);
        let t = text(&resp);
        assert!(t.contains(msg), "{path}: expected {msg:?}, got {t:?}");
        assert!(!contains(&resp, b"TOP-SECRET"), "{path} leaked the secret");
        assert!(!contains(&resp, b"root:"), "{path} leaked /etc/passwd");
    }
    // Percent-encoding is not decoded: `%2e%2e` is a (missing) file name, not `..`.
    let resp = get(&srv, "/%2e%2e/secret.txt", &[]);
    assert!(!contains(&resp, b"TOP-SECRET"), "encoded traversal leaked the secret");
    assert!(text(&resp).contains("Error opening"), "{}", text(&resp));
}

#[test]
fn www_symlink_out_of_root_is_refused() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    std::fs::write(dir.join("secret.txt"), b"TOP-SECRET\n").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.www().join("link.txt")).unwrap();
    std::fs::write(dir.www().join("real.txt"), b"real\n").unwrap();
    std::os::unix::fs::symlink("real.txt", dir.www().join("inner-link.txt")).unwrap();
    let srv = server!(&dir).arg("-WWW").start();
    let resp = get(&srv, "/link.txt", &[]);
    if is_openssl() {
        // s_server follows symlinks (documented sserve deviation).
        assert_eq!(resp, b"TOP-SECRET\n");
    } else {
        assert!(
            !contains(&resp, b"TOP-SECRET"),
            "symlink escaped the document root: {}",
            text(&resp)
        );
    }
    // A symlink that stays inside the root is served.
    assert_eq!(get(&srv, "/inner-link.txt", &[]), b"real\n");
}

#[test]
fn www_stats_page() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-WWW").start();
    let page = text(&get(&srv, "/stats", &[]));
    assert!(page.contains("Ciphers supported in s_server binary"), "{page}");
}

#[test]
fn http_mode_sends_the_file_as_is() {
    require!("openssl", "curl", "python3");
    let dir = TestDir::new();
    let body = b"HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\nX-Sserve-Test: as-is\r\n\r\nraw body from -HTTP\n";
    std::fs::write(dir.www().join("resp.txt"), body).unwrap();
    let srv = server!(&dir).arg("-HTTP").start();
    // Byte-exact: no header added by the server.
    let f = py_fetch(srv.port, "any", b"GET /resp.txt HTTP/1.0\r\n\r\n");
    assert!(f.success(), "{}", f.dump());
    assert_eq!(text(&f.stdout), text(body));
    // curl understands it as a normal response.
    let resp = text(&get(&srv, "/resp.txt", &["-i"]));
    assert!(resp.contains("X-Sserve-Test: as-is"), "{resp}");
    assert!(resp.ends_with("raw body from -HTTP\n"), "{resp}");
    assert_eq!(text(&get(&srv, "/resp.txt", &[])), "raw body from -HTTP\n");
}

#[test]
fn www_serves_many_requests_one_after_another() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    std::fs::write(dir.www().join("n.txt"), b"n\n").unwrap();
    let srv = server!(&dir).arg("-WWW").start();
    for _ in 0..5 {
        assert_eq!(get(&srv, "/n.txt", &[]), b"n\n");
    }
}

#[test]
fn www_raw_request_edge_cases() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), b"AAA\n").unwrap();
    std::fs::write(dir.join("secret.txt"), b"TOP-SECRET\n").unwrap();
    let srv = server!(&dir).arg("-WWW").start();
    let text_ok = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";
    let cases: &[(&[u8], &str)] = &[
        // Lines before the request line that do not start with GET are ignored.
        (b"Host: x\r\nGET /a.txt HTTP/1.0\r\n\r\n", "AAA\n"),
        // No space after the path (HTTP/0.9 style): the rest of the line, CRLF included.
        (b"GET /a.txt\r\n\r\n", "'a.txt\r\n' is an invalid file name\r\n"),
        // Backslashes separate components too.
        (b"GET /a\\..\\..\\secret.txt HTTP/1.0\r\n\r\n", "contains '..' or ':'"),
        // Absolute path with a backslash.
        (b"GET /\\etc\\passwd HTTP/1.0\r\n\r\n", "is an invalid path"),
        // No URL decoding, no query stripping.
        (b"GET /a.txt?x=1 HTTP/1.0\r\n\r\n", "Error opening 'a.txt?x=1'"),
        // Empty path.
        (b"GET / HTTP/1.0\r\n\r\n", "Error opening ''"),
    ];
    for (req, want) in cases {
        let f = py_fetch(srv.port, "any", req);
        let got = text(&f.stdout);
        assert!(f.success(), "{:?}\n{}", text(req), f.dump());
        assert!(got.starts_with(text_ok), "{:?}: {got:?}", text(req));
        assert!(got.contains(want), "{:?}: want {want:?}, got {got:?}", text(req));
        assert!(!got.contains("TOP-SECRET"), "{:?} leaked the secret", text(req));
    }
    // A path that is not UTF-8.
    let f = py_fetch(srv.port, "any", b"GET /\xff\xfe.txt HTTP/1.0\r\n\r\n");
    assert!(f.success(), "{}", f.dump());
    let got = text(&f.stdout);
    if is_openssl() {
        assert!(got.contains("Error opening"), "{got:?}");
    } else {
        assert!(got.contains("is not a valid UTF-8 file name"), "{got:?}");
    }
    // An over-long request line gets an answer or a close, never a crash.
    let mut long = b"GET /".to_vec();
    long.extend_from_slice(&[b'a'; 40_000]);
    long.extend_from_slice(b" HTTP/1.0\r\n\r\n");
    let _ = py_fetch(srv.port, "any", &long);
    let f = py_fetch(srv.port, "any", b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert!(
        text(&f.stdout).ends_with("AAA\n"),
        "server unusable after a long line\n{}",
        f.dump()
    );
}

/// A last request line without its line end, then close_notify: s_server's `BIO_gets` returns
/// the unfinished line at close_notify, so it is answered like a complete one.
#[test]
fn unfinished_request_line_then_close_notify_is_answered() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), b"file a\n").unwrap();
    let html_ok = "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n";
    let text_ok = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";
    for (mode, request, want_start, want_end) in [
        ("-www", &b"GET / HTTP/1.0"[..], html_ok, "</pre></BODY></HTML>\r\n\r\n"),
        ("-WWW", b"GET /a.txt HTTP/1.0", text_ok, "file a\n"),
        ("-WWW", b"GET /a.txt", text_ok, "'a.txt' is an invalid file name\r\n"),
        ("-HTTP", b"GET /a.txt HTTP/1.0", "file a\n", "file a\n"),
    ] {
        let srv = server!(&dir).arg(mode).start();
        for version in ["1.2", "1.3"] {
            let f = py_fetch_ending(srv.port, version, request, ClientEnd::CloseNotify);
            let got = text(&f.stdout);
            let what = format!("{mode} TLS {version} {:?}", text(request));
            assert!(f.success(), "{what}\n{}\nserver:\n{}", f.dump(), srv.dump());
            assert!(got.starts_with(want_start), "{what}: {got:?}");
            assert!(got.ends_with(want_end), "{what}: {got:?}");
            assert!(f.err().contains("END: close_notify"), "{what}: {}", f.dump());
        }
    }
}

/// The same request line ended by a TCP FIN without close_notify: OpenSSL fails the read with
/// "unexpected eof" and sends a decode_error alert (1.1.1 fails it without an alert, so the peer
/// sees the connection end); nothing is answered. The server goes on.
#[test]
fn unfinished_request_line_then_fin_gets_decode_error_and_no_answer() {
    require!("openssl", "python3");
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), b"file a\n").unwrap();
    let end = if sserve_tests::server_is_ossl3() {
        "END: error TLSV1_ALERT_DECODE_ERROR"
    } else {
        "END: eof"
    };
    for mode in ["-www", "-WWW", "-HTTP"] {
        let srv = server!(&dir).arg(mode).start();
        for version in ["1.2", "1.3"] {
            let f = py_fetch_ending(srv.port, version, b"GET /a.txt HTTP/1.0", ClientEnd::Fin);
            let what = format!("{mode} TLS {version}");
            assert_eq!(text(&f.stdout), "", "{what}: no answer\n{}", f.dump());
            assert!(f.err().contains(end), "{what}\n{}\nserver:\n{}", f.dump(), srv.dump());
        }
        let f = py_fetch(srv.port, "any", b"GET /a.txt HTTP/1.0\r\n\r\n");
        assert!(f.stdout.ends_with(b"\n"), "{mode}: still serving\n{}", f.dump());
    }
}

/// A client whose receive buffer is small and who pauses every 64 KiB: the server's writes are
/// cut short and wait again and again. Prints `ok` when the body equals the file at `argv[3]`.
const PY_SLOW_READER: &str = r#"
import socket, ssl, sys, time
port, name, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
# An Ethernet MSS: over loopback's 64 KiB one the server's send buffer would take the whole file.
raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1448)
raw.settimeout(20)
raw.connect(("127.0.0.1", port))
s = ctx.wrap_socket(raw)
s.sendall(f"GET /{name} HTTP/1.0\r\n\r\n".encode())
data, paused = b"", 0
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
    if len(data) // 65536 > paused:
        paused = len(data) // 65536
        time.sleep(0.01)
body = data.split(b"\r\n\r\n", 1)[1]
want = open(path, "rb").read()
if body == want:
    print("ok")
else:
    same = next((i for i, (a, b) in enumerate(zip(body, want)) if a != b), min(len(body), len(want)))
    print(f"got {len(body)} of {len(want)} bytes, first difference at {same}")
"#;

/// A download the server must pause many times (its writes cut short, the unsent end of a
/// record kept, the file data read ahead given back and read again) arrives whole and in order.
/// Against s_server (which has no `-runtime`) the tokio variant runs it once.
fn slow_reader_gets_the_whole_file(runtime: &str) {
    require!("python3");
    if is_openssl() && runtime != "tokio" {
        return;
    }
    let dir = TestDir::new();
    let file = dir.www().join("big.bin");
    std::fs::write(&file, random_bytes(3 * 1024 * 1024 + 12_345, 7)).unwrap();
    let mut args = vec!["-WWW"];
    if !is_openssl() {
        args.extend(["-runtime", runtime]);
    }
    let srv = server!(&dir).args(args).start();
    let r = sserve_tests::python(
        PY_SLOW_READER,
        &[&srv.port.to_string(), "big.bin", file.to_str().unwrap()],
    );
    assert_eq!(r.out().trim(), "ok", "{}\n{}", r.dump(), srv.dump());
}

#[test]
fn slow_reader_gets_the_whole_file_tokio() {
    slow_reader_gets_the_whole_file("tokio");
}

#[test]
fn slow_reader_gets_the_whole_file_smol() {
    slow_reader_gets_the_whole_file("smol");
}

#[test]
fn slow_reader_gets_the_whole_file_blocking() {
    slow_reader_gets_the_whole_file("blocking");
}
