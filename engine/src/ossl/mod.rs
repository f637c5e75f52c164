//! The OpenSSL backend: a shared [`ServerConfig`] (one `SSL_CTX`) and per-connection
//! [`OpensslTls`] objects driven over in-memory buffers.
//!
//! This module is the only place with `unsafe` code (which is also why the one process-wide
//! call an adapter needs, [`release_free_memory`], lives here). Object ownership is left to the `openssl`
//! crate's owning types wherever it has them (`SslContext`, `Ssl`, `SslStream`, `X509`, `PKey`);
//! the few objects it lacks get their own owning wrapper with `Drop` ([`conf::ConfCtx`],
//! [`membio::MemBio`]).

mod callbacks;
mod certs;
mod conf;
mod config;
mod conn;
pub mod dtls;
mod eof;
mod errors;
mod ffi;
mod info;
mod membio;
mod memio;
mod memory;
mod ocsp;
mod output;
mod psk;
mod srp;
pub mod verify;
pub use psk::DEFAULT_PSK_IDENTITY;
pub mod transport;

pub use certs::{has_dh_params, parse_serverinfo, ExtendedCert};
pub use config::{CertFormat, CertificatePins, DtlsVersion, ServerConfig, ServerConfigBuilder, TlsVersion};
pub use conn::{OpensslTls, SslConn, Transport};
pub use dtls::{DtlsAcceptor, DtlsListener, DtlsSettings, OpensslDtls};
pub use memio::MemIo;
pub use memory::release_free_memory;
pub use ocsp::{OcspQuery, OcspQueryError, OcspStaple, StapleInfo};
pub use output::SecuritySink;

/// A [`Session`](crate::Session) over OpenSSL.
pub type TlsSession = crate::Session<OpensslTls>;

/// The OpenSSL library in use, as `OpenSSL_version(OPENSSL_VERSION)` names it (for example
/// `OpenSSL 3.0.13 30 Jan 2024`).
pub fn openssl_version() -> &'static str {
    openssl::version::version()
}
