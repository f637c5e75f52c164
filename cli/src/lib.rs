//! The `sserve` command: s_server's command line and console on top of `sserve-engine` and the
//! blocking adapter. `main.rs` only calls [`run`].
#![warn(missing_docs)]

pub mod json;
mod ocsp;
pub mod options;
pub mod output;
mod psk;
pub mod render;
mod setup;
pub mod stdout;
mod transport;
pub mod verify;

pub use setup::run;
