//! I/O adapters for [`sserve_engine`]: they move bytes, time and files between the operating
//! system and the engine's sans-I/O [`Session`](sserve_engine::Session); no protocol logic lives
//! here.
//!
//! - [`blocking`] (feature `blocking`): `std::net`, one connection at a time like
//!   `openssl s_server`, with a handshake timeout so a silent peer cannot hold the server.
//! - [`listen`]: address parsing and binding shared by every runtime.
//! - [`files`]: the `-WWW`/`-HTTP` file lookup confined to the served directory.
#![warn(missing_docs, unreachable_pub)]

pub mod files;
pub mod keylog;
pub mod listen;

#[cfg(feature = "blocking")]
pub mod blocking;

pub use listen::{bind, ListenSpec};
