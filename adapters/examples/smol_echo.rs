//! A TLS echo server on smol's async-io/async-executor, using `sserve_adapters::smol::accept`.
//!
//! ```sh
//! cargo run -p sserve-adapters --example smol_echo -- 127.0.0.1:4433
//! openssl s_client -connect 127.0.0.1:4433
//! ```

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use async_executor::Executor;
use async_io::Async;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use sserve_engine::ServerConfigBuilder;

fn main() -> io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4433".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut builder = ServerConfigBuilder::new().map_err(|e| io::Error::other(e.reason))?;
    let fingerprint = builder
        .ephemeral_certificate()
        .map_err(|e| io::Error::other(e.reason))?;
    let config = builder.build().map_err(|e| io::Error::other(e.reason))?;
    eprintln!("ephemeral certificate, SHA-256 {fingerprint}");

    let ex = Arc::new(Executor::new());
    async_io::block_on(ex.run(async {
        let listener = Async::<TcpListener>::bind(addr)?;
        println!("listening on {}", listener.get_ref().local_addr()?);
        loop {
            let (tcp, peer) = listener.accept().await?;
            let config = config.clone();
            ex.spawn(async move {
                let mut tls = match sserve_adapters::smol::accept(&config, tcp).await {
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
                let _ = tls.close().await;
            })
            .detach();
        }
    }))
}
