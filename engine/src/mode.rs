//! Per-session behaviour chosen on the command line: which application runs on the plaintext,
//! and the console switches that change it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::http::WebMode;
use crate::time::Duration;

/// The application that runs on top of TLS (s_server's `sv_body`, `www_body`, `rev_body`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppMode {
    /// Default: peer plaintext to the console, console input to the peer, connected commands.
    #[default]
    Console,
    /// `-rev`: each line comes back reversed; `CLOSE` closes.
    Rev,
    /// `-www`, `-WWW` or `-HTTP`.
    Web(WebMode),
}

/// Options for every session of a server (the non-TLS part of the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// The application.
    pub mode: AppMode,
    /// `-crlf`: console `\n` is sent as `\r\n`.
    pub crlf: bool,
    /// Connected commands are recognised on console input (s_server: neither `-quiet` nor `-brief`).
    pub commands: bool,
    /// `-ign_eof`: in `-rev`, `CLOSE` is just a line; on the console, EOF stops reading the
    /// console instead of closing (sserve deviation, see docs/compat.md).
    pub ign_eof: bool,
    /// `-http_server_binmode`: the mode string in `Error opening` messages is `rb`.
    pub binmode: bool,
    /// Time allowed from the first byte until the handshake is done; `None` waits forever
    /// (s_server's behaviour, and its long-standing complaint).
    pub handshake_timeout: Option<Duration>,
    /// Time a connection may stay without input after the handshake; `None` for no limit.
    pub idle_timeout: Option<Duration>,
    /// Time the peer may leave our ciphertext unread (the adapter reports a blocked send with
    /// [`crate::Session::send_blocked`]) before the session fails with
    /// [`crate::SessionError::SendStalled`]; `None` waits forever, as s_server does. Without it
    /// a peer that stops reading a download holds its connection, and its buffers, for good.
    pub send_timeout: Option<Duration>,
    /// Once application data moves, the buffers that make the next record cheaper (OpenSSL's
    /// record buffers, ~34 KiB, and the engine's drained queues) are kept while the connection
    /// is busy and given back once nothing happened for this long (at once when the peer stops
    /// reading, see [`crate::Session::send_blocked`]): no allocation per record, as with
    /// s_server, which keeps them for good, and none of it held by an idle or blocked
    /// connection. `None` gives them back after every record (`SSL_MODE_RELEASE_BUFFERS`, a
    /// `malloc` and `free` of each per record), for a driver that can neither call
    /// [`crate::Session::handle_timeout`] nor say when the connection goes quiet
    /// ([`crate::Session::release_buffers`]).
    pub buffer_linger: Option<Duration>,
    /// The command line shown at the top of the `-www` status page (s_server echoes its argv).
    pub argv: Vec<String>,
    /// Bytes of console input queued before the handshake ends (bounded; more is refused).
    pub max_pending_console: usize,
    /// [`crate::Event::HandshakeComplete`] carries the printed blocks s_server shows (session
    /// PEM, cipher and sigalg lists, certificate dump). Rendering them costs a noticeable share of
    /// a handshake, so modes that print nothing turn it off.
    pub detailed_info: bool,
    /// `-early_data`: read TLS 1.3 early data before finishing the handshake (console: printed
    /// as s_server does; web modes: a `GET` is served, anything else answered `425 Too Early`).
    pub early_data: bool,
    /// `-keep_alive` (sserve, `-www`/`-WWW` only): HTTP/1.1 persistent connections with
    /// `Content-Length` (chunked when a file's size is unknown), `Content-Type` from the file
    /// name and real status codes. Off, the bytes are exactly s_server's.
    pub keep_alive: bool,
}

impl Default for SessionOptions {
    /// What an embedding application wants: plaintext in and out, no console commands, only the
    /// cheap handshake facts, a 10 s handshake timeout and a 60 s send timeout (a peer that
    /// stops reading is dropped). [`SessionOptions::s_server`] is the `openssl s_server`
    /// behaviour the command-line tool uses.
    fn default() -> Self {
        SessionOptions {
            commands: false,
            detailed_info: false,
            ..SessionOptions::s_server()
        }
    }
}

impl SessionOptions {
    /// `openssl s_server`'s behaviour, as the `sserve` command uses it: console mode, connected
    /// commands recognised on console input, the full printed handshake details; plus sserve's
    /// bounds (10 s handshake timeout, 60 s send timeout, buffers given back after 1 s idle).
    pub fn s_server() -> Self {
        SessionOptions {
            mode: AppMode::Console,
            crlf: false,
            commands: true,
            ign_eof: false,
            binmode: false,
            handshake_timeout: Some(Duration::from_secs(10)),
            idle_timeout: None,
            send_timeout: Some(Duration::from_secs(60)),
            buffer_linger: Some(Duration::from_secs(1)),
            argv: Vec::new(),
            max_pending_console: 1 << 20,
            detailed_info: true,
            early_data: false,
            keep_alive: false,
        }
    }
}
