use super::*;
use alloc::format;
use alloc::vec;
use openssl::ocsp::OcspResponseStatus;

fn url(s: &str) -> HttpUrl {
    HttpUrl::parse(s).unwrap()
}

/// A DER `OCSPResponse` without a body (`tryLater`): enough for the HTTP layer.
fn canned_response() -> Vec<u8> {
    OcspResponse::create(OcspResponseStatus::TRY_LATER, None)
        .unwrap()
        .to_der()
        .unwrap()
}

fn request() -> Vec<u8> {
    OcspRequest::new().unwrap().to_der().unwrap()
}

fn http_response(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.0 200 OK\r\nContent-type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Feeds `resp` in `chunk`-byte pieces, then the end of the connection.
fn exchange(resp: &[u8], chunk: usize) -> Result<ExchangePoll, TlsError> {
    let mut ex = OcspExchange::new(&url("http://127.0.0.1:8080/ocsp"), None, &request()).unwrap();
    assert!(!ex.outgoing().is_empty());
    for piece in resp.chunks(chunk) {
        ex.feed(piece);
        if let r @ (Err(_) | Ok(ExchangePoll::Done(_))) = ex.poll() {
            return r;
        }
    }
    ex.feed_eof();
    ex.poll()
}

#[test]
fn urls_are_split_by_openssl() {
    let u = url("http://ocsp.example:8080/a/b");
    assert_eq!(
        (u.https, u.host.as_str(), u.port, u.path.as_str()),
        (false, "ocsp.example", 8080, "/a/b")
    );
    let u = url("https://[::1]/x");
    assert_eq!(
        (u.https, u.host.as_str(), u.port, u.path.as_str()),
        (true, "::1", 443, "/x")
    );
    assert!(HttpUrl::parse("ftp://x/").is_err());
    assert!(HttpUrl::parse("http://h:notaport/").is_err());
    assert!(HttpUrl::parse("http://h\0/").is_err());
}

#[cfg(ossl300)]
#[test]
fn urls_without_a_scheme_are_http() {
    let u = url("127.0.0.1");
    assert_eq!((u.https, u.port, u.path.as_str()), (false, 80, "/"));
}

#[cfg(ossl300)]
#[test]
fn no_proxy_matches_whole_names() {
    let p = Some("proxy.example:3128");
    assert_eq!(
        choose_proxy(p, Some("localhost, 127.0.0.1"), "127.0.0.1").unwrap(),
        None
    );
    let chosen = choose_proxy(p, Some("127.0.0.10"), "127.0.0.1").unwrap().unwrap();
    assert_eq!((chosen.host.as_str(), chosen.port), ("proxy.example", 3128));
    assert!(choose_proxy(Some("https://proxy.example"), None, "h").is_err());
}

#[test]
fn the_request_is_an_http_post() {
    let der = request();
    let mut ex = OcspExchange::new(&url("http://h.example:8080/ocsp"), None, &der).unwrap();
    let out = ex.outgoing();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("POST /ocsp HTTP/1.0\r\n"), "{text}");
    assert!(text.contains("Host: h.example:8080\r\n"), "{text}");
    assert!(text.contains("Content-Type: application/ocsp-request\r\n"), "{text}");
    assert!(text.contains(&format!("Content-Length: {}\r\n", der.len())), "{text}");
    assert!(out.ends_with(&der));
    assert!(ex.outgoing().is_empty());
    assert_eq!(ex.poll().unwrap(), ExchangePoll::Pending);
}

#[cfg(ossl300)]
#[test]
fn through_a_proxy_the_request_line_is_absolute() {
    let proxy = url("http://proxy.example:3128");
    let mut ex = OcspExchange::new(&url("http://127.0.0.1:8080/"), Some(&proxy), &request()).unwrap();
    let out = ex.outgoing();
    assert!(out.starts_with(b"POST http://127.0.0.1:8080/ HTTP/1.0\r\n"));
}

#[test]
fn https_responders_are_refused() {
    assert!(OcspExchange::new(&url("https://127.0.0.1/"), None, &request()).is_err());
}

#[test]
fn a_response_in_any_pieces_is_read() {
    let der = canned_response();
    let resp = http_response("application/ocsp-response", &der);
    for chunk in [resp.len(), 7, 2, 1] {
        assert_eq!(
            exchange(&resp, chunk).unwrap(),
            ExchangePoll::Done(der.clone()),
            "chunk {chunk}"
        );
    }
}

#[test]
fn bad_responses_are_errors() {
    let der = canned_response();
    let not_found = b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
    let truncated = http_response("application/ocsp-response", &der)[..40].to_vec();
    let garbage = vec![b'x'; 64 * 1024];
    let mut huge = b"HTTP/1.0 200 OK\r\nContent-type: application/ocsp-response\r\n".to_vec();
    huge.extend_from_slice(format!("Content-Length: {}\r\n\r\n", MAX_RESPONSE + 1).as_bytes());
    huge.extend(std::iter::repeat_n(0x30, 2 * MAX_RESPONSE));
    let cases = [not_found, truncated, garbage, huge, b"\0\r\n\r\n\x30\x03".to_vec()]
        .into_iter()
        // 1.1.1's client does not look at the Content-Type.
        .chain(cfg!(ossl300).then(|| http_response("text/html", &der)));
    for resp in cases {
        for chunk in [1, 1000] {
            assert!(
                exchange(&resp, chunk).is_err(),
                "chunk {chunk}: {:?}",
                String::from_utf8_lossy(&resp[..resp.len().min(80)])
            );
        }
    }
}

#[test]
fn a_status_error_names_the_code() {
    let e = exchange(b"HTTP/1.0 404 Not Found\r\n\r\n", 5).unwrap_err();
    assert!(e.reason.contains("404"), "{e:?}");
}
