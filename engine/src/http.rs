//! s_server's request handling for `-www`, `-WWW` and `-HTTP`: a line scanner, not an HTTP
//! parser. Lines that are not requests are ignored; the first request line is answered; headers
//! are never parsed. Errors are answered `HTTP/1.0 200 ok` with a text message, exactly as
//! s_server does (see `docs/compat.md`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Which of s_server's web modes is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebMode {
    /// `-www`: any `GET ` line gets the status page.
    Status,
    /// `-WWW`: `GET /stats ` gets the status page, `GET /<path>` a file with a header.
    Files,
    /// `-HTTP`: `GET /<path>` gets the file as is (it holds its own status line and headers).
    Raw,
}

/// Header s_server sends before a status page.
pub const HTML_HEADER: &[u8] = b"HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n";
/// Header s_server sends before a text file or an error message.
pub const TEXT_HEADER: &[u8] = b"HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";

/// The answer to a request other than `GET` sent as TLS 1.3 early data (RFC 8470).
pub const TOO_EARLY: &[u8] =
    b"HTTP/1.0 425 Too Early\r\nContent-type: text/plain\r\n\r\nRequest sent in TLS early data; send it again after the handshake\r\n";

/// What to do with one request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Not a request: keep reading lines.
    Ignore,
    /// Send the status page. In `-www`, `GET /reneg…` renegotiates first and `GET /renegcert…`
    /// also asks for a client certificate.
    StatusPage {
        /// Renegotiate before answering: `Some(request_cert)`.
        renegotiate: Option<bool>,
    },
    /// Serve this (validated, relative) path.
    File(String),
    /// Answer with [`TEXT_HEADER`] and this message, then close.
    Reject(Vec<u8>),
}

/// Classifies one line (as returned by [`crate::line::LineBuffer`], with its line end).
pub fn classify_line(mode: WebMode, line: &[u8]) -> Request {
    match mode {
        WebMode::Status if line.starts_with(b"GET ") => {
            let renegotiate = if line.starts_with(b"GET /renegcert") {
                Some(true)
            } else if line.starts_with(b"GET /reneg") {
                Some(false)
            } else {
                None
            };
            Request::StatusPage { renegotiate }
        }
        WebMode::Files if line.starts_with(b"GET /stats ") => Request::StatusPage { renegotiate: None },
        WebMode::Files | WebMode::Raw if line.starts_with(b"GET /") => match validate_path(&line[5..]) {
            Ok(path) => Request::File(path),
            Err(e) => Request::Reject(e.message()),
        },
        _ => Request::Ignore,
    }
}

/// Why a requested path is refused, with the text s_server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// No space after the path (HTTP/0.9 style, or a TAB): the rest of the line, line end included.
    InvalidFileName(Vec<u8>),
    /// A `..` component or a `:`; the path up to (not including) the offending `:` or space.
    DotDotOrColon(Vec<u8>),
    /// Starts with `/` or `\` (an absolute path after the leading `/`).
    InvalidPath(Vec<u8>),
    /// Not valid UTF-8 (s_server would pass the bytes to `fopen`; we refuse, since the adapter
    /// maps paths through Rust strings).
    NotUtf8(Vec<u8>),
}

impl PathError {
    /// The message line s_server writes after [`TEXT_HEADER`].
    pub fn message(&self) -> Vec<u8> {
        let (p, text): (&[u8], &str) = match self {
            PathError::InvalidFileName(p) => (p, "' is an invalid file name\r\n"),
            PathError::DotDotOrColon(p) => (p, "' contains '..' or ':'\r\n"),
            PathError::InvalidPath(p) => (p, "' is an invalid path\r\n"),
            PathError::NotUtf8(p) => (p, "' is not a valid UTF-8 file name\r\n"),
        };
        let mut m = Vec::with_capacity(p.len() + text.len() + 1);
        m.push(b'\'');
        m.extend_from_slice(p);
        m.extend_from_slice(text.as_bytes());
        m
    }
}

/// Checks the bytes after `GET /` in s_server's order: the path ends at the first space;
/// no space → invalid file name; a `..` component or any `:` → refused; a leading `/` or `\`
/// → invalid path. No URL decoding, so `%2e%2e` is a literal name (as in s_server).
pub fn validate_path(rest: &[u8]) -> Result<String, PathError> {
    // Scanner states as in s_server: 1 = at a component start, 2 = saw ".", 3 = saw "..",
    // 0 = inside a component, -1 = rejected.
    let mut dot: i8 = 1;
    let mut end = None;
    for (i, &c) in rest.iter().enumerate() {
        if c == b' ' {
            end = Some(i);
            break;
        }
        if c == b':' {
            dot = -1;
            end = Some(i);
            break;
        }
        dot = match dot {
            1 if c == b'.' => 2,
            2 if c == b'.' => 3,
            3 if c == b'/' || c == b'\\' => -1,
            _ => 0,
        };
        if dot == 0 && (c == b'/' || c == b'\\') {
            dot = 1;
        }
        if dot == -1 {
            // s_server keeps scanning to find the space; a later ':' changes nothing.
            if let Some(sp) = rest[i..].iter().position(|&b| b == b' ' || b == b':') {
                end = Some(i + sp);
            }
            break;
        }
    }
    let Some(end) = end else {
        return Err(PathError::InvalidFileName(rest.to_vec()));
    };
    let path = &rest[..end];
    if dot == 3 || dot == -1 {
        return Err(PathError::DotDotOrColon(path.to_vec()));
    }
    if matches!(path.first(), Some(b'/') | Some(b'\\')) {
        return Err(PathError::InvalidPath(path.to_vec()));
    }
    String::from_utf8(path.to_vec()).map_err(|e| PathError::NotUtf8(e.into_bytes()))
}

/// The method and target of a request line (`GET /a.txt HTTP/1.0` → `("GET", "/a.txt")`),
/// lossily decoded, for logs.
pub fn request_target(line: &[u8]) -> (String, String) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mut word = || String::from_utf8_lossy(words.next().unwrap_or_default()).into_owned();
    (word(), word())
}

/// The `Content-Type` for a file name (`-keep_alive`): a short table of what browsers need
/// typed, `application/octet-stream` for anything else.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "text" | "log" | "md" | "pem" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// The reason phrase of the status codes `-keep_alive` sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    }
}

/// An HTTP/1.1 response head (`-keep_alive`); `len` `None` means chunked.
pub fn response_head(status: u16, content_type: &str, len: Option<u64>, close: bool) -> Vec<u8> {
    let length = match len {
        Some(n) => format!("Content-Length: {n}"),
        None => String::from("Transfer-Encoding: chunked"),
    };
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{length}\r\nConnection: {connection}\r\n\r\n",
        reason_phrase(status)
    )
    .into_bytes()
}

/// A request line's parts for `-keep_alive`: `(method, HTTP/1.1?)`, or `None` if the line is
/// not `METHOD target HTTP/x.y`.
pub fn request_line(line: &[u8]) -> Option<(&[u8], bool)> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let (method, _target, version) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() || !version.starts_with(b"HTTP/") {
        return None;
    }
    Some((method, version != b"HTTP/1.0"))
}

/// The `-WWW` header for a served file: text/html for `.html`, `.htm`, `.php`, else text/plain.
pub fn file_header(path: &str) -> &'static [u8] {
    let html = [".html", ".htm", ".php"]
        .iter()
        .any(|ext| path.len() > ext.len() && path.ends_with(ext));
    if html {
        HTML_HEADER
    } else {
        TEXT_HEADER
    }
}

/// The message for a file that could not be opened; `os_error` is the system's reason.
pub fn open_error_message(path: &str, binary: bool, os_error: &str) -> Vec<u8> {
    let mode = if binary { "rb" } else { "r" };
    format!(
        "Error opening '{path}' mode='{mode}'\r\nerror:80000002:system library:BIO_new_file:{os_error}:calling fopen({path}, {mode})\n"
    )
    .into_bytes()
}

/// The message for a path that names a directory.
pub fn directory_message(path: &str) -> Vec<u8> {
    format!("'{path}' is a directory\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Request) -> String {
        match r {
            Request::Reject(m) => String::from_utf8(m).unwrap(),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn www_answers_any_get() {
        assert_eq!(
            classify_line(WebMode::Status, b"GET /anything HTTP/1.0\r\n"),
            Request::StatusPage { renegotiate: None }
        );
        assert_eq!(
            classify_line(WebMode::Status, b"GET /reneg HTTP/1.0\r\n"),
            Request::StatusPage {
                renegotiate: Some(false)
            }
        );
        assert_eq!(
            classify_line(WebMode::Status, b"GET /renegcert HTTP/1.0\r\n"),
            Request::StatusPage {
                renegotiate: Some(true)
            }
        );
        assert_eq!(classify_line(WebMode::Status, b"POST / HTTP/1.0\r\n"), Request::Ignore);
        assert_eq!(classify_line(WebMode::Status, b"get / HTTP/1.0\r\n"), Request::Ignore);
        assert_eq!(classify_line(WebMode::Status, b"Host: x\r\n"), Request::Ignore);
    }

    #[test]
    fn files_mode_paths() {
        assert_eq!(
            classify_line(WebMode::Files, b"GET /a.txt HTTP/1.0\r\n"),
            Request::File("a.txt".into())
        );
        assert_eq!(
            classify_line(WebMode::Files, b"GET /stats HTTP/1.0\r\n"),
            Request::StatusPage { renegotiate: None }
        );
        assert_eq!(
            classify_line(WebMode::Raw, b"GET /stats HTTP/1.0\r\n"),
            Request::File("stats".into())
        );
        assert_eq!(
            classify_line(WebMode::Files, b"GET /a.txt?q=1 HTTP/1.0\r\n"),
            Request::File("a.txt?q=1".into())
        );
        assert_eq!(
            classify_line(WebMode::Files, b"GET /%2e%2e/x HTTP/1.0\r\n"),
            Request::File("%2e%2e/x".into())
        );
        assert_eq!(
            classify_line(WebMode::Files, b"GET / HTTP/1.0\r\n"),
            Request::File("".into())
        );
        assert_eq!(
            classify_line(WebMode::Files, b"GET /...x HTTP/1.0\r\n"),
            Request::File("...x".into())
        );
        assert_eq!(
            classify_line(WebMode::Files, b"GET /..foo HTTP/1.0\r\n"),
            Request::File("..foo".into())
        );
    }

    #[test]
    fn refusals_match_s_server_text() {
        assert_eq!(
            msg(classify_line(WebMode::Files, b"GET /a.txt\r\n")),
            "'a.txt\r\n' is an invalid file name\r\n"
        );
        assert_eq!(
            msg(classify_line(WebMode::Files, b"GET /c:x HTTP/1.0\r\n")),
            "'c' contains '..' or ':'\r\n"
        );
        assert_eq!(
            msg(classify_line(WebMode::Files, b"GET /../secret.txt HTTP/1.0\r\n")),
            "'../secret.txt' contains '..' or ':'\r\n"
        );
        assert_eq!(
            msg(classify_line(WebMode::Files, b"GET /sub/.. HTTP/1.0\r\n")),
            "'sub/..' contains '..' or ':'\r\n"
        );
        assert_eq!(
            msg(classify_line(WebMode::Files, b"GET /a\\..\\b HTTP/1.0\r\n")),
            "'a\\..\\b' contains '..' or ':'\r\n"
        );
        assert_eq!(
            msg(classify_line(WebMode::Files, b"GET //etc/passwd HTTP/1.0\r\n")),
            "'/etc/passwd' is an invalid path\r\n"
        );
        assert_eq!(
            msg(classify_line(WebMode::Raw, b"GET /\\etc HTTP/1.0\r\n")),
            "'\\etc' is an invalid path\r\n"
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(file_header("index.html"), HTML_HEADER);
        assert_eq!(file_header("a.htm"), HTML_HEADER);
        assert_eq!(file_header("x.php"), HTML_HEADER);
        assert_eq!(file_header(".html"), TEXT_HEADER);
        assert_eq!(file_header("a.txt"), TEXT_HEADER);
    }
}
