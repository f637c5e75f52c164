//! OpenSSL functions and control codes that `openssl-sys` does not declare.
//!
//! Each item names the OpenSSL 3.0 man page (or header) it comes from. C macros are reached
//! through `SSL_ctrl`/`SSL_CTX_ctrl` with the control codes of `include/openssl/ssl.h.in`.

use core::ffi::{c_char, c_int, c_uint, c_void};
use openssl_sys::{BIO, SSL, SSL_CTX, SSL_SESSION};

/// Opaque `SSL_CONF_CTX` (SSL_CONF_CTX_new(3)).
#[repr(C)]
pub(crate) struct SslConfCtx {
    _private: [u8; 0],
}

extern "C" {
    // SSL_key_update(3)
    pub(crate) fn SSL_key_update(s: *mut SSL, updatetype: c_int) -> c_int;
    // SSL_key_update(3)
    pub(crate) fn SSL_renegotiate(s: *mut SSL) -> c_int;
    // SSL_key_update(3)
    pub(crate) fn SSL_renegotiate_pending(s: *const SSL) -> c_int;
    // SSL_verify_client_post_handshake(3)
    pub(crate) fn SSL_verify_client_post_handshake(s: *mut SSL) -> c_int;
    // SSL_CONF_CTX_new(3), SSL_CONF_CTX_set_flags(3), SSL_CONF_CTX_set_ssl_ctx(3), SSL_CONF_cmd(3)
    pub(crate) fn SSL_CONF_CTX_new() -> *mut SslConfCtx;
    pub(crate) fn SSL_CONF_CTX_free(cctx: *mut SslConfCtx);
    pub(crate) fn SSL_CONF_CTX_set_flags(cctx: *mut SslConfCtx, flags: u32) -> u32;
    pub(crate) fn SSL_CONF_CTX_set_ssl_ctx(cctx: *mut SslConfCtx, ctx: *mut SSL_CTX);
    pub(crate) fn SSL_CONF_cmd(cctx: *mut SslConfCtx, cmd: *const c_char, value: *const c_char) -> c_int;
    pub(crate) fn SSL_CONF_cmd_value_type(cctx: *mut SslConfCtx, cmd: *const c_char) -> c_int;
    pub(crate) fn SSL_CONF_CTX_finish(cctx: *mut SslConfCtx) -> c_int;
    // SSL_get_ciphers(3)
    pub(crate) fn SSL_get_ciphers(s: *const SSL) -> *mut openssl_sys::stack_st_SSL_CIPHER;
    // SSL_get_ciphers(3)
    pub(crate) fn SSL_get_shared_ciphers(s: *const SSL, buf: *mut c_char, size: c_int) -> *mut c_char;
    // SSL_SESSION_print(3)
    pub(crate) fn SSL_SESSION_print(bp: *mut BIO, x: *const SSL_SESSION) -> c_int;
    // PEM_write_bio_SSL_SESSION(3)
    pub(crate) fn PEM_write_bio_SSL_SESSION(bp: *mut BIO, x: *const SSL_SESSION) -> c_int;
    // SSL_group_to_name(3)
    pub(crate) fn SSL_group_to_name(s: *mut SSL, id: c_int) -> *const c_char;
    // SSL_get_client_ciphers(3)
    pub(crate) fn SSL_get_client_ciphers(s: *const SSL) -> *mut openssl_sys::stack_st_SSL_CIPHER;
    // SSL_get_sigalgs(3)
    pub(crate) fn SSL_get_sigalgs(
        s: *mut SSL,
        idx: c_int,
        psign: *mut c_int,
        phash: *mut c_int,
        psignhash: *mut c_int,
        rsig: *mut u8,
        rhash: *mut u8,
    ) -> c_int;
    // SSL_get_sigalgs(3)
    pub(crate) fn SSL_get_shared_sigalgs(
        s: *mut SSL,
        idx: c_int,
        psign: *mut c_int,
        phash: *mut c_int,
        psignhash: *mut c_int,
        rsig: *mut u8,
        rhash: *mut u8,
    ) -> c_int;
    // SSL_get_peer_signature_nid(3)
    pub(crate) fn SSL_get_peer_signature_type_nid(s: *const SSL, pnid: *mut c_int) -> c_int;
    // DTLSv1_listen(3)
    pub(crate) fn DTLSv1_listen(s: *mut SSL, client: *mut BioAddr) -> c_int;
    // BIO_ADDR(3)
    pub(crate) fn BIO_ADDR_new() -> *mut BioAddr;
    pub(crate) fn BIO_ADDR_free(ap: *mut BioAddr);
    // DTLS_set_timer_cb(3)
    pub(crate) fn DTLS_set_timer_cb(s: *mut SSL, cb: Option<extern "C" fn(*mut SSL, c_uint) -> c_uint>);
    // DTLS_get_data_mtu(3)
    pub(crate) fn DTLS_get_data_mtu(s: *const SSL) -> usize;
    // SSL_CTX_set_split_send_fragment(3)
    pub(crate) fn SSL_CTX_set_default_read_buffer_len(ctx: *mut SSL_CTX, len: usize);
    // ssl.h.in (undocumented; s_server's -no_resume_ephemeral)
    pub(crate) fn SSL_CTX_set_not_resumable_session_callback(
        ctx: *mut SSL_CTX,
        cb: Option<extern "C" fn(*mut SSL, c_int) -> c_int>,
    );
    // --- transport ---
    // SSL_CTX_config(3)
    pub(crate) fn SSL_CTX_config(ctx: *mut SSL_CTX, name: *const c_char) -> c_int;
    // EVP_set_default_properties(3)
    pub(crate) fn EVP_set_default_properties(libctx: *mut c_void, propq: *const c_char) -> c_int;
    // RAND_load_file(3)
    pub(crate) fn RAND_load_file(filename: *const c_char, max_bytes: core::ffi::c_long) -> c_int;
    // RAND_load_file(3)
    pub(crate) fn RAND_write_file(filename: *const c_char) -> c_int;
}

/// Opaque `BIO_ADDR` (BIO_ADDR(3)).
#[repr(C)]
pub(crate) struct BioAddr {
    _private: [u8; 0],
}

/// `struct timeval` (LP64 Linux: two `long`s), filled by `DTLSv1_get_timeout`.
#[repr(C)]
pub(crate) struct Timeval {
    pub(crate) tv_sec: core::ffi::c_long,
    pub(crate) tv_usec: core::ffi::c_long,
}

/// `DTLSv1_get_timeout(ssl, tv)` is `SSL_ctrl(ssl, DTLS_CTRL_GET_TIMEOUT, 0, tv)`.
pub(crate) const DTLS_CTRL_GET_TIMEOUT: c_int = 73;
/// `DTLSv1_handle_timeout(ssl)` is `SSL_ctrl(ssl, DTLS_CTRL_HANDLE_TIMEOUT, 0, NULL)`.
pub(crate) const DTLS_CTRL_HANDLE_TIMEOUT: c_int = 74;

/// `SSL_KEY_UPDATE_NOT_REQUESTED` (SSL_key_update(3)).
pub(crate) const SSL_KEY_UPDATE_NOT_REQUESTED: c_int = 0;
/// `SSL_KEY_UPDATE_REQUESTED` (SSL_key_update(3)).
pub(crate) const SSL_KEY_UPDATE_REQUESTED: c_int = 1;

/// SSL_CONF_CTX_set_flags(3).
pub(crate) const SSL_CONF_FLAG_CMDLINE: u32 = 0x1;
pub(crate) const SSL_CONF_FLAG_SERVER: u32 = 0x8;
pub(crate) const SSL_CONF_FLAG_SHOW_ERRORS: u32 = 0x10;
// SSL_CONF_FLAG_CERTIFICATE (0x20) is deliberately never set: its commands (-cert, -key,
// -dhparam, -verifyCAfile, …) read files, and the engine never touches the file system.
/// SSL_CONF_cmd_value_type(3).
pub(crate) const SSL_CONF_TYPE_UNKNOWN: c_int = 0;
pub(crate) const SSL_CONF_TYPE_NONE: c_int = 4;

// ssl.h.in control codes for the macros we use.
pub(crate) const SSL_CTRL_SESS_NUMBER: c_int = 20;
pub(crate) const SSL_CTRL_SESS_CONNECT: c_int = 21;
pub(crate) const SSL_CTRL_SESS_CONNECT_GOOD: c_int = 22;
pub(crate) const SSL_CTRL_SESS_CONNECT_RENEGOTIATE: c_int = 23;
pub(crate) const SSL_CTRL_SESS_ACCEPT: c_int = 24;
pub(crate) const SSL_CTRL_SESS_ACCEPT_GOOD: c_int = 25;
pub(crate) const SSL_CTRL_SESS_ACCEPT_RENEGOTIATE: c_int = 26;
pub(crate) const SSL_CTRL_SESS_HIT: c_int = 27;
pub(crate) const SSL_CTRL_SESS_CB_HIT: c_int = 28;
pub(crate) const SSL_CTRL_SESS_MISSES: c_int = 29;
pub(crate) const SSL_CTRL_SESS_TIMEOUTS: c_int = 30;
pub(crate) const SSL_CTRL_SESS_CACHE_FULL: c_int = 31;
pub(crate) const SSL_CTRL_GET_SESS_CACHE_SIZE: c_int = 43;
pub(crate) const SSL_CTRL_SET_MAX_SEND_FRAGMENT: c_int = 52;
pub(crate) const SSL_CTRL_GET_RI_SUPPORT: c_int = 76;
pub(crate) const SSL_CTRL_GET_GROUPS: c_int = 90;
pub(crate) const SSL_CTRL_GET_SHARED_GROUP: c_int = 93;
/// 108 (107 is `SSL_CTRL_SET_CHAIN_CERT_STORE`, which would store our out-pointer as an `X509_STORE`).
pub(crate) const SSL_CTRL_GET_PEER_SIGNATURE_NID: c_int = 108;
pub(crate) const SSL_CTRL_SET_DH_AUTO: c_int = 118;
pub(crate) const SSL_CTRL_SET_SPLIT_SEND_FRAGMENT: c_int = 125;
pub(crate) const SSL_CTRL_SET_MAX_PIPELINES: c_int = 126;
pub(crate) const SSL_CTRL_GET_NEGOTIATED_GROUP: c_int = 134;
/// `SSL_OP_DISABLE_TLSEXT_CA_NAMES` (`SSL_OP_BIT(9)`, SSL_CTX_set_options(3)).
pub(crate) const SSL_OP_DISABLE_TLSEXT_CA_NAMES: u64 = 1 << 9;
/// `BIO_get_mem_data` is `BIO_ctrl(b, BIO_CTRL_INFO, 0, &ptr)`.
pub(crate) const BIO_CTRL_INFO: c_int = 3;

pub(crate) use openssl_sys::SSL_CTX_ctrl;
/// Signature of `SSL_ctrl` (re-exported so call sites read the same).
pub(crate) use openssl_sys::SSL_ctrl;

/// Unused-argument helper for ctrl calls.
pub(crate) const NO_ARG: *mut c_void = core::ptr::null_mut();

#[cfg(test)]
mod tests {
    /// Taking each symbol's address makes the linker check every declaration.
    #[test]
    fn every_declared_symbol_links() {
        let addrs = [
            super::SSL_key_update as *const () as usize,
            super::SSL_renegotiate as *const () as usize,
            super::SSL_renegotiate_pending as *const () as usize,
            super::SSL_verify_client_post_handshake as *const () as usize,
            super::SSL_CONF_CTX_new as *const () as usize,
            super::SSL_CONF_CTX_free as *const () as usize,
            super::SSL_CONF_CTX_set_flags as *const () as usize,
            super::SSL_CONF_CTX_set_ssl_ctx as *const () as usize,
            super::SSL_CONF_cmd as *const () as usize,
            super::SSL_CONF_cmd_value_type as *const () as usize,
            super::SSL_CONF_CTX_finish as *const () as usize,
            super::SSL_get_shared_ciphers as *const () as usize,
            super::SSL_get_ciphers as *const () as usize,
            super::SSL_SESSION_print as *const () as usize,
            super::PEM_write_bio_SSL_SESSION as *const () as usize,
            super::SSL_group_to_name as *const () as usize,
            super::SSL_get_client_ciphers as *const () as usize,
            super::SSL_get_sigalgs as *const () as usize,
            super::SSL_get_shared_sigalgs as *const () as usize,
            super::SSL_get_peer_signature_type_nid as *const () as usize,
            super::DTLSv1_listen as *const () as usize,
            super::BIO_ADDR_new as *const () as usize,
            super::BIO_ADDR_free as *const () as usize,
            super::DTLS_set_timer_cb as *const () as usize,
            super::DTLS_get_data_mtu as *const () as usize,
            // --- transport ---
            super::SSL_CTX_config as *const () as usize,
            super::EVP_set_default_properties as *const () as usize,
            super::RAND_load_file as *const () as usize,
            super::RAND_write_file as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }
}
