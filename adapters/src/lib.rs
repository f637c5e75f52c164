//! I/O adapters for [`sserve_engine`]: TLS server streams for tokio and for futures-io
//! (smol, async-std), built on the engine's sans-I/O [`Session`](sserve_engine::Session). They
//! move bytes between a socket and the session; all protocol logic is in the engine.
//!
//! - [`tokio::accept`] (feature `tokio`): a server TLS stream over any tokio
//!   `AsyncRead + AsyncWrite`, like tokio-rustls' `TlsAcceptor::accept`.
//! - [`smol::accept`] (feature `smol`): the same over futures-io streams.
//! - [`stream`]: what both have in common, and how errors are reported.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let mut builder = sserve_engine::ServerConfigBuilder::new().map_err(std::io::Error::other)?;
//! builder.ephemeral_certificate().map_err(std::io::Error::other)?;
//! let config = builder.build().map_err(std::io::Error::other)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let (tcp, _) = listener.accept().await?;
//! let mut tls = sserve_adapters::tokio::accept(&config, tcp).await?;
//! println!("{} {}", tls.info().protocol(), tls.info().cipher_suite());
//! let mut buf = [0u8; 1024];
//! let n = tls.read(&mut buf).await?;
//! tls.write_all(&buf[..n]).await?;
//! tls.shutdown().await // close_notify
//! # }
//! ```
//!
//! The rest of the crate is the `sserve` command's serving machinery (one application layer,
//! `connection.rs`, shared by a blocking loop, an async driver written once over a small runtime
//! trait, and a UDP server for DTLS); it is public for that command only and hidden from these
//! docs.
#![warn(missing_docs, unreachable_pub)]

#[doc(hidden)]
pub mod files;
#[doc(hidden)]
pub mod keylog;
#[doc(hidden)]
pub mod listen;
#[doc(hidden)]
pub mod observer;
#[doc(hidden)]
pub mod shutdown;
#[cfg(unix)]
#[doc(hidden)]
pub mod transport;
mod trim;
#[cfg(unix)]
#[doc(hidden)]
pub mod udp;

#[cfg(all(feature = "blocking", unix))]
#[doc(hidden)]
pub mod blocking;

#[cfg(all(any(feature = "blocking", feature = "async"), unix))]
mod connection;
#[cfg(all(feature = "async", unix))]
#[doc(hidden)]
pub mod driver;
#[cfg(all(feature = "async", unix))]
#[doc(hidden)]
pub mod runtime;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "async")]
pub mod stream;
#[cfg(feature = "tokio")]
pub mod tokio;

#[doc(hidden)]
pub use listen::{bind, ListenSpec};

/// The README's code blocks, compiled by `cargo test --doc` (and only then: the README is not
/// part of this package).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
