//! Tells OpenSSL when the peer's transport has ended, so a stream cut short is treated as over a
//! socket: a `decode_error` alert ("unexpected eof while reading"), or a clean close with
//! `-ignore_unexpected_eof`.
//!
//! OpenSSL decides this with `BIO_eof` on the read BIO once a read returned nothing
//! (`ssl3_read_n`); the transport BIO (`ossl::bio`) answers it from the transport's state, so
//! OpenSSL sends the alert s_server sends and honours `SSL_OP_IGNORE_UNEXPECTED_EOF`.
//!
//! OpenSSL 1.1.1 has no `SSL_OP_IGNORE_UNEXPECTED_EOF` (and sends no alert at such an EOF: its
//! read fails with `SSL_ERROR_SYSCALL` and an empty error queue). There the context is marked
//! instead, and [`ignored`] lets the connection turn that failure into the clean end the option
//! gives with 3.x.

use openssl::ssl::{SslContextBuilder, SslRef};

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

/// Should a read that failed at the peer's transport EOF (`input_ended`) without close_notify
/// end the connection cleanly (1.1.1 with [`ignore_unexpected_eof`])? Always false with 3.x,
/// where OpenSSL itself reports such an end as `SSL_ERROR_ZERO_RETURN`.
pub(crate) fn ignored(ssl: &SslRef, input_ended: bool) -> bool {
    #[cfg(ossl300)]
    {
        let _ = (ssl, input_ended);
        false
    }
    #[cfg(not(ossl300))]
    {
        input_ended && ssl.ssl_context().ex_data(ignore_index()).is_some()
    }
}
