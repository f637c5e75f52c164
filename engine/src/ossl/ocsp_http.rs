//! Asking an OCSP responder through OpenSSL's own HTTP client, without any I/O.
//!
//! s_server fetches a staple with OpenSSL's HTTP client on a socket it opens. Here the same
//! client (`OSSL_HTTP_REQ_CTX` on 3.x, `OCSP_REQ_CTX` on 1.1.1) runs over one end of an
//! in-memory BIO pair: it formats the request and parses the response (status line, headers,
//! `Content-Type`, length, size limit, DER), while the caller moves the bytes between the other
//! end and whatever connection it opened. [`HttpUrl`] and [`choose_proxy`] are OpenSSL's URL
//! parser and proxy choice (`OSSL_HTTP_parse_url`, `OSSL_HTTP_adapt_proxy`).

use alloc::ffi::CString;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, CStr};
use core::ptr;
use foreign_types::ForeignType;
use openssl::ocsp::{OcspRequest, OcspResponse};

use super::errors::take_queue;
use super::ffi;
use crate::error::{TlsError, TlsErrorKind};

/// Largest response accepted (OpenSSL's `OSSL_HTTP_DEFAULT_MAX_RESP_LEN`, what s_server uses).
pub const MAX_RESPONSE: usize = 100 * 1024;
/// Longest response line (OpenSSL's `OSSL_HTTP_DEFAULT_MAX_LINE_LEN`, the context's buffer).
const MAX_LINE: usize = 4 * 1024;
/// Longest response header kept while it comes in.
const MAX_HEADER: usize = 64 * 1024;

fn error(kind: TlsErrorKind, reason: &str) -> TlsError {
    TlsError::new(kind, reason.to_string())
}

fn c_string(s: &str, what: &str) -> Result<CString, TlsError> {
    CString::new(s).map_err(|_| error(TlsErrorKind::Config, &alloc::format!("{what} contains a NUL byte")))
}

/// A string OpenSSL allocated; freed with `OPENSSL_free`.
struct OsslString(*mut c_char);

impl OsslString {
    fn take(&self) -> Option<String> {
        // SAFETY: a non-NULL pointer is a NUL-terminated string OpenSSL allocated for us.
        (!self.0.is_null()).then(|| unsafe { CStr::from_ptr(self.0) }.to_string_lossy().into_owned())
    }
}

impl Drop for OsslString {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: OpenSSL allocated the string for the caller, which owns it alone.
            unsafe { openssl_sys::OPENSSL_free(self.0.cast()) };
        }
    }
}

/// An `http://` (or `https://`) URL as OpenSSL's HTTP client splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The scheme was `https`.
    pub https: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 or 443 when the URL names none).
    pub port: u16,
    /// Path with any query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `url` with `OSSL_HTTP_parse_url` (3.x: the scheme may be left out) or
    /// `OCSP_parse_url` (1.1.1).
    pub fn parse(url: &str) -> Result<HttpUrl, TlsError> {
        let c = c_string(url, "URL")?;
        let parsed = parse_raw(&c);
        // OpenSSL's parser leaves an error on the queue; the reason is the one line asked for.
        let _ = openssl::error::ErrorStack::get();
        let (https, host, port, path) = parsed.ok_or_else(|| error(TlsErrorKind::Config, "cannot parse URL"))?;
        if host.is_empty() {
            return Err(error(TlsErrorKind::Config, "URL has no host"));
        }
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.to_string(),
            None => host,
        };
        let path = if path.starts_with('/') {
            path
        } else {
            alloc::format!("/{path}")
        };
        Ok(HttpUrl {
            https,
            host,
            port,
            path,
        })
    }

    /// `host` with IPv6 brackets, as it goes into a request line or a `Host` header.
    fn host_for_http(&self) -> String {
        if self.host.contains(':') {
            alloc::format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

#[cfg(ossl300)]
fn parse_raw(url: &CStr) -> Option<(bool, String, u16, String)> {
    let mut ssl: c_int = 0;
    let mut port_num: c_int = 0;
    let (mut host, mut path) = (OsslString(ptr::null_mut()), OsslString(ptr::null_mut()));
    // SAFETY: `url` is NUL-terminated; the out pointers are valid, the strings OpenSSL
    // allocates into them are owned (and freed) by the `OsslString`s; NULL out pointers
    // (user, port string, query, fragment) are allowed and fold the query into the path.
    let ok = unsafe {
        ffi::OSSL_HTTP_parse_url(
            url.as_ptr(),
            &mut ssl,
            ptr::null_mut(),
            &mut host.0,
            ptr::null_mut(),
            &mut port_num,
            &mut path.0,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if ok != 1 {
        return None;
    }
    let port = u16::try_from(port_num).ok()?;
    Some((ssl != 0, host.take()?, port, path.take().unwrap_or_else(|| "/".into())))
}

#[cfg(not(ossl300))]
fn parse_raw(url: &CStr) -> Option<(bool, String, u16, String)> {
    let mut ssl: c_int = 0;
    let (mut host, mut port, mut path) = (
        OsslString(ptr::null_mut()),
        OsslString(ptr::null_mut()),
        OsslString(ptr::null_mut()),
    );
    // SAFETY: `url` is NUL-terminated; OCSP_parse_url allocates the three strings into the
    // valid out pointers, and the `OsslString`s own and free them.
    let ok = unsafe { ffi::OCSP_parse_url(url.as_ptr(), &mut host.0, &mut port.0, &mut path.0, &mut ssl) };
    if ok != 1 {
        return None;
    }
    let port = port.take()?.parse().ok()?;
    Some((ssl != 0, host.take()?, port, path.take().unwrap_or_else(|| "/".into())))
}

/// The proxy to reach `server` (an `http://` responder) through: `proxy`, else the
/// `http_proxy`/`HTTP_PROXY` environment; none when `server` is listed in `no_proxy` (else
/// `no_proxy`/`NO_PROXY`). This is `OSSL_HTTP_adapt_proxy`, the choice s_server makes.
#[cfg(ossl300)]
pub fn choose_proxy(proxy: Option<&str>, no_proxy: Option<&str>, server: &str) -> Result<Option<HttpUrl>, TlsError> {
    let proxy = proxy.map(|p| c_string(p, "-proxy")).transpose()?;
    let no_proxy = no_proxy.map(|p| c_string(p, "-no_proxy")).transpose()?;
    let server = c_string(server, "host")?;
    let opt = |c: &Option<CString>| c.as_ref().map_or(ptr::null(), |c| c.as_ptr());
    // SAFETY: all strings are NUL-terminated or NULL; the result is `proxy`, a string of the
    // process environment, or NULL, and is copied out before `proxy` is dropped.
    let chosen = unsafe { ffi::OSSL_HTTP_adapt_proxy(opt(&proxy), opt(&no_proxy), server.as_ptr(), 0) };
    if chosen.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL: a NUL-terminated string that lives at least as long as `proxy`.
    let chosen = unsafe { CStr::from_ptr(chosen) }.to_string_lossy().into_owned();
    let url = HttpUrl::parse(&chosen).map_err(|_| error(TlsErrorKind::Config, "cannot parse proxy URL"))?;
    if url.https {
        return Err(error(TlsErrorKind::Config, "https proxies are not supported"));
    }
    Ok(Some(url))
}

/// On 1.1.1 (no `OSSL_HTTP_adapt_proxy`, and s_server had no `-proxy`) the responder is
/// always asked directly; the CLI refuses `-proxy` there (`version.rs`).
#[cfg(not(ossl300))]
pub fn choose_proxy(proxy: Option<&str>, _no_proxy: Option<&str>, _server: &str) -> Result<Option<HttpUrl>, TlsError> {
    match proxy {
        Some(_) => Err(error(TlsErrorKind::Config, "-proxy needs OpenSSL 3.0 or later")),
        None => Ok(None),
    }
}

/// One end of a BIO pair; freed in `Drop`.
struct PairEnd(*mut openssl_sys::BIO);

impl Drop for PairEnd {
    fn drop(&mut self) {
        // SAFETY: we own this half of the pair; each half is freed once (BIO_s_bio(3)).
        unsafe { openssl_sys::BIO_free_all(self.0) };
    }
}

/// The HTTP request context; it does not own the BIO it talks over.
struct ReqCtx(*mut ffi::HttpReqCtx);

impl Drop for ReqCtx {
    fn drop(&mut self) {
        // SAFETY: we own the context, created in `OcspExchange::new`.
        #[cfg(ossl300)]
        unsafe {
            ffi::OSSL_HTTP_REQ_CTX_free(self.0)
        };
        // SAFETY: as above (1.1.1's free function).
        #[cfg(not(ossl300))]
        unsafe {
            ffi::OCSP_REQ_CTX_free(self.0)
        };
    }
}

/// What [`OcspExchange::poll`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangePoll {
    /// More of the response is needed (send [`OcspExchange::outgoing`] first).
    Pending,
    /// The DER `OCSPResponse` the responder sent.
    Done(Vec<u8>),
}

/// One OCSP request/response exchange over HTTP/1.0, driven by the caller's bytes.
///
/// Write [`outgoing`](Self::outgoing) to the responder (or proxy), hand what comes back to
/// [`feed`](Self::feed) (and [`feed_eof`](Self::feed_eof) when the connection ends), and
/// [`poll`](Self::poll) until it is done. Bad or oversized responses are errors, never panics.
pub struct OcspExchange {
    // Declared first: the context must go before the BIO it writes to.
    ctx: ReqCtx,
    /// The context's end of the pair.
    _inner: PairEnd,
    /// Our end: the request comes out here, the response goes in here.
    outer: PairEnd,
    /// Received bytes not yet handed to OpenSSL.
    incoming: Vec<u8>,
    /// Length of the header line being received, and whether it so far is just `\r`.
    line_len: usize,
    line_cr: bool,
    /// The header's blank line was received: everything may be handed over as it comes.
    body: bool,
    eof: bool,
    eof_sent: bool,
    outgoing: Vec<u8>,
    result: Option<Result<Vec<u8>, TlsError>>,
}

impl core::fmt::Debug for OcspExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OcspExchange")
            .field("incoming", &self.incoming.len())
            .field("body", &self.body)
            .field("eof", &self.eof)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

impl OcspExchange {
    /// Prepares the POST of `request_der` (a DER `OCSPRequest`) to `url`, through `proxy`
    /// when given (the request line then carries the absolute URL). `https` URLs are refused.
    pub fn new(url: &HttpUrl, proxy: Option<&HttpUrl>, request_der: &[u8]) -> Result<Self, TlsError> {
        if url.https {
            return Err(error(TlsErrorKind::Config, "https responders are not supported"));
        }
        let request =
            OcspRequest::from_der(request_der).map_err(|e| super::errors::config_error("OCSP request", &e))?;
        let (mut inner, mut outer) = (ptr::null_mut(), ptr::null_mut());
        // Our side's buffer holds a whole header, which must reach OpenSSL in one piece.
        // SAFETY: both out pointers are valid; on success each receives a BIO we then own.
        if unsafe { ffi::BIO_new_bio_pair(&mut inner, 0, &mut outer, MAX_HEADER) } != 1 {
            return Err(take_queue(TlsErrorKind::Config, "BIO_new_bio_pair"));
        }
        let (inner, outer) = (PairEnd(inner), PairEnd(outer));
        let host = url.host_for_http();
        let target = Target {
            host_header: if url.port == 80 {
                host.clone()
            } else {
                alloc::format!("{host}:{}", url.port)
            },
            host,
            port: url.port,
            path: &url.path,
            via_proxy: proxy.is_some(),
        };
        let ctx = new_ctx(&inner, &target, &request)?;
        let mut ex = OcspExchange {
            ctx,
            _inner: inner,
            outer,
            incoming: Vec::new(),
            line_len: 0,
            line_cr: false,
            body: false,
            eof: false,
            eof_sent: false,
            outgoing: Vec::new(),
            result: None,
        };
        ex.drive();
        Ok(ex)
    }

    /// The bytes to send to the responder that were produced since the last call.
    pub fn outgoing(&mut self) -> Vec<u8> {
        self.drive();
        core::mem::take(&mut self.outgoing)
    }

    /// Hands over bytes received from the responder.
    pub fn feed(&mut self, data: &[u8]) {
        if self.eof || self.result.is_some() {
            return;
        }
        for &b in data {
            self.incoming.push(b);
            if self.body {
                continue;
            }
            self.line_len += 1;
            if b == b'\n' {
                if self.line_len == 1 || (self.line_len == 2 && self.line_cr) {
                    self.body = true;
                }
                self.line_len = 0;
                self.line_cr = false;
            } else {
                self.line_cr = self.line_len == 1 && b == b'\r';
            }
        }
        if !self.body && self.incoming.len() > MAX_HEADER {
            self.result = Some(Err(error(TlsErrorKind::Protocol, "response header too long")));
        } else if self.incoming.len() > MAX_RESPONSE + MAX_HEADER {
            self.result = Some(Err(error(TlsErrorKind::Protocol, "response too large")));
        }
    }

    /// Tells that the responder closed the connection.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Drives OpenSSL's client over what was fed so far.
    pub fn poll(&mut self) -> Result<ExchangePoll, TlsError> {
        self.drive();
        match &self.result {
            None => Ok(ExchangePoll::Pending),
            Some(Ok(der)) => Ok(ExchangePoll::Done(der.clone())),
            Some(Err(e)) => Err(e.clone()),
        }
    }

    /// Runs the context until it waits for bytes we do not have (or finished).
    fn drive(&mut self) {
        while self.result.is_none() {
            let pushed = self.push_incoming();
            let rv = nbio(&self.ctx);
            let drained = self.drain_outgoing();
            match rv {
                Ok(Some(der)) => self.result = Some(Ok(der)),
                Err(e) => self.result = Some(Err(e)),
                Ok(None) if pushed || drained => {}
                Ok(None) if self.eof && self.incoming.is_empty() && !self.eof_sent => {
                    // SAFETY: `outer` is our live end of the pair; shutting down its write
                    // side makes the context's reads return end of file once it drained.
                    unsafe { openssl_sys::BIO_ctrl(self.outer.0, ffi::BIO_C_SHUTDOWN_WR, 0, ptr::null_mut()) };
                    self.eof_sent = true;
                }
                Ok(None) if self.eof_sent => {
                    self.result = Some(Err(error(TlsErrorKind::UnexpectedEof, "truncated response")));
                }
                Ok(None) => return,
            }
        }
    }

    /// Moves what may go to OpenSSL into the pair. The response header is handed over whole
    /// (or at the end of the connection): OpenSSL's client parses it in one call only (it
    /// keeps what it saw of `Content-Type` in a local variable, and its line reader over a BIO
    /// pair, `BIO_get_line`, drops a partial line when the bytes run out).
    fn push_incoming(&mut self) -> bool {
        let ready = if self.body || self.eof { self.incoming.len() } else { 0 };
        if ready == 0 {
            return false;
        }
        let len = c_int::try_from(ready).unwrap_or(c_int::MAX);
        // SAFETY: `outer` is live; `incoming` holds at least `len` readable bytes.
        let n = unsafe { openssl_sys::BIO_write(self.outer.0, self.incoming.as_ptr().cast(), len) };
        let Ok(n) = usize::try_from(n) else {
            // A full pair (retry): the context has to read first.
            return false;
        };
        self.incoming.drain(..n);
        n > 0
    }

    fn drain_outgoing(&mut self) -> bool {
        let mut any = false;
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: `outer` is live; `buf` is writable for its whole length.
            let n = unsafe { openssl_sys::BIO_read(self.outer.0, buf.as_mut_ptr().cast(), buf.len() as c_int) };
            let Ok(n) = usize::try_from(n) else { break };
            if n == 0 {
                break;
            }
            self.outgoing.extend_from_slice(&buf[..n]);
            any = true;
        }
        any
    }
}

/// Where the request goes.
struct Target<'a> {
    /// Host for the request line (IPv6 in brackets); 1.1.1 has no proxy and needs neither.
    #[cfg_attr(not(ossl300), allow(dead_code))]
    host: String,
    #[cfg_attr(not(ossl300), allow(dead_code))]
    port: u16,
    path: &'a str,
    /// The request line carries the absolute URL (through a proxy).
    via_proxy: bool,
    /// The `Host` header's value.
    host_header: String,
}

/// A context that POSTs `request` to `path` on `host`:`port` (the absolute form when going
/// through a proxy), expecting an `application/ocsp-response` of at most [`MAX_RESPONSE`].
#[cfg(ossl300)]
fn new_ctx(io: &PairEnd, t: &Target<'_>, request: &OcspRequest) -> Result<ReqCtx, TlsError> {
    let fail = |what: &str| take_queue(TlsErrorKind::Config, what);
    // SAFETY: `io` is a live BIO that outlives the context (field order of OcspExchange);
    // the context does not take ownership of it.
    let raw = unsafe { ffi::OSSL_HTTP_REQ_CTX_new(io.0, io.0, MAX_LINE as c_int) };
    if raw.is_null() {
        return Err(fail("OSSL_HTTP_REQ_CTX_new"));
    }
    let ctx = ReqCtx(raw);
    let server = c_string(&t.host, "host")?;
    let port = c_string(&t.port.to_string(), "port")?;
    let path = c_string(t.path, "path")?;
    let host_header = c_string(&t.host_header, "host")?;
    let (server, port) = if t.via_proxy {
        (server.as_ptr(), port.as_ptr())
    } else {
        (ptr::null(), ptr::null())
    };
    // SAFETY: `ctx` is live; every string is NUL-terminated and only read during the call
    // (OpenSSL copies what it keeps); NULL server/port give the origin-form request line.
    let ok = unsafe { ffi::OSSL_HTTP_REQ_CTX_set_request_line(ctx.0, 1, server, port, path.as_ptr()) };
    if ok != 1 {
        return Err(fail("OSSL_HTTP_REQ_CTX_set_request_line"));
    }
    // SAFETY: as above.
    if unsafe { ffi::OSSL_HTTP_REQ_CTX_add1_header(ctx.0, c"Host".as_ptr(), host_header.as_ptr()) } != 1 {
        return Err(fail("OSSL_HTTP_REQ_CTX_add1_header"));
    }
    // SAFETY: as above; no timeout (the caller bounds the exchange), no keep-alive.
    let ok = unsafe { ffi::OSSL_HTTP_REQ_CTX_set_expected(ctx.0, c"application/ocsp-response".as_ptr(), 1, 0, 0) };
    if ok != 1 {
        return Err(fail("OSSL_HTTP_REQ_CTX_set_expected"));
    }
    // SAFETY: `request` is a live OCSP_REQUEST and OCSP_REQUEST_it its ASN.1 template;
    // OpenSSL encodes it into a BIO of its own during the call.
    let ok = unsafe {
        ffi::OSSL_HTTP_REQ_CTX_set1_req(
            ctx.0,
            c"application/ocsp-request".as_ptr(),
            ffi::OCSP_REQUEST_it(),
            request.as_ptr() as *const core::ffi::c_void,
        )
    };
    if ok != 1 {
        return Err(fail("OSSL_HTTP_REQ_CTX_set1_req"));
    }
    // SAFETY: `ctx` is live.
    unsafe { ffi::OSSL_HTTP_REQ_CTX_set_max_response_length(ctx.0, MAX_RESPONSE as core::ffi::c_ulong) };
    Ok(ctx)
}

/// 1.1.1: `OCSP_sendreq_new` writes the request line, the headers follow, then the request
/// (with its `Content-Type` and `Content-Length`). There is no proxy (see [`choose_proxy`]).
#[cfg(not(ossl300))]
fn new_ctx(io: &PairEnd, t: &Target<'_>, request: &OcspRequest) -> Result<ReqCtx, TlsError> {
    let fail = |what: &str| take_queue(TlsErrorKind::Config, what);
    if t.via_proxy {
        return Err(error(TlsErrorKind::Config, "-proxy needs OpenSSL 3.0 or later"));
    }
    let path = c_string(t.path, "path")?;
    let host_header = c_string(&t.host_header, "host")?;
    // SAFETY: `io` is a live BIO that outlives the context, which does not own it; `path` is
    // NUL-terminated; a NULL request defers the body until the headers are added.
    let raw = unsafe { ffi::OCSP_sendreq_new(io.0, path.as_ptr(), ptr::null_mut(), MAX_LINE as c_int) };
    if raw.is_null() {
        return Err(fail("OCSP_sendreq_new"));
    }
    let ctx = ReqCtx(raw);
    // SAFETY: `ctx` is live; both strings are NUL-terminated and copied by OpenSSL.
    if unsafe { ffi::OCSP_REQ_CTX_add1_header(ctx.0, c"Host".as_ptr(), host_header.as_ptr()) } != 1 {
        return Err(fail("OCSP_REQ_CTX_add1_header"));
    }
    // SAFETY: `request` is a live OCSP_REQUEST, encoded into the context during the call.
    if unsafe { ffi::OCSP_REQ_CTX_set1_req(ctx.0, request.as_ptr()) } != 1 {
        return Err(fail("OCSP_REQ_CTX_set1_req"));
    }
    // SAFETY: `ctx` is live.
    unsafe { ffi::OCSP_set_max_response_length(ctx.0, MAX_RESPONSE as core::ffi::c_ulong) };
    Ok(ctx)
}

/// One step of the context: `Ok(None)` wants more I/O, `Ok(Some(der))` is the response.
#[cfg(ossl300)]
fn nbio(ctx: &ReqCtx) -> Result<Option<Vec<u8>>, TlsError> {
    // SAFETY: `ctx` is live and set up by `new_ctx`.
    match unsafe { ffi::OSSL_HTTP_REQ_CTX_nbio(ctx.0) } {
        -1 => Ok(None),
        1 => {
            // SAFETY: after success the context's memory BIO holds the response body; it
            // stays owned by the context, and its bytes are copied out at once.
            let (mem, len) = unsafe {
                (
                    ffi::OSSL_HTTP_REQ_CTX_get0_mem_bio(ctx.0),
                    ffi::OSSL_HTTP_REQ_CTX_get_resp_len(ctx.0),
                )
            };
            if mem.is_null() {
                return Err(error(TlsErrorKind::Protocol, "no response body"));
            }
            let mut data: *mut c_char = ptr::null_mut();
            // SAFETY: BIO_get_mem_data stores a pointer to the BIO's buffer and returns its
            // length.
            let have =
                unsafe { openssl_sys::BIO_ctrl(mem, ffi::BIO_CTRL_INFO, 0, (&mut data as *mut *mut c_char).cast()) };
            let have = usize::try_from(have).unwrap_or(0);
            if data.is_null() || have == 0 {
                return Err(error(TlsErrorKind::Protocol, "empty response"));
            }
            let len = if len == 0 { have } else { len.min(have) };
            // SAFETY: `data` points to `have` >= `len` bytes owned by the BIO.
            let body = unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) };
            let resp = OcspResponse::from_der(body)
                .map_err(|e| super::errors::config_error("cannot parse OCSP response", &e))?;
            response_der(&resp)
        }
        _ => Err(http_error()),
    }
}

#[cfg(not(ossl300))]
fn nbio(ctx: &ReqCtx) -> Result<Option<Vec<u8>>, TlsError> {
    let mut resp: *mut openssl_sys::OCSP_RESPONSE = ptr::null_mut();
    // SAFETY: `ctx` is live; on success `resp` receives an OCSP_RESPONSE we own.
    match unsafe { ffi::OCSP_sendreq_nbio(&mut resp, ctx.0) } {
        -1 => Ok(None),
        1 if !resp.is_null() => {
            // SAFETY: `resp` is a fresh OCSP_RESPONSE handed to us; OcspResponse frees it.
            let resp = unsafe { OcspResponse::from_ptr(resp) };
            response_der(&resp)
        }
        _ => Err(http_error()),
    }
}

/// The response as exact DER (OpenSSL may have been handed trailing bytes).
fn response_der(resp: &OcspResponse) -> Result<Option<Vec<u8>>, TlsError> {
    resp.to_der()
        .map(Some)
        .map_err(|e| super::errors::config_error("OCSP response", &e))
}

/// The failure OpenSSL's HTTP client left on the queue, in one line: its first entry, the cause
/// (OpenSSL 3.5 adds "missing content type" after a bad status line, 3.0 does not), with the
/// entry's data (`code=404,reason=Not Found`, `expected=…`), which says more than its reason.
fn http_error() -> TlsError {
    let stack = openssl::error::ErrorStack::get();
    let mut e = super::errors::config_error("", &stack);
    e.kind = TlsErrorKind::Protocol;
    let first = stack.errors().first();
    let reason = first.and_then(|x| x.reason()).unwrap_or("error receiving the response");
    e.reason = match first.and_then(|x| x.data()).filter(|d| !d.is_empty()) {
        Some(data) => alloc::format!("{reason} ({data})"),
        None => reason.to_string(),
    };
    e
}

#[cfg(test)]
mod tests;
