//! TLS 1.3 early data through the session (`SessionOptions::early_data`): console mode reports
//! it as events, the web modes serve an early `GET` and answer anything else `425 Too Early`;
//! ciphertext fed a byte at a time exercises every "want more input" point.
#![cfg(feature = "openssl")]

mod common;

use std::sync::Arc;

use common::*;
use openssl::ssl::{Ssl, SslContext, SslMethod, SslSession, SslStream, SslVerifyMode};
use sserve_engine::http::{WebMode, TOO_EARLY};
use sserve_engine::{AppMode, EarlyDataStatus, Event, ServerConfig, SessionOptions};

fn config() -> Arc<ServerConfig> {
    server_config(|b| b.max_early_data(16384).expect("max_early_data"))
}

fn client_ctx() -> SslContext {
    let mut ctx = SslContext::builder(SslMethod::tls_client()).expect("client SSL_CTX");
    ctx.set_verify(SslVerifyMode::NONE);
    ctx.build()
}

fn opts(mode: AppMode) -> SessionOptions {
    SessionOptions {
        mode,
        early_data: true,
        ..SessionOptions::s_server()
    }
}

/// A full handshake; returns the client's session once its ticket arrived.
fn ticket(config: &ServerConfig, ctx: &SslContext) -> SslSession {
    let mut p = Pair::new(config, opts(AppMode::Console), ClientOptions::default());
    let mut ssl = Ssl::new(ctx).expect("client SSL");
    ssl.set_connect_state();
    p.client.stream = SslStream::new(ssl, ClientIo::default()).expect("client stream");
    p.drive();
    assert!(p.client.handshake_done(), "{:?}", p.client.error);
    assert!(
        p.events.iter().any(|e| matches!(
            e,
            Event::EarlyDataEnd {
                received: false,
                status: EarlyDataStatus::NotSent
            }
        )),
        "{:?}",
        p.kinds()
    );
    let session = p.client.stream.ssl().session().expect("client session").to_owned();
    assert_eq!(session.max_early_data(), 16384);
    // A clean close: freeing an SSL that did not send close_notify marks its session
    // not resumable.
    p.client.shutdown();
    p.drive();
    session
}

/// Resumes `session` sending `early` as 0-RTT data, the ciphertext fed to the server in
/// `chunk`-byte pieces.
#[allow(unsafe_code)]
fn resume(
    config: &ServerConfig,
    ctx: &SslContext,
    session: &SslSession,
    mode: AppMode,
    early: &[u8],
    chunk: usize,
) -> Pair {
    let mut p = Pair::new(config, opts(mode), ClientOptions::default());
    let mut ssl = Ssl::new(ctx).expect("client SSL");
    ssl.set_connect_state();
    // SAFETY: the session comes from a client context with the same protocol settings.
    unsafe { ssl.set_session(session).expect("set_session") };
    let mut stream = SslStream::new(ssl, ClientIo::default()).expect("client stream");
    let n = stream.write_early_data(early).expect("write_early_data");
    assert_eq!(n, early.len());
    p.client.stream = stream;
    p.chunking = vec![chunk];
    p.drive();
    // Reading leaves an OpenSSL client waiting to send EndOfEarlyData; finishing the handshake
    // sends it (s_client does the same).
    let _ = p.client.stream.do_handshake();
    p.drive();
    p
}

#[test]
fn console_mode_reports_early_data_before_the_handshake() {
    let (config, ctx) = (config(), client_ctx());
    for chunk in [1, 7, 100_000] {
        // A ticket is good for one 0-RTT only (anti-replay): a fresh one each time.
        let session = ticket(&config, &ctx);
        let mut p = resume(&config, &ctx, &session, AppMode::Console, b"zero-rtt hello\n", chunk);
        let data: Vec<u8> = p
            .events
            .iter()
            .filter_map(|e| match e {
                Event::EarlyData { data, .. } => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(data, b"zero-rtt hello\n", "chunk {chunk}: {:?}", p.kinds());
        let kinds = p.kinds();
        let first = p
            .events
            .iter()
            .position(|e| matches!(e, Event::EarlyData { first: true, .. }))
            .expect("first piece");
        let end = p
            .events
            .iter()
            .position(|e| {
                matches!(
                    e,
                    Event::EarlyDataEnd {
                        received: true,
                        status: EarlyDataStatus::Accepted
                    }
                )
            })
            .unwrap_or_else(|| panic!("no end of early data: {:?} {:?}", p.events, p.client.error));
        let done = kinds.iter().position(|k| *k == "HandshakeComplete").expect("handshake");
        assert!(first < end && end < done, "chunk {chunk}: {kinds:?}");
        p.assert_established();
        // Ordinary data flows afterwards.
        p.client_send(b"after\n");
        assert_eq!(p.server_plaintext(), b"after\n");
    }
}

#[test]
fn web_mode_serves_an_early_get_and_refuses_anything_else() {
    let (config, ctx) = (config(), client_ctx());
    let get = ticket(&config, &ctx);
    let mut p = resume(
        &config,
        &ctx,
        &get,
        AppMode::Web(WebMode::Status),
        b"GET / HTTP/1.0\r\n\r\n",
        3,
    );
    let page = String::from_utf8_lossy(&p.take_client_plaintext()).into_owned();
    assert!(page.starts_with("HTTP/1.0 200 ok"), "{page}\n{:?}", p.kinds());
    assert!(p.events.iter().all(|e| !matches!(e, Event::EarlyData { .. })));

    let post = ticket(&config, &ctx);
    let mut p = resume(
        &config,
        &ctx,
        &post,
        AppMode::Web(WebMode::Status),
        b"POST / HTTP/1.0\r\n\r\n",
        5,
    );
    assert_eq!(p.take_client_plaintext(), TOO_EARLY);
    assert!(p.closed().is_some(), "{:?}", p.kinds());
}

#[test]
fn a_replayed_ticket_gets_no_early_data() {
    let (config, ctx) = (config(), client_ctx());
    let session = ticket(&config, &ctx);
    let first = resume(&config, &ctx, &session, AppMode::Console, b"once", 100_000);
    assert!(first.events.iter().any(|e| matches!(e, Event::EarlyData { .. })));
    let again = resume(&config, &ctx, &session, AppMode::Console, b"twice", 100_000);
    assert!(
        again.events.iter().any(|e| matches!(
            e,
            Event::EarlyDataEnd {
                received: false,
                status: EarlyDataStatus::Rejected
            }
        )),
        "{:?}",
        again.kinds()
    );
}
