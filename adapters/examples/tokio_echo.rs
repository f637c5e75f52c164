//! A TLS echo server on tokio, using `sserve_adapters::tokio::accept`.
//!
//! ```sh
//! cargo run -p sserve-adapters --example tokio_echo -- 127.0.0.1:4433
//! openssl s_client -connect 127.0.0.1:4433
//! ```

use std::io;

use sserve_engine::ServerConfigBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4433".into());
    let mut builder = ServerConfigBuilder::new().map_err(|e| io::Error::other(e.reason))?;
    let fingerprint = builder
        .ephemeral_certificate()
        .map_err(|e| io::Error::other(e.reason))?;
    let config = builder.build().map_err(|e| io::Error::other(e.reason))?;
    eprintln!("ephemeral certificate, SHA-256 {fingerprint}");

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (tcp, peer) = listener.accept().await?;
            let config = config.clone();
            tokio::spawn(async move {
                let mut tls = match sserve_adapters::tokio::accept(&config, tcp).await {
                    Ok(t) => t,
                    Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
                };
                eprintln!("{peer}: {} {}", tls.info().protocol(), tls.info().cipher_suite());
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if tls.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = tls.shutdown().await;
            });
        }
    })
}
