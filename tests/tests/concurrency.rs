//! Concurrent serving (`-www`/`-WWW`/`-HTTP`/`-rev` on an async runtime): slow or silent peers do
//! not hold up others, many clients at once, `-naccept` across concurrent connections, SIGTERM
//! with open connections, `-max_conns`, and the `-WWW` basics under every `-runtime`.
//!
//! Every test runs once per async runtime (`-runtime tokio` and `-runtime smol`, see
//! [`per_runtime!`]). These are sserve-only behaviours (the real s_server serves one client at a
//! time and has none of these options), so every test is skipped when `SSERVE_BIN` points at
//! `openssl s_server`.

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sserve_adapters::listen::steering_cpus;
use sserve_tests::{is_openssl, random_bytes, require, run, server, sigterm, Proc, Server, TestDir, TIMEOUT};

/// Defines a module `$name` with one `#[test]` per async runtime, each calling `$body(runtime)`.
macro_rules! per_runtime {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn tokio() {
                super::$body("tokio");
            }
            #[test]
            fn smol() {
                super::$body("smol");
            }
        }
    };
}

/// True (after a note) when the server under test is the real s_server.
fn skip_for_openssl() -> bool {
    if is_openssl() {
        eprintln!("skipped against openssl s_server: concurrent serving is an sserve extension");
    }
    is_openssl()
}

// ---------------------------------------------------------------------------------------------
// A long-lived Python TLS client driven line by line over its stdin
// ---------------------------------------------------------------------------------------------

/// Connects with TLS (no verification), prints `handshake ok <version>` once the handshake is
/// done, then obeys one command per stdin line:
///
/// - `rev TEXT`: sends `TEXT\n`, reads one line back, prints `reply <line>`;
/// - `get PATH`: sends `GET /PATH HTTP/1.0`, reads to the end, prints
///   `response <status line, spaces as _> <sha256 of the body>`;
/// - `wait_close`: one `recv`; prints `recv b''` for a clean close (close_notify; ragged EOFs
///   are *not* suppressed, so a bare TCP close raises) or `error <exception>`;
/// - `close`: closes the socket without close_notify and exits.
const PY_HOLD: &str = r#"
import hashlib, socket, ssl, sys
port = int(sys.argv[1])
def out(*a):
    print(*a, flush=True)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", port), timeout=30)
out("connected")
s = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
out("handshake ok", s.version())
for line in sys.stdin:
    cmd, _, arg = line.rstrip("\n").partition(" ")
    try:
        if cmd == "rev":
            s.sendall(arg.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(1)
                if not d:
                    out("eof before a full line", repr(buf))
                    sys.exit(1)
                buf += d
            out("reply", buf.decode().rstrip("\n"))
        elif cmd == "get":
            s.sendall(("GET /%s HTTP/1.0\r\n\r\n" % arg).encode())
            body = b""
            while True:
                try:
                    d = s.recv(65536)
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
                    break
                if not d:
                    break
                body += d
            head, _, content = body.partition(b"\r\n\r\n")
            status = head.split(b"\r\n")[0].decode(errors="replace").replace(" ", "_")
            out("response", status, hashlib.sha256(content).hexdigest())
        elif cmd == "wait_close":
            d = s.recv(1024)
            out("recv", repr(d))
        elif cmd == "close":
            s.close()
            out("closed")
            break
    except Exception as e:
        out("error", type(e).__name__, e)
"#;

/// A [`PY_HOLD`] client.
struct Held(Proc);

impl Held {
    fn connect(port: u16) -> Held {
        let mut cmd = Command::new("python3");
        cmd.arg("-c").arg(PY_HOLD).arg(port.to_string());
        Held(Proc::spawn(cmd).expect("cannot start python3"))
    }

    /// Waits until stdout, from byte `from` on, holds a complete line starting with `prefix`;
    /// returns that line (without the newline), or `None` on timeout.
    fn wait_line(&self, from: usize, prefix: &str, timeout: Duration) -> Option<String> {
        let mut found = None;
        self.0.stdout.wait_until(timeout, |b| {
            let text = String::from_utf8_lossy(b.get(from..).unwrap_or_default());
            found = text
                .split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .map(|l| l.trim_end_matches('\n'))
                .find(|l| l.starts_with(prefix))
                .map(str::to_string);
            found.is_some()
        });
        found
    }

    fn expect_handshake(&self, srv: &Server) {
        assert!(
            self.wait_line(0, "handshake ok", TIMEOUT).is_some(),
            "client handshake did not complete\n{}\nserver:\n{}",
            self.0.dump(),
            srv.dump()
        );
    }

    /// Sends one command line and returns the stdout offset before it (for `wait_line`).
    fn send(&mut self, line: &str) -> usize {
        let at = self.0.stdout.len();
        self.0.write_stdin(format!("{line}\n").as_bytes());
        at
    }

    /// Sends `line` and waits for the next output line, which must start with `prefix`;
    /// returns it.
    fn request(&mut self, line: &str, prefix: &str, srv: &Server) -> String {
        let at = self.send(line);
        let reply = self.wait_line(at, "", TIMEOUT).unwrap_or_default();
        assert!(
            reply.starts_with(prefix),
            "{line:?}: expected a line starting with {prefix:?}, got {reply:?}\n{}\nserver:\n{}",
            self.0.dump(),
            srv.dump()
        );
        reply
    }
}

fn sha256_hex(path: &std::path::Path) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", "-sha256", "-r"]).arg(path);
    let f = run(cmd, b"", TIMEOUT);
    assert!(f.success(), "{}", f.dump());
    f.out().split_whitespace().next().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. A silent TCP peer does not delay anyone, and is dropped after the handshake timeout
// ---------------------------------------------------------------------------------------------

fn silent_peer_does_not_block_others(runtime: &str) {
    require!("openssl", "curl");
    if skip_for_openssl() {
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir)
        .args(["-www", "-runtime", runtime, "-handshake_timeout", "5"])
        .start();
    let connected = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let url = srv.url("/");
    let f = sserve_tests::curl(&["-k", "--max-time", "10", &url]);
    let took = started.elapsed();
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    assert!(f.out().contains("Ciphers supported in s_server binary"), "{}", f.out());
    // A functional bound, not a benchmark: far below the 5 s handshake timeout that a
    // one-at-a-time server would make this client wait for.
    assert!(
        took < Duration::from_millis(2500),
        "GET next to a silent peer took {took:?}\n{}",
        srv.dump()
    );

    // The silent peer is dropped once its handshake timeout has passed: EOF on its socket.
    let mut buf = [0u8; 64];
    let r = silent.read(&mut buf);
    let after = connected.elapsed();
    assert!(
        matches!(r, Ok(0)),
        "silent peer: expected EOF, got {r:?} after {after:?}\n{}",
        srv.dump()
    );
    assert!(
        after >= Duration::from_millis(4500) && after < Duration::from_secs(12),
        "silent peer dropped after {after:?} (handshake timeout 5 s)\n{}",
        srv.dump()
    );
}
per_runtime!(silent_peer, silent_peer_does_not_block_others);

// ---------------------------------------------------------------------------------------------
// 2. 100 concurrent clients get byte-identical -WWW files
// ---------------------------------------------------------------------------------------------

fn hundred_clients_get_identical_files(runtime: &str) {
    require!("openssl", "curl");
    if skip_for_openssl() {
        return;
    }
    const N: usize = 100;
    let dir = TestDir::new();
    let body = random_bytes(256 * 1024, 0xc0c0_4242 ^ runtime.len() as u64);
    std::fs::write(dir.www().join("blob.bin"), &body).unwrap();
    let srv = server!(&dir).args(["-WWW", "-runtime", runtime]).start();
    let out = dir.join("downloads");
    std::fs::create_dir(&out).unwrap();

    // One curl, N transfers all started at once (no waiting to see if it could multiplex).
    let url = srv.url("/blob.bin");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sSk",
        "--parallel",
        "--parallel-immediate",
        "--parallel-max",
        &N.to_string(),
        "--max-time",
        "25",
    ]);
    for i in 0..N {
        cmd.arg("-o").arg(out.join(format!("{i}.bin"))).arg(&url);
    }
    let f = run(cmd, b"", Duration::from_secs(30));
    assert!(
        f.success(),
        "parallel curl failed\n{}\nserver:\n{}",
        f.dump(),
        srv.dump()
    );
    for i in 0..N {
        let got = std::fs::read(out.join(format!("{i}.bin")))
            .unwrap_or_else(|e| panic!("download {i} missing: {e}\nserver:\n{}", srv.dump()));
        assert_eq!(got.len(), body.len(), "download {i}: length differs");
        assert!(got == body, "download {i}: content differs");
    }
}
per_runtime!(hundred_clients, hundred_clients_get_identical_files);

// ---------------------------------------------------------------------------------------------
// 3. -naccept counts concurrent connections, closes the listener, finishes the in-flight ones
// ---------------------------------------------------------------------------------------------

fn naccept_with_concurrent_connections(runtime: &str) {
    require!("openssl", "python3");
    if skip_for_openssl() {
        return;
    }
    let dir = TestDir::new();
    let body = b"in flight\n";
    std::fs::write(dir.www().join("f.txt"), body).unwrap();
    let want_sha = sha256_hex(&dir.www().join("f.txt"));
    let mut srv = server!(&dir)
        .args(["-WWW", "-runtime", runtime, "-naccept", "5"])
        .start();

    let mut held: Vec<Held> = (0..5).map(|_| Held::connect(srv.port)).collect();
    for h in &held {
        h.expect_handshake(&srv);
    }

    // The 6th connection attempt: refused (the listener is closed), or at least never answered.
    match TcpStream::connect_timeout(&srv.addr().parse().unwrap(), Duration::from_secs(2)) {
        Err(_) => {}
        Ok(mut s) => {
            use std::io::Write;
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            let _ = s.write_all(b"\x16\x03\x01\x00\x05hello");
            let mut buf = [0u8; 64];
            let r = s.read(&mut buf);
            assert!(
                !matches!(r, Ok(n) if n > 0),
                "a 6th connection was answered with -naccept 5: {r:?}\n{}",
                srv.dump()
            );
        }
    }
    assert!(
        srv.proc.is_running(),
        "server exited with 5 connections still open\n{}",
        srv.dump()
    );

    // Finish the five in-flight connections: each one still gets its file.
    for h in &mut held {
        let reply = h.request("get f.txt", "response", &srv);
        assert_eq!(
            reply,
            format!("response HTTP/1.0_200_ok {want_sha}"),
            "server:\n{}",
            srv.dump()
        );
    }
    let status = srv.proc.expect_exit(TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", srv.dump());
    let out = srv.stdout().text();
    assert!(
        out.contains("   5 server accepts that finished"),
        "no stats block\n{}",
        srv.dump()
    );
}
per_runtime!(naccept_concurrent, naccept_with_concurrent_connections);

// ---------------------------------------------------------------------------------------------
// 4. SIGTERM with open connections: close_notify to each, exit 0 promptly
// ---------------------------------------------------------------------------------------------

fn sigterm_closes_open_connections_cleanly(runtime: &str) {
    require!("openssl", "python3");
    if skip_for_openssl() {
        return;
    }
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-rev", "-runtime", runtime]).start();
    let mut clients = [Held::connect(srv.port), Held::connect(srv.port)];
    for (i, c) in clients.iter_mut().enumerate() {
        c.expect_handshake(&srv);
        let reply = c.request(&format!("rev client{i}"), "reply", &srv);
        assert_eq!(reply, format!("reply {i}tneilc"));
    }
    // Both idle, blocked in recv.
    let marks: Vec<usize> = clients.iter_mut().map(|c| c.send("wait_close")).collect();
    std::thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    sigterm(srv.proc.id());
    let status = srv.proc.wait_exit(Duration::from_secs(5));
    let took = signalled.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "server status {status:?} after SIGTERM\n{}",
        srv.dump()
    );
    assert!(
        took < Duration::from_millis(2200),
        "server took {took:?} to exit after SIGTERM\n{}",
        srv.dump()
    );
    for (c, at) in clients.iter().zip(marks) {
        let line = c.wait_line(at, "", Duration::from_secs(5));
        assert_eq!(
            line.as_deref(),
            Some("recv b''"),
            "client did not see a clean close (close_notify)\n{}\nserver:\n{}",
            c.0.dump(),
            srv.dump()
        );
    }
}
per_runtime!(sigterm_open_connections, sigterm_closes_open_connections_cleanly);

// ---------------------------------------------------------------------------------------------
// 5. -max_conns 2: a third handshake waits for a free slot
// ---------------------------------------------------------------------------------------------

fn max_conns_holds_back_the_third(runtime: &str) {
    require!("openssl", "python3");
    if skip_for_openssl() {
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir)
        .args(["-rev", "-runtime", runtime, "-max_conns", "2"])
        .start();
    let mut first = Held::connect(srv.port);
    let second = Held::connect(srv.port);
    first.expect_handshake(&srv);
    second.expect_handshake(&srv);

    let mut third = Held::connect(srv.port);
    // It connects (kernel backlog) but is not served while two connections are open.
    assert!(third.wait_line(0, "connected", TIMEOUT).is_some(), "{}", third.0.dump());
    assert!(
        third
            .wait_line(0, "handshake ok", Duration::from_millis(1500))
            .is_none(),
        "a third handshake completed with -max_conns 2\n{}\nserver:\n{}",
        third.0.dump(),
        srv.dump()
    );

    let closed = Instant::now();
    first.request("close", "closed", &srv);
    assert!(
        third.wait_line(0, "handshake ok", Duration::from_secs(10)).is_some(),
        "the third handshake did not complete after a slot was freed\n{}\nserver:\n{}",
        third.0.dump(),
        srv.dump()
    );
    assert!(closed.elapsed() < Duration::from_secs(5), "took {:?}", closed.elapsed());
    let reply = third.request("rev third", "reply", &srv);
    assert_eq!(reply, "reply driht");
}
per_runtime!(max_conns, max_conns_holds_back_the_third);

// ---------------------------------------------------------------------------------------------
// 6. -rev: 20 clients at once, each gets its own lines back reversed
// ---------------------------------------------------------------------------------------------

/// Opens `argv[2]` TLS connections to `127.0.0.1:argv[1]`, waits until all handshakes are done
/// (so they are all open at once), then each thread sends `argv[3]` distinct lines and prints
/// `<client> <line> <reply>` for every reply.
const PY_REV_MANY: &str = r#"
import socket, ssl, sys, threading
port, n, lines = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
barrier = threading.Barrier(n, timeout=20)
results = {}
def client(i):
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        barrier.wait()
        got = []
        for j in range(lines):
            s.sendall(("client-%02d line-%d %s\n" % (i, j, "x" * (i + j))).encode())
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(4096)
                if not d:
                    raise Exception("EOF after %r" % buf)
                buf += d
            got.append(buf.decode().rstrip("\n"))
        s.close()
        results[i] = got
    except Exception as e:
        results[i] = "error %s: %s" % (type(e).__name__, e)
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
for i in range(n):
    r = results.get(i)
    if isinstance(r, list):
        for j, line in enumerate(r):
            print(i, j, line)
    else:
        print(i, "FAILED", r)
"#;

fn rev_twenty_clients_at_once(runtime: &str) {
    require!("openssl", "python3");
    if skip_for_openssl() {
        return;
    }
    const CLIENTS: usize = 20;
    const LINES: usize = 5;
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-rev", "-runtime", runtime]).start();
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(PY_REV_MANY)
        .args([srv.port.to_string(), CLIENTS.to_string(), LINES.to_string()]);
    let f = run(cmd, b"", Duration::from_secs(30));
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    let out = f.out();
    assert!(!out.contains("FAILED"), "{}\nserver:\n{}", f.dump(), srv.dump());
    for i in 0..CLIENTS {
        for j in 0..LINES {
            let sent = format!("client-{i:02} line-{j} {}", "x".repeat(i + j));
            let want = format!("{i} {j} {}", sent.chars().rev().collect::<String>());
            assert!(
                out.lines().any(|l| l == want),
                "client {i} line {j}: expected {want:?}\n{}",
                f.dump()
            );
        }
    }
    assert_eq!(out.lines().count(), CLIENTS * LINES, "{}", f.dump());
}
per_runtime!(rev_twenty, rev_twenty_clients_at_once);

// ---------------------------------------------------------------------------------------------
// 6b. An idle server sleeps: no timer keeps waking it once the connections are over
// ---------------------------------------------------------------------------------------------

/// Context switches so far of every thread of process `pid` (None without /proc).
fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let status = std::fs::read_to_string(task.ok()?.path().join("status")).ok()?;
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches:") || line.starts_with("nonvoluntary_ctxt_switches:") {
                total += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
            }
        }
    }
    Some(total)
}

fn idle_server_sleeps(runtime: &str) {
    require!("curl");
    if skip_for_openssl() {
        return;
    }
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), "a\n").unwrap();
    let srv = server!(&dir).args(["-WWW", "-runtime", runtime]).start();
    let pid = srv.proc.id();
    for _ in 0..5 {
        let f = sserve_tests::curl(&["-sk", &srv.url("/a.txt")]);
        assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    }
    // While connections come and go a timer ticks every 250 ms; two ticks after the last
    // connection it stops.
    std::thread::sleep(Duration::from_millis(1500));
    let Some(before) = context_switches(pid) else {
        return; // no /proc
    };
    std::thread::sleep(Duration::from_secs(2));
    let after = context_switches(pid).expect("/proc/<pid>/task");
    assert!(
        after - before <= 2,
        "{runtime}: the idle server woke {} times in 2 s\n{}",
        after - before,
        srv.dump()
    );
}
per_runtime!(idle_sleeps, idle_server_sleeps);

// ---------------------------------------------------------------------------------------------
// 6c. One client's connections meet one loop
// ---------------------------------------------------------------------------------------------

/// Time on the CPU so far (ns) of each thread of process `pid` (empty without /proc).
fn thread_cpu_ns(pid: u32) -> std::collections::HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Default::default();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let ns = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            Some((
                t.file_name().to_string_lossy().into_owned(),
                ns.split_whitespace().next()?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn one_clients_connections_meet_one_loop() {
    require!("openssl", "taskset");
    if skip_for_openssl() {
        return;
    }
    let Some(first_cpu) = steering_cpus().map(|cpus| cpus[0]) else {
        eprintln!("skipped: needs two CPUs and Linux 6.2 (SO_INCOMING_CPU in SO_REUSEPORT groups)");
        return;
    };
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-WWW", "-threads", "2"]).start();
    let before = thread_cpu_ns(srv.proc.id());
    // A client held to the CPU of the first listener: every connection must meet that loop.
    let out = Command::new("taskset")
        .args(["-c", &first_cpu.to_string(), "openssl", "s_time", "-new", "-time", "2"])
        .args(["-connect", &format!("127.0.0.1:{}", srv.port)])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("connections in"),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        srv.dump()
    );
    let after = thread_cpu_ns(srv.proc.id());
    let mut busy: Vec<u64> = after
        .iter()
        .map(|(tid, ns)| ns - before.get(tid).copied().unwrap_or(0))
        .collect();
    busy.sort_unstable_by(|a, b| b.cmp(a));
    // Spread by hash, both loops would take about half of the connections.
    assert!(
        busy.len() >= 2 && busy[1] * 5 < busy[0],
        "CPU ns of the busiest threads: {busy:?}\n{}",
        srv.dump()
    );
}

// ---------------------------------------------------------------------------------------------
// 7. The key -WWW checks under every -runtime (and the default)
// ---------------------------------------------------------------------------------------------

fn www_basics(runtime: Option<&str>) {
    require!("openssl", "curl");
    if skip_for_openssl() {
        return;
    }
    let dir = TestDir::new();
    let text_body = "hello from -WWW\nsecond line\r\nthird\n";
    std::fs::write(dir.www().join("a.txt"), text_body).unwrap();
    std::fs::write(dir.www().join("index.html"), "<p>hi</p>\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "TOP-SECRET\n").unwrap();
    let mut b = server!(&dir).arg("-WWW");
    if let Some(rt) = runtime {
        b = b.args(["-runtime", rt]);
    }
    let srv = b.start();
    let get = |path: &str| -> String {
        let url = srv.url(path);
        let f = sserve_tests::curl(&["-k", "-i", "--path-as-is", &url]);
        assert!(f.success(), "{runtime:?} {path}\n{}\nserver:\n{}", f.dump(), srv.dump());
        f.out()
    };

    let resp = get("/a.txt");
    assert!(resp.starts_with("HTTP/1.0 200 ok\r\n"), "{runtime:?}: {resp}");
    assert!(resp.contains("Content-type: text/plain\r\n"), "{runtime:?}: {resp}");
    assert!(resp.ends_with(&format!("\r\n\r\n{text_body}")), "{runtime:?}: {resp}");

    let resp = get("/index.html");
    assert!(resp.contains("Content-type: text/html\r\n"), "{runtime:?}: {resp}");
    assert!(resp.ends_with("<p>hi</p>\n"), "{runtime:?}: {resp}");

    for (path, msg) in [
        ("/../secret.txt", "'../secret.txt' contains '..' or ':'"),
        ("//etc/passwd", "'/etc/passwd' is an invalid path"),
    ] {
        let resp = get(path);
        assert!(resp.contains(msg), "{runtime:?} {path}: expected {msg:?}, got {resp:?}");
        assert!(!resp.contains("TOP-SECRET"), "{runtime:?} {path} leaked the secret");
        assert!(!resp.contains("root:"), "{runtime:?} {path} leaked /etc/passwd");
    }
}

mod www_runtimes {
    #[test]
    fn default() {
        super::www_basics(None);
    }
    #[test]
    fn tokio() {
        super::www_basics(Some("tokio"));
    }
    #[test]
    fn smol() {
        super::www_basics(Some("smol"));
    }
    #[test]
    fn blocking() {
        super::www_basics(Some("blocking"));
    }
}
