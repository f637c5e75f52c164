//! The OpenSSL backend: a shared [`ServerConfig`] (one `SSL_CTX`) and per-connection
//! [`OpensslTls`] objects driven over in-memory buffers.
//!
//! This module is the only place with `unsafe` code (which is also why the one process-wide
//! call an adapter needs, [`release_free_memory`], lives here). Object ownership is left to the `openssl`
//! crate's owning types wherever it has them (`SslContext`, `Ssl`, `X509`, `PKey`); the few
//! objects it lacks get their own owning wrapper with `Drop` (`bio::SslIo`, `conf::ConfCtx`,
//! `membio::MemBio`).

mod bio;
mod callbacks;
mod certs;
mod conf;
mod config;
mod conn;
mod cookie_mac;
#[doc(hidden)]
pub mod dtls;
mod eof;
mod errors;
mod ffi;
mod info;
mod membio;
mod memio;
mod memory;
mod ocsp;
#[doc(hidden)]
pub mod ocsp_http;
mod output;
mod psk;
mod srp;
// What only the command-line tool uses (s_server's option groups, its diagnostics and
// process-wide OpenSSL settings) stays reachable for it but out of the documented API.
#[doc(hidden)]
pub mod transport;
#[doc(hidden)]
pub mod verify;
#[doc(hidden)]
pub use bio::BioMethod;
#[doc(hidden)]
pub use certs::{has_dh_params, parse_serverinfo, ExtendedCert};
#[doc(hidden)]
pub use conn::{SslConn, Transport};
#[doc(hidden)]
pub use memio::MemIo;
#[doc(hidden)]
pub use ocsp::{OcspQuery, OcspQueryError};
#[doc(hidden)]
pub use output::SecuritySink;
#[doc(hidden)]
pub use psk::DEFAULT_PSK_IDENTITY;
pub mod version;

pub use config::{CertFormat, CertificatePins, DtlsVersion, ServerConfig, ServerConfigBuilder, TlsVersion};
pub use conn::OpensslTls;
pub use dtls::{DtlsAcceptor, DtlsListener, DtlsSettings, OpensslDtls};
pub use memory::release_free_memory;
pub use ocsp::{OcspStaple, StapleInfo};

/// A [`Session`](crate::Session) over OpenSSL.
pub type TlsSession = crate::Session<OpensslTls>;

/// The OpenSSL library in use, as `OpenSSL_version(OPENSSL_VERSION)` names it (for example
/// `OpenSSL 3.0.13 30 Jan 2024`).
pub fn openssl_version() -> &'static str {
    openssl::version::version()
}
