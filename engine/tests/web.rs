//! `-www` (status page), `-WWW` (files with a header) and `-HTTP` (raw files).
#![cfg(feature = "openssl")]

mod common;

use common::*;
use sserve_engine::http::{WebMode, HTML_HEADER, TEXT_HEADER};
use sserve_engine::{AppMode, CloseReason, Event, FileError, FileRequest, SessionOptions};

fn web_pair(mode: WebMode, client: ClientOptions) -> Pair {
    web_pair_with(mode, client, SessionOptions::s_server())
}

fn web_pair_with(mode: WebMode, client: ClientOptions, opts: SessionOptions) -> Pair {
    let config = default_config();
    let opts = SessionOptions {
        mode: AppMode::Web(mode),
        ..opts
    };
    let mut p = Pair::connected(&config, opts, client);
    p.assert_established();
    p
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn file_requests(events: &[Event]) -> Vec<FileRequest> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FileRequest(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn status_page_from_tiny_writes() {
    for client in [ClientOptions::tls13(), ClientOptions::tls12()] {
        let argv = vec![
            "sserve".to_string(),
            "-www".to_string(),
            "-accept".to_string(),
            "<4433>".to_string(),
        ];
        let opts = SessionOptions {
            argv,
            ..Default::default()
        };
        let mut p = web_pair_with(WebMode::Status, client, opts);
        let cipher = p.handshake_info().cipher;
        let version = p.handshake_info().cipher_version;
        for b in b"Host: example\r\nGET / HTTP/1.0\r\n" {
            assert!(
                p.client.plaintext.is_empty(),
                "no answer before the GET line is complete"
            );
            p.client_send(&[*b]);
        }
        assert!(p.client.closed, "answered and closed at the end of the GET line");
        let page = text(&p.client.plaintext);
        assert!(
            page.starts_with(
                "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<HTML><BODY BGCOLOR=\"#ffffff\">\n<pre>\n\n"
            ),
            "{page}"
        );
        assert!(
            page.contains("\nsserve -www -accept &lt;4433&gt; \n"),
            "argv echoed and escaped: {page}"
        );
        // OpenSSL 3.5's client signals no RFC 5746 support in a TLS 1.3-only hello.
        let ri = if sserve_engine::ossl::version::openssl_version_number() >= 0x3050_0000
            && p.handshake_info().protocol == "TLSv1.3"
        {
            "Secure Renegotiation IS NOT supported\n"
        } else {
            "Secure Renegotiation IS supported\n"
        };
        assert!(page.contains(ri), "{page}");
        assert!(page.contains("Ciphers supported in s_server binary\n"));
        assert!(page.contains("TLSv1.3    :TLS_AES_256_GCM_SHA384"), "{page}");
        assert!(page.contains("Ciphers common between both SSL end points:\n"));
        assert!(
            page.contains(&format!("---\nNew, {version}, Cipher is {cipher}\nSSL-Session:\n")),
            "{page}"
        );
        assert!(page.contains("   1 server accepts (SSL_accept())\n"), "{page}");
        assert!(page.contains("   1 server accepts that finished\n"), "{page}");
        assert!(page.contains(" cache full overflows (128 allowed)\n"), "{page}");
        assert!(page.contains("Supported groups: "));
        assert!(
            page.ends_with("no client certificate available\n</pre></BODY></HTML>\r\n\r\n"),
            "{page}"
        );
        assert!(p.client.closed, "close_notify after the page");
        assert_eq!(p.closed(), Some(&CloseReason::LocalClose));
        assert!(file_requests(&p.events).is_empty());
    }
}

#[test]
fn status_page_any_get_path() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    p.client_send(b"GET /whatever?x HTTP/1.1\r\n");
    assert!(p.client.plaintext.starts_with(HTML_HEADER));
    assert!(p.client.closed);
}

#[test]
fn status_page_shows_client_certificate() {
    let config = server_config(|b| b.verify_client(1, false));
    let client = ClientOptions {
        cert: Some(make_self_signed("www client")),
        ..ClientOptions::tls13()
    };
    let opts = SessionOptions {
        mode: AppMode::Web(WebMode::Status),
        ..Default::default()
    };
    let mut p = Pair::connected(&config, opts, client);
    p.client_send(b"GET / HTTP/1.0\r\n\r\n");
    let page = text(&p.client.plaintext);
    assert!(page.contains("---\nClient certificate\nCertificate:\n"), "{page}");
    assert!(page.contains("-----BEGIN CERTIFICATE-----"));
    assert!(!page.contains("no client certificate available"));
}

#[test]
fn post_gets_no_answer() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    p.client_send(b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(p.client.plaintext, b"");
    assert!(!p.client.closed);
    assert!(p.closed().is_none(), "{:?}", p.events);
    // Lower-case get is not a request either.
    p.client_send(b"get / HTTP/1.0\r\n");
    assert_eq!(p.client.plaintext, b"");
    // A later GET line is still answered.
    p.client_send(b"GET / HTTP/1.0\r\n");
    assert!(p.client.plaintext.starts_with(HTML_HEADER));
}

#[test]
fn bytes_after_the_request_are_ignored() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    p.client_send(b"GET / HTTP/1.0\r\nGET / HTTP/1.0\r\n");
    let page_len = p.client.plaintext.len();
    assert_eq!(
        p.client
            .plaintext
            .windows(HTML_HEADER.len())
            .filter(|w| *w == HTML_HEADER)
            .count(),
        1,
        "one response per connection"
    );
    assert!(page_len > 0);
}

#[test]
fn reneg_request_on_tls13_answers_at_once() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    p.client_send(b"GET /reneg HTTP/1.0\r\n\r\n");
    assert!(p.client.plaintext.starts_with(HTML_HEADER));
    assert!(p.client.closed);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Renegotiating(_))));
}

#[test]
fn reneg_request_on_tls12_renegotiates_then_answers() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls12());
    p.client_send(b"GET /reneg HTTP/1.0\r\n\r\n");
    assert!(p.events.contains(&Event::Renegotiating(1)), "{:?}", p.events);
    // The client renegotiates while it reads; the page follows once that handshake finished.
    let page = text(&p.client.plaintext);
    assert!(
        page.starts_with("HTTP/1.0 200 ok\r\nContent-type: text/html\r\n"),
        "{page:?}; events {:?}",
        p.kinds()
    );
    assert!(page.contains("   2 server accepts that finished\n"), "{page}");
    assert!(p.client.closed);
}

fn serve(mode: WebMode, request: &[u8], path: &str, body: &[u8]) -> Pair {
    let mut p = web_pair(mode, ClientOptions::tls13());
    p.take_events();
    p.client_send(request);
    let reqs = file_requests(&p.events);
    assert_eq!(reqs, vec![FileRequest { path: path.into() }]);
    assert_eq!(p.client.plaintext, b"", "nothing sent before the adapter answers");
    p.server.respond_file(&reqs[0], Ok(()));
    p.drive();
    for chunk in body.chunks(7) {
        p.server.file_data(chunk);
        p.drive();
    }
    assert!(!p.client.closed, "not closed before file_end");
    p.server.file_end();
    p.drive();
    assert!(p.client.closed, "close_notify after the file");
    assert!(p.events.contains(&Event::FileServed(path.into())), "{:?}", p.events);
    assert_eq!(p.closed(), Some(&CloseReason::LocalClose));
    p
}

#[test]
fn files_mode_serves_text() {
    let body = b"hello file\nsecond line\n";
    let p = serve(WebMode::Files, b"GET /a.txt HTTP/1.0\r\n\r\n", "a.txt", body);
    assert_eq!(p.client.plaintext, [TEXT_HEADER, body].concat());
    assert!(p
        .client
        .plaintext
        .starts_with(b"HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n"));
}

#[test]
fn files_mode_serves_html() {
    let body = b"<html>hi</html>";
    let p = serve(
        WebMode::Files,
        b"GET /dir/index.html HTTP/1.0\r\n\r\n",
        "dir/index.html",
        body,
    );
    assert_eq!(p.client.plaintext, [HTML_HEADER, body].concat());
}

#[test]
fn raw_mode_has_no_header() {
    let body = b"HTTP/1.0 404 nope\r\n\r\ngone";
    let p = serve(WebMode::Raw, b"GET /raw.txt HTTP/1.0\r\n\r\n", "raw.txt", body);
    assert_eq!(p.client.plaintext, body);
}

#[test]
fn files_mode_large_file() {
    let body: Vec<u8> = (0..70_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let p = serve(WebMode::Raw, b"GET /big HTTP/1.0\r\n\r\n", "big", &body);
    assert_eq!(p.client.plaintext, body);
}

#[test]
fn files_mode_open_error() {
    for (binmode, mode) in [(false, "r"), (true, "rb")] {
        let mut p = web_pair_with(
            WebMode::Files,
            ClientOptions::tls13(),
            SessionOptions {
                binmode,
                ..Default::default()
            },
        );
        p.client_send(b"GET /a.txt HTTP/1.0\r\n\r\n");
        let req = file_requests(&p.events).pop().expect("a request");
        p.server
            .respond_file(&req, Err(FileError::Open("No such file or directory".into())));
        p.drive();
        let answer = text(&p.client.plaintext);
        assert_eq!(
            answer,
            format!(
                "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nError opening 'a.txt' mode='{mode}'\r\nerror:80000002:system library:BIO_new_file:No such file or directory:calling fopen(a.txt, {mode})\n"
            )
        );
        assert!(p.client.closed);
        assert!(!p.events.iter().any(|e| matches!(e, Event::FileServed(_))));
        // Late file data is ignored.
        p.server.file_data(b"late");
        p.server.file_end();
        assert_eq!(drain(&mut p.server), (vec![], vec![]));
    }
}

#[test]
fn files_mode_directory() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    p.client_send(b"GET /sub HTTP/1.0\r\n\r\n");
    let req = file_requests(&p.events).pop().expect("a request");
    p.server.respond_file(&req, Err(FileError::IsDirectory));
    p.drive();
    assert_eq!(p.client.plaintext, [TEXT_HEADER, b"'sub' is a directory\r\n"].concat());
}

#[test]
fn respond_file_for_another_request_is_ignored() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    p.client_send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    p.server.respond_file(&FileRequest { path: "b.txt".into() }, Ok(()));
    p.server.file_data(b"nope");
    p.drive();
    assert_eq!(p.client.plaintext, b"");
    assert!(p.closed().is_none());
}

#[test]
fn traversal_is_refused_without_file_request() {
    for (req, msg) in [
        (&b"GET /../x HTTP/1.0\r\n\r\n"[..], "'../x' contains '..' or ':'\r\n"),
        (
            b"GET /a/../../etc/passwd HTTP/1.0\r\n",
            "'a/../../etc/passwd' contains '..' or ':'\r\n",
        ),
        (b"GET /c:x HTTP/1.0\r\n", "'c' contains '..' or ':'\r\n"),
        (b"GET //etc/passwd HTTP/1.0\r\n", "'/etc/passwd' is an invalid path\r\n"),
        (b"GET /a.txt\r\n", "'a.txt\r\n' is an invalid file name\r\n"),
    ] {
        for mode in [WebMode::Files, WebMode::Raw] {
            let mut p = web_pair(mode, ClientOptions::tls13());
            p.client_send(req);
            assert!(file_requests(&p.events).is_empty(), "{:?}", p.events);
            assert_eq!(
                text(&p.client.plaintext),
                format!("HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n{msg}")
            );
            assert!(p.client.closed);
        }
    }
}

#[test]
fn files_mode_stats_page() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    p.client_send(b"GET /stats HTTP/1.0\r\n\r\n");
    assert!(file_requests(&p.events).is_empty());
    let page = text(&p.client.plaintext);
    assert!(page.starts_with("HTTP/1.0 200 ok\r\nContent-type: text/html\r\n"));
    assert!(page.contains("Ciphers supported in s_server binary"));
    assert!(p.client.closed);
}

#[test]
fn raw_mode_stats_is_a_file() {
    let mut p = web_pair(WebMode::Raw, ClientOptions::tls13());
    p.client_send(b"GET /stats HTTP/1.0\r\n\r\n");
    assert_eq!(file_requests(&p.events), vec![FileRequest { path: "stats".into() }]);
}

#[test]
fn overlong_line_www_is_ignored_in_pieces() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    p.client_send(&vec![b'A'; 100 * 1024]);
    assert_eq!(p.client.plaintext, b"", "not a request");
    assert!(p.closed().is_none());
    // The last unfinished piece ends with this newline; the GET line after it is answered.
    p.client_send(b"\nGET / HTTP/1.0\r\n\r\n");
    assert!(p.client.plaintext.starts_with(HTML_HEADER));
}

#[test]
fn overlong_get_line_www_is_answered() {
    // s_server's BIO_gets returns the first 16383 bytes, which start with "GET ": a request.
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    let mut line = b"GET /".to_vec();
    line.extend(std::iter::repeat_n(b'x', 100 * 1024));
    p.client_send(&line);
    assert!(p.client.plaintext.starts_with(HTML_HEADER));
    assert!(p.client.closed);
}

#[test]
fn overlong_get_line_files_is_an_invalid_file_name() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    let mut line = b"GET /".to_vec();
    line.extend(std::iter::repeat_n(b'x', 100 * 1024));
    p.client_send(&line);
    assert!(file_requests(&p.events).is_empty());
    let answer = &p.client.plaintext;
    let max = sserve_engine::line::MAX_LINE;
    // One 16383-byte piece: "GET /" + x…, rejected for having no space.
    let want = [
        TEXT_HEADER,
        b"'",
        &vec![b'x'; max - 5],
        b"' is an invalid file name\r\n",
    ]
    .concat();
    assert_eq!(answer.len(), want.len());
    assert_eq!(*answer, want);
    assert!(p.client.closed);
}

#[test]
fn console_is_ignored_in_web_modes() {
    for mode in [WebMode::Status, WebMode::Files, WebMode::Raw] {
        let mut p = web_pair(mode, ClientOptions::tls13());
        p.take_events();
        p.console(b"Q\n");
        p.server.console_eof();
        p.drive();
        assert!(p.events.is_empty());
        assert_eq!(p.client.plaintext, b"");
    }
}

/// A request line without its line end, then close_notify: `BIO_gets` returns the unfinished
/// line at close_notify, so s_server answers it, then sends its own close_notify.
#[test]
fn unfinished_request_line_at_close_notify_is_answered() {
    for client in [ClientOptions::tls13(), ClientOptions::tls12()] {
        let mut p = web_pair(WebMode::Status, client);
        p.client.write(b"Host: x\r\nGET / HTTP/1.0");
        p.client.shutdown();
        p.drive();
        assert!(p.client.plaintext.starts_with(HTML_HEADER), "{:?}", p.kinds());
        assert!(text(&p.client.plaintext).ends_with("</pre></BODY></HTML>\r\n\r\n"));
        assert!(p.client.closed);
        assert_eq!(p.closed(), Some(&CloseReason::LocalClose));
    }
}

#[test]
fn unfinished_file_request_at_close_notify_is_served() {
    for (mode, line, path, header) in [
        (WebMode::Files, &b"GET /a.txt HTTP/1.0"[..], "a.txt", TEXT_HEADER),
        (WebMode::Raw, b"GET /r.txt HTTP/1.0", "r.txt", &b""[..]),
    ] {
        let mut p = web_pair(mode, ClientOptions::tls13());
        p.client.write(line);
        p.client.shutdown();
        p.drive();
        let req = file_requests(&p.events).pop().expect("a file request");
        assert_eq!(req.path, path);
        assert!(p.closed().is_none(), "kept open to answer: {:?}", p.kinds());
        // More input after the peer's close_notify is not read.
        p.server.handle_eof(p.now);
        assert!(!p.server.is_closed());
        p.server.respond_file(&req, Ok(()));
        p.server.file_data(b"body\n");
        p.server.file_end();
        p.drive();
        assert_eq!(p.client.plaintext, [header, b"body\n"].concat());
        assert!(p.client.closed);
        assert_eq!(p.closed(), Some(&CloseReason::LocalClose));
    }
}

#[test]
fn unfinished_invalid_file_name_at_close_notify_is_refused() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    p.client.write(b"GET /a.txt");
    p.client.shutdown();
    p.drive();
    assert_eq!(
        p.client.plaintext,
        [TEXT_HEADER, b"'a.txt' is an invalid file name\r\n"].concat()
    );
}

/// The request line and close_notify in one read: the request is still answered.
#[test]
fn complete_request_then_close_notify_in_one_input_is_served() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls12());
    p.client.write(b"GET /a.txt HTTP/1.0\r\n");
    p.client.shutdown();
    p.drive();
    let req = file_requests(&p.events).pop().expect("a file request");
    p.server.respond_file(&req, Ok(()));
    p.server.file_data(b"x");
    p.server.file_end();
    p.drive();
    assert_eq!(p.client.plaintext, [TEXT_HEADER, b"x"].concat());
}

#[test]
fn unfinished_reneg_request_at_close_notify_gets_the_page() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls12());
    p.client.write(b"GET /reneg HTTP/1.0");
    p.client.shutdown();
    p.drive();
    assert!(p.client.plaintext.starts_with(HTML_HEADER), "{:?}", p.kinds());
    assert_eq!(p.closed(), Some(&CloseReason::LocalClose));
}

#[test]
fn non_request_at_close_notify_closes_without_answer() {
    let mut p = web_pair(WebMode::Status, ClientOptions::tls13());
    p.client.write(b"POST / HTTP/1.0");
    p.client.shutdown();
    p.drive();
    assert_eq!(p.client.plaintext, b"");
    assert_eq!(p.closed(), Some(&CloseReason::PeerClosed));
    assert!(p.client.closed);
}

/// Without close_notify OpenSSL fails the read at EOF: no answer, a decode_error alert (3.x).
#[test]
fn unfinished_request_line_at_eof_without_close_notify_is_not_answered() {
    for mode in [WebMode::Status, WebMode::Files, WebMode::Raw] {
        let mut p = web_pair(mode, ClientOptions::tls13());
        p.client_send(b"GET /a.txt HTTP/1.0");
        p.server.handle_eof(p.now);
        p.drive();
        assert_eq!(p.client.plaintext, b"", "{mode:?}");
        assert!(file_requests(&p.events).is_empty());
        assert_eq!(p.closed(), Some(&CloseReason::PeerEof));
        assert_unexpected_eof_answer(&p.client);
    }
}

/// Sends `request` and returns the one file request it made.
fn requested(p: &mut Pair, request: &[u8]) -> FileRequest {
    p.take_events();
    p.client_send(request);
    let mut reqs = file_requests(&p.events);
    assert_eq!(reqs.len(), 1, "{:?}", p.events);
    reqs.remove(0)
}

/// The answer's head waits for the file's first piece, so a small file leaves in one record
/// (as s_server's buffered BIO sends it), followed only by close_notify.
#[test]
fn files_mode_header_and_small_file_share_one_record() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    let req = requested(&mut p, b"GET /a.txt HTTP/1.0\r\n\r\n");
    p.server.respond_file(&req, Ok(()));
    assert_eq!(drain(&mut p.server).0, b"", "the header waits for the file");
    let body = b"small file\n";
    p.server.file_data(body);
    p.server.file_end();
    let (out, _) = drain(&mut p.server);
    // TLS 1.3 application data: the plaintext, its content type byte and a 16-byte tag.
    assert_eq!(records(&out), vec![(23, TEXT_HEADER.len() + body.len() + 17), (23, 19)]);
}

/// An empty file still gets its header, at `file_end`.
#[test]
fn files_mode_empty_file_gets_its_header() {
    let mut p = web_pair(WebMode::Files, ClientOptions::tls13());
    let req = requested(&mut p, b"GET /empty.txt HTTP/1.0\r\n\r\n");
    p.server.respond_file(&req, Ok(()));
    p.server.file_end();
    p.drive();
    assert_eq!(p.client.plaintext, TEXT_HEADER);
    assert!(p.client.closed);
}

/// With `-keep_alive` the status line and headers go out with the first piece too, and with
/// the end of a chunked answer when the file was empty.
#[test]
fn keep_alive_head_shares_the_first_record() {
    let opts = SessionOptions {
        keep_alive: true,
        ..SessionOptions::s_server()
    };
    let mut p = web_pair_with(WebMode::Files, ClientOptions::tls13(), opts);
    let req = requested(&mut p, b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let body = b"small file\n";
    p.server.respond_file_len(&req, Ok(()), Some(body.len() as u64));
    assert_eq!(drain(&mut p.server).0, b"", "the head waits for the file");
    p.server.file_data(body);
    p.server.file_end();
    let (out, _) = drain(&mut p.server);
    assert_eq!(records(&out).len(), 1, "one record, connection kept open");
    p.client.stream.get_mut().incoming.extend_from_slice(&out);
    p.client.pump();
    let answer = text(&p.client.plaintext);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Content-Length: 11\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nsmall file\n"), "{answer}");

    p.take_client_plaintext();
    let req = requested(&mut p, b"GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    p.server.respond_file_len(&req, Ok(()), None);
    p.server.file_end();
    p.drive();
    let answer = text(&p.client.plaintext);
    assert!(answer.contains("Transfer-Encoding: chunked\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n0\r\n\r\n"), "{answer}");
}
