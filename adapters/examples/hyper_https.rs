//! An HTTPS server: hyper 1 (HTTP/1.1) over sserve's tokio `TlsStream`.
//!
//! ```sh
//! cargo run -p sserve-adapters --example hyper_https -- 8443    # or PORT=8443; 0 picks a free port
//! curl -k https://127.0.0.1:8443/
//! ```
//!
//! `GET /` answers with the negotiated protocol and cipher; any other path is a 404. The TLS
//! stream is handed to hyper through `hyper_util::rt::TokioIo`, exactly as a tokio-rustls or
//! tokio-openssl stream would be.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sserve_engine::{ServerConfig, ServerConfigBuilder, TlsError};
use tokio::net::{TcpListener, TcpStream};

/// The port when neither the first argument nor `PORT` names one.
const DEFAULT_PORT: u16 = 4433;

#[allow(dead_code)] // A test includes this file for `config` and `serve`, without `main`.
fn main() -> io::Result<()> {
    let port = match std::env::args().nth(1).or_else(|| std::env::var("PORT").ok()) {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad port {p:?}")))?,
        None => DEFAULT_PORT,
    };
    let config = config().map_err(io::Error::other)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on https://{}/", listener.local_addr()?);
        serve(listener, config).await
    })
}

/// A server configuration with an ephemeral self-signed certificate that offers HTTP/1.1 by ALPN.
pub fn config() -> Result<Arc<ServerConfig>, TlsError> {
    let mut builder = ServerConfigBuilder::new()?;
    let fingerprint = builder.ephemeral_certificate()?;
    builder.alpn(&["http/1.1"])?;
    eprintln!("ephemeral certificate, SHA-256 {fingerprint}");
    builder.build()
}

/// Accepts connections forever, one task each.
pub async fn serve(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<()> {
    loop {
        let (tcp, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(&config, tcp).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// The TLS handshake, then HTTP/1.1 until the client is done.
async fn connection(config: &ServerConfig, tcp: TcpStream) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let tls = sserve_adapters::tokio::accept(config, tcp).await?;
    let summary: Arc<str> = format!(
        "protocol: {}\ncipher: {}\n",
        tls.info().protocol(),
        tls.info().cipher_suite()
    )
    .into();
    let service = service_fn(move |req| respond(req, summary.clone()));
    http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await?;
    Ok(())
}

async fn respond(req: Request<Incoming>, summary: Arc<str>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => (StatusCode::OK, format!("hello from hyper over sserve\n{summary}")),
        _ => (StatusCode::NOT_FOUND, "not found\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}
