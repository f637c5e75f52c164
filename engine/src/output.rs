//! Diagnostics for s_server's `-msg`, `-trace`, `-state`, `-tlsextdebug`, `-security_debug` and
//! `-debug`. OpenSSL's callbacks report raw data; the presentation (s_cb.c's formats) belongs to
//! whoever renders the [`Diagnostic`].
//!
//! Every callback behind these is installed only when its option is given: a server without
//! them pays nothing.

use alloc::string::String;
use alloc::vec::Vec;

/// s_cb.c's `ssl_versions` names of protocol version numbers (`0x0303` is `TLS 1.2`).
pub fn protocol_version_name(v: i32) -> Option<&'static str> {
    Some(match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0xfeff => "DTLS 1.0",
        0x0100 => "DTLS 1.0 (bad)",
        _ => return None,
    })
}

/// One diagnostic report from inside the TLS library, carried by [`crate::Event::Diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// `-msg`: a protocol message or record header (`SSL_set_msg_callback`).
    Message(ProtocolMessage),
    /// `-trace`: `SSL_trace`'s text for one protocol message (complete lines).
    Trace(String),
    /// `-state`: a handshake state change or alert (`SSL_CTX_set_info_callback`).
    State(StateChange),
    /// `-tlsextdebug`: a TLS extension seen in a hello message.
    Extension(TlsExtension),
    /// `-security_debug`: a security-level check (`SSL_CTX_set_security_callback`).
    Security(SecurityCheck),
    /// `-debug`: ciphertext read from or written to the transport.
    Transport(TransportIo),
}

/// A protocol message as the message callback reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolMessage {
    /// Sent by us (`>>>`) rather than received (`<<<`).
    pub write: bool,
    /// The protocol version number (`0x0303` = TLS 1.2, …).
    pub version: i32,
    /// The content type (20-23, 256 = record header, 257 = inner content type).
    pub content_type: i32,
    /// The message bytes.
    pub data: Vec<u8>,
}

/// What the info callback reports (s_cb.c `apps_ssl_info_callback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// The handshake moved to `state` (`SSL_state_string_long`).
    Loop {
        /// `SSL_accept` (server), `SSL_connect` or `undefined`.
        side: &'static str,
        /// The new state, long form.
        state: String,
    },
    /// An alert was read or written.
    Alert {
        /// Read from the peer (else written by us).
        read: bool,
        /// `warning` or `fatal` (`SSL_alert_type_string_long`).
        level: String,
        /// e.g. `close notify` (`SSL_alert_desc_string_long`).
        description: String,
    },
    /// The handshake function returned 0 (`failed in`) or a fatal error (`error in`). A return
    /// that only waits for more input is not reported: s_server's blocking socket never sees it.
    Exit {
        /// `SSL_accept`, `SSL_connect` or `undefined`.
        side: &'static str,
        /// Returned 0 (`failed in`), else an error (`error in`).
        failed: bool,
        /// The state it stopped in.
        state: String,
    },
}

/// A TLS extension reported by the extension debug callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsExtension {
    /// Sent by the server (we), else by the client.
    pub server: bool,
    /// The extension type number.
    pub ext_type: i32,
    /// Its data.
    pub data: Vec<u8>,
}

/// A security-level check (s_cb.c `security_callback_debug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityCheck {
    /// What was checked, e.g. `Version=TLS 1.3` or `Shared Ciphersuite=X, security bits=256`
    /// (formatted by the backend, which alone can name the objects involved).
    pub detail: String,
    /// The check passed.
    pub allowed: bool,
}

/// One read or write on the ciphertext transport (s_cb.c `bio_dump_callback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportIo {
    /// A write (else a read).
    pub write: bool,
    /// Address of the transport object (s_server prints the `BIO *`).
    pub bio: usize,
    /// Address of the buffer.
    pub buf: usize,
    /// Bytes asked for (read) or offered (write).
    pub requested: usize,
    /// The bytes moved, or the failing return value (0 = end of input).
    pub result: Result<Vec<u8>, i32>,
}
