//! The `sserve` command: s_server's command line and console on top of `sserve-engine` and the
//! blocking adapter. `main.rs` only calls [`run`].
#![warn(missing_docs)]

mod certs;
pub mod error;
pub mod help;
pub mod json;
mod load;
mod ocsp;
pub mod options;
pub mod output;
mod psk;
pub mod render;
pub mod settings;
mod setup;
pub mod stdout;
mod transport;
pub mod verify;
mod web;

pub use setup::run;
