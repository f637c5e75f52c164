//! `SSL_CONF_cmd`: s_server's TLS knobs (`-cipher`, `-groups`, `-no_tls1_2`, …) applied by name,
//! exactly as `apps/s_server.c` does through `config_ctx`.

use alloc::ffi::CString;
use alloc::string::ToString;

use super::errors::take_queue;
use super::ffi;
use crate::error::{TlsError, TlsErrorKind};

/// An owned `SSL_CONF_CTX` bound to one `SSL_CTX`; freed exactly once in `Drop`.
pub(crate) struct ConfCtx(*mut ffi::SslConfCtx);

impl ConfCtx {
    /// A command-line, server-side configuration context for `ctx`.
    pub(crate) fn new(ctx: *mut openssl_sys::SSL_CTX) -> Result<Self, TlsError> {
        // SAFETY: SSL_CONF_CTX_new returns an owned context or NULL.
        let c = unsafe { ffi::SSL_CONF_CTX_new() };
        if c.is_null() {
            return Err(take_queue(TlsErrorKind::Config, "SSL_CONF_CTX_new"));
        }
        let cctx = ConfCtx(c);
        // SAFETY: `c` is valid; `ctx` is a live SSL_CTX that outlives this ConfCtx (the builder
        // holds it for the whole configuration phase).
        unsafe {
            ffi::SSL_CONF_CTX_set_flags(
                c,
                ffi::SSL_CONF_FLAG_CMDLINE | ffi::SSL_CONF_FLAG_SERVER | ffi::SSL_CONF_FLAG_SHOW_ERRORS,
            );
            ffi::SSL_CONF_CTX_set_ssl_ctx(c, ctx);
        }
        Ok(cctx)
    }

    /// Does OpenSSL know `cmd` (with its leading `-`)? Returns whether it takes a value.
    pub(crate) fn lookup(&self, cmd: &str) -> Option<bool> {
        let c = CString::new(cmd).ok()?;
        // SAFETY: both pointers are valid for the call.
        let t = unsafe { ffi::SSL_CONF_cmd_value_type(self.0, c.as_ptr()) };
        match t {
            ffi::SSL_CONF_TYPE_UNKNOWN => None,
            ffi::SSL_CONF_TYPE_NONE => Some(false),
            _ => Some(true),
        }
    }

    /// Applies one command.
    pub(crate) fn cmd(&mut self, cmd: &str, value: Option<&str>) -> Result<(), TlsError> {
        let bad = |why: &str| TlsError::new(TlsErrorKind::Config, alloc::format!("{cmd}: {why}"));
        let c = CString::new(cmd).map_err(|_| bad("contains a NUL byte"))?;
        let v = value
            .map(CString::new)
            .transpose()
            .map_err(|_| bad("value contains a NUL byte"))?;
        let vp = v.as_ref().map_or(core::ptr::null(), |v| v.as_ptr());
        // SAFETY: all pointers valid for the call; OpenSSL copies what it keeps.
        let r = unsafe { ffi::SSL_CONF_cmd(self.0, c.as_ptr(), vp) };
        match r {
            r if r > 0 => Ok(()),
            -2 => Err(bad("unknown option")),
            -3 => Err(bad("missing value")),
            _ => {
                let mut e = take_queue(
                    TlsErrorKind::Config,
                    &alloc::format!("Error with command: \"{} {}\"", cmd, value.unwrap_or("")),
                );
                if e.stack.is_empty() {
                    e.reason = alloc::format!("Error with command: \"{} {}\"", cmd, value.unwrap_or(""))
                        .trim_end()
                        .to_string();
                }
                Err(e)
            }
        }
    }

    /// Finishes the configuration (`SSL_CONF_CTX_finish`).
    pub(crate) fn finish(&mut self) -> Result<(), TlsError> {
        // SAFETY: valid context.
        if unsafe { ffi::SSL_CONF_CTX_finish(self.0) } > 0 {
            Ok(())
        } else {
            Err(take_queue(TlsErrorKind::Config, "SSL_CONF_CTX_finish"))
        }
    }
}

impl Drop for ConfCtx {
    fn drop(&mut self) {
        // SAFETY: we own the only reference, created in `new`.
        unsafe { ffi::SSL_CONF_CTX_free(self.0) };
    }
}
