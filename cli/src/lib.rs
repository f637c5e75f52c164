//! The `sserve` command: s_server's command line and console on top of `sserve-engine` and the
//! blocking adapter. `main.rs` only calls [`run`].
#![warn(missing_docs)]

pub mod json;
mod ocsp;
pub mod options;
pub mod output;
pub mod render;
mod setup;
// --- verify ---
pub mod verify;
// --- psk ---
mod psk;
mod transport;

pub use setup::run;
