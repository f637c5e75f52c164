//! Typed errors. OpenSSL's error queue becomes a [`TlsError`]; session-level failures a
//! [`SessionError`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Broad class of a TLS failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer broke the protocol or a check failed (`SSL_ERROR_SSL`).
    Protocol,
    /// The transport ended without a close_notify, or a system call failed (`SSL_ERROR_SYSCALL`).
    UnexpectedEof,
    /// The configuration is unusable (bad key, cipher string, file format …).
    Config,
    /// The peer's certificate failed verification.
    Verify,
    /// An operation is not possible in this state (e.g. key update on TLS 1.2).
    InvalidState,
}

/// A TLS failure with OpenSSL's error queue rendered as lines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsError {
    /// Broad class.
    pub kind: TlsErrorKind,
    /// One-line summary (the most specific reason OpenSSL gave).
    pub reason: String,
    /// OpenSSL's error queue, one entry per line, in `ERR_print_errors` style.
    pub stack: Vec<String>,
    /// The alert we sent to the peer, if any (TLS alert description code, e.g. 42
    /// `bad_certificate`, 50 `decode_error`).
    pub alert_sent: Option<u8>,
    /// The last alert the peer sent us, if any (description code).
    pub alert_received: Option<u8>,
    /// Certificate verification error text (`verify error:…`), when verification failed.
    pub verify_error: Option<String>,
}

impl TlsError {
    /// A new error of `kind` with a reason and no OpenSSL stack.
    pub fn new(kind: TlsErrorKind, reason: impl Into<String>) -> Self {
        TlsError {
            kind,
            reason: reason.into(),
            stack: Vec::new(),
            alert_sent: None,
            alert_received: None,
            verify_error: None,
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TlsError {}

/// Why a session failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The TLS layer failed.
    Tls(TlsError),
    /// The handshake did not finish within the configured time.
    HandshakeTimeout,
    /// The connection was idle for longer than allowed.
    IdleTimeout,
    /// The peer read none of our data for longer than allowed (see
    /// [`crate::SessionOptions::send_timeout`]).
    SendStalled,
    /// The peer sent more than a bounded buffer can hold.
    BufferLimit(&'static str),
    /// DTLS: a half-open association (valid cookie, handshake unfinished) made room for a
    /// newer one at the listener's half-open limit.
    HalfOpenEvicted,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Tls(e) => write!(f, "{e}"),
            SessionError::HandshakeTimeout => f.write_str("handshake timed out"),
            SessionError::IdleTimeout => f.write_str("connection idle for too long"),
            SessionError::SendStalled => f.write_str("peer stopped reading"),
            SessionError::BufferLimit(what) => write!(f, "peer exceeded the {what} limit"),
            SessionError::HalfOpenEvicted => {
                f.write_str("half-open association evicted (too many unfinished handshakes)")
            }
        }
    }
}

impl From<TlsError> for SessionError {
    fn from(e: TlsError) -> Self {
        SessionError::Tls(e)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SessionError {}
