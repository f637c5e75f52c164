//! OCSP stapling (`-status`, `-status_verbose`, `-status_timeout`, `-status_url`, `-status_file`,
//! `-proxy`, `-no_proxy`) and the session options `-ext_cache`, `-stateless`, `-id_prefix`.
//!
//! s_server asks the OCSP responder from inside the status callback, once per handshake, with
//! the handshake blocked on the network. sserve keeps one response for every connection in an
//! [`OcspStaple`]: fetched once before the server starts accepting, then refreshed by a
//! background thread when its `nextUpdate` comes (at most an hour later), and fetched again at
//! once (at most every few seconds) when a handshake found none. OpenSSL's own HTTP client (in
//! the engine, over memory: `ossl::ocsp_http`) parses the URL, picks the proxy, writes the
//! POST and parses the response; this module only connects, moves the bytes and keeps time.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sserve_engine::ossl::ocsp_http::{choose_proxy, ExchangePoll, HttpUrl, OcspExchange};
use sserve_engine::ossl::{CertFormat, OcspQuery, OcspQueryError, OcspStaple, StapleInfo};
use sserve_engine::ServerConfigBuilder;

use crate::error::Error;
use crate::settings::{CertSettings, Settings};
use crate::setup::DEFAULT_CERT;

/// Bound on one responder query when `-status_timeout` is not given (s_server waits forever).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a fetched response is used before asking again.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// How long a response without `nextUpdate` is used before asking again.
const NO_NEXT_UPDATE_AGE: Duration = Duration::from_secs(300);
/// Wait after a failed query before the next scheduled one.
const RETRY: Duration = Duration::from_secs(60);
/// Shortest gap between two queries, however many handshakes find no response.
const MIN_GAP: Duration = Duration::from_secs(5);

/// The certificate the server presents, as given on the command line (`None`: the ephemeral
/// one).
fn server_cert(c: &CertSettings) -> Option<String> {
    match &c.cert {
        Some(c) => Some(c.clone()),
        None => Path::new(DEFAULT_CERT).exists().then(|| DEFAULT_CERT.to_string()),
    }
}

/// Sets up the session options and OCSP stapling. `dtls`: a DTLS context (`-stateless` is
/// TLS only, as in s_server).
pub fn configure(b: &mut ServerConfigBuilder, s: &Settings, dtls: bool) -> Result<(), Error> {
    let session = &s.session;
    if session.stateless {
        if dtls {
            return Err("Can only use --stateless with TLS".into());
        }
        b.stateless().map_err(|e| e.reason)?;
    }
    if let Some(prefix) = &session.id_prefix {
        if prefix.len() >= 32 {
            eprintln!("warning: id_prefix is too long, only one new session will be possible");
        }
        b.session_id_prefix(prefix.as_bytes()).map_err(|e| e.reason)?;
        eprintln!("id_prefix '{prefix}' set.");
    }
    // s_server: `-no_cache` wins over `-ext_cache`.
    if session.ext_cache && !session.no_cache {
        b.external_session_cache();
    }
    configure_status(b, s)
}

/// What the refresh thread needs of the `-status*` settings.
#[derive(Debug, Clone)]
struct Fetch {
    verbose: bool,
    timeout: Duration,
    default_url: Option<String>,
    proxy: Option<String>,
    no_proxy: Option<String>,
}

fn configure_status(b: &mut ServerConfigBuilder, s: &Settings) -> Result<(), Error> {
    let status = &s.status;
    if !status.enabled {
        return Ok(());
    }
    let staple = OcspStaple::new();
    b.ocsp_stapling(staple.clone(), status.verbose).map_err(|e| e.reason)?;
    if let Some(file) = &status.file {
        // s_server reads the file on every handshake; sserve once, at start-up.
        let der = std::fs::read(file).map_err(|_| "cert_status: Cannot open OCSP response file".to_string())?;
        staple
            .set(der)
            .map_err(|_| "cert_status: Error reading OCSP response".to_string())?;
        return Ok(());
    }
    // The URL was checked with the other settings.
    let settings = Fetch {
        verbose: status.verbose,
        timeout: status
            .timeout
            .filter(|&n| n > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs),
        default_url: status.url.clone(),
        proxy: status.proxy.clone(),
        no_proxy: status.no_proxy.clone(),
    };
    let source = QuerySource::new(s);
    let mut state = Refresh::default();
    let wanted = Arc::new(Wanted::default());
    let hook = wanted.clone();
    staple.on_wanted(move || hook.set());
    state.attempt(&source, &settings, &staple);
    std::thread::Builder::new()
        .name("ocsp-refresh".into())
        .spawn(move || loop {
            state.wait(&staple, &wanted);
            state.attempt(&source, &settings, &staple);
        })
        .map_err(|e| format!("cannot start the OCSP refresh thread: {e}"))?;
    Ok(())
}

/// What the OCSP request is built from: the certificate file and the candidate issuers.
#[derive(Debug)]
struct QuerySource {
    cert: Option<(String, CertFormat)>,
    /// `-CAfile`, the files of `-CApath`, `-cert_chain`: where the issuer may be (s_server
    /// looks in the context's certificate store).
    issuers: Vec<String>,
}

impl QuerySource {
    fn new(s: &Settings) -> Self {
        let format = s.certs.certform.unwrap_or(CertFormat::Pem);
        let mut issuers: Vec<String> = Vec::new();
        issuers.extend(s.verify.ca_file.clone());
        if let Some(dir) = &s.verify.ca_path {
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut files: Vec<String> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                files.sort();
                issuers.extend(files);
            }
        }
        issuers.extend(s.certs.cert_chain.clone());
        QuerySource {
            cert: server_cert(&s.certs).map(|c| (c, format)),
            issuers,
        }
    }

    fn query(&self, default_url: Option<&str>) -> Result<OcspQuery, OcspQueryError> {
        let Some((path, format)) = &self.cert else {
            // The ephemeral certificate has no AIA and no issuer but itself.
            return Err(if default_url.is_some() {
                OcspQueryError::NoIssuer
            } else {
                OcspQueryError::NoResponder
            });
        };
        let cert = std::fs::read(path).map_err(|e| OcspQueryError::Other(e.to_string()))?;
        let mut data: Vec<Vec<u8>> = self.issuers.iter().filter_map(|p| std::fs::read(p).ok()).collect();
        // The rest of a PEM certificate file is the chain.
        if *format == CertFormat::Pem {
            data.push(cert.clone());
        }
        let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        OcspQuery::new(&cert, *format, &refs, default_url)
    }
}

/// Set by the staple's hook when a handshake found no response; the refresh thread waits on it.
#[derive(Debug, Default)]
struct Wanted {
    flag: std::sync::Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Wanted {
    fn set(&self) {
        *self.flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.changed.notify_all();
    }

    /// Waits until set (`true`, clearing it) or `timeout` passed (`false`).
    fn wait(&self, timeout: Duration) -> bool {
        let flag = self.flag.lock().unwrap_or_else(|p| p.into_inner());
        let (mut flag, _) = self
            .changed
            .wait_timeout_while(flag, timeout, |f| !*f)
            .unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *flag)
    }
}

/// The refresh schedule.
#[derive(Debug, Default)]
struct Refresh {
    /// When to ask again (`None`: after [`RETRY`] or when a handshake wants a response).
    refresh_at: Option<Instant>,
    /// When the stapled response must no longer be used.
    expires: Option<Instant>,
    last_attempt: Option<Instant>,
    /// The last failure was not the responder's (no URL, no issuer): asking again on a timer
    /// would only repeat it, so only a handshake that wants a response brings a new try.
    only_when_wanted: bool,
}

impl Refresh {
    /// Sleeps until the next query is due.
    fn wait(&mut self, staple: &OcspStaple, wanted: &Wanted) {
        loop {
            let now = Instant::now();
            let due = match self.refresh_at {
                Some(t) => t,
                None if self.only_when_wanted => now + MAX_AGE,
                None => self.last_attempt.unwrap_or(now) + RETRY,
            };
            if due <= now {
                break;
            }
            // A handshake that found no response brings the query forward.
            if wanted.wait(due - now) && staple.take_wanted() && !staple.is_set() {
                self.only_when_wanted = false;
                let earliest = self.last_attempt.map_or(now, |t| t + MIN_GAP);
                if let Some(d) = earliest.checked_duration_since(Instant::now()) {
                    std::thread::sleep(d);
                }
                break;
            }
        }
    }

    /// One query; prints s_server's `cert_status:` lines.
    fn attempt(&mut self, source: &QuerySource, s: &Fetch, staple: &OcspStaple) {
        let now = Instant::now();
        self.last_attempt = Some(now);
        let result = fetch(source, s).and_then(|der| staple.set(der).map_err(|e| (e.reason, false)));
        match result {
            Ok(info) => {
                self.only_when_wanted = false;
                let (refresh, expires) = lifetimes(info);
                self.refresh_at = Some(now + refresh);
                self.expires = Some(now + expires);
            }
            Err((msg, permanent)) => {
                eprintln!("{msg}");
                self.only_when_wanted = permanent;
                self.refresh_at = None;
                if self.expires.is_none_or(|t| t <= now) {
                    staple.clear();
                    self.expires = None;
                }
            }
        }
    }
}

/// (when to refresh, when to stop using) a response.
fn lifetimes(info: StapleInfo) -> (Duration, Duration) {
    match info.next_update_in {
        Some(secs) if secs > 0 => {
            let until = Duration::from_secs(secs.unsigned_abs());
            (until.min(MAX_AGE), until)
        }
        // Already past nextUpdate: staple it (as s_server would) but ask again soon.
        Some(_) => (RETRY, RETRY),
        None => (NO_NEXT_UPDATE_AGE, MAX_AGE),
    }
}

/// Builds the request and asks the responder; `Err` carries the lines to print and whether the
/// failure is one of the configuration (asking the responder again cannot help).
fn fetch(source: &QuerySource, s: &Fetch) -> Result<Vec<u8>, (String, bool)> {
    let q = source.query(s.default_url.as_deref()).map_err(|e| match e {
        OcspQueryError::NoResponder => ("cert_status: no AIA and no default responder URL".to_string(), true),
        OcspQueryError::NoIssuer => ("cert_status: Can't retrieve issuer certificate.".to_string(), true),
        OcspQueryError::Other(r) => (format!("cert_status: {r}"), true),
    })?;
    let url = HttpUrl::parse(&q.url).map_err(|_| ("cert_status: can't parse AIA URL".to_string(), true))?;
    if q.from_aia && s.verbose {
        eprintln!("cert_status: AIA URL: {}", q.url);
    }
    let failed = |e: String| {
        let lines = format!(
            "Error querying OCSP responder\ncert_status: error querying responder\n{}: {e}",
            q.url
        );
        (lines, false)
    };
    let proxy = choose_proxy(s.proxy.as_deref(), s.no_proxy.as_deref(), &url.host).map_err(|e| failed(e.reason))?;
    let exchange = OcspExchange::new(&url, proxy.as_ref(), &q.request).map_err(|e| failed(e.reason))?;
    post(exchange, proxy.as_ref().unwrap_or(&url), s.timeout).map_err(|e| failed(e.0))
}

/// Runs `exchange` over a TCP connection to `via` (the responder or the proxy); the engine
/// formats the request and parses the response. The whole exchange is bounded by `timeout`.
fn post(mut exchange: OcspExchange, via: &HttpUrl, timeout: Duration) -> Result<Vec<u8>, Error> {
    let deadline = Instant::now() + timeout;
    let left = || {
        let l = deadline.saturating_duration_since(Instant::now());
        (!l.is_zero()).then_some(l).ok_or_else(|| Error::from("timeout"))
    };
    let addrs = (via.host.as_str(), via.port)
        .to_socket_addrs()
        .map_err(|e| Error(format!("cannot resolve {}: {e}", via.host)))?;
    let mut last = String::from("no address");
    let mut stream = None;
    for a in addrs {
        let Ok(l) = left() else { break };
        match TcpStream::connect_timeout(&a, l) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let authority = SocketAddrText(&via.host, via.port);
    let mut stream = stream.ok_or_else(|| Error(format!("cannot connect to {authority}: {last}")))?;
    let mut buf = [0u8; 8192];
    loop {
        let out = exchange.outgoing();
        if !out.is_empty() {
            stream
                .set_write_timeout(Some(left()?))
                .map_err(|e| Error(e.to_string()))?;
            stream.write_all(&out).map_err(|e| Error(e.to_string()))?;
        }
        if let ExchangePoll::Done(der) = exchange.poll().map_err(|e| Error(e.reason))? {
            return Ok(der);
        }
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| Error(e.to_string()))?;
        match stream.read(&mut buf) {
            Ok(0) => exchange.feed_eof(),
            Ok(n) => exchange.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err("timeout".into())
            }
            Err(e) => return Err(Error(e.to_string())),
        }
    }
}

/// `host:port`, with IPv6 brackets.
struct SocketAddrText<'a>(&'a str, u16);

impl std::fmt::Display for SocketAddrText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]:{}", self.0, self.1)
        } else {
            write!(f, "{}:{}", self.0, self.1)
        }
    }
}
