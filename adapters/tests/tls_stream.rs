//! The embeddable `TlsStream`s (tokio and smol) against a blocking OpenSSL client: handshake
//! details, data both ways in large pieces, a clean close_notify exchange, truncation as
//! `UnexpectedEof` (and the opt-out), and the typed error inside every `io::Error`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use sserve_engine::{ProtocolVersion, ServerConfig, ServerConfigBuilder, TlsError, TlsErrorKind};

fn config() -> Arc<ServerConfig> {
    let mut b = ServerConfigBuilder::new().unwrap();
    b.ephemeral_certificate().unwrap();
    b.alpn(&["echo"]).unwrap();
    b.build().unwrap()
}

/// A blocking OpenSSL client of exactly `version`, offering ALPN "echo", connected to `addr`.
fn connect(addr: SocketAddr, version: SslVersion) -> openssl::ssl::SslStream<TcpStream> {
    let mut c = SslConnector::builder(SslMethod::tls_client()).unwrap();
    c.set_verify(SslVerifyMode::NONE);
    c.set_min_proto_version(Some(version)).unwrap();
    c.set_max_proto_version(Some(version)).unwrap();
    c.set_alpn_protos(b"\x04echo").unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    c.build().connect("localhost", tcp).unwrap()
}

/// Connects, sends `payload`, reads it back, closes with close_notify; returns what came back
/// and whether the server's close_notify arrived.
fn client(addr: SocketAddr, version: SslVersion, payload: Vec<u8>) -> thread::JoinHandle<(Vec<u8>, bool)> {
    thread::spawn(move || {
        let mut tls = connect(addr, version);
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

/// A current-thread tokio runtime with I/O and timers.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn payload() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn tokio_tls_stream_echoes_and_reports_details() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = config();
    let rt = tokio_runtime();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        for version in [SslVersion::TLS1_3, SslVersion::TLS1_2] {
            let client = client(listener.local_addr().unwrap(), version, payload());
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = sserve_adapters::tokio::accept(&config, tcp).await.unwrap();
            let expected = if version == SslVersion::TLS1_3 {
                ProtocolVersion::Tls1_3
            } else {
                ProtocolVersion::Tls1_2
            };
            let info = tls.info();
            assert_eq!(info.protocol(), expected);
            assert_eq!(info.alpn(), Some(&b"echo"[..]));
            assert_eq!(info.server_name(), Some("localhost"));
            assert!(
                info.cipher_suite().name().starts_with("TLS_"),
                "{:?}",
                info.cipher_suite()
            );
            assert_ne!(info.cipher_suite().id(), 0);
            assert!(info.peer_certificates().is_empty());
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
            assert_eq!(tls.info().alpn(), Some(&b"echo"[..]));
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
    let rt = tokio_runtime();
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
        let tls = typed(&err);
        assert_eq!(tls.kind, TlsErrorKind::Protocol, "{tls:?}");
        assert!(tls.reason.contains("http request"), "{tls:?}");
        assert!(!tls.stack.is_empty(), "OpenSSL's error stack is carried as data");
        garbage.join().unwrap();
    });
}

/// The typed error inside an `io::Error` from a stream.
fn typed(err: &std::io::Error) -> &TlsError {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
        .unwrap_or_else(|| panic!("no TlsError inside {err:?}"))
}

/// A client that sends `hello`, then closes the TCP connection without close_notify.
fn truncating_client(addr: SocketAddr) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut c = SslConnector::builder(SslMethod::tls_client()).unwrap();
        c.set_verify(SslVerifyMode::NONE);
        // TLS 1.2: the server sends nothing after the handshake. A TLS 1.3 server's session
        // tickets would arrive unread, and closing over unread data is a reset, not an EOF.
        c.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        let mut tls = c.build().connect("localhost", tcp).unwrap();
        tls.write_all(b"hello").unwrap();
        // Dropping the stream closes the socket: no close_notify.
        let tcp = tls.get_ref().try_clone().unwrap();
        tcp.shutdown(std::net::Shutdown::Both).unwrap();
    })
}

/// Reads until the end or an error: what was read, and how it ended.
async fn read_all_tokio<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> (Vec<u8>, std::io::Result<()>) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

#[test]
fn truncation_is_unexpected_eof_unless_ignored() {
    let rt = tokio_runtime();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();

        let strict = config();
        let client = truncating_client(addr);
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = sserve_adapters::tokio::accept(&strict, tcp).await.unwrap();
        let (got, end) = read_all_tokio(&mut tls).await;
        client.join().unwrap();
        assert_eq!(got, b"hello");
        let err = end.expect_err("a truncated stream must not read as a clean end");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
        assert_eq!(typed(&err).kind, TlsErrorKind::UnexpectedEof);

        let mut b = ServerConfigBuilder::new().unwrap();
        b.ephemeral_certificate().unwrap();
        b.ignore_unexpected_eof();
        let lenient = b.build().unwrap();
        let client = truncating_client(addr);
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = sserve_adapters::tokio::accept(&lenient, tcp).await.unwrap();
        let (got, end) = read_all_tokio(&mut tls).await;
        client.join().unwrap();
        assert_eq!(got, b"hello");
        end.expect("with ignore_unexpected_eof the end is clean (Ok(0))");
    });
}

#[test]
fn smol_truncation_is_unexpected_eof() {
    use futures_lite::AsyncReadExt;
    let config = config();
    async_io::block_on(async {
        let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let client = truncating_client(listener.get_ref().local_addr().unwrap());
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = sserve_adapters::smol::accept(&config, tcp).await.unwrap();
        let mut got = Vec::new();
        let err = tls.read_to_end(&mut got).await.unwrap_err();
        client.join().unwrap();
        assert_eq!(got, b"hello");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
        assert_eq!(typed(&err).kind, TlsErrorKind::UnexpectedEof);
    });
}

#[test]
fn bad_client_certificate_is_a_typed_verify_error() {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Name, X509};
    // A self-signed client certificate the server does not trust.
    let key =
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_text("CN", "untrusted-client").unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = cert.build();

    let configs: Vec<Arc<ServerConfig>> = [false, true]
        .into_iter()
        .map(|fail| {
            let mut b = ServerConfigBuilder::new().unwrap();
            b.ephemeral_certificate().unwrap();
            b.verify_client(1, true);
            b.verify_return_error(fail);
            b.build().unwrap()
        })
        .collect();
    let rt = tokio_runtime();
    let expected_der = cert.to_der().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connect = || {
            let (cert, key) = (cert.clone(), key.clone());
            thread::spawn(move || {
                let mut c = SslConnector::builder(SslMethod::tls_client()).unwrap();
                c.set_verify(SslVerifyMode::NONE);
                c.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
                c.set_certificate(&cert).unwrap();
                c.set_private_key(&key).unwrap();
                let tcp = TcpStream::connect(addr).unwrap();
                let _ = c.build().connect("localhost", tcp);
            })
        };
        // Verified but not required to pass: the connection carries the peer's chain.
        let client = connect();
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = sserve_adapters::tokio::accept(&configs[0], tcp).await.unwrap();
        client.join().unwrap();
        let peer = tls.info().peer_certificate().expect("the client's certificate");
        assert_eq!(peer.der(), &expected_der[..]);
        assert_eq!(peer.subject(), "CN=untrusted-client");
        assert_eq!(peer.sha256_hex().len(), 64);
        // OpenSSL's X509_verify_cert_error_string: 3.0 hyphenates, 1.1.1 does not.
        let ossl3 = sserve_engine::ossl::version::openssl_version_number() >= 0x3000_0000;
        let text = if ossl3 {
            "self-signed certificate"
        } else {
            "self signed certificate"
        };
        assert_eq!(tls.info().verify_result(), Some((18, text)));

        // -verify_return_error: the failure is a typed verify error.
        let client = connect();
        let (tcp, _) = listener.accept().await.unwrap();
        let err = sserve_adapters::tokio::accept(&configs[1], tcp).await.unwrap_err();
        client.join().unwrap();
        let tls = typed(&err);
        assert_eq!(tls.kind, TlsErrorKind::Verify, "{tls:?}");
        assert!(tls.alert_sent.is_some(), "the alert we sent is recorded: {tls:?}");
        assert!(tls.verify_error.is_some(), "{tls:?}");
    });
}

/// Sends `first`, waits for `go`, sends `second`, then closes with close_notify.
fn pausing_client(
    addr: SocketAddr,
    version: SslVersion,
    first: Vec<u8>,
    second: Vec<u8>,
    go: std::sync::mpsc::Receiver<()>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut tls = connect(addr, version);
        tls.write_all(&first).unwrap();
        go.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        tls.write_all(&second).unwrap();
        tls.shutdown().unwrap();
        // Read what the server sent (tickets) until it closes: closing with it unread would
        // reset the connection under the server's last read.
        let _ = tls.read_to_end(&mut Vec::new());
    })
}

/// A stream keeps OpenSSL's record buffers while data moves, gives them back when its read
/// finds the peer quiet, and takes them again when data comes; with `buffer_linger: None` it
/// never keeps them. The data is whole throughout.
#[test]
fn tokio_tls_stream_keeps_record_buffers_only_while_data_moves() {
    use sserve_engine::tls::TlsBackend;
    use sserve_engine::SessionOptions;
    use tokio::io::AsyncReadExt;
    let config = config();
    let rt = tokio_runtime();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        for (version, linger) in [
            (SslVersion::TLS1_3, true),
            (SslVersion::TLS1_2, true),
            (SslVersion::TLS1_3, false),
        ] {
            let first = payload();
            let second: Vec<u8> = (0..3000u32).map(|i| (i % 13) as u8).collect();
            let (go, wait) = std::sync::mpsc::channel();
            let client = pausing_client(
                listener.local_addr().unwrap(),
                version,
                first.clone(),
                second.clone(),
                wait,
            );
            let (tcp, _) = listener.accept().await.unwrap();
            let opts = if linger {
                sserve_adapters::stream::stream_options()
            } else {
                Arc::new(SessionOptions {
                    buffer_linger: None,
                    ..SessionOptions::default()
                })
            };
            let mut tls = sserve_adapters::tokio::accept_with(&config, opts, tcp).await.unwrap();
            let keeps =
                |tls: &sserve_adapters::tokio::TlsStream<tokio::net::TcpStream>| tls.session().tls().keeps_buffers();
            assert!(!keeps(&tls), "buffers kept after the handshake alone");

            let mut got = vec![0u8; first.len()];
            tls.read_exact(&mut got).await.unwrap();
            assert_eq!(got, first);
            assert_eq!(keeps(&tls), linger, "{version:?}: after a read that brought data");

            // The client waits for `go`: this read finds nothing.
            let mut one = [0u8; 1];
            let quiet = tokio::time::timeout(std::time::Duration::from_millis(100), tls.read(&mut one)).await;
            assert!(
                quiet.is_err(),
                "{version:?}: read returned {quiet:?} while the client waited"
            );
            assert!(!keeps(&tls), "{version:?}: buffers still kept by a quiet stream");

            go.send(()).unwrap();
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, second, "{version:?}: data after the release");
            drop(tls);
            client.join().unwrap();
        }
    });
}
