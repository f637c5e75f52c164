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
//! Usage: `plain_server -accept PORT -cert CERT -key KEY [-engine_context] [-release_buffers]`
//! (other flags are ignored); it listens on 127.0.0.1 only. The two switches move it one step
//! towards sserve, to bisect a difference: `-engine_context` takes its `SSL_CTX` from
//! `sserve_engine::ServerConfigBuilder` (sserve's defaults: session cache, alert callback,
//! `SSL_MODE_RELEASE_BUFFERS`), `-release_buffers` sets only that mode on the plain context.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::ExitCode;

use openssl::ssl::{Ssl, SslContext, SslFiletype, SslMethod, SslMode};
use sserve_engine::ossl::CertFormat;
use sserve_engine::ServerConfigBuilder;

const HEADER: &[u8] = b"HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";

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
    let ctx = if args.iter().any(|a| a == "-engine_context") {
        engine_context(&cert, &key)?
    } else {
        plain_context(&cert, &key, args.iter().any(|a| a == "-release_buffers"))?
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("port {port}: {e}"))?;
    let mut request = vec![0u8; 16 * 1024];
    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        // As s_server: no Nagle delay for the small flights of a handshake.
        let _ = socket.set_nodelay(true);
        let Ok(ssl) = Ssl::new(&ctx) else { continue };
        let Ok(mut tls) = ssl.accept(socket) else { continue };
        let mut len = 0;
        while len < request.len() && !request[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut request[len..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
        let mut reply = HEADER.to_vec();
        reply.extend(file_of(&request[..len]).unwrap_or_default());
        let _ = tls.write_all(&reply);
        let _ = tls.shutdown();
    }
    Ok(())
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

fn engine_context(cert: &str, key: &str) -> Result<SslContext, String> {
    let read = |path: &str| std::fs::read(path).map_err(|e| format!("{path}: {e}"));
    let mut builder = ServerConfigBuilder::new().map_err(|e| e.to_string())?;
    builder
        .certificate(&read(cert)?, CertFormat::Pem)
        .map_err(|e| format!("{cert}: {e}"))?;
    builder
        .private_key(&read(key)?, CertFormat::Pem, None)
        .map_err(|e| format!("{key}: {e}"))?;
    let config = builder.build().map_err(|e| e.to_string())?;
    Ok(config.context().clone())
}

/// The contents of the file a `GET /name` asks for: a plain name in the current directory.
fn file_of(request: &[u8]) -> Option<Vec<u8>> {
    let line = std::str::from_utf8(request).ok()?.lines().next()?;
    let name = line.strip_prefix("GET /")?.split(' ').next()?;
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    std::fs::read(name).ok()
}
