//! The `sserve` command: s_server's command line and console on top of `sserve-engine` and the
//! blocking adapter. `main.rs` only calls [`run`].
#![warn(missing_docs)]

pub mod json;
pub mod options;
pub mod render;
mod setup;
mod transport;

pub use setup::run;
