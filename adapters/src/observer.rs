//! How a serving loop reports to its owner (the CLI renders these as s_server's lines).

use std::io;
use std::net::SocketAddr;

use sserve_engine::Event;

use crate::keylog::KeyLog;

/// Identifies a connection in observer calls: 1 for the first accepted, then counting up.
pub type ConnId = u64;

/// Receives what happens on connections, in order per connection (connections interleave).
pub trait Observer {
    /// A connection was accepted from `peer`.
    fn accepted(&mut self, _conn: ConnId, _peer: SocketAddr) {}
    /// A connection was accepted on a Unix-domain socket (`-unix`).
    fn accepted_unix(&mut self, _conn: ConnId) {}
    /// A session event. `Event::Plaintext` is peer data for the console.
    fn event(&mut self, conn: ConnId, event: &Event);
    /// An I/O failure outside the engine (accept, socket write, file read, key log).
    fn io_error(&mut self, context: &str, error: &io::Error);
    /// The local address of accepted connection `conn` (TCP and DTLS), right after
    /// [`Observer::accepted`]; only asked for when [`Observer::wants_local_address`] says so.
    fn local_address(&mut self, _conn: ConnId, _local: SocketAddr) {}
    /// Whether to look up each connection's local address (a system call per connection) for
    /// [`Observer::local_address`].
    fn wants_local_address(&self) -> bool {
        false
    }
    /// What a connection (a stream, or a DTLS association from the datagram that opened it)
    /// moved, reported right before its `Event::Closed`.
    fn totals(&mut self, _conn: ConnId, _totals: &Totals) {}
}

/// Bytes a connection moved on its transport (TLS or DTLS records, so ciphertext).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Bytes received from the peer.
    pub bytes_in: u64,
    /// Bytes handed to the socket for the peer.
    pub bytes_out: u64,
}

/// How a serving run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections accepted.
    pub connections: u64,
    /// The console stopped the server (`Q` or console EOF).
    pub stopped_by_console: bool,
}

/// Hands `event` to the observer, first appending key log lines to the `-keylogfile`: what
/// every serving loop (stream or datagram) does with each event.
pub(crate) fn report(keylog: Option<&KeyLog>, observer: &mut (impl Observer + ?Sized), id: ConnId, event: &Event) {
    if let (Event::KeyLog(line), Some(k)) = (event, keylog) {
        if let Err(e) = k.write_line(line) {
            observer.io_error("keylog file", &e);
        }
    }
    observer.event(id, event);
}
