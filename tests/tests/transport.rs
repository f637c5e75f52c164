//! Transport and process-level options: `-unix`/`-unlink` (console echo with
//! `openssl s_client -unix`, `-www` with curl `--unix-socket` on every runtime), `-nbio`,
//! `-sendfile`, `-ssl_config`, `-provider`/`-provider-path`/`-propquery`, `-rand`/`-writerand`,
//! `-nbio_test` (short socket I/O), and the refusal of `-async`.

use sserve_tests::{curl, is_openssl, parse_accept_port, require, run, server, server_bin, Proc, TestDir, TIMEOUT};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Waits for the `ACCEPT localhost:<name>` line of a server listening on a Unix socket.
fn expect_unix_accept(srv: &Proc, name: &str) {
    srv.expect_stdout(&format!("ACCEPT localhost:{name}\n"));
}

/// Runs `openssl s_client -unix path` plus `args` with piped stdin.
fn s_client_unix(path: &Path, args: &[&str]) -> Proc {
    let mut cmd = Command::new("openssl");
    cmd.arg("s_client").arg("-unix").arg(path).args(args);
    Proc::spawn(cmd).expect("cannot start openssl s_client")
}

/// A socket name relative to the server's working directory (`dir.www()`), and its absolute
/// path for the clients. Relative, because s_server cannot print its ACCEPT line for a path of
/// 32 bytes or more (getnameinfo's service buffer) and then exits (docs/compat.md).
fn socket_in(dir: &TestDir, name: &str) -> (String, PathBuf) {
    (name.to_string(), dir.www().join(name))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn stderr_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn unix_socket_console_echo_both_ways() {
    require!("openssl");
    let dir = TestDir::new();
    let (name, sock) = socket_in(&dir, "console.sock");
    let mut srv = server!(&dir).args(["-naccept", "1", "-unix", &name]).spawn();
    expect_unix_accept(&srv, &name);
    assert!(sock.exists(), "socket file missing\n{}", srv.dump());
    // -quiet implies -ign_eof in s_client; -no_ign_eof makes its stdin EOF close the session.
    let mut client = s_client_unix(&sock, &["-quiet", "-no_ign_eof"]);
    srv.expect_stdout("CIPHER is ");
    client.write_stdin(b"hello over unix\n");
    srv.expect_stdout("hello over unix\n");
    srv.write_stdin(b"reply from server\n");
    client.expect_stdout("reply from server\n");
    client.close_stdin();
    let status = srv.expect_exit(TIMEOUT);
    assert!(status.success(), "{}", srv.dump());
    // s_server's do_server unlinks the socket path when it is done.
    assert!(!sock.exists(), "socket file left behind\n{}", srv.dump());
}

#[test]
fn unix_socket_www_with_curl_and_s_client_on_every_runtime() {
    require!("openssl", "curl");
    let runtimes: &[Option<&str>] = if is_openssl() {
        &[None]
    } else {
        &[None, Some("tokio"), Some("smol"), Some("blocking")]
    };
    for runtime in runtimes {
        let dir = TestDir::new();
        let (name, sock) = socket_in(&dir, "www.sock");
        let mut b = server!(&dir).args(["-www", "-naccept", "2", "-unix", &name]);
        if let Some(r) = runtime {
            b = b.args(["-runtime", r]);
        }
        let mut srv = b.spawn();
        expect_unix_accept(&srv, &name);
        let page = curl(&["-k", "--unix-socket", sock.to_str().unwrap(), "https://localhost/"]);
        assert!(page.success(), "{runtime:?}\n{}\n{}", page.dump(), srv.dump());
        assert!(page.out().contains("<pre>"), "{runtime:?}\n{}", page.dump());
        assert!(
            page.out().contains("Ciphers supported in s_server binary"),
            "{runtime:?}\n{}",
            page.dump()
        );
        let mut client = s_client_unix(&sock, &["-ign_eof"]);
        client.write_stdin(b"GET / HTTP/1.0\r\n\r\n");
        client.expect_stdout("HTTP/1.0 200 ok");
        client.close_stdin();
        let status = srv.expect_exit(TIMEOUT);
        assert!(status.success(), "{runtime:?}\n{}", srv.dump());
        assert!(!sock.exists(), "{runtime:?}: socket file left behind");
    }
}

#[test]
fn unix_json_reports_the_path() {
    require!("curl");
    if is_openssl() {
        return; // -json is an sserve extension
    }
    let dir = TestDir::new();
    let (name, sock) = socket_in(&dir, "json.sock");
    let mut srv = server!(&dir)
        .args(["-www", "-json", "-naccept", "1", "-unix", &name])
        .spawn();
    srv.expect_stdout(&format!("\"address\":\"unix:{name}\""));
    let page = curl(&["-k", "--unix-socket", sock.to_str().unwrap(), "https://localhost/"]);
    assert!(page.success(), "{}", page.dump());
    srv.expect_stdout("\"peer\":\"unix\"");
    assert!(srv.expect_exit(TIMEOUT).success(), "{}", srv.dump());
}

#[test]
fn unlink_replaces_a_stale_socket_file() {
    require!("curl");
    let dir = TestDir::new();
    let (name, sock) = socket_in(&dir, "stale.sock");
    std::fs::write(&sock, b"stale").unwrap();
    let f = server!(&dir).args(["-www", "-unix", &name]).run_to_exit(TIMEOUT);
    assert!(
        f.err().contains("Address already in use"),
        "bind over an existing file must fail\n{}",
        f.dump()
    );
    if !is_openssl() {
        // sserve: one line, exit 1 (compat.md), and the file it did not create stays.
        assert_eq!(f.code(), Some(1), "{}", f.dump());
        assert_eq!(stderr_lines(&f.err()).len(), 1, "{}", f.dump());
        assert!(sock.exists());
    } else {
        std::fs::write(&sock, b"stale").unwrap();
    }
    let mut srv = server!(&dir)
        .args(["-www", "-naccept", "1", "-unlink", "-unix", &name])
        .spawn();
    expect_unix_accept(&srv, &name);
    let page = curl(&["-k", "--unix-socket", sock.to_str().unwrap(), "https://localhost/"]);
    assert!(page.success(), "{}\n{}", page.dump(), srv.dump());
    assert!(srv.expect_exit(TIMEOUT).success(), "{}", srv.dump());
}

#[test]
fn later_accept_overrides_unix_and_unix_refuses_dtls() {
    require!("openssl");
    let dir = TestDir::new();
    let (name, sock) = socket_in(&dir, "never.sock");
    // The harness passes `-accept 0` first: a later -unix wins; here a later -port does.
    let port = free_port();
    let srv = server!(&dir).args(["-unix", &name, "-port", &port.to_string()]).spawn();
    srv.expect_stdout("ACCEPT\n");
    assert!(!sock.exists(), "a later -port must override -unix\n{}", srv.dump());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "{}",
        srv.dump()
    );
    drop(srv);
    let f = server!(&dir).args(["-dtls", "-unix", &name]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("Can't use unix sockets and datagrams together"),
        "{}",
        f.dump()
    );
}

#[test]
fn nbio_announces_non_blocking_io_per_connection() {
    require!("curl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-www", "-nbio", "-naccept", "2"]).start();
    for _ in 0..2 {
        let page = curl(&["-k", &srv.url("/")]);
        assert!(page.success(), "{}\n{}", page.dump(), srv.dump());
    }
    let mut proc = srv.proc;
    assert!(proc.expect_exit(TIMEOUT).success(), "{}", proc.dump());
    assert_eq!(proc.stderr.count("Turned on non blocking io\n"), 2, "{}", proc.dump());
    // -quiet silences it, as in s_server (and the ACCEPT line: pick a free port ourselves).
    let port = free_port();
    let mut proc = server!(&dir)
        .accept(port.to_string())
        .args(["-www", "-nbio", "-quiet", "-naccept", "1"])
        .spawn();
    let url = format!("https://127.0.0.1:{port}/");
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !curl(&["-k", &url]).success() {
        assert!(std::time::Instant::now() < deadline, "{}", proc.dump());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(proc.expect_exit(TIMEOUT).success(), "{}", proc.dump());
    assert!(!proc.stderr.contains("non blocking"), "{}", proc.dump());
}

#[test]
fn sendfile_needs_www_files_and_falls_back_with_s_servers_warning() {
    require!("curl");
    let dir = TestDir::new();
    let f = server!(&dir).args(["-www", "-sendfile"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains("Can't use -sendfile without -WWW or -HTTP"),
        "{}",
        f.dump()
    );
    std::fs::write(dir.www().join("file.txt"), b"sent by write, not sendfile\n").unwrap();
    let srv = server!(&dir).args(["-WWW", "-sendfile", "-naccept", "1"]).start();
    let page = curl(&["-k", &srv.url("/file.txt")]);
    assert_eq!(
        page.out(),
        "sent by write, not sendfile\n",
        "{}\n{}",
        page.dump(),
        srv.dump()
    );
    srv.expect_stderr("FILE:file.txt\n");
    srv.expect_stderr("Warning: sendfile requested but KTLS is not available\n");
}

/// An OpenSSL configuration with a named `ssl_conf` section for `-ssl_config`.
fn write_ssl_conf(dir: &TestDir) -> PathBuf {
    let path = dir.join("openssl.cnf");
    std::fs::write(
        &path,
        "openssl_conf = openssl_init\n\
         [openssl_init]\n\
         ssl_conf = ssl_sect\n\
         [ssl_sect]\n\
         strict13 = strict13_sect\n\
         [strict13_sect]\n\
         MinProtocol = TLSv1.3\n\
         Ciphersuites = TLS_CHACHA20_POLY1305_SHA256\n",
    )
    .unwrap();
    path
}

/// Starts the server under test with `OPENSSL_CONF=conf` (the harness's builder sets no
/// environment), waiting for its port.
fn start_with_conf(dir: &TestDir, conf: &Path, args: &[&str]) -> (Proc, Option<u16>) {
    let mut cmd = Command::new(server_bin(env!("CARGO_BIN_EXE_sserve-under-test")));
    cmd.arg("-cert")
        .arg(&dir.pki.server_cert)
        .arg("-key")
        .arg(&dir.pki.server_key)
        .args(["-accept", "0"])
        .args(args)
        .env("OPENSSL_CONF", conf)
        .current_dir(dir.www());
    let proc = Proc::spawn(cmd).expect("spawn server");
    let mut port = None;
    proc.stdout.wait_until(TIMEOUT, |b| {
        port = parse_accept_port(b);
        port.is_some()
    });
    (proc, port)
}

/// `openssl s_client` to completion (empty stdin).
fn s_client_run(port: u16, args: &[&str]) -> sserve_tests::Finished {
    sserve_tests::s_client_finish(port, args, b"")
}

#[test]
fn ssl_config_applies_the_named_section() {
    require!("openssl");
    let dir = TestDir::new();
    let conf = write_ssl_conf(&dir);
    // Without -ssl_config the section does nothing: TLS 1.2 works.
    let (plain, port) = start_with_conf(&dir, &conf, &[]);
    let port = port.unwrap_or_else(|| panic!("no ACCEPT\n{}", plain.dump()));
    let ok = s_client_run(port, &["-tls1_2"]);
    assert!(ok.out().contains("New, TLSv1.2, Cipher is "), "{}", ok.dump());
    drop(plain);
    // With it: MinProtocol and Ciphersuites of the section apply.
    let (srv, port) = start_with_conf(&dir, &conf, &["-ssl_config", "strict13"]);
    let port = port.unwrap_or_else(|| panic!("no ACCEPT\n{}", srv.dump()));
    let refused = s_client_run(port, &["-tls1_2"]);
    assert!(
        refused.out().contains("New, (NONE), Cipher is (NONE)"),
        "{}",
        refused.dump()
    );
    assert!(refused.err().contains("alert protocol version"), "{}", refused.dump());
    let ok = s_client_run(port, &[]);
    assert!(
        ok.out()
            .contains("New, TLSv1.3, Cipher is TLS_CHACHA20_POLY1305_SHA256"),
        "{}",
        ok.dump()
    );
    drop(srv);
    // A protocol flag is applied after the section, as in s_server: -tls1_2 still talks 1.2.
    let (srv, port) = start_with_conf(&dir, &conf, &["-ssl_config", "strict13", "-tls1_2"]);
    let port = port.unwrap_or_else(|| panic!("no ACCEPT\n{}", srv.dump()));
    let ok = s_client_run(port, &[]);
    assert!(
        ok.out().contains("New, TLSv1.2, Cipher is "),
        "{}\n{}",
        ok.dump(),
        srv.dump()
    );
    drop(srv);
    // An unknown name fails at start-up.
    let (mut bad, port) = start_with_conf(&dir, &conf, &["-ssl_config", "nosuch"]);
    assert_eq!(port, None);
    let status = bad.expect_exit(TIMEOUT);
    assert_eq!(status.code(), Some(1), "{}", bad.dump());
    assert!(
        bad.stderr.contains("Error using configuration \"nosuch\""),
        "{}",
        bad.dump()
    );
}

/// OpenSSL's module directory (`openssl version -m`).
fn modules_dir() -> Option<PathBuf> {
    let f = run(
        {
            let mut c = Command::new("openssl");
            c.args(["version", "-m"]);
            c
        },
        b"",
        TIMEOUT,
    );
    let out = f.out();
    let dir = out.split('"').nth(1)?;
    Some(PathBuf::from(dir))
}

#[test]
fn provider_options_load_in_order_and_fail_cleanly() {
    require!("openssl", "curl");
    // 1.1.1 has no providers (its refusal: tests/tests/openssl_versions.rs).
    if !sserve_tests::server_is_ossl3() {
        return;
    }
    let dir = TestDir::new();
    let f = server!(&dir).args(["-provider", "nonexistent"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("unable to load provider nonexistent"), "{}", f.dump());
    if !is_openssl() {
        assert_eq!(stderr_lines(&f.err()).len(), 1, "{}", f.dump());
    }
    // -propquery: no algorithm matches, so the server cannot start.
    let f = server!(&dir)
        .args(["-propquery", "provider=nonexistent"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.stdout.is_empty(), "{}", f.dump());
    if !is_openssl() {
        assert_eq!(stderr_lines(&f.err()).len(), 1, "{}", f.dump());
    }
    // -provider default (and a property query it satisfies) serves normally.
    let srv = server!(&dir)
        .args([
            "-www",
            "-naccept",
            "1",
            "-provider",
            "default",
            "-propquery",
            "provider=default",
        ])
        .start();
    let page = curl(&["-k", &srv.url("/")]);
    assert!(page.out().contains("<pre>"), "{}\n{}", page.dump(), srv.dump());
    drop(srv);
    // -provider-path only affects providers loaded after it. Only the system's OpenSSL loads
    // `legacy` as a module (the vendored build has it built in).
    if !sserve_tests::server_is_system_openssl() {
        return;
    }
    if !modules_dir().is_some_and(|d| d.join("legacy.so").exists()) {
        eprintln!("SKIPPED: no legacy provider module");
        return;
    }
    let empty = dir.join("no-modules");
    std::fs::create_dir(&empty).unwrap();
    let f = server!(&dir)
        .args(["-provider", "default", "-provider-path"])
        .arg(&empty)
        .args(["-provider", "legacy"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("unable to load provider legacy"), "{}", f.dump());
    let srv = server!(&dir)
        .args([
            "-www",
            "-naccept",
            "1",
            "-provider",
            "default",
            "-provider",
            "legacy",
            "-provider-path",
        ])
        .arg(&empty)
        .start();
    let page = curl(&["-k", &srv.url("/")]);
    assert!(page.out().contains("<pre>"), "{}\n{}", page.dump(), srv.dump());
}

#[test]
fn rand_loads_files_and_writerand_writes_at_exit() {
    require!("curl");
    let dir = TestDir::new();
    let seed = dir.join("seed.bin");
    std::fs::write(&seed, sserve_tests::random_bytes(2048, 7)).unwrap();
    let out = dir.join("out.rnd");
    let srv = server!(&dir)
        .args(["-www", "-naccept", "1", "-rand"])
        .arg(format!("{}:{}", seed.display(), seed.display()))
        .arg("-writerand")
        .arg(&out)
        .start();
    assert!(!out.exists(), "-writerand writes at exit, not at start");
    let page = curl(&["-k", &srv.url("/")]);
    assert!(page.success(), "{}", page.dump());
    let mut proc = srv.proc;
    assert!(proc.expect_exit(TIMEOUT).success(), "{}", proc.dump());
    let written = std::fs::read(&out).expect("-writerand file");
    assert_eq!(written.len(), 1024, "RAND_write_file writes 1024 bytes");
    // A file that cannot be read is fatal.
    let missing = dir.join("missing.bin");
    let f = server!(&dir).arg("-rand").arg(&missing).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(
        f.err().contains(&format!("Can't load {} into RNG", missing.display())),
        "{}",
        f.dump()
    );
}

#[test]
fn async_is_refused_with_a_reason() {
    if is_openssl() {
        return; // s_server accepts it; sserve refuses (docs/options.md)
    }
    let dir = TestDir::new();
    let f = server!(&dir).arg("-async").run_to_exit(Duration::from_secs(10));
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert_eq!(stderr_lines(&f.err()).len(), 1, "{}", f.dump());
    assert!(f.err().contains("option -async: "), "{}", f.dump());
}

#[test]
fn nbio_test_console_survives_short_io_both_ways() {
    require!("openssl");
    if is_openssl() {
        // s_server prints DELAY and, after a faked write retry, waits only for input: the
        // handshake stalls until something is typed (docs/compat.md).
        return;
    }
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-nbio_test", "-naccept", "1"]).start();
    let mut client = sserve_tests::s_client(srv.port, &["-quiet", "-no_ign_eof"]);
    srv.expect_stdout("CIPHER is ");
    // Long lines cross many 1-7 byte reads and writes, and several records.
    let up: String = (0..3000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let down: String = (0..3000).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
    client.write_stdin(format!("{up}\n").as_bytes());
    srv.expect_stdout(&up);
    srv.write_stdin(format!("{down}\n").as_bytes());
    client.expect_stdout(&down);
    client.close_stdin();
    assert!(srv.proc.expect_exit(TIMEOUT).success(), "{}", srv.dump());
    // -nbio_test implies -nbio.
    assert!(srv.stderr().contains("Turned on non blocking io"), "{}", srv.dump());
}

#[test]
fn nbio_test_www_on_every_runtime() {
    require!("curl");
    if is_openssl() {
        return; // s_server's -www sleeps a second on every retry its test BIO fakes
    }
    for runtime in ["tokio", "smol", "blocking"] {
        let dir = TestDir::new();
        let body = sserve_tests::random_bytes(50_000, 3);
        std::fs::write(dir.www().join("big.bin"), &body).unwrap();
        let srv = server!(&dir)
            .args(["-WWW", "-nbio_test", "-naccept", "2", "-runtime", runtime])
            .start();
        let page = curl(&["-k", &srv.url("/")]);
        assert!(page.success(), "{runtime}\n{}\n{}", page.dump(), srv.dump());
        let out = dir.join("big.out");
        let f = curl(&["-k", "-o", out.to_str().unwrap(), &srv.url("/big.bin")]);
        assert!(f.success(), "{runtime}\n{}\n{}", f.dump(), srv.dump());
        assert!(std::fs::read(&out).unwrap() == body, "{runtime}: file corrupted");
        let mut proc = srv.proc;
        assert!(proc.expect_exit(TIMEOUT).success(), "{runtime}\n{}", proc.dump());
    }
    // DTLS datagrams cannot be cut into pieces: refused.
    let dir = TestDir::new();
    let f = server!(&dir).args(["-dtls", "-nbio_test"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("-nbio_test"), "{}", f.dump());
}

#[test]
fn dtls_timeout_and_listen_are_accepted_and_serve() {
    require!("openssl");
    let dir = TestDir::new();
    // Both are always on in sserve (docs/compat.md); with them given, DTLS serves as usual.
    let mut srv = server!(&dir).args(["-dtls1_2", "-timeout", "-listen"]).start();
    let mut c = sserve_tests::s_client(srv.port, &["-dtls1_2"]);
    sserve_tests::expect_client_handshake(&c);
    c.write_stdin(b"dtls-with-timeout\n");
    srv.expect_stdout("dtls-with-timeout");
    srv.write_stdin(b"back-over-dtls\n");
    c.expect_stdout("back-over-dtls");
    c.kill();
}
