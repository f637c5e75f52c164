//! The floor for a Rust program on the same OpenSSL: a blocking, one-connection-at-a-time TLS
//! server on the `openssl` crate's `SslStream` (a socket BIO, no engine, no event loop) that
//! answers `GET /name` with the file `name` of the current directory under s_server's `-WWW`
//! header. Beside `openssl s_server` and sserve in `benches/hs_pair.py` or `benches/phases.sh`, it
//! tells what of sserve's cost per connection is its own path rather than Rust or OpenSSL:
//!
//! ```text
//! cargo build --release -p sserve-benches --example plain_server
//! MODE=reuse A="target/release/examples/plain_server" B="openssl s_server" benches/hs_pair.py
//! ```
//!
//! Usage: `plain_server -accept PORT -cert CERT -key KEY [SWITCH]` (other flags are ignored);
//! it listens on 127.0.0.1 only. Each switch moves it one step towards sserve, to bisect a
//! difference:
//! - `-release_buffers` sets `SSL_MODE_RELEASE_BUFFERS` on the plain context;
//! - `-engine_context` takes the `SSL_CTX` from `sserve_engine::ServerConfigBuilder` (sserve's
//!   defaults: session cache, alert callback, `SSL_MODE_RELEASE_BUFFERS`);
//! - `-engine_session` also serves each connection with an engine `Session` in `-WWW` mode (its
//!   memory BIO, events, HTTP parser and file protocol), in the simple loop of
//!   `docs/embedding.md`;
//! - `-blocking_server` serves with sserve's blocking adapter (its connection layer, file root
//!   and linger) and a silent observer: `sserve -WWW -quiet -runtime blocking` without the
//!   command-line tool.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use openssl::ssl::{Ssl, SslContext, SslFiletype, SslMethod, SslMode};
use sserve_adapters::blocking::{BlockingServer, ConnId, Observer, ServeOptions, Shutdown};
use sserve_adapters::files::FileRoot;
use sserve_engine::http::TEXT_HEADER;
use sserve_engine::ossl::CertFormat;
use sserve_engine::{AppMode, Event, FileError, Instant, ServerConfig, ServerConfigBuilder, SessionOptions, WebMode};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plain_server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        let at = args.iter().position(|a| a == name);
        at.and_then(|i| args.get(i + 1))
            .cloned()
            .ok_or_else(|| format!("{name} is required"))
    };
    let (port, cert, key) = (flag("-accept")?, flag("-cert")?, flag("-key")?);
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let switch = |name: &str| args.iter().any(|a| a == name);
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("port {port}: {e}"))?;
    if switch("-engine_session") {
        return serve_sessions(&listener, &*engine_config(&cert, &key)?);
    }
    if switch("-blocking_server") {
        return serve_blocking(listener, engine_config(&cert, &key)?);
    }
    let ctx = if switch("-engine_context") {
        engine_config(&cert, &key)?.context().clone()
    } else {
        plain_context(&cert, &key, switch("-release_buffers"))?
    };
    serve_plain(&listener, &ctx);
    Ok(())
}

/// The floor: the `openssl` crate's `SslStream` on the socket.
fn serve_plain(listener: &TcpListener, ctx: &SslContext) {
    let mut request = vec![0u8; 16 * 1024];
    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        // As s_server: no Nagle delay for the small flights of a handshake.
        let _ = socket.set_nodelay(true);
        let Ok(ssl) = Ssl::new(ctx) else { continue };
        let Ok(mut tls) = ssl.accept(socket) else { continue };
        let mut len = 0;
        while len < request.len() && !request[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut request[len..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
        let mut reply = TEXT_HEADER.to_vec();
        reply.extend(file_of(&request[..len]).unwrap_or_default());
        let _ = tls.write_all(&reply);
        let _ = tls.shutdown();
    }
}

fn plain_context(cert: &str, key: &str, release_buffers: bool) -> Result<SslContext, String> {
    let mut ctx = SslContext::builder(SslMethod::tls_server()).map_err(|e| e.to_string())?;
    ctx.set_certificate_chain_file(cert)
        .map_err(|e| format!("{cert}: {e}"))?;
    ctx.set_private_key_file(key, SslFiletype::PEM)
        .map_err(|e| format!("{key}: {e}"))?;
    ctx.set_session_id_context(b"plain_server").map_err(|e| e.to_string())?;
    if release_buffers {
        ctx.set_mode(SslMode::RELEASE_BUFFERS);
    }
    Ok(ctx.build())
}

fn engine_config(cert: &str, key: &str) -> Result<Arc<ServerConfig>, String> {
    let read = |path: &str| std::fs::read(path).map_err(|e| format!("{path}: {e}"));
    let mut builder = ServerConfigBuilder::new().map_err(|e| e.to_string())?;
    builder
        .certificate(&read(cert)?, CertFormat::Pem)
        .map_err(|e| format!("{cert}: {e}"))?;
    builder
        .private_key(&read(key)?, CertFormat::Pem, None)
        .map_err(|e| format!("{key}: {e}"))?;
    builder.build().map_err(|e| e.to_string())
}

/// `-engine_session`: each connection is an engine `Session` in `-WWW` mode (its memory BIO,
/// events, HTTP parser and file protocol) driven over the blocking socket by the loop of
/// `docs/embedding.md`, without the adapters' connection layer or the command-line tool.
fn serve_sessions(listener: &TcpListener, config: &ServerConfig) -> Result<(), String> {
    let opts = Arc::new(SessionOptions {
        mode: AppMode::Web(WebMode::Files),
        ..SessionOptions::default()
    });
    let start = std::time::Instant::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as u64);
    let mut buf = vec![0u8; 16 * 1024];
    for socket in listener.incoming() {
        let Ok(mut socket) = socket else { continue };
        let _ = socket.set_nodelay(true);
        let mut session = config.session(opts.clone(), now()).map_err(|e| e.to_string())?;
        'conn: loop {
            while let Some(t) = session.poll_transmit() {
                if socket.write_all(&t.data).is_err() {
                    break 'conn;
                }
            }
            let mut reacted = false;
            while let Some(event) = session.poll_event() {
                match event {
                    Event::FileRequest(req) => {
                        let data = plain_file(&req.path);
                        let len = data.as_ref().map(|d| d.len() as u64);
                        let result = data.as_ref().map(|_| ()).ok_or(FileError::Open("not found".into()));
                        session.respond_file_len(&req, result, len);
                        if let Some(data) = data {
                            session.file_data(&data);
                            session.file_end();
                        }
                        reacted = true;
                    }
                    Event::Closed(_) => {
                        while let Some(t) = session.poll_transmit() {
                            let _ = socket.write_all(&t.data);
                        }
                        break 'conn;
                    }
                    _ => {}
                }
            }
            if reacted {
                continue;
            }
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => session.handle_eof(now()),
                Ok(n) => session.handle_input(now(), &buf[..n]),
            }
        }
        let _ = socket.shutdown(std::net::Shutdown::Write);
    }
    Ok(())
}

/// `-blocking_server`: sserve's blocking adapter (connection layer, file root, linger) with an
/// observer that reports nothing, i.e. `sserve -WWW -quiet -runtime blocking` without the
/// command-line tool's console rendering.
fn serve_blocking(listener: TcpListener, config: Arc<ServerConfig>) -> Result<(), String> {
    struct Silent;
    impl Observer for Silent {
        fn event(&mut self, _: ConnId, _: &Event) {}
        fn io_error(&mut self, _: &str, _: &std::io::Error) {}
    }
    let opts = Arc::new(SessionOptions {
        mode: AppMode::Web(WebMode::Files),
        commands: false,
        detailed_info: false,
        ..SessionOptions::s_server()
    });
    let serve = ServeOptions {
        files: Some(FileRoot::new(".").map_err(|e| e.to_string())?),
        ..ServeOptions::default()
    };
    BlockingServer::new(config, opts, serve, Shutdown::new()).serve(listener, &mut Silent);
    Ok(())
}

/// The contents of the file a `GET /name` asks for.
fn file_of(request: &[u8]) -> Option<Vec<u8>> {
    let line = std::str::from_utf8(request).ok()?.lines().next()?;
    plain_file(line.strip_prefix("GET /")?.split(' ').next()?)
}

/// The contents of `name` if it is a plain name in the current directory.
fn plain_file(name: &str) -> Option<Vec<u8>> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    std::fs::read(name).ok()
}
