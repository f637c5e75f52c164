//! I/O adapters for [`sserve_engine`]: they move bytes, time and files between the operating
//! system and the engine's sans-I/O [`Session`](sserve_engine::Session); no protocol logic lives
//! here.
//!
//! - [`blocking`] (feature `blocking`): `std::net`, one connection at a time like
//!   `openssl s_server`, with a handshake timeout so a silent peer cannot hold the server.
//! - [`driver`]: one async connection driver and accept loop, generic over a small
//!   [`runtime::Runtime`] trait implemented by [`tokio`] and [`smol`] (features of the same
//!   names): connections are served concurrently.
//! - [`listen`]: address parsing and binding shared by every runtime.
//! - [`udp`]: DTLS over UDP, every association on one socket demultiplexed by peer address
//!   (blocking, tokio and smol loops).
//! - [`transport`]: TCP or Unix-domain stream sockets (`-unix`) for every loop.
//! - [`files`]: the `-WWW`/`-HTTP` file lookup confined to the served directory.
//! - [`shutdown`]: the one stop switch every serving loop watches.
//!
//! The blocking loop and the async driver share one application layer (`connection.rs`): the
//! file protocol, the handling of a peer gone mid-write or not reading, and event reporting are
//! written once there, sans-I/O, and the loops only carry its steps out.
#![warn(missing_docs, unreachable_pub)]

pub mod files;
pub mod keylog;
pub mod listen;
pub mod observer;
pub mod shutdown;
pub mod transport;
mod trim;
pub mod udp;

#[cfg(feature = "blocking")]
pub mod blocking;

#[cfg(any(feature = "blocking", feature = "async"))]
mod connection;
#[cfg(feature = "async")]
pub mod driver;
#[cfg(feature = "async")]
pub mod runtime;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "async")]
pub mod stream;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use listen::{bind, ListenSpec};

/// The README's code blocks, compiled by `cargo test --doc` (and only then: the README is not
/// part of this package).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
