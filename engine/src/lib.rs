//! # sserve-engine
//!
//! The sans-I/O core of `sserve`, a drop-in reimplementation of `openssl s_server`.
//!
//! The engine never opens a socket, reads a clock, spawns a thread or touches a file.
//! An adapter moves bytes, time and file contents in and out:
//!
//! ```text
//!   socket ──bytes──▶ Session::handle_input(now, bytes)
//!       or ──reader─▶ Session::handle_readable(now, reader)   (the session reads the socket
//!                     once, straight into OpenSSL's record buffer: no copy on the way in)
//!   console ─bytes──▶ Session::console_input(bytes)
//!   clock ───now────▶ Session::handle_timeout(now)      (when poll_timeout() says so)
//!   files ──chunks──▶ Session::respond_file / file_data / file_end (after Event::FileRequest)
//!
//!   Session::poll_transmit() ──ciphertext──▶ socket     (drain first: alerts go out before errors)
//!   Session::poll_event()    ──Event──────▶ console / logs / file reader
//! ```
//!
//! After every input, drain `poll_transmit` until it returns `None`, then `poll_event` until it
//! returns `None`, then wait for socket input, console input or `poll_timeout()`. A loop that
//! gathers transmits to write them together writes what it has whenever
//! [`Session::flight_waiting`] says so (the handshake goes on at the next `poll_transmit`).
//!
//! The parsers ([`command`], [`http`], [`line`](mod@line)) and the [`Session`] state machine are `no_std` +
//! `alloc`. TLS is done by a [`tls::TlsBackend`]; the OpenSSL one ([`ossl`], feature `openssl`,
//! on by default) needs `std` and is the only place with `unsafe` code.
#![no_std]
#![warn(missing_docs, unreachable_pub)]

extern crate alloc;
// Explicit `use std::…` is needed everywhere, so no_std breakage shows at once (rustls' trick).
#[cfg(feature = "std")]
extern crate std;

pub mod command;
pub mod connection;
pub mod dtls;
pub mod error;
pub mod event;
pub mod mode;
pub mod output;
pub mod peer;
pub mod session;
pub mod time;
pub mod tls;
// s_server's parsers and pages: the session uses them, the command-line tool and the fuzzers
// reach in; not part of the documented API.
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod line;
#[doc(hidden)]
pub mod status_page;

#[cfg(feature = "openssl")]
#[allow(unsafe_code)]
pub mod ossl;

pub use command::Command;
pub use connection::{Certificate, CipherSuite, ConnectionInfo, ProtocolVersion};
pub use error::{SessionError, TlsError, TlsErrorKind};
pub use event::{
    CacheStats, CertChainCheck, CloseReason, EarlyDataStatus, Event, FileRequest, HandshakeInfo, KeyingMaterial,
    PeerCertificate, WebRequest,
};
pub use http::WebMode;
pub use mode::{AppMode, SessionOptions};
pub use session::{FileError, Session, Transmit};
pub use time::{Duration, Instant};

pub use dtls::{DatagramListener, DatagramTransmit, DtlsSession, ListenerLimits};
#[cfg(feature = "openssl")]
pub use ossl::{DtlsListener, DtlsSettings, ServerConfig, ServerConfigBuilder, TlsSession};
pub use peer::Pulled;
pub use tls::{EarlyRead, PeerRead, PeerReader};
