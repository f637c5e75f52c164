//! An in-memory OpenSSL DTLS client and a DTLS server configuration for the engine's DTLS tests.
#![allow(dead_code)]

use sserve_engine::ossl::Transport;
use std::sync::Arc;

use bytes::Bytes;
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslOptions, SslStream, SslVerifyMode};
use sserve_engine::ossl::dtls::{handle_retransmit, retransmit_in, set_retransmit_timer, DatagramPipe};
use sserve_engine::ossl::DtlsVersion;
use sserve_engine::{Duration, ServerConfig, ServerConfigBuilder};

pub fn dtls_config() -> Arc<ServerConfig> {
    let mut b = ServerConfigBuilder::new_dtls(DtlsVersion::Any).expect("DTLS context");
    b.ephemeral_certificate().expect("certificate");
    b.build().expect("config")
}

/// A DTLS 1.2 client over a [`DatagramPipe`].
pub struct Client {
    pub stream: SslStream<DatagramPipe>,
    pub done: bool,
    pub failed: Option<String>,
    /// Plaintext records received, one entry per `SSL_read`.
    pub received: Vec<Vec<u8>>,
}

impl Client {
    pub fn new(mtu: u32, initial_retransmit: Duration) -> Client {
        let mut ctx = SslContext::builder(SslMethod::dtls_client()).unwrap();
        ctx.set_verify(SslVerifyMode::NONE);
        ctx.set_options(SslOptions::NO_QUERY_MTU);
        let ctx = ctx.build();
        let mut ssl = Ssl::new(&ctx).unwrap();
        ssl.set_mtu(mtu).unwrap();
        set_retransmit_timer(&mut ssl, initial_retransmit);
        ssl.set_connect_state();
        Client {
            stream: SslStream::new(ssl, DatagramPipe::default()).unwrap(),
            done: false,
            failed: None,
            received: Vec::new(),
        }
    }

    /// Drives the handshake / reads after input; returns datagrams to send.
    pub fn step(&mut self) -> Vec<Bytes> {
        if self.failed.is_none() {
            if !self.done {
                match self.stream.do_handshake() {
                    Ok(()) => self.done = true,
                    Err(e) if e.code() == ErrorCode::WANT_READ => {
                        openssl::error::ErrorStack::get();
                    }
                    Err(e) => self.failed = Some(e.to_string()),
                }
            }
            if self.done {
                let mut buf = vec![0u8; 17 * 1024];
                loop {
                    match self.stream.ssl_read(&mut buf) {
                        Ok(n) => self.received.push(buf[..n].to_vec()),
                        Err(e) if e.code() == ErrorCode::WANT_READ => {
                            openssl::error::ErrorStack::get();
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
        }
        self.drain()
    }

    pub fn input(&mut self, datagram: &[u8]) -> Vec<Bytes> {
        self.stream.get_mut().push(datagram);
        self.step()
    }

    pub fn drain(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(d) = self.stream.get_mut().pop() {
            out.push(d);
        }
        out
    }

    pub fn write(&mut self, data: &[u8]) -> Vec<Bytes> {
        self.stream.ssl_write(data).expect("client write");
        self.drain()
    }

    pub fn retransmit_in(&self) -> Option<Duration> {
        retransmit_in(self.stream.ssl())
    }

    pub fn on_timer(&mut self) -> Vec<Bytes> {
        if handle_retransmit(self.stream.ssl()) < 0 {
            self.failed = Some("too many retransmissions".into());
        }
        self.step()
    }
}
