//! Tells OpenSSL when the peer's transport has ended, so a stream cut short is treated as over a
//! socket: a `decode_error` alert ("unexpected eof while reading"), or a clean close with
//! `-ignore_unexpected_eof`.
//!
//! OpenSSL decides this with `BIO_eof` on the read BIO once a read returned nothing
//! (`ssl3_read_n`). The `openssl` crate's stream BIO answers every control it does not know with
//! 0, so over the in-memory transport OpenSSL never learned of the end: it neither sent the
//! alert s_server sends nor honoured `SSL_OP_IGNORE_UNEXPECTED_EOF`. A BIO callback may replace
//! the result of any control call, so one answers `BIO_CTRL_EOF` from the connection's
//! [`ConnEvents`](super::callbacks::ConnEvents) flag and passes everything else through.
//!
//! OpenSSL 1.1.1 has no `SSL_OP_IGNORE_UNEXPECTED_EOF` (and sends no alert at such an EOF: its
//! read fails with `SSL_ERROR_SYSCALL` and an empty error queue). There the context is marked
//! instead, and [`ignored`] lets the connection turn that failure into the clean end the option
//! gives with 3.x.

use core::ffi::{c_char, c_int, c_long};
use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslContextBuilder, SslRef};

use super::callbacks::events_index;
use super::ffi;

/// Answers `BIO_eof` on a transport BIO whose callback argument is its `SSL`: `Some(result)` for
/// that control, `None` for every other operation (the caller returns `ret` unchanged).
///
/// The flag says only that the peer's transport ended, not that every byte was read; that is
/// exact here because libssl asks only after a read of the transport returned 0 without "retry",
/// which the memory transport does only once its input is empty and ended.
pub(crate) fn answer(bio: *mut openssl_sys::BIO, oper: c_int, argi: c_int) -> Option<c_long> {
    if oper != ffi::BIO_CB_CTRL | ffi::BIO_CB_RETURN || argi != ffi::BIO_CTRL_EOF {
        return None;
    }
    // SAFETY: `bio` is the live BIO the callback is installed on; its callback argument is the
    // SSL owning it (set in `attach` or `output::attach`), alive as long as the BIO is.
    let ssl = unsafe { ffi::BIO_get_callback_arg(bio) }.cast::<openssl_sys::SSL>();
    if ssl.is_null() {
        return Some(0);
    }
    // SAFETY: see above; only read access to the SSL's ex_data.
    let ssl = unsafe { SslRef::from_ptr(ssl) };
    let eof = ssl.ex_data(events_index()).is_some_and(|e| e.transport_eof());
    Some(c_long::from(eof))
}

extern "C" fn eof_cb(
    bio: *mut openssl_sys::BIO,
    oper: c_int,
    _argp: *const c_char,
    _len: usize,
    argi: c_int,
    _argl: c_long,
    ret: c_int,
    _processed: *mut usize,
) -> c_long {
    answer(bio, oper, argi).unwrap_or(c_long::from(ret))
}

/// Installs the `BIO_eof` answer on a stream connection's transport BIO. With `-debug` the
/// transport callback is already there and answers it itself (a BIO has one callback).
pub(crate) fn attach(ssl: &SslRef) {
    let raw = ssl.as_ptr();
    // SAFETY: live SSL; its read BIO is owned by the SSL, so the SSL pointer stored as the
    // callback argument outlives every call of the callback.
    unsafe {
        let bio = openssl_sys::SSL_get_rbio(raw);
        if !bio.is_null() && ffi::BIO_get_callback_ex(bio).is_none() {
            ffi::BIO_set_callback_arg(bio, raw.cast());
            ffi::BIO_set_callback_ex(bio, Some(eof_cb));
        }
    }
}

/// Marks a context whose connections take a transport EOF without close_notify as a clean
/// end, on an OpenSSL without `SSL_OP_IGNORE_UNEXPECTED_EOF`.
#[cfg(not(ossl300))]
fn ignore_index() -> openssl::ex_data::Index<openssl::ssl::SslContext, ()> {
    static INDEX: std::sync::OnceLock<openssl::ex_data::Index<openssl::ssl::SslContext, ()>> =
        std::sync::OnceLock::new();
    *INDEX.get_or_init(|| openssl::ssl::SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// `-ignore_unexpected_eof`: `SSL_OP_IGNORE_UNEXPECTED_EOF` with OpenSSL 3.x, the context mark
/// [`ignored`] reads with 1.1.1.
pub(crate) fn ignore_unexpected_eof(ctx: &mut SslContextBuilder) {
    #[cfg(ossl300)]
    ctx.set_options(openssl::ssl::SslOptions::IGNORE_UNEXPECTED_EOF);
    #[cfg(not(ossl300))]
    ctx.set_ex_data(ignore_index(), ());
}

/// Should a read that failed at the peer's transport EOF without close_notify end the
/// connection cleanly (1.1.1 with [`ignore_unexpected_eof`])? Always false with 3.x, where
/// OpenSSL itself reports such an end as `SSL_ERROR_ZERO_RETURN`.
pub(crate) fn ignored(ssl: &SslRef) -> bool {
    #[cfg(ossl300)]
    {
        let _ = ssl;
        false
    }
    #[cfg(not(ossl300))]
    {
        ssl.ssl_context().ex_data(ignore_index()).is_some()
            && ssl.ex_data(events_index()).is_some_and(|e| e.transport_eof())
    }
}
