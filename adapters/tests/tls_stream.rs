//! The embeddable `TlsStream`s (tokio and smol) against a blocking OpenSSL client: handshake
//! details, data both ways in large pieces, and a clean close_notify exchange.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use sserve_engine::{ServerConfig, ServerConfigBuilder};

fn config() -> Arc<ServerConfig> {
    let mut b = ServerConfigBuilder::new().unwrap();
    b.ephemeral_certificate().unwrap();
    b.alpn(&["echo"]).unwrap();
    b.build().unwrap()
}

/// Connects, sends `payload`, reads it back, closes with close_notify; returns what came back
/// and whether the server's close_notify arrived.
fn client(addr: SocketAddr, version: SslVersion, payload: Vec<u8>) -> thread::JoinHandle<(Vec<u8>, bool)> {
    thread::spawn(move || {
        let mut c = SslConnector::builder(SslMethod::tls_client()).unwrap();
        c.set_verify(SslVerifyMode::NONE);
        c.set_min_proto_version(Some(version)).unwrap();
        c.set_max_proto_version(Some(version)).unwrap();
        c.set_alpn_protos(b"\x04echo").unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let mut tls = c.build().connect("localhost", tcp).unwrap();
        tls.write_all(&payload).unwrap();
        let mut back = vec![0u8; payload.len()];
        tls.read_exact(&mut back).unwrap();
        tls.shutdown().unwrap();
        // After our close_notify the server closes too; a clean EOF is a 0-byte read.
        let mut rest = Vec::new();
        let clean = tls.read_to_end(&mut rest).is_ok() && rest.is_empty();
        (back, clean)
    })
}

fn payload() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn tokio_tls_stream_echoes_and_reports_details() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = config();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        for version in [SslVersion::TLS1_3, SslVersion::TLS1_2] {
            let client = client(listener.local_addr().unwrap(), version, payload());
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = sserve_adapters::tokio::accept(&config, tcp).await.unwrap();
            let expected = if version == SslVersion::TLS1_3 {
                "TLSv1.3"
            } else {
                "TLSv1.2"
            };
            assert_eq!(tls.info().protocol, expected);
            assert_eq!(tls.info().alpn.as_deref(), Some("echo"));
            assert!(!tls.info().cipher.is_empty());
            let mut buf = vec![0u8; 8192];
            let mut total = 0;
            loop {
                let n = tls.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
                tls.write_all(&buf[..n]).await.unwrap();
            }
            assert_eq!(total, payload().len());
            tls.shutdown().await.unwrap();
            let (back, clean) = client.join().unwrap();
            assert_eq!(back, payload());
            assert!(clean, "client did not see a clean close_notify");
        }
    });
}

#[test]
fn smol_tls_stream_echoes_and_reports_details() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let config = config();
    async_io::block_on(async {
        let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        for version in [SslVersion::TLS1_3, SslVersion::TLS1_2] {
            let client = client(listener.get_ref().local_addr().unwrap(), version, payload());
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = sserve_adapters::smol::accept(&config, tcp).await.unwrap();
            assert_eq!(tls.info().alpn.as_deref(), Some("echo"));
            let mut buf = vec![0u8; 8192];
            let mut total = 0;
            loop {
                let n = tls.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
                tls.write_all(&buf[..n]).await.unwrap();
            }
            assert_eq!(total, payload().len());
            tls.close().await.unwrap();
            let (back, clean) = client.join().unwrap();
            assert_eq!(back, payload());
            assert!(clean, "client did not see a clean close_notify");
        }
    });
}

#[test]
fn failed_handshake_is_an_error_not_a_hang() {
    let config = config();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let garbage = thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let err = sserve_adapters::tokio::accept(&config, tcp).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        garbage.join().unwrap();
    });
}
