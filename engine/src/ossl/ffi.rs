//! OpenSSL functions and control codes that `openssl-sys` does not declare.
//!
//! Each item names the OpenSSL 3.0 man page (or header) it comes from. C macros are reached
//! through `SSL_ctrl`/`SSL_CTX_ctrl` with the control codes of `include/openssl/ssl.h.in`.

use core::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
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
    // SSL_pending(3)
    pub(crate) fn SSL_has_pending(s: *const SSL) -> c_int;
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
    // SSL_group_to_name(3) (3.0; 1.1.1 names groups by NID, see info.rs)
    #[cfg(ossl300)]
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
    // SSL_CTX_set_read_ahead(3)
    pub(crate) fn SSL_set_read_ahead(s: *mut SSL, yes: c_int);
    // SSL_free_buffers(3)
    pub(crate) fn SSL_free_buffers(s: *mut SSL) -> c_int;
    // SSL_rstate_string(3)
    pub(crate) fn SSL_rstate_string(s: *const SSL) -> *const c_char;
    // SSL_free_buffers(3) (SSL_alloc_buffers)
    pub(crate) fn SSL_alloc_buffers(s: *mut SSL) -> c_int;
    // SSL_CTX_set_split_send_fragment(3)
    pub(crate) fn SSL_CTX_set_default_read_buffer_len(ctx: *mut SSL_CTX, len: usize);
    // ssl.h.in (undocumented; s_server's -no_resume_ephemeral)
    pub(crate) fn SSL_CTX_set_not_resumable_session_callback(
        ctx: *mut SSL_CTX,
        cb: Option<extern "C" fn(*mut SSL, c_int) -> c_int>,
    );
    // SSL_CTX_config(3)
    pub(crate) fn SSL_CTX_config(ctx: *mut SSL_CTX, name: *const c_char) -> c_int;
    // EVP_set_default_properties(3) (3.0)
    #[cfg(ossl300)]
    pub(crate) fn EVP_set_default_properties(libctx: *mut c_void, propq: *const c_char) -> c_int;
    // X509_NAME_print_ex(3)
    pub(crate) fn X509_NAME_print_ex(
        out: *mut BIO,
        nm: *const openssl_sys::X509_NAME,
        indent: c_int,
        flags: c_ulong,
    ) -> c_int;
    pub(crate) fn X509_NAME_oneline(a: *const openssl_sys::X509_NAME, buf: *mut c_char, size: c_int) -> *mut c_char;
    // X509_STORE_add_cert(3)
    pub(crate) fn X509_STORE_add_crl(store: *mut openssl_sys::X509_STORE, x: *mut openssl_sys::X509_CRL) -> c_int;
    // X509_VERIFY_PARAM_set_flags(3)
    pub(crate) fn X509_VERIFY_PARAM_add0_policy(
        param: *mut openssl_sys::X509_VERIFY_PARAM,
        policy: *mut openssl_sys::ASN1_OBJECT,
    ) -> c_int;
    pub(crate) fn X509_VERIFY_PARAM_set1_ip_asc(
        param: *mut openssl_sys::X509_VERIFY_PARAM,
        ipasc: *const c_char,
    ) -> c_int;
    // x509_vfy.h (X509_VERIFY_PARAM_lookup, X509_VERIFY_PARAM_set1)
    pub(crate) fn X509_VERIFY_PARAM_lookup(name: *const c_char) -> *const openssl_sys::X509_VERIFY_PARAM;
    pub(crate) fn X509_VERIFY_PARAM_set1(
        to: *mut openssl_sys::X509_VERIFY_PARAM,
        from: *const openssl_sys::X509_VERIFY_PARAM,
    ) -> c_int;
    // X509_STORE_CTX_get_error(3), x509_vfy.h policy tree accessors (apps.c policies_print)
    pub(crate) fn X509_STORE_CTX_get_explicit_policy(ctx: *const openssl_sys::X509_STORE_CTX) -> c_int;
    pub(crate) fn X509_STORE_CTX_get0_policy_tree(ctx: *const openssl_sys::X509_STORE_CTX) -> *mut c_void;
    pub(crate) fn X509_policy_tree_get0_policies(tree: *const c_void) -> *mut c_void;
    pub(crate) fn X509_policy_tree_get0_user_policies(tree: *const c_void) -> *mut c_void;
    pub(crate) fn X509_POLICY_NODE_print(out: *mut BIO, node: *const c_void, indent: c_int);
    // SSL_CTX_use_serverinfo(3)
    pub(crate) fn SSL_CTX_use_serverinfo_ex(
        ctx: *mut SSL_CTX,
        version: c_uint,
        serverinfo: *const u8,
        serverinfo_length: usize,
    ) -> c_int;
    // SSL_CTX_set_cert_cb(3)
    pub(crate) fn SSL_CTX_set_cert_cb(
        ctx: *mut SSL_CTX,
        cb: Option<extern "C" fn(*mut SSL, *mut c_void) -> c_int>,
        arg: *mut c_void,
    );
    // SSL_check_chain(3)
    pub(crate) fn SSL_check_chain(
        s: *mut SSL,
        x: *mut openssl_sys::X509,
        pk: *mut openssl_sys::EVP_PKEY,
        chain: *mut openssl_sys::stack_st_X509,
    ) -> c_int;
    // SSL_CTX_add_extra_chain_cert(3) (SSL_certs_clear is declared in ssl.h)
    pub(crate) fn SSL_certs_clear(s: *mut SSL);
    // SSL_CTX_set_generate_session_id(3)
    pub(crate) fn SSL_CTX_set_generate_session_id(
        ctx: *mut SSL_CTX,
        cb: Option<extern "C" fn(*mut SSL, *mut u8, *mut c_uint) -> c_int>,
    ) -> c_int;
    // SSL_CTX_set_generate_session_id(3)
    pub(crate) fn SSL_has_matching_session_id(s: *const SSL, id: *const u8, id_len: c_uint) -> c_int;
    // SSL_stateless(3) (DTLSv1_listen(3))
    pub(crate) fn SSL_stateless(s: *mut SSL) -> c_int;
    // OCSP_resp_find_status(3)
    pub(crate) fn OCSP_resp_count(bs: *mut openssl_sys::OCSP_BASICRESP) -> c_int;
    pub(crate) fn OCSP_resp_get0(bs: *mut openssl_sys::OCSP_BASICRESP, idx: c_int) -> *mut OcspSingleResp;
    pub(crate) fn OCSP_single_get0_status(
        single: *mut OcspSingleResp,
        reason: *mut c_int,
        revtime: *mut *mut openssl_sys::ASN1_GENERALIZEDTIME,
        thisupd: *mut *mut openssl_sys::ASN1_GENERALIZEDTIME,
        nextupd: *mut *mut openssl_sys::ASN1_GENERALIZEDTIME,
    ) -> c_int;
    // ASN1_TIME_diff(3)
    pub(crate) fn ASN1_TIME_diff(
        pday: *mut c_int,
        psec: *mut c_int,
        from: *const openssl_sys::ASN1_TIME,
        to: *const openssl_sys::ASN1_TIME,
    ) -> c_int;
    // ocsp.h (OCSP_RESPONSE_print, undocumented; used by s_server -status_verbose)
    pub(crate) fn OCSP_RESPONSE_print(
        bp: *mut BIO,
        o: *mut openssl_sys::OCSP_RESPONSE,
        flags: core::ffi::c_ulong,
    ) -> c_int;
}

/// Opaque `OCSP_SINGLERESP` (OCSP_resp_find_status(3)).
#[repr(C)]
pub(crate) struct OcspSingleResp {
    _private: [u8; 0],
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
/// `SSL_clear_mode(s, m)` is `SSL_ctrl(s, SSL_CTRL_CLEAR_MODE, m, NULL)`.
pub(crate) const SSL_CTRL_CLEAR_MODE: c_int = 78;
/// `SSL_CTX_set1_chain` is `SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN, 1, sk)` (certs).
pub(crate) const SSL_CTRL_CHAIN: c_int = 88;
/// `SSL_set_cert_flags(s, 0)` is `SSL_ctrl(s, SSL_CTRL_CERT_FLAGS, 0, NULL)` and returns the flags.
pub(crate) const SSL_CTRL_CERT_FLAGS: c_int = 99;
/// `SSL_build_cert_chain(s, flags)` is `SSL_ctrl(s, SSL_CTRL_BUILD_CERT_CHAIN, flags, NULL)`.
pub(crate) const SSL_CTRL_BUILD_CERT_CHAIN: c_int = 105;
pub(crate) const SSL_CTRL_SET_SPLIT_SEND_FRAGMENT: c_int = 125;
pub(crate) const SSL_CTRL_SET_MAX_PIPELINES: c_int = 126;
/// `SSL_get_negotiated_group` (3.0).
#[cfg(ossl300)]
pub(crate) const SSL_CTRL_GET_NEGOTIATED_GROUP: c_int = 134;
/// `SSL_OP_DISABLE_TLSEXT_CA_NAMES` (`SSL_OP_BIT(9)`, SSL_CTX_set_options(3)).
pub(crate) const SSL_OP_DISABLE_TLSEXT_CA_NAMES: u64 = 1 << 9;
/// `BIO_get_mem_data` is `BIO_ctrl(b, BIO_CTRL_INFO, 0, &ptr)`.
pub(crate) const BIO_CTRL_INFO: c_int = 3;

pub(crate) use openssl_sys::SSL_CTX_ctrl;
/// Signature of `SSL_ctrl` (re-exported so call sites read the same).
pub(crate) use openssl_sys::SSL_ctrl;

/// `SSL_CTX_get_extra_chain_certs` (SSL_CTX_add_extra_chain_cert(3)).
pub(crate) const SSL_CTRL_GET_EXTRA_CHAIN_CERTS: c_int = 82;
/// `SSL_CTX_clear_extra_chain_certs` (SSL_CTX_add_extra_chain_cert(3)).
pub(crate) const SSL_CTRL_CLEAR_EXTRA_CHAIN_CERTS: c_int = 83;
/// `SSL_CTX_add1_chain_cert` with larg 1 (SSL_CTX_add1_chain_cert(3)).
pub(crate) const SSL_CTRL_CHAIN_CERT: c_int = 89;
/// `SSL_CTX_set1_chain_cert_store` with larg 1 (SSL_CTX_set1_verify_cert_store(3)).
pub(crate) const SSL_CTRL_SET_CHAIN_CERT_STORE: c_int = 107;

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
            super::SSL_has_pending as *const () as usize,
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
            super::SSL_get_client_ciphers as *const () as usize,
            super::SSL_get_sigalgs as *const () as usize,
            super::SSL_get_shared_sigalgs as *const () as usize,
            super::SSL_get_peer_signature_type_nid as *const () as usize,
            super::DTLSv1_listen as *const () as usize,
            super::BIO_ADDR_new as *const () as usize,
            super::BIO_ADDR_free as *const () as usize,
            super::DTLS_set_timer_cb as *const () as usize,
            super::DTLS_get_data_mtu as *const () as usize,
            super::SSL_CTX_config as *const () as usize,
            super::X509_NAME_print_ex as *const () as usize,
            super::X509_NAME_oneline as *const () as usize,
            super::X509_STORE_add_crl as *const () as usize,
            super::X509_VERIFY_PARAM_add0_policy as *const () as usize,
            super::X509_VERIFY_PARAM_set1_ip_asc as *const () as usize,
            super::X509_VERIFY_PARAM_lookup as *const () as usize,
            super::X509_VERIFY_PARAM_set1 as *const () as usize,
            super::X509_STORE_CTX_get_explicit_policy as *const () as usize,
            super::X509_STORE_CTX_get0_policy_tree as *const () as usize,
            super::X509_policy_tree_get0_policies as *const () as usize,
            super::X509_policy_tree_get0_user_policies as *const () as usize,
            super::X509_POLICY_NODE_print as *const () as usize,
            super::SSL_CTX_use_serverinfo_ex as *const () as usize,
            super::SSL_CTX_set_cert_cb as *const () as usize,
            super::SSL_check_chain as *const () as usize,
            super::SSL_certs_clear as *const () as usize,
            super::SSL_CTX_set_generate_session_id as *const () as usize,
            super::SSL_has_matching_session_id as *const () as usize,
            super::SSL_stateless as *const () as usize,
            super::OCSP_resp_count as *const () as usize,
            super::OCSP_resp_get0 as *const () as usize,
            super::OCSP_single_get0_status as *const () as usize,
            super::ASN1_TIME_diff as *const () as usize,
            super::OCSP_RESPONSE_print as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }
}

// Diagnostic callbacks (`-msg`, `-trace`, `-state`, `-tlsextdebug`, `-security_debug`, `-debug`).

/// `SSL_CTX_set_msg_callback`'s callback type (SSL_CTX_set_msg_callback(3)).
pub(crate) type MsgCallback = extern "C" fn(c_int, c_int, c_int, *const c_void, usize, *mut SSL, *mut c_void);
/// The `-tlsextdebug` callback type (`SSL_set_tlsext_debug_callback`, tls1.h).
pub(crate) type TlsextDebugCallback = extern "C" fn(*mut SSL, c_int, c_int, *const u8, c_int, *mut c_void);
/// `SSL_CTX_set_security_callback`'s callback type (SSL_CTX_set_security_level(3)).
pub(crate) type SecurityCallback =
    Option<unsafe extern "C" fn(*const SSL, *const SSL_CTX, c_int, c_int, c_int, *mut c_void, *mut c_void) -> c_int>;
/// `BIO_callback_fn_ex` (BIO_set_callback(3)).
pub(crate) type BioCallbackEx = Option<
    extern "C" fn(
        *mut BIO,
        c_int,
        *const c_char,
        usize,
        c_int,
        core::ffi::c_long,
        c_int,
        *mut usize,
    ) -> core::ffi::c_long,
>;

extern "C" {
    // SSL_CTX_set_msg_callback(3)
    pub(crate) fn SSL_CTX_set_msg_callback(ctx: *mut SSL_CTX, cb: Option<MsgCallback>);
    // SSL_CTX_set_msg_callback(3) (SSL_trace, only in builds with enable-ssl-trace)
    #[cfg(ssl_trace)]
    pub(crate) fn SSL_trace(
        write_p: c_int,
        version: c_int,
        content_type: c_int,
        buf: *const c_void,
        len: usize,
        ssl: *mut SSL,
        arg: *mut c_void,
    );
    // SSL_CTX_set_info_callback(3)
    pub(crate) fn SSL_CTX_set_info_callback(ctx: *mut SSL_CTX, cb: Option<extern "C" fn(*const SSL, c_int, c_int)>);
    // SSL_alert_type_string(3)
    pub(crate) fn SSL_alert_type_string_long(value: c_int) -> *const c_char;
    // SSL_want(3)
    pub(crate) fn SSL_want(s: *const SSL) -> c_int;
    // SSL_CTX_ctrl(3): SSL_set_tlsext_debug_callback is SSL_callback_ctrl
    pub(crate) fn SSL_callback_ctrl(s: *mut SSL, cmd: c_int, fp: Option<unsafe extern "C" fn()>) -> core::ffi::c_long;
    // SSL_CTX_set_security_level(3)
    pub(crate) fn SSL_CTX_set_security_callback(ctx: *mut SSL_CTX, cb: SecurityCallback);
    pub(crate) fn SSL_CTX_get_security_callback(ctx: *const SSL_CTX) -> SecurityCallback;
    // BIO_set_callback(3)
    pub(crate) fn BIO_set_callback_ex(b: *mut BIO, cb: BioCallbackEx);
    pub(crate) fn BIO_set_callback_arg(b: *mut BIO, arg: *mut c_char);
    pub(crate) fn BIO_get_callback_arg(b: *const BIO) -> *mut c_char;
    // BIO_should_retry(3)
    pub(crate) fn BIO_test_flags(b: *const BIO, flags: c_int) -> c_int;
    // EC_GROUP_new(3)
    pub(crate) fn EC_curve_nid2nist(nid: c_int) -> *const c_char;
    // X509_get_pubkey(3)
    pub(crate) fn X509_get0_pubkey(x: *const openssl_sys::X509) -> *mut openssl_sys::EVP_PKEY;
    // EVP_PKEY_ASN1_METHOD(3)
    pub(crate) fn EVP_PKEY_get0_asn1(pkey: *const openssl_sys::EVP_PKEY) -> *const c_void;
    pub(crate) fn EVP_PKEY_asn1_get0_info(
        ppkey_id: *mut c_int,
        pkey_base_id: *mut c_int,
        ppkey_flags: *mut c_int,
        pinfo: *mut *const c_char,
        ppem_str: *mut *const c_char,
        ameth: *const c_void,
    ) -> c_int;
}

/// ssl.h.in: `SSL_set_tlsext_debug_callback`'s control code.
pub(crate) const SSL_CTRL_SET_TLSEXT_DEBUG_CB: c_int = 56;
/// ssl.h.in: `SSL_want` value while waiting to read.
pub(crate) const SSL_READING: c_int = 3;
/// ssl.h.in: `SSL_want` value while waiting to write.
pub(crate) const SSL_WRITING: c_int = 2;
/// ssl.h.in: info callback `where` bits.
pub(crate) const SSL_ST_CONNECT: c_int = 0x1000;
pub(crate) const SSL_ST_ACCEPT: c_int = 0x2000;
pub(crate) const SSL_ST_MASK: c_int = 0x0FFF;
pub(crate) const SSL_CB_LOOP: c_int = 0x01;
pub(crate) const SSL_CB_EXIT: c_int = 0x02;
pub(crate) const SSL_CB_READ: c_int = 0x04;
pub(crate) const SSL_CB_ALERT: c_int = 0x4000;
/// bio.h.in: callback operations.
pub(crate) const BIO_CB_READ: c_int = 0x02;
pub(crate) const BIO_CB_WRITE: c_int = 0x03;
pub(crate) const BIO_CB_RETURN: c_int = 0x80;
/// ssl.h.in: security callback operations.
pub(crate) const SSL_SECOP_OTHER_TYPE: c_int = 0xffff_0000_u32 as c_int;
pub(crate) const SSL_SECOP_OTHER_CIPHER: c_int = 1 << 16;
pub(crate) const SSL_SECOP_OTHER_CURVE: c_int = 2 << 16;
pub(crate) const SSL_SECOP_OTHER_PKEY: c_int = 4 << 16;
pub(crate) const SSL_SECOP_OTHER_SIGALG: c_int = 5 << 16;
pub(crate) const SSL_SECOP_OTHER_CERT: c_int = 6 << 16;
pub(crate) const SSL_SECOP_PEER: c_int = 0x1000;
pub(crate) const SSL_SECOP_CIPHER_SUPPORTED: c_int = 1 | SSL_SECOP_OTHER_CIPHER;
pub(crate) const SSL_SECOP_CIPHER_SHARED: c_int = 2 | SSL_SECOP_OTHER_CIPHER;
pub(crate) const SSL_SECOP_CIPHER_CHECK: c_int = 3 | SSL_SECOP_OTHER_CIPHER;
pub(crate) const SSL_SECOP_CURVE_SUPPORTED: c_int = 4 | SSL_SECOP_OTHER_CURVE;
pub(crate) const SSL_SECOP_CURVE_SHARED: c_int = 5 | SSL_SECOP_OTHER_CURVE;
pub(crate) const SSL_SECOP_CURVE_CHECK: c_int = 6 | SSL_SECOP_OTHER_CURVE;
pub(crate) const SSL_SECOP_TMP_DH: c_int = 7 | SSL_SECOP_OTHER_PKEY;
pub(crate) const SSL_SECOP_VERSION: c_int = 9;
pub(crate) const SSL_SECOP_TICKET: c_int = 10;
pub(crate) const SSL_SECOP_SIGALG_SUPPORTED: c_int = 11 | SSL_SECOP_OTHER_SIGALG;
pub(crate) const SSL_SECOP_SIGALG_SHARED: c_int = 12 | SSL_SECOP_OTHER_SIGALG;
pub(crate) const SSL_SECOP_SIGALG_CHECK: c_int = 13 | SSL_SECOP_OTHER_SIGALG;
pub(crate) const SSL_SECOP_SIGALG_MASK: c_int = 14 | SSL_SECOP_OTHER_SIGALG;
pub(crate) const SSL_SECOP_COMPRESSION: c_int = 15;
pub(crate) const SSL_SECOP_EE_KEY: c_int = 16 | SSL_SECOP_OTHER_CERT;
pub(crate) const SSL_SECOP_CA_KEY: c_int = 17 | SSL_SECOP_OTHER_CERT;
pub(crate) const SSL_SECOP_CA_MD: c_int = 18 | SSL_SECOP_OTHER_CERT;

#[cfg(test)]
mod version_link_tests {
    /// The declarations that exist only in some OpenSSL builds link where they are declared.
    #[test]
    #[cfg(ossl300)]
    fn ossl300_symbols_link() {
        let addrs = [
            super::SSL_group_to_name as *const () as usize,
            super::EVP_set_default_properties as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }

    /// `SSL_trace` exists only with enable-ssl-trace.
    #[test]
    #[cfg(ssl_trace)]
    fn ssl_trace_links() {
        assert_ne!(super::SSL_trace as *const () as usize, 0);
    }
}

#[cfg(test)]
mod output_link_tests {
    /// Taking each symbol's address makes the linker check every declaration.
    #[test]
    fn every_output_symbol_links() {
        let addrs = [
            super::SSL_CTX_set_msg_callback as *const () as usize,
            super::SSL_CTX_set_info_callback as *const () as usize,
            super::SSL_alert_type_string_long as *const () as usize,
            super::SSL_want as *const () as usize,
            super::SSL_callback_ctrl as *const () as usize,
            super::SSL_CTX_set_security_callback as *const () as usize,
            super::SSL_CTX_get_security_callback as *const () as usize,
            super::BIO_set_callback_ex as *const () as usize,
            super::BIO_set_callback_arg as *const () as usize,
            super::BIO_get_callback_arg as *const () as usize,
            super::BIO_test_flags as *const () as usize,
            super::EC_curve_nid2nist as *const () as usize,
            super::X509_get0_pubkey as *const () as usize,
            super::EVP_PKEY_get0_asn1 as *const () as usize,
            super::EVP_PKEY_asn1_get0_info as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }
}

extern "C" {
    // SSL_CTX_set_psk_find_session_callback(3)
    pub(crate) fn SSL_CTX_set_psk_find_session_callback(
        ctx: *mut SSL_CTX,
        cb: Option<unsafe extern "C" fn(*mut SSL, *const core::ffi::c_uchar, usize, *mut *mut SSL_SESSION) -> c_int>,
    );
    // SSL_SESSION_new(3)
    pub(crate) fn SSL_SESSION_new() -> *mut SSL_SESSION;
    // SSL_SESSION_get_master_key(3)
    pub(crate) fn SSL_SESSION_set1_master_key(sess: *mut SSL_SESSION, key: *const u8, len: usize) -> c_int;
    // SSL_CIPHER_get_name(3)
    pub(crate) fn SSL_CIPHER_find(ssl: *mut SSL, ptr: *const u8) -> *const openssl_sys::SSL_CIPHER;
    // SSL_SESSION_set_cipher(3)
    pub(crate) fn SSL_SESSION_set_cipher(s: *mut SSL_SESSION, cipher: *const openssl_sys::SSL_CIPHER) -> c_int;
    // SSL_SESSION_get_protocol_version(3)
    pub(crate) fn SSL_SESSION_set_protocol_version(s: *mut SSL_SESSION, version: c_int) -> c_int;
    // SSL_read_early_data(3)
    pub(crate) fn SSL_get_early_data_status(s: *const SSL) -> c_int;
    // SSL_read_early_data(3)
    pub(crate) fn SSL_CTX_set_recv_max_early_data(ctx: *mut SSL_CTX, recv_max_early_data: u32) -> c_int;
    // SSL_CTX_use_psk_identity_hint(3)
    pub(crate) fn SSL_CTX_use_psk_identity_hint(ctx: *mut SSL_CTX, hint: *const c_char) -> c_int;
    // SSL_is_dtls(3)
    pub(crate) fn SSL_is_dtls(s: *const SSL) -> c_int;
    // SRP_VBASE_new(3) (srp.h, deprecated in 3.0)
    pub(crate) fn SRP_get_default_gN(id: *const c_char) -> *const SrpGn;
    // SSL_CTX_set_srp_password(3) (deprecated in 3.0)
    pub(crate) fn SSL_CTX_set_srp_username_callback(
        ctx: *mut SSL_CTX,
        cb: Option<unsafe extern "C" fn(*mut SSL, *mut c_int, *mut c_void) -> c_int>,
    ) -> c_int;
    // SSL_CTX_set_srp_password(3)
    pub(crate) fn SSL_get_srp_username(s: *mut SSL) -> *mut c_char;
    // SSL_CTX_set_srp_password(3)
    pub(crate) fn SSL_set_srp_server_param(
        s: *mut SSL,
        n: *const openssl_sys::BIGNUM,
        g: *const openssl_sys::BIGNUM,
        sa: *mut openssl_sys::BIGNUM,
        v: *mut openssl_sys::BIGNUM,
        info: *mut c_char,
    ) -> c_int;
}

/// `SRP_gN` (srp.h): one of the known SRP groups.
#[repr(C)]
pub(crate) struct SrpGn {
    pub(crate) id: *mut c_char,
    pub(crate) g: *const openssl_sys::BIGNUM,
    pub(crate) n: *const openssl_sys::BIGNUM,
}

/// Opaque `OSSL_HTTP_REQ_CTX` (3.0) / `OCSP_REQ_CTX` (1.1.1): OpenSSL's HTTP request context.
#[repr(C)]
pub(crate) struct HttpReqCtx {
    _private: [u8; 0],
}

/// Opaque `ASN1_ITEM` (the template `OSSL_HTTP_REQ_CTX_set1_req` encodes the request with).
#[cfg(ossl300)]
#[repr(C)]
pub(crate) struct Asn1Item {
    _private: [u8; 0],
}

extern "C" {
    // BIO_s_bio(3)
    pub(crate) fn BIO_new_bio_pair(
        bio1: *mut *mut BIO,
        writebuf1: usize,
        bio2: *mut *mut BIO,
        writebuf2: usize,
    ) -> c_int;
}

/// `BIO_shutdown_wr(b)` is `BIO_ctrl(b, BIO_C_SHUTDOWN_WR, 0, NULL)` (BIO_s_bio(3)).
pub(crate) const BIO_C_SHUTDOWN_WR: c_int = 142;

#[cfg(ossl300)]
extern "C" {
    // OSSL_HTTP_parse_url(3)
    pub(crate) fn OSSL_HTTP_parse_url(
        url: *const c_char,
        pssl: *mut c_int,
        puser: *mut *mut c_char,
        phost: *mut *mut c_char,
        pport: *mut *mut c_char,
        pport_num: *mut c_int,
        ppath: *mut *mut c_char,
        pquery: *mut *mut c_char,
        pfrag: *mut *mut c_char,
    ) -> c_int;
    // OSSL_HTTP_adapt_proxy(3): the result is `proxy`, an environment string or NULL.
    pub(crate) fn OSSL_HTTP_adapt_proxy(
        proxy: *const c_char,
        no_proxy: *const c_char,
        server: *const c_char,
        use_ssl: c_int,
    ) -> *const c_char;
    // OSSL_HTTP_REQ_CTX(3)
    pub(crate) fn OSSL_HTTP_REQ_CTX_new(wbio: *mut BIO, rbio: *mut BIO, buf_size: c_int) -> *mut HttpReqCtx;
    pub(crate) fn OSSL_HTTP_REQ_CTX_free(rctx: *mut HttpReqCtx);
    pub(crate) fn OSSL_HTTP_REQ_CTX_set_request_line(
        rctx: *mut HttpReqCtx,
        method_post: c_int,
        server: *const c_char,
        port: *const c_char,
        path: *const c_char,
    ) -> c_int;
    pub(crate) fn OSSL_HTTP_REQ_CTX_add1_header(
        rctx: *mut HttpReqCtx,
        name: *const c_char,
        value: *const c_char,
    ) -> c_int;
    pub(crate) fn OSSL_HTTP_REQ_CTX_set_expected(
        rctx: *mut HttpReqCtx,
        content_type: *const c_char,
        asn1: c_int,
        timeout: c_int,
        keep_alive: c_int,
    ) -> c_int;
    pub(crate) fn OSSL_HTTP_REQ_CTX_set1_req(
        rctx: *mut HttpReqCtx,
        content_type: *const c_char,
        it: *const Asn1Item,
        req: *const c_void,
    ) -> c_int;
    pub(crate) fn OSSL_HTTP_REQ_CTX_nbio(rctx: *mut HttpReqCtx) -> c_int;
    pub(crate) fn OSSL_HTTP_REQ_CTX_get0_mem_bio(rctx: *const HttpReqCtx) -> *mut BIO;
    pub(crate) fn OSSL_HTTP_REQ_CTX_get_resp_len(rctx: *const HttpReqCtx) -> usize;
    pub(crate) fn OSSL_HTTP_REQ_CTX_set_max_response_length(rctx: *mut HttpReqCtx, len: c_ulong);
    // ASN1_ITEM_rptr(OCSP_REQUEST) (a function in 3.0)
    pub(crate) fn OCSP_REQUEST_it() -> *const Asn1Item;
}

#[cfg(not(ossl300))]
extern "C" {
    // OCSP_sendreq_new(3) (1.1.1): `OCSP_parse_url`
    pub(crate) fn OCSP_parse_url(
        url: *const c_char,
        phost: *mut *mut c_char,
        pport: *mut *mut c_char,
        ppath: *mut *mut c_char,
        pssl: *mut c_int,
    ) -> c_int;
    // OCSP_sendreq_new(3) (1.1.1; macros over OSSL_HTTP_REQ_CTX in 3.0)
    pub(crate) fn OCSP_sendreq_new(
        io: *mut BIO,
        path: *const c_char,
        req: *mut openssl_sys::OCSP_REQUEST,
        maxline: c_int,
    ) -> *mut HttpReqCtx;
    pub(crate) fn OCSP_REQ_CTX_free(rctx: *mut HttpReqCtx);
    pub(crate) fn OCSP_REQ_CTX_add1_header(rctx: *mut HttpReqCtx, name: *const c_char, value: *const c_char) -> c_int;
    pub(crate) fn OCSP_REQ_CTX_set1_req(rctx: *mut HttpReqCtx, req: *mut openssl_sys::OCSP_REQUEST) -> c_int;
    pub(crate) fn OCSP_sendreq_nbio(presp: *mut *mut openssl_sys::OCSP_RESPONSE, rctx: *mut HttpReqCtx) -> c_int;
    pub(crate) fn OCSP_set_max_response_length(rctx: *mut HttpReqCtx, len: c_ulong);
}

/// SSL_read_early_data(3): `SSL_get_early_data_status` results.
pub(crate) const SSL_EARLY_DATA_REJECTED: c_int = 1;
pub(crate) const SSL_EARLY_DATA_ACCEPTED: c_int = 2;

#[cfg(test)]
mod http_tests {
    /// As `every_declared_symbol_links`, for OpenSSL's HTTP client (3.x).
    #[cfg(ossl300)]
    #[test]
    fn http_symbols_link() {
        let addrs = [
            super::BIO_new_bio_pair as *const () as usize,
            super::OSSL_HTTP_parse_url as *const () as usize,
            super::OSSL_HTTP_adapt_proxy as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_new as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_free as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_set_request_line as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_add1_header as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_set_expected as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_set1_req as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_nbio as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_get0_mem_bio as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_get_resp_len as *const () as usize,
            super::OSSL_HTTP_REQ_CTX_set_max_response_length as *const () as usize,
            super::OCSP_REQUEST_it as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }

    /// As above, for 1.1.1's OCSP HTTP client.
    #[cfg(not(ossl300))]
    #[test]
    fn http_symbols_link() {
        let addrs = [
            super::BIO_new_bio_pair as *const () as usize,
            super::OCSP_parse_url as *const () as usize,
            super::OCSP_sendreq_new as *const () as usize,
            super::OCSP_REQ_CTX_free as *const () as usize,
            super::OCSP_REQ_CTX_add1_header as *const () as usize,
            super::OCSP_REQ_CTX_set1_req as *const () as usize,
            super::OCSP_sendreq_nbio as *const () as usize,
            super::OCSP_set_max_response_length as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }
}

#[cfg(test)]
mod psk_tests {
    /// As `every_declared_symbol_links`, for the PSK / early data declarations.
    #[test]
    fn psk_symbols_link() {
        let addrs = [
            super::SSL_CTX_set_psk_find_session_callback as *const () as usize,
            super::SSL_SESSION_new as *const () as usize,
            super::SSL_SESSION_set1_master_key as *const () as usize,
            super::SSL_CIPHER_find as *const () as usize,
            super::SSL_SESSION_set_cipher as *const () as usize,
            super::SSL_SESSION_set_protocol_version as *const () as usize,
            super::SSL_get_early_data_status as *const () as usize,
            super::SSL_CTX_set_recv_max_early_data as *const () as usize,
            super::SSL_CTX_use_psk_identity_hint as *const () as usize,
            super::SSL_is_dtls as *const () as usize,
            super::SRP_get_default_gN as *const () as usize,
            super::SSL_CTX_set_srp_username_callback as *const () as usize,
            super::SSL_get_srp_username as *const () as usize,
            super::SSL_set_srp_server_param as *const () as usize,
        ];
        assert!(addrs.iter().all(|&a| a != 0));
    }
}

#[cfg(ossl300)]
extern "C" {
    // OSSL_PARAM_construct_utf8_string(3) (not in openssl-sys)
    pub(crate) fn OSSL_PARAM_construct_utf8_string(
        key: *const c_char,
        buf: *mut c_char,
        bsize: usize,
    ) -> openssl_sys::OSSL_PARAM;
}

#[cfg(all(test, ossl300))]
mod param_tests {
    /// As `every_declared_symbol_links`, for the parameter constructor.
    #[test]
    fn param_symbols_link() {
        assert_ne!(super::OSSL_PARAM_construct_utf8_string as *const () as usize, 0);
    }
}
