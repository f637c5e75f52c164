//! OpenSSL's error queue as typed errors.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use openssl::error::ErrorStack;
use openssl::ssl::ErrorCode;

use super::bio::SslIoError;

use crate::error::{TlsError, TlsErrorKind};

/// `SSL_R_UNEXPECTED_EOF_WHILE_READING` (ssl/sslerr.h): OpenSSL 3's report of a missing
/// close_notify.
const SSL_R_UNEXPECTED_EOF_WHILE_READING: i32 = 294;

/// Renders one queue entry the way `ERR_print_errors` does (without the thread id prefix).
fn render(e: &openssl::error::Error) -> String {
    let mut line = alloc::format!("error:{:08X}:{}", e.code(), e.library().unwrap_or("unknown library"));
    line.push(':');
    line.push_str(e.function().unwrap_or(""));
    line.push(':');
    line.push_str(e.reason().unwrap_or("unknown reason"));
    if let Some(data) = e.data() {
        line.push(':');
        line.push_str(data);
    }
    line
}

/// A configuration-time failure (bad key, cipher string, …) with OpenSSL's queue.
pub(crate) fn config_error(context: &str, stack: &ErrorStack) -> TlsError {
    from_stack(TlsErrorKind::Config, context, stack)
}

fn from_stack(kind: TlsErrorKind, context: &str, stack: &ErrorStack) -> TlsError {
    let lines: Vec<String> = stack.errors().iter().map(render).collect();
    let last_reason = stack.errors().last().and_then(|e| e.reason()).map(ToString::to_string);
    let reason = match last_reason {
        Some(r) if context.is_empty() => r,
        Some(r) => alloc::format!("{context}: {r}"),
        None => context.to_string(),
    };
    TlsError {
        kind,
        reason,
        stack: lines,
        alert_sent: None,
        alert_received: None,
        verify_error: None,
    }
}

/// Drains OpenSSL's thread-local error queue (after a raw call failed).
pub(crate) fn take_queue(kind: TlsErrorKind, context: &str) -> TlsError {
    from_stack(kind, context, &ErrorStack::get())
}

/// A failed `SSL_*` I/O call.
pub(crate) fn from_ssl_error(e: SslIoError) -> TlsError {
    let code = e.code;
    match &e.stack {
        Some(stack) => {
            let eof = stack
                .errors()
                .iter()
                .any(|x| x.reason_code() == SSL_R_UNEXPECTED_EOF_WHILE_READING);
            let kind = if eof {
                TlsErrorKind::UnexpectedEof
            } else {
                TlsErrorKind::Protocol
            };
            from_stack(kind, "", stack)
        }
        None if code == ErrorCode::SYSCALL => {
            TlsError::new(TlsErrorKind::UnexpectedEof, "unexpected eof while reading")
        }
        None => TlsError::new(
            TlsErrorKind::Protocol,
            alloc::format!("TLS failure (SSL_get_error {})", code.as_raw()),
        ),
    }
}
