//! OCSP stapling (`-status`, `-status_verbose`, `-status_timeout`, `-status_url`, `-status_file`,
//! `-proxy`, `-no_proxy`) and the session options `-ext_cache`, `-stateless`, `-id_prefix`.
//!
//! s_server asks the OCSP responder from inside the status callback, once per handshake, with
//! the handshake blocked on the network. sserve keeps one response for every connection in an
//! [`OcspStaple`]: fetched once before the server starts accepting, then refreshed by a
//! background thread when its `nextUpdate` comes (at most an hour later), and fetched again at
//! once (at most every few seconds) when a handshake found none. The fetch is a small blocking
//! HTTP/1.0 POST over `std::net` here in the CLI; the engine only builds the request and
//! staples the bytes.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ArgMatches;
use sserve_engine::ossl::{CertFormat, OcspQuery, OcspQueryError, OcspStaple, StapleInfo};
use sserve_engine::ServerConfigBuilder;

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
/// Largest response accepted (OpenSSL's HTTP client default, 100 KiB).
const MAX_RESPONSE: usize = 100 * 1024;

/// The certificate the server presents, as given on the command line (`None`: the ephemeral
/// one).
fn server_cert(m: &ArgMatches) -> Option<String> {
    match m.get_one::<String>("cert") {
        Some(c) => Some(c.clone()),
        None => Path::new("server.pem").exists().then(|| "server.pem".to_string()),
    }
}

/// Sets up the session options and OCSP stapling. `dtls`: a DTLS context (`-stateless` is
/// TLS only, as in s_server).
pub fn configure(b: &mut ServerConfigBuilder, m: &ArgMatches, dtls: bool) -> Result<(), String> {
    if m.get_flag("stateless") {
        if dtls {
            return Err("Can only use --stateless with TLS".into());
        }
        b.stateless().map_err(|e| e.reason)?;
    }
    if let Some(prefix) = m.get_one::<String>("id_prefix") {
        if prefix.len() >= 32 {
            eprintln!("warning: id_prefix is too long, only one new session will be possible");
        }
        b.session_id_prefix(prefix.as_bytes()).map_err(|e| e.reason)?;
        eprintln!("id_prefix '{prefix}' set.");
    }
    // s_server: `-no_cache` wins over `-ext_cache`.
    if m.get_flag("ext_cache") && !m.get_flag("no_cache") {
        b.external_session_cache();
    }
    configure_status(b, m)
}

/// The `-status*` settings.
#[derive(Debug, Clone)]
struct StatusSettings {
    verbose: bool,
    timeout: Duration,
    default_url: Option<String>,
    proxy: Option<String>,
    no_proxy: Option<String>,
}

fn configure_status(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), String> {
    let verbose = m.get_flag("status_verbose");
    let enabled = verbose
        || m.get_flag("status")
        || ["status_timeout", "status_url", "status_file"]
            .iter()
            .any(|o| m.get_one::<String>(o).is_some());
    if !enabled {
        return Ok(());
    }
    let staple = OcspStaple::new();
    b.ocsp_stapling(staple.clone(), verbose).map_err(|e| e.reason)?;
    if let Some(file) = m.get_one::<String>("status_file") {
        // s_server reads the file on every handshake; sserve once, at start-up.
        let der = std::fs::read(file).map_err(|_| "cert_status: Cannot open OCSP response file".to_string())?;
        staple
            .set(der)
            .map_err(|_| "cert_status: Error reading OCSP response".to_string())?;
        return Ok(());
    }
    let timeout = match m.get_one::<String>("status_timeout") {
        None => DEFAULT_TIMEOUT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => Duration::from_secs(n.unsigned_abs()),
            Ok(_) => DEFAULT_TIMEOUT,
            Err(_) => return Err(format!("-status_timeout: invalid number '{v}'")),
        },
    };
    let default_url = m.get_one::<String>("status_url").cloned();
    if let Some(u) = &default_url {
        match Url::parse(u) {
            None => return Err("Error parsing -status_url argument".into()),
            Some(url) if url.https => {
                return Err("-status_url: https responders are not supported (use an http:// URL)".into())
            }
            Some(_) => {}
        }
    }
    let settings = StatusSettings {
        verbose,
        timeout,
        default_url,
        proxy: m.get_one::<String>("proxy").cloned(),
        no_proxy: m.get_one::<String>("no_proxy").cloned(),
    };
    let source = QuerySource::from_args(m);
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
    fn from_args(m: &ArgMatches) -> Self {
        let format = match m.get_one::<String>("certform").map(|s| s.to_ascii_uppercase()) {
            Some(f) if f == "DER" => CertFormat::Der,
            _ => CertFormat::Pem,
        };
        let mut issuers: Vec<String> = Vec::new();
        issuers.extend(m.get_one::<String>("CAfile").cloned());
        if let Some(dir) = m.get_one::<String>("CApath") {
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
        issuers.extend(m.get_one::<String>("cert_chain").cloned());
        QuerySource {
            cert: server_cert(m).map(|c| (c, format)),
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
    fn attempt(&mut self, source: &QuerySource, s: &StatusSettings, staple: &OcspStaple) {
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
fn fetch(source: &QuerySource, s: &StatusSettings) -> Result<Vec<u8>, (String, bool)> {
    let q = source.query(s.default_url.as_deref()).map_err(|e| match e {
        OcspQueryError::NoResponder => ("cert_status: no AIA and no default responder URL".to_string(), true),
        OcspQueryError::NoIssuer => ("cert_status: Can't retrieve issuer certificate.".to_string(), true),
        OcspQueryError::Other(r) => (format!("cert_status: {r}"), true),
    })?;
    let url = Url::parse(&q.url).ok_or_else(|| ("cert_status: can't parse AIA URL".to_string(), true))?;
    if q.from_aia && s.verbose {
        eprintln!("cert_status: AIA URL: {}", q.url);
    }
    let proxy = effective_proxy(s.proxy.as_deref(), s.no_proxy.as_deref(), &url.host);
    post(&url, proxy.as_ref(), &q.request, s.timeout).map_err(|e| {
        let lines = format!(
            "Error querying OCSP responder\ncert_status: error querying responder\n{}: {e}",
            q.url
        );
        (lines, false)
    })
}

/// An `http://host[:port][/path]` URL (OpenSSL's `OSSL_HTTP_parse_url` without user info,
/// query or fragment handling beyond passing them on in the path).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl Url {
    fn parse(s: &str) -> Option<Url> {
        let lower = s.to_ascii_lowercase();
        let (https, rest) = if lower.starts_with("https://") {
            (true, &s[8..])
        } else if lower.starts_with("http://") {
            (false, &s[7..])
        } else if s.contains("://") {
            return None;
        } else {
            (false, s)
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']')?;
            (&v6[..end], v6[end + 1..].strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            Some(p) => p.parse().ok()?,
            None if https => 443,
            None => 80,
        };
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Some(Url {
            https,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// `host:port` with IPv6 brackets.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The proxy to use for `host`: `-proxy`, else `http_proxy`/`HTTP_PROXY`; none when `host` is
/// in `-no_proxy` (else `no_proxy`/`NO_PROXY`), as `OSSL_HTTP_adapt_proxy` decides.
fn effective_proxy(proxy: Option<&str>, no_proxy: Option<&str>, host: &str) -> Option<Url> {
    let env = |a: &str, b: &str| std::env::var(a).ok().or_else(|| std::env::var(b).ok());
    let proxy = proxy.map(str::to_string).or_else(|| env("http_proxy", "HTTP_PROXY"))?;
    if proxy.is_empty() {
        return None;
    }
    let no_proxy = no_proxy.map(str::to_string).or_else(|| env("no_proxy", "NO_PROXY"));
    let excluded = no_proxy.is_some_and(|list| {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .any(|h| !h.is_empty() && h == host)
    });
    if excluded {
        return None;
    }
    Url::parse(&proxy)
}

/// POSTs the DER request; returns the response body. The whole exchange is bounded by `timeout`.
fn post(url: &Url, proxy: Option<&Url>, body: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    if url.https {
        return Err("https responders are not supported".into());
    }
    let deadline = Instant::now() + timeout;
    let (via, target) = match proxy {
        Some(p) if p.https => return Err("https proxies are not supported".into()),
        Some(p) => (p, format!("http://{}{}", url.authority(), url.path)),
        None => (url, url.path.clone()),
    };
    let addrs = (via.host.as_str(), via.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", via.host))?;
    let mut last = String::from("no address");
    let mut stream = None;
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let mut stream = stream.ok_or_else(|| format!("cannot connect to {}: {last}", via.authority()))?;
    let head = format!(
        "POST {target} HTTP/1.0\r\nHost: {}\r\nAccept: application/ocsp-response\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\n\r\n",
        url.authority(),
        body.len()
    );
    let left = |d: Instant| {
        let l = d.saturating_duration_since(Instant::now());
        (!l.is_zero()).then_some(l).ok_or_else(|| "timeout".to_string())
    };
    stream
        .set_write_timeout(Some(left(deadline)?))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        stream
            .set_read_timeout(Some(left(deadline)?))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                resp.extend_from_slice(&buf[..n]);
                if resp.len() > MAX_RESPONSE + 8192 {
                    return Err("response too large".into());
                }
                if let Some(body) = complete_body(&resp)? {
                    return Ok(body);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err("timeout".into())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    // HTTP/1.0 without Content-Length: the body ends with the connection.
    parse_response(&resp, true)?.ok_or_else(|| "truncated response".to_string())
}

fn complete_body(resp: &[u8]) -> Result<Option<Vec<u8>>, String> {
    parse_response(resp, false)
}

/// The body of a `200` response once it is complete (`closed`: the peer ended the connection).
fn parse_response(resp: &[u8], closed: bool) -> Result<Option<Vec<u8>>, String> {
    let Some(end) = resp.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&resp[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with("HTTP/") || code != "200" {
        return Err(format!("HTTP response: {status}"));
    }
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let body = &resp[end + 4..];
    match length {
        Some(n) if n > MAX_RESPONSE => Err("response too large".into()),
        Some(n) if body.len() >= n => Ok(Some(body[..n].to_vec())),
        Some(_) if closed => Err("truncated response".into()),
        None if closed => Ok(Some(body.to_vec())),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://ocsp.example:8080/a/b").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (false, "ocsp.example", 8080, "/a/b")
        );
        let u = Url::parse("127.0.0.1").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = Url::parse("https://[::1]/x").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.authority()),
            (true, "::1", 443, "[::1]:443".into())
        );
        assert!(Url::parse("ftp://x/").is_none());
        assert!(Url::parse("http://:80/").is_none());
        assert!(Url::parse("http://h:notaport/").is_none());
    }

    #[test]
    fn no_proxy_matches_whole_names() {
        let p = Some("proxy.example:3128");
        assert!(effective_proxy(p, Some("localhost, 127.0.0.1"), "127.0.0.1").is_none());
        assert!(effective_proxy(p, Some("127.0.0.10"), "127.0.0.1").is_some());
        assert_eq!(effective_proxy(p, Some(""), "h").unwrap().port, 3128);
    }

    #[test]
    fn http_responses() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(parse_response(ok, false).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(parse_response(b"HTTP/1.0 200 OK\r\n", false).unwrap(), None);
        assert_eq!(
            parse_response(b"HTTP/1.0 200 OK\r\n\r\nxy", true).unwrap(),
            Some(b"xy".to_vec())
        );
        assert!(parse_response(b"HTTP/1.0 404 Not Found\r\n\r\n", true).is_err());
    }
}
