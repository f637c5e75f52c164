//! Test harness for the sserve integration tests.
//!
//! The tests in `tests/tests/` start the server under test as a child process on a free
//! loopback port (`-accept 0`, port parsed from the `ACCEPT` line) and talk to it with real
//! peers started as processes: `openssl s_client`, `curl` and Python's `ssl` module.
//!
//! The binary under test is `sserve-under-test` (the CLI built once more inside this package),
//! unless the environment variable `SSERVE_BIN` names another program. Pointing `SSERVE_BIN` at
//! `tests/fixtures/openssl-s_server` runs the very same suite against the real
//! `openssl s_server`; assertions about documented sserve deviations are gated on
//! [`is_openssl`].
//!
//! Every wait is bounded, every child process is killed when its handle is dropped, and every
//! test gets its own server, port and temporary directory, so the tests run in parallel.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Default bound for any single wait (server start, a line of output, a peer finishing).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A [`ServerBuilder`] for the binary under test in the given [`TestDir`].
///
/// Expands to `Server::builder(env!("CARGO_BIN_EXE_sserve-under-test"), dir)`, so it must be
/// used from an integration test of this package (where Cargo sets that variable).
#[macro_export]
macro_rules! server {
    ($dir:expr) => {
        $crate::Server::builder(env!("CARGO_BIN_EXE_sserve-under-test"), $dir)
    };
}

/// Returns early from a test (after printing a note) when one of the named peer programs is
/// not installed. With `SSERVE_TESTS_REQUIRE_PEERS=1` (set by `.ci/run`) a missing peer is a
/// failure instead.
#[macro_export]
macro_rules! require {
    ($($tool:expr),+ $(,)?) => {
        if !$crate::peers_available(&[$($tool),+]) {
            return;
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// The server binary: `$SSERVE_BIN` if set, else `default` (the `CARGO_BIN_EXE_...` path).
pub fn server_bin(default: &str) -> PathBuf {
    match std::env::var_os("SSERVE_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(default),
    }
}

/// True when `SSERVE_BIN` points at the real `openssl s_server` (a program whose name
/// contains `openssl`, or a small wrapper script that runs `s_server`).
pub fn is_openssl() -> bool {
    static IS: OnceLock<bool> = OnceLock::new();
    *IS.get_or_init(|| {
        let Some(p) = std::env::var_os("SSERVE_BIN").filter(|p| !p.is_empty()) else {
            return false;
        };
        let p = PathBuf::from(p);
        if p.file_name().is_some_and(|n| n.to_string_lossy().contains("openssl")) {
            return true;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.len() < 64 * 1024 => std::fs::read(&p).map(|b| contains(&b, b"s_server")).unwrap_or(false),
            _ => false,
        }
    })
}

/// `OpenSSL_version(OPENSSL_VERSION)` of the OpenSSL behind the server under test: the one this
/// test build links (sserve-under-test is built with the same features), or the system's for
/// the real s_server.
pub fn server_openssl_version() -> String {
    if is_openssl() {
        return openssl(&["version"], Path::new(".")).out().trim().to_string();
    }
    sserve_engine::ossl::version::openssl_version().to_string()
}

/// Is the server under test backed by OpenSSL 3.0 or later? Tests of 3.x-only behaviour (and
/// of text that OpenSSL 1.1.1 words differently) check this.
pub fn server_is_ossl3() -> bool {
    is_openssl() || sserve_engine::ossl::version::openssl_version_number() >= 0x3000_0000
}

/// Is the server under test backed by the same OpenSSL as the system's `openssl` command (the
/// real s_server the output comparisons run, and the owner of the system's provider modules)?
/// Not so for the vendored 3.5 and the 1.1.1 builds.
pub fn server_is_system_openssl() -> bool {
    static IS: OnceLock<bool> = OnceLock::new();
    *IS.get_or_init(|| {
        is_openssl()
            || openssl(&["version"], Path::new("."))
                .out()
                .starts_with(&format!("{} ", sserve_engine::ossl::version::openssl_version()))
    })
}

/// Why the server under test refuses s_server option `option` (no dash) with the linked
/// OpenSSL, or `None` when it has it.
pub fn unsupported_option(option: &str) -> Option<String> {
    if is_openssl() {
        return None;
    }
    sserve_engine::ossl::version::unsupported_option(option)
}

/// True if `tool` can be run (found on `PATH`).
pub fn have(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| {
        let p = d.join(tool);
        p.is_file()
            && std::fs::metadata(&p)
                .map(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                })
                .unwrap_or(false)
    })
}

/// Backs [`require!`]: true when every tool is installed; otherwise prints a note and returns
/// false, or panics when `SSERVE_TESTS_REQUIRE_PEERS=1`.
pub fn peers_available(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("peer program(s) not installed: {}", missing.join(", "));
    if std::env::var("SSERVE_TESTS_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("{msg} (SSERVE_TESTS_REQUIRE_PEERS=1)");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

// ---------------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------------

/// Substring search on bytes.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Position of the first occurrence of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Number of non-overlapping occurrences of `needle` in `hay`.
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while let Some(i) = find(&hay[at..], needle) {
        n += 1;
        at += i + needle.len().max(1);
        if at > hay.len() {
            break;
        }
    }
    n
}

// ---------------------------------------------------------------------------------------------
// Captured output
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct CaptureState {
    buf: Vec<u8>,
    closed: bool,
}

/// The output of one pipe of a child process, collected by a background thread.
#[derive(Clone, Default)]
pub struct Capture(Arc<(Mutex<CaptureState>, Condvar)>);

impl Capture {
    /// Starts a thread that appends everything read from `r` until EOF.
    pub fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> Capture {
        let cap = Capture::default();
        let c = cap.clone();
        thread::spawn(move || {
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match r.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (m, cv) = &*c.0;
                        m.lock().unwrap().buf.extend_from_slice(&chunk[..n]);
                        cv.notify_all();
                    }
                }
            }
            let (m, cv) = &*c.0;
            m.lock().unwrap().closed = true;
            cv.notify_all();
        });
        cap
    }

    /// Everything captured so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0 .0.lock().unwrap().buf.clone()
    }

    /// Everything captured so far, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Number of bytes captured so far (an offset for [`Capture::wait_for_from`]).
    pub fn len(&self) -> usize {
        self.0 .0.lock().unwrap().buf.len()
    }

    /// True if nothing was captured yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the captured output contains `pat`.
    pub fn contains(&self, pat: &str) -> bool {
        contains(&self.0 .0.lock().unwrap().buf, pat.as_bytes())
    }

    /// Occurrences of `pat` so far.
    pub fn count(&self, pat: &str) -> usize {
        count(&self.0 .0.lock().unwrap().buf, pat.as_bytes())
    }

    /// True once the writer closed the pipe (the process exited or closed it).
    pub fn is_closed(&self) -> bool {
        self.0 .0.lock().unwrap().closed
    }

    /// Waits until `pred(captured bytes)` holds. Returns false on timeout, or when the pipe is
    /// closed and the predicate still does not hold.
    pub fn wait_until(&self, timeout: Duration, mut pred: impl FnMut(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.0;
        let mut st = m.lock().unwrap();
        loop {
            if pred(&st.buf) {
                return true;
            }
            if st.closed {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    /// Waits until the output from byte offset `from` on contains `pat`.
    pub fn wait_for_from(&self, from: usize, pat: &str, timeout: Duration) -> bool {
        self.wait_until(timeout, |b| b.len() > from && contains(&b[from..], pat.as_bytes()))
    }

    /// Waits until the output contains `pat`.
    pub fn wait_for(&self, pat: &str, timeout: Duration) -> bool {
        self.wait_for_from(0, pat, timeout)
    }

    /// Waits until the pipe is closed.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |_| false);
        self.is_closed()
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

/// A running child process with piped stdin (kept open until closed or dropped) and
/// captured stdout/stderr. Killed and reaped on drop.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    status: Option<ExitStatus>,
    /// Captured standard output.
    pub stdout: Capture,
    /// Captured standard error.
    pub stderr: Capture,
}

impl Proc {
    /// Spawns `cmd` with all three standard streams piped.
    pub fn spawn(mut cmd: Command) -> std::io::Result<Proc> {
        let name = format!("{cmd:?}");
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        let stdout = Capture::spawn_reader(child.stdout.take().expect("stdout piped"));
        let stderr = Capture::spawn_reader(child.stderr.take().expect("stderr piped"));
        Ok(Proc {
            name,
            child,
            stdin,
            status: None,
            stdout,
            stderr,
        })
    }

    /// OS process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes to the child's stdin (panics if it was closed or the write fails).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let w = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("stdin of {} already closed", self.name));
        w.write_all(bytes)
            .and_then(|_| w.flush())
            .unwrap_or_else(|e| panic!("writing to stdin of {}: {e}\n{}", self.name, self.dump()));
    }

    /// Closes the child's stdin (EOF for the child).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The exit status if the process has exited (non-blocking).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_status() {
                // Let the reader threads drain what is left in the pipes.
                self.stdout.wait_closed(Duration::from_secs(2));
                self.stderr.wait_closed(Duration::from_secs(2));
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit and panics (with its output) if it does not in time.
    pub fn expect_exit(&mut self, timeout: Duration) -> ExitStatus {
        match self.wait_exit(timeout) {
            Some(s) => s,
            None => panic!("{} did not exit within {timeout:?}\n{}", self.name, self.dump()),
        }
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Kills the process (if still running) and reaps it.
    pub fn kill(&mut self) {
        // SIGKILL first: closing stdin first would let a client see console EOF and close
        // cleanly (s_client sends close_notify) before the kill lands.
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.stdin = None;
    }

    /// Waits until stdout contains `pat`; panics with the process output on timeout.
    pub fn expect_stdout(&self, pat: &str) {
        if !self.stdout.wait_for(pat, TIMEOUT) {
            panic!("{}: stdout never contained {pat:?}\n{}", self.name, self.dump());
        }
    }

    /// Waits until stdout, from byte offset `from` on, contains `pat`; panics on timeout.
    pub fn expect_stdout_from(&self, from: usize, pat: &str) {
        if !self.stdout.wait_for_from(from, pat, TIMEOUT) {
            panic!(
                "{}: stdout (after byte {from}) never contained {pat:?}\n{}",
                self.name,
                self.dump()
            );
        }
    }

    /// Waits until stderr contains `pat`; panics on timeout.
    pub fn expect_stderr(&self, pat: &str) {
        if !self.stderr.wait_for(pat, TIMEOUT) {
            panic!("{}: stderr never contained {pat:?}\n{}", self.name, self.dump());
        }
    }

    /// Waits until stdout or stderr contains `pat`; returns false on timeout.
    pub fn wait_either(&self, pat: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stdout.contains(pat) || self.stderr.contains(pat) {
                return true;
            }
            if Instant::now() >= deadline || (self.stdout.is_closed() && self.stderr.is_closed()) {
                return self.stdout.contains(pat) || self.stderr.contains(pat);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything captured on stdout and stderr, for failure messages.
    pub fn dump(&self) -> String {
        format!(
            "--- {} stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
            self.name,
            self.stdout.text(),
            self.stderr.text()
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Result of a process run to completion.
#[derive(Debug)]
pub struct Finished {
    /// Exit status (`None` if it had to be killed at the time limit).
    pub status: Option<ExitStatus>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl Finished {
    /// True if the process exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The exit code, if it exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Stdout, lossily decoded.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr, lossily decoded.
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// A description for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
            self.status,
            self.out(),
            self.err()
        )
    }
}

/// Runs `cmd` with `input` on stdin (then EOF) and waits up to `timeout`; kills it after that.
pub fn run(cmd: Command, input: &[u8], timeout: Duration) -> Finished {
    let mut p = Proc::spawn(cmd).expect("spawn");
    if !input.is_empty() {
        p.write_stdin(input);
    }
    p.close_stdin();
    let status = p.wait_exit(timeout);
    if status.is_none() {
        p.kill();
        p.stdout.wait_closed(Duration::from_secs(2));
        p.stderr.wait_closed(Duration::from_secs(2));
    }
    Finished {
        status,
        stdout: p.stdout.bytes(),
        stderr: p.stderr.bytes(),
    }
}

/// Runs the `openssl` command line tool (for test fixtures); panics if it fails.
pub fn openssl(args: &[&str], cwd: &Path) -> Finished {
    let mut cmd = Command::new("openssl");
    cmd.args(args).current_dir(cwd);
    let f = run(cmd, b"", TIMEOUT);
    assert!(f.success(), "openssl {args:?} failed\n{}", f.dump());
    f
}

// ---------------------------------------------------------------------------------------------
// Test directory and certificates
// ---------------------------------------------------------------------------------------------

/// Certificates and keys generated with the `openssl` CLI (all P-256 ECDSA):
/// a CA, a server certificate (SAN `localhost`, `127.0.0.1`, `::1`) and a client certificate
/// (CN [`CLIENT_CN`]), both issued by the CA.
pub struct Pki {
    /// CA certificate (use as `-CAfile`).
    pub ca_cert: PathBuf,
    /// Server certificate.
    pub server_cert: PathBuf,
    /// Server private key (unencrypted).
    pub server_key: PathBuf,
    /// Client certificate.
    pub client_cert: PathBuf,
    /// Client private key (unencrypted).
    pub client_key: PathBuf,
}

/// Common name of the generated client certificate.
pub const CLIENT_CN: &str = "sserve-test-client";
/// Common name of the generated server certificate.
pub const SERVER_CN: &str = "localhost";

impl Pki {
    /// Generates the PKI into `dir` (created if needed).
    pub fn generate(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        let ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
        let genkey = |out: &str| {
            let mut a = vec!["genpkey"];
            a.extend_from_slice(&ec);
            a.extend_from_slice(&["-out", out]);
            openssl(&a, dir);
        };
        genkey("ca.key");
        genkey("server.key");
        genkey("client.key");
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=sserve-test-ca",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            dir,
        );
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("client.ext"),
            "basicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        for (name, cn) in [("server", SERVER_CN), ("client", CLIENT_CN)] {
            let key = format!("{name}.key");
            let csr = format!("{name}.csr");
            let pem = format!("{name}.pem");
            let ext = format!("{name}.ext");
            let subj = format!("/CN={cn}");
            openssl(&["req", "-new", "-key", &key, "-out", &csr, "-subj", &subj], dir);
            openssl(
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "30",
                    "-out",
                    &pem,
                    "-extfile",
                    &ext,
                ],
                dir,
            );
        }
        Pki {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        }
    }
}

/// A per-test temporary directory holding the generated [`Pki`] (in `pki/`) and an empty
/// working directory for the server (`www/`, also the `-WWW` document root).
pub struct TestDir {
    tmp: tempfile::TempDir,
    /// The generated certificates.
    pub pki: Pki,
}

impl TestDir {
    /// Creates the directory and generates the certificates.
    pub fn new() -> TestDir {
        let tmp = tempfile::Builder::new()
            .prefix("sserve-test-")
            .tempdir()
            .expect("tempdir");
        let pki = Pki::generate(&tmp.path().join("pki"));
        std::fs::create_dir(tmp.path().join("www")).unwrap();
        TestDir { tmp, pki }
    }

    /// The root of the temporary directory.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The server's working directory (empty at first).
    pub fn www(&self) -> PathBuf {
        self.tmp.path().join("www")
    }

    /// A path inside the temporary directory (outside `www/`).
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.tmp.path().join(p)
    }
}

impl Default for TestDir {
    fn default() -> Self {
        TestDir::new()
    }
}

// ---------------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------------

/// Configures and starts the server under test.
pub struct ServerBuilder {
    bin: PathBuf,
    args: Vec<OsString>,
    cwd: PathBuf,
    cert: Option<(PathBuf, PathBuf)>,
    accept: String,
}

impl Server {
    /// A builder for `default_bin` (overridden by `$SSERVE_BIN`), working directory
    /// `dir.www()`, with the test server certificate and `-accept 0`. Use [`server!`].
    pub fn builder(default_bin: &str, dir: &TestDir) -> ServerBuilder {
        ServerBuilder {
            bin: server_bin(default_bin),
            args: Vec::new(),
            cwd: dir.www(),
            cert: Some((dir.pki.server_cert.clone(), dir.pki.server_key.clone())),
            accept: "0".into(),
        }
    }
}

impl ServerBuilder {
    /// Adds one argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Do not pass `-cert`/`-key` (the server falls back to `server.pem` or, for sserve, an
    /// ephemeral certificate).
    pub fn no_cert(mut self) -> Self {
        self.cert = None;
        self
    }

    /// Use this certificate and key instead of the generated server certificate.
    pub fn cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.cert = Some((cert.into(), key.into()));
        self
    }

    /// The `-accept` argument (default `0`: a free port chosen by the OS).
    pub fn accept(mut self, spec: impl Into<String>) -> Self {
        self.accept = spec.into();
        self
    }

    /// Working directory of the server (default: the test directory's `www/`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = dir.into();
        self
    }

    /// The command that [`ServerBuilder::spawn`] would run, for tests that need their own pipes
    /// (a stdout nobody reads, for one).
    pub fn command(&self) -> Command {
        // The real s_server prints some console lines with stdio `printf` and no flush;
        // line-buffer its stdout (via stdbuf, when installed) so tests see them promptly.
        let mut cmd = if is_openssl() && have("stdbuf") {
            let mut c = Command::new("stdbuf");
            c.arg("-oL").arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        if let Some((cert, key)) = &self.cert {
            cmd.arg("-cert").arg(cert).arg("-key").arg(key);
        }
        cmd.arg("-accept").arg(&self.accept);
        cmd.args(&self.args);
        cmd.current_dir(&self.cwd);
        cmd
    }

    /// The command line, for messages.
    pub fn describe(&self) -> String {
        format!("{:?}", self.command())
    }

    /// Spawns the server without waiting for anything.
    pub fn spawn(self) -> Proc {
        let cmd = self.command();
        Proc::spawn(cmd).unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()))
    }

    /// Runs the server expecting it to exit by itself (start-up errors); kills it after
    /// `timeout`. Stdin stays open while it runs.
    pub fn run_to_exit(self, timeout: Duration) -> Finished {
        let mut p = self.spawn();
        let status = p.wait_exit(timeout);
        p.kill();
        p.stdout.wait_closed(Duration::from_secs(2));
        p.stderr.wait_closed(Duration::from_secs(2));
        Finished {
            status,
            stdout: p.stdout.bytes(),
            stderr: p.stderr.bytes(),
        }
    }

    /// Starts the server and waits for its `ACCEPT` line; panics (with the server's output)
    /// if it does not come within [`TIMEOUT`].
    pub fn start(self) -> Server {
        let desc = self.describe();
        let proc = self.spawn();
        let mut port = None;
        proc.stdout.wait_until(TIMEOUT, |b| {
            port = parse_accept_port(b);
            port.is_some()
        });
        let Some(port) = port else {
            panic!(
                "server did not print an ACCEPT line with a port: {desc}\n{}",
                proc.dump()
            );
        };
        Server { proc, port }
    }
}

/// Finds `ACCEPT [::]:PORT` / `ACCEPT 0.0.0.0:PORT` (or, with `-json`, the `listening` event's
/// address) in the output and returns the port.
pub fn parse_accept_port(out: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(out);
    for line in text.lines() {
        if line.contains(r#""event":"listening""#) && text.contains(&format!("{line}\n")) {
            let address = line.split(r#""address":""#).nth(1)?.split('"').next()?;
            return address.rsplit(':').next()?.parse().ok().filter(|&p| p != 0);
        }
        // Only complete lines (the last one may still be being written).
        if let Some(rest) = line.strip_prefix("ACCEPT ") {
            if !text.contains(&format!("{line}\n")) {
                continue;
            }
            let port = rest.trim().rsplit(':').next()?;
            if let Ok(p) = port.parse::<u16>() {
                if p != 0 {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// A running server under test. Killed on drop.
pub struct Server {
    /// The server process.
    pub proc: Proc,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// Captured stdout.
    pub fn stdout(&self) -> &Capture {
        &self.proc.stdout
    }

    /// Captured stderr.
    pub fn stderr(&self) -> &Capture {
        &self.proc.stderr
    }

    /// Writes to the server's console (stdin).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        self.proc.write_stdin(bytes);
    }

    /// Waits until stdout contains `pat` (true) or [`TIMEOUT`] passes (false).
    pub fn wait_for_output(&self, pat: &str, timeout: Duration) -> bool {
        self.proc.stdout.wait_for(pat, timeout)
    }

    /// Waits until stdout contains `pat`; panics with the server output otherwise.
    pub fn expect_stdout(&self, pat: &str) {
        self.proc.expect_stdout(pat);
    }

    /// Like [`Server::expect_stdout`] but only looks at output after byte offset `from`.
    pub fn expect_stdout_from(&self, from: usize, pat: &str) {
        self.proc.expect_stdout_from(from, pat);
    }

    /// Waits until stderr contains `pat`; panics otherwise.
    pub fn expect_stderr(&self, pat: &str) {
        self.proc.expect_stderr(pat);
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `https://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{}", self.port, path)
    }

    /// Server output, for assertion messages.
    pub fn dump(&self) -> String {
        self.proc.dump()
    }
}

// ---------------------------------------------------------------------------------------------
// Peers
// ---------------------------------------------------------------------------------------------

/// Starts `openssl s_client -connect 127.0.0.1:PORT -servername localhost` plus `args`, with
/// stdin piped (kept open until closed). Killed on drop.
pub fn s_client(port: u16, args: &[&str]) -> Proc {
    let mut cmd = Command::new("openssl");
    cmd.arg("s_client")
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-servername")
        .arg("localhost")
        .args(args);
    Proc::spawn(cmd).expect("cannot start openssl s_client")
}

/// Runs `openssl s_client -connect 127.0.0.1:<port> <args>` to completion with `input` on its
/// stdin (the end of `input` ends the session).
pub fn s_client_finish(port: u16, args: &[&str], input: &[u8]) -> Finished {
    let mut cmd = Command::new("openssl");
    cmd.arg("s_client")
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .args(args);
    run(cmd, input, TIMEOUT)
}

/// Waits until `s_client` reports a completed handshake (its session summary).
pub fn expect_client_handshake(client: &Proc) {
    // Printed by s_client's print_stuff() once the handshake is done.
    if !client.stdout.wait_for("Verify return code:", TIMEOUT) {
        panic!("s_client handshake did not complete\n{}", client.dump());
    }
}

/// One DTLS 1.2 ClientHello record (unfragmented) with `cookie`; message and record sequence
/// `seq`. ECDHE with P-256/X25519 and ECDSA or RSA, which every test certificate fits.
pub fn dtls_client_hello(random: &[u8; 32], cookie: &[u8], seq: u8) -> Vec<u8> {
    let mut body = vec![0xfe, 0xfd];
    body.extend_from_slice(random);
    body.push(0); // no session id
    body.push(cookie.len() as u8);
    body.extend_from_slice(cookie);
    let suites: [u16; 5] = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0x00ff];
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    suites.iter().for_each(|s| body.extend_from_slice(&s.to_be_bytes()));
    body.extend_from_slice(&[1, 0]); // null compression
    let exts: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x1d, // groups: P-256, X25519
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // point formats: uncompressed
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, // sigalgs
        0x00, 0x17, 0x00, 0x00, // extended master secret
    ];
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(exts);
    let len = (body.len() as u32).to_be_bytes();
    let mut hs = vec![1, len[1], len[2], len[3], 0, seq, 0, 0, 0, len[1], len[2], len[3]];
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, seq];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// Does the cookie exchange by hand (ClientHello, HelloVerifyRequest, ClientHello with the
/// cookie), waits for the server's first flight, then goes silent. The socket is returned
/// open so that the peer address stays valid (no ICMP errors) while the server waits. `n`
/// seeds the client random.
pub fn dtls_half_open(port: u16, n: u64) -> Option<std::net::UdpSocket> {
    use std::net::UdpSocket;
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.connect(("127.0.0.1", port)).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let random: [u8; 32] =
        std::array::from_fn(|i| (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 8 * 8)) as u8 ^ i as u8);
    sock.send(&dtls_client_hello(&random, &[], 0)).ok()?;
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).ok()?;
    // Record header (13) + handshake header (12) + version (2), then the cookie length.
    if n < 28 || buf[0] != 22 || buf[13] != 3 || 28 + buf[27] as usize > n {
        return None;
    }
    let cookie = buf[28..28 + buf[27] as usize].to_vec();
    sock.send(&dtls_client_hello(&random, &cookie, 1)).ok()?;
    let n = sock.recv(&mut buf).ok()?;
    // The flight starts with the ServerHello.
    (n > 25 && buf[0] == 22 && buf[13] == 2).then_some(sock)
}

/// Runs `curl -sS --max-time 15` plus `args`.
pub fn curl(args: &[&str]) -> Finished {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "15"]).args(args);
    run(cmd, b"", TIMEOUT)
}

/// Runs `python3 -c script args...`.
pub fn python(script: &str, args: &[&str]) -> Finished {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(script).args(args);
    run(cmd, b"", TIMEOUT)
}

/// Python snippet: connects with TLS (no certificate verification) to `127.0.0.1:argv[1]`,
/// sends `argv[3]` (bytes written with Python `unicode_escape` escapes) and writes everything
/// received until the connection ends to stdout. `argv[2]` selects the version: `1.2`, `1.3` or
/// `any`. `argv[4]` (optional) says how the client ends its side after the request: `keep`
/// (default: it does not), `close_notify` (sends close_notify, keeps reading) or `fin` (half-closes
/// TCP without close_notify). The TLS runs over memory BIOs so that the client can send
/// close_notify and still read the answer (`SSLSocket.unwrap` would discard it). How the
/// connection ended goes to stderr as `END: close_notify`, `END: eof`, `END: reset` or
/// `END: error <reason>` (exit status 1, e.g. on an alert from the server).
pub const PY_TLS_FETCH: &str = r#"
import socket, ssl, sys
port, ver, req = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ending = sys.argv[4] if len(sys.argv) > 4 else "keep"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if ver != "any":
    v = ssl.TLSVersion.TLSv1_2 if ver == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = v
    ctx.maximum_version = v
req = req.encode("ascii").decode("unicode_escape").encode("latin-1")
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, outg, server_hostname="localhost")
raw = socket.create_connection(("127.0.0.1", port), timeout=15)
def flush():
    d = outg.read()
    if d:
        raw.sendall(d)
def receive():
    try:
        d = raw.recv(65536)
    except ConnectionResetError:
        return "reset"
    if d:
        inc.write(d)
        return None
    inc.write_eof()
    return None
out, end = b"", None
try:
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            end = receive()
            if end:
                raise ConnectionResetError()
    flush()
    tls.write(req)
    flush()
    if ending == "close_notify":
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        flush()
    elif ending == "fin":
        raw.shutdown(socket.SHUT_WR)
    while end is None:
        try:
            d = tls.read(65536)
            if not d:
                end = "close_notify"
            out += d
        except ssl.SSLWantReadError:
            end = receive()
        except ssl.SSLZeroReturnError:
            end = "close_notify"
        except ssl.SSLEOFError:
            end = "eof"
except ConnectionResetError:
    end = "reset"
except ssl.SSLError as e:
    end = "error " + str(e.reason)
sys.stdout.buffer.write(out)
sys.stderr.write("END: " + end + "\n")
sys.exit(1 if end.startswith("error") else 0)
"#;

/// How [`py_fetch_ending`]'s client ends its side after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEnd {
    /// It does not: it reads until the server ends the connection.
    Keep,
    /// It sends close_notify and keeps reading.
    CloseNotify,
    /// It half-closes TCP without close_notify and keeps reading.
    Fin,
}

/// Fetches `request` (any bytes) over TLS with Python and returns the raw response bytes.
/// `version`: `1.2`, `1.3` or `any`.
pub fn py_fetch(port: u16, version: &str, request: &[u8]) -> Finished {
    py_fetch_ending(port, version, request, ClientEnd::Keep)
}

/// [`py_fetch`], ending the client's side after the request as `end` says. Stderr ends with
/// `END: close_notify`, `END: eof`, `END: reset` or `END: error <reason>` (see [`PY_TLS_FETCH`]).
pub fn py_fetch_ending(port: u16, version: &str, request: &[u8], end: ClientEnd) -> Finished {
    let mut req = String::new();
    for &b in request {
        match b {
            b'\\' => req.push_str("\\\\"),
            0x20..=0x7e => req.push(b as char),
            _ => req.push_str(&format!("\\x{b:02x}")),
        }
    }
    let end = match end {
        ClientEnd::Keep => "keep",
        ClientEnd::CloseNotify => "close_notify",
        ClientEnd::Fin => "fin",
    };
    python(PY_TLS_FETCH, &[&port.to_string(), version, &req, end])
}

/// Connects over plain TCP to `127.0.0.1:port`, writes `bytes`, and reads until the server
/// closes the connection (or 10 s pass). Returns what was read.
pub fn tcp_garbage(port: u16, bytes: &[u8]) -> Vec<u8> {
    tcp_exchange(port, bytes, false)
}

/// [`tcp_garbage`], but half-closes the connection (TCP FIN) right after writing `bytes`, as a
/// peer that stops in the middle of a record does.
pub fn tcp_send_then_fin(port: u16, bytes: &[u8]) -> Vec<u8> {
    tcp_exchange(port, bytes, true)
}

fn tcp_exchange(port: u16, bytes: &[u8], fin: bool) -> Vec<u8> {
    use std::net::{Shutdown, TcpStream};
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("tcp connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    if fin {
        s.shutdown(Shutdown::Write).expect("tcp half-close");
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Generates `len` pseudo-random bytes (xorshift; deterministic per seed, no dependency).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// `kill -TERM pid`.
pub fn sigterm(pid: u32) {
    let st = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("cannot run kill");
    assert!(st.success(), "kill -TERM {pid} failed");
}

/// A process's resident set (`VmRSS`) and its peak (`VmHWM`), in KiB, from `/proc`; `None`
/// where there is no `/proc` or the process is gone.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
