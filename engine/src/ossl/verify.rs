//! Certificate stores, CRLs, X509 verification parameters and name printing: s_server's
//! `-verifyCAfile`/`-chainCAfile` stores (`ssl_load_stores`), `-CRL`, `-build_chain`, the
//! `opt_verify` options and `-nameopt`.
//!
//! As everywhere in the engine, files are read by the caller and handed over as bytes.

use alloc::ffi::CString;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::{c_int, c_ulong};
use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::ssl::{SslContext, SslContextRef, SslRef};
use openssl::x509::store::{X509Store, X509StoreBuilder, X509StoreBuilderRef};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509Crl, X509NameRef, X509PurposeRef, X509StoreContextRef, X509};

use super::config::{CertFormat, ServerConfigBuilder};
use super::errors::{config_error, take_queue};
use super::ffi;
use super::membio::MemBio;
use crate::error::{TlsError, TlsErrorKind};

/// `XN_FLAG_ONELINE` (x509.h): what s_server prints names with unless `-nameopt` is given.
pub const XN_FLAG_ONELINE: u64 = ASN1_STRFLGS_RFC2253 | ASN1_STRFLGS_ESC_QUOTE | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_SPC_EQ;
const XN_FLAG_COMPAT: u64 = 0;
const XN_FLAG_SEP_MASK: u64 = 0xf << 16;
const XN_FLAG_SEP_COMMA_PLUS: u64 = 1 << 16;
const XN_FLAG_SEP_CPLUS_SPC: u64 = 2 << 16;
const XN_FLAG_SEP_SPLUS_SPC: u64 = 3 << 16;
const XN_FLAG_SEP_MULTILINE: u64 = 4 << 16;
const XN_FLAG_DN_REV: u64 = 1 << 20;
const XN_FLAG_FN_MASK: u64 = 0x3 << 21;
const XN_FLAG_FN_SN: u64 = 0;
const XN_FLAG_FN_LN: u64 = 1 << 21;
const XN_FLAG_FN_OID: u64 = 2 << 21;
const XN_FLAG_FN_NONE: u64 = 3 << 21;
const XN_FLAG_SPC_EQ: u64 = 1 << 23;
const XN_FLAG_DUMP_UNKNOWN_FIELDS: u64 = 1 << 24;
const XN_FLAG_FN_ALIGN: u64 = 1 << 25;
const ASN1_STRFLGS_ESC_2253: u64 = 1;
const ASN1_STRFLGS_ESC_CTRL: u64 = 2;
const ASN1_STRFLGS_ESC_MSB: u64 = 4;
const ASN1_STRFLGS_ESC_QUOTE: u64 = 8;
const ASN1_STRFLGS_UTF8_CONVERT: u64 = 0x10;
const ASN1_STRFLGS_IGNORE_TYPE: u64 = 0x20;
const ASN1_STRFLGS_SHOW_TYPE: u64 = 0x40;
const ASN1_STRFLGS_DUMP_ALL: u64 = 0x80;
const ASN1_STRFLGS_DUMP_UNKNOWN: u64 = 0x100;
const ASN1_STRFLGS_DUMP_DER: u64 = 0x200;
const ASN1_STRFLGS_ESC_2254: u64 = 0x400;
const ASN1_STRFLGS_RFC2253: u64 = ASN1_STRFLGS_ESC_2253
    | ASN1_STRFLGS_ESC_CTRL
    | ASN1_STRFLGS_ESC_MSB
    | ASN1_STRFLGS_UTF8_CONVERT
    | ASN1_STRFLGS_DUMP_UNKNOWN
    | ASN1_STRFLGS_DUMP_DER;
pub(crate) const XN_FLAG_RFC2253: u64 =
    ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_COMMA_PLUS | XN_FLAG_DN_REV | XN_FLAG_DUMP_UNKNOWN_FIELDS;
const XN_FLAG_MULTILINE: u64 = ASN1_STRFLGS_ESC_CTRL
    | ASN1_STRFLGS_ESC_MSB
    | XN_FLAG_SEP_MULTILINE
    | XN_FLAG_SPC_EQ
    | XN_FLAG_FN_LN
    | XN_FLAG_FN_ALIGN;

/// apps.c `set_name_ex`'s table: (name, flag, mask).
const NAME_EX_TABLE: &[(&str, u64, u64)] = &[
    ("esc_2253", ASN1_STRFLGS_ESC_2253, 0),
    ("esc_2254", ASN1_STRFLGS_ESC_2254, 0),
    ("esc_ctrl", ASN1_STRFLGS_ESC_CTRL, 0),
    ("esc_msb", ASN1_STRFLGS_ESC_MSB, 0),
    ("use_quote", ASN1_STRFLGS_ESC_QUOTE, 0),
    ("utf8", ASN1_STRFLGS_UTF8_CONVERT, 0),
    ("ignore_type", ASN1_STRFLGS_IGNORE_TYPE, 0),
    ("show_type", ASN1_STRFLGS_SHOW_TYPE, 0),
    ("dump_all", ASN1_STRFLGS_DUMP_ALL, 0),
    ("dump_nostr", ASN1_STRFLGS_DUMP_UNKNOWN, 0),
    ("dump_der", ASN1_STRFLGS_DUMP_DER, 0),
    ("compat", XN_FLAG_COMPAT, 0xffff_ffff),
    ("sep_comma_plus", XN_FLAG_SEP_COMMA_PLUS, XN_FLAG_SEP_MASK),
    ("sep_comma_plus_space", XN_FLAG_SEP_CPLUS_SPC, XN_FLAG_SEP_MASK),
    ("sep_semi_plus_space", XN_FLAG_SEP_SPLUS_SPC, XN_FLAG_SEP_MASK),
    ("sep_multiline", XN_FLAG_SEP_MULTILINE, XN_FLAG_SEP_MASK),
    ("dn_rev", XN_FLAG_DN_REV, 0),
    ("nofname", XN_FLAG_FN_NONE, XN_FLAG_FN_MASK),
    ("sname", XN_FLAG_FN_SN, XN_FLAG_FN_MASK),
    ("lname", XN_FLAG_FN_LN, XN_FLAG_FN_MASK),
    ("align", XN_FLAG_FN_ALIGN, 0),
    ("oid", XN_FLAG_FN_OID, XN_FLAG_FN_MASK),
    ("space_eq", XN_FLAG_SPC_EQ, 0),
    ("dump_unknown", XN_FLAG_DUMP_UNKNOWN_FIELDS, 0),
    ("RFC2253", XN_FLAG_RFC2253, 0xffff_ffff),
    ("oneline", XN_FLAG_ONELINE, 0xffff_ffff),
    ("multiline", XN_FLAG_MULTILINE, 0xffff_ffff),
    ("ca_default", XN_FLAG_MULTILINE, 0xffff_ffff),
];

/// Applies one `-nameopt` argument to `flags` (s_server starts from 0 and accumulates every
/// `-nameopt`), as apps.c `set_name_ex` does: a comma-separated list of table names, each
/// optionally prefixed by `-` (clear) or `+` (set), case-insensitive. `None` if a name is
/// unknown.
pub fn nameopt_flags(mut flags: u64, arg: &str) -> Option<u64> {
    let mut ok = true;
    for item in arg.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (set, name) = match item.as_bytes()[0] {
            b'-' => (false, &item[1..]),
            b'+' => (true, &item[1..]),
            _ => (true, item),
        };
        match NAME_EX_TABLE.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name)) {
            Some(&(_, flag, mask)) => {
                flags &= !mask;
                if set {
                    flags |= flag;
                } else {
                    flags &= !flag;
                }
            }
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    if flags != XN_FLAG_COMPAT && flags & XN_FLAG_SEP_MASK == 0 {
        flags |= XN_FLAG_SEP_CPLUS_SPC;
    }
    Some(flags)
}

/// The `-nameopt` flags kept on the context (absent: [`XN_FLAG_ONELINE`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameOpt(u64);

fn nameopt_index() -> openssl::ex_data::Index<SslContext, NameOpt> {
    static INDEX: std::sync::OnceLock<openssl::ex_data::Index<SslContext, NameOpt>> = std::sync::OnceLock::new();
    // As for the other indexes: failing here is an out-of-memory at start-up.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// apps.c `get_nameopt` for the connection's context.
pub(crate) fn nameopt(ctx: &SslContextRef) -> u64 {
    ctx.ex_data(nameopt_index()).map_or(XN_FLAG_ONELINE, |n| n.0)
}

/// `X509_NAME_print_ex(bio, name, indent, flags)` as text.
pub(crate) fn name_print_ex(name: &X509NameRef, indent: c_int, flags: u64) -> String {
    let Some(bio) = MemBio::new() else {
        return String::new();
    };
    // SAFETY: live BIO and X509_NAME; the call only writes text into the BIO.
    unsafe { ffi::X509_NAME_print_ex(bio.as_ptr(), name.as_ptr(), indent, flags as c_ulong) };
    bio.text()
}

/// apps.c `print_name` without its title and final newline: `-nameopt compat` uses
/// `X509_NAME_oneline` (`/C=US/CN=x`), a multi-line style starts on the next line, indented 4.
pub(crate) fn print_name_text(name: &X509NameRef, flags: u64) -> String {
    if flags == XN_FLAG_COMPAT {
        // SAFETY: with a NULL buffer X509_NAME_oneline returns a new NUL-terminated string
        // (or NULL), which we copy and free.
        let p = unsafe { ffi::X509_NAME_oneline(name.as_ptr(), core::ptr::null_mut(), 0) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: `p` is a NUL-terminated string allocated by OpenSSL (checked non-NULL).
        let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned();
        // SAFETY: allocated by OpenSSL_malloc in X509_NAME_oneline; freed once.
        unsafe { openssl_sys::CRYPTO_free(p.cast(), c"verify.rs".as_ptr(), 0) };
        return s;
    }
    if flags & XN_FLAG_SEP_MASK == XN_FLAG_SEP_MULTILINE {
        let mut s = String::from("\n");
        s.push_str(&name_print_ex(name, 4, flags));
        return s;
    }
    name_print_ex(name, 0, flags)
}

/// The name of the certificate in s_server's `verify_callback` `depth=` line, printed with the
/// context's `-nameopt`, and the extra line some errors get (`issuer= `, `notBefore=`,
/// `notAfter=`).
pub(crate) fn verify_step_text(ssl: Option<&SslRef>, ctx: &X509StoreContextRef) -> (String, Vec<String>) {
    let flags = ssl.map_or(XN_FLAG_ONELINE, |s| nameopt(s.ssl_context()));
    let cert = ctx.current_cert();
    let subject = cert.map_or_else(
        || String::from("<no cert>"),
        |c| name_print_ex(c.subject_name(), 0, flags),
    );
    let mut extra = Vec::new();
    let err = ctx.error().as_raw();
    match (err, cert) {
        (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, Some(c)) => {
            extra.push(alloc::format!("issuer= {}", name_print_ex(c.issuer_name(), 0, flags)))
        }
        (X509_V_ERR_CERT_NOT_YET_VALID | X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, Some(c)) => {
            extra.push(alloc::format!("notBefore={}", c.not_before()))
        }
        (X509_V_ERR_CERT_HAS_EXPIRED | X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, Some(c)) => {
            extra.push(alloc::format!("notAfter={}", c.not_after()))
        }
        _ => {}
    }
    (subject, extra)
}

const X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
const X509_V_ERR_CERT_NOT_YET_VALID: i32 = 9;
const X509_V_ERR_CERT_HAS_EXPIRED: i32 = 10;
const X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: i32 = 13;
const X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: i32 = 14;

/// apps.c `policies_print`, as lines.
pub(crate) fn policies_text(ctx: &X509StoreContextRef) -> Vec<String> {
    // SAFETY: `ctx` is the live store context of the running verification; the tree and the
    // policy-node stacks it returns belong to it and are only read here, before it ends.
    let (explicit, tree) = unsafe {
        (
            ffi::X509_STORE_CTX_get_explicit_policy(ctx.as_ptr()),
            ffi::X509_STORE_CTX_get0_policy_tree(ctx.as_ptr()),
        )
    };
    let mut text = alloc::format!(
        "Require explicit Policy: {}\n",
        if explicit != 0 { "True" } else { "False" }
    );
    // SAFETY: see above; NULL trees give NULL stacks.
    let sets = unsafe {
        [
            ("Authority", ffi::X509_policy_tree_get0_policies(tree)),
            ("User", ffi::X509_policy_tree_get0_user_policies(tree)),
        ]
    };
    for (label, nodes) in sets {
        text.push_str(label);
        text.push_str(" Policies:");
        if nodes.is_null() {
            text.push_str(" <empty>\n");
            continue;
        }
        text.push('\n');
        let Some(bio) = MemBio::new() else {
            continue;
        };
        // SAFETY: `nodes` is a live stack owned by the tree (non-NULL, checked above).
        let n = unsafe { openssl_sys::OPENSSL_sk_num(nodes.cast()) };
        for i in 0..n {
            // SAFETY: index within the stack's length; the node is printed into our BIO.
            unsafe {
                let node = openssl_sys::OPENSSL_sk_value(nodes.cast(), i);
                ffi::X509_POLICY_NODE_print(bio.as_ptr(), node.cast(), 2);
            }
        }
        text.push_str(&bio.text());
    }
    text.lines().map(ToString::to_string).collect()
}

fn cfg_err(context: &str) -> impl FnOnce(openssl::error::ErrorStack) -> TlsError + '_ {
    move |e| config_error(context, &e)
}

fn config(msg: String) -> TlsError {
    TlsError::new(TlsErrorKind::Config, msg)
}

/// Certificates and CRLs of PEM data, as `X509_STORE_load_file` takes them from a file.
fn pem_objects(pem: &[u8]) -> (Vec<X509>, Vec<X509Crl>) {
    let text = String::from_utf8_lossy(pem);
    let mut certs = Vec::new();
    let mut crls = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(end_marker) = block.find("-----END ") else {
            break;
        };
        let end = block[end_marker..]
            .find("\n")
            .map_or(block.len(), |e| end_marker + e + 1);
        let obj = &block.as_bytes()[..end];
        if block.starts_with("-----BEGIN X509 CRL-----") {
            if let Ok(c) = X509Crl::from_pem(obj) {
                crls.push(c);
            }
        } else if let Ok(c) = X509::from_pem(obj) {
            certs.push(c);
        }
        rest = &block[end..];
    }
    (certs, crls)
}

fn add_crl(store: &mut X509StoreBuilderRef, crl: &X509Crl) -> Result<(), TlsError> {
    // SAFETY: live store and CRL; X509_STORE_add_crl takes its own reference.
    if unsafe { ffi::X509_STORE_add_crl(store.as_ptr(), crl.as_ptr()) } != 1 {
        return Err(take_queue(TlsErrorKind::Config, "Error adding CRL"));
    }
    Ok(())
}

/// A store loaded from PEM data: every certificate trusted, every CRL added.
fn store_from(files: &[Vec<u8>], extra_crls: &[X509Crl]) -> Result<X509Store, TlsError> {
    let mut b = X509StoreBuilder::new().map_err(cfg_err("X509_STORE_new"))?;
    for data in files {
        let (certs, crls) = pem_objects(data);
        for c in certs {
            // Duplicates are not an error for X509_STORE_load_file either.
            let _ = b.add_cert(c);
        }
        for crl in &crls {
            add_crl(&mut b, crl)?;
        }
    }
    for crl in extra_crls {
        add_crl(&mut b, crl)?;
    }
    Ok(b.build())
}

/// Parses `-CRL` data (`-CRLform`).
pub fn parse_crl(data: &[u8], format: CertFormat) -> Result<X509Crl, TlsError> {
    match format {
        CertFormat::Pem => X509Crl::from_pem(data),
        CertFormat::Der => X509Crl::from_der(data),
    }
    .map_err(cfg_err("unable to load CRL"))
}

impl ServerConfigBuilder {
    /// One of `opt_verify`'s options (`-purpose sslclient`, `-crl_check`, `-attime 0`, …)
    /// applied to the context's `X509_VERIFY_PARAM`, as s_server's `SSL_CTX_set1_param` does.
    /// Errors carry s_server's messages (`Invalid purpose x`). Unknown names are an error.
    pub fn verify_param_option(&mut self, name: &str, value: Option<&str>) -> Result<(), TlsError> {
        let v = || value.unwrap_or("");
        let cstr = |s: &str| CString::new(s).map_err(|_| config(alloc::format!("-{name}: value contains NUL")));
        let param = self.ctx_mut().verify_param_mut();
        let flag = match name {
            "policy" => {
                let text = cstr(v())?;
                // SAFETY: OBJ_txt2obj returns a new object or NULL; add0 takes ownership on
                // success, otherwise we free it.
                unsafe {
                    let obj = openssl_sys::OBJ_txt2obj(text.as_ptr(), 0);
                    if obj.is_null() {
                        openssl_sys::ERR_clear_error();
                        return Err(config(alloc::format!("Invalid Policy {}", v())));
                    }
                    if ffi::X509_VERIFY_PARAM_add0_policy(param.as_ptr(), obj) != 1 {
                        openssl_sys::ASN1_OBJECT_free(obj);
                        return Err(config(alloc::format!("Internal error adding Policy {}", v())));
                    }
                }
                return Ok(());
            }
            "purpose" => {
                let purpose = X509PurposeRef::get_by_sname(v())
                    .and_then(X509PurposeRef::from_idx)
                    .map_err(|_| config(alloc::format!("Invalid purpose {}", v())))?;
                return param
                    .set_purpose(purpose.purpose())
                    .map_err(|_| config(alloc::format!("Internal error setting purpose {}", v())));
            }
            "verify_name" => {
                let text = cstr(v())?;
                // SAFETY: the lookup returns a static table entry or NULL; set1 copies it.
                unsafe {
                    let named = ffi::X509_VERIFY_PARAM_lookup(text.as_ptr());
                    if named.is_null() {
                        return Err(config(alloc::format!("Invalid verify name {}", v())));
                    }
                    ffi::X509_VERIFY_PARAM_set1(param.as_ptr(), named);
                }
                return Ok(());
            }
            "verify_depth" | "auth_level" => {
                let n = atoi(v());
                if n >= 0 {
                    if name == "verify_depth" {
                        param.set_depth(n);
                    } else {
                        param.set_auth_level(n);
                    }
                }
                return Ok(());
            }
            "attime" => {
                let t = strtoimax(v()).ok_or_else(|| config(alloc::format!("Can't parse \"{}\" as a number", v())))?;
                param.set_time(t as _);
                return Ok(());
            }
            "verify_hostname" => {
                return param.set_host(v()).map_err(cfg_err("-verify_hostname"));
            }
            "verify_email" => return param.set_email(v()).map_err(cfg_err("-verify_email")),
            "verify_ip" => {
                let text = cstr(v())?;
                // SAFETY: live param; the address text is copied (parsed) by the call.
                if unsafe { ffi::X509_VERIFY_PARAM_set1_ip_asc(param.as_ptr(), text.as_ptr()) } != 1 {
                    return Err(take_queue(
                        TlsErrorKind::Config,
                        &alloc::format!("-verify_ip: invalid IP address {}", v()),
                    ));
                }
                return Ok(());
            }
            // Deprecated no-op, as in opt_verify.
            "issuer_checks" => return Ok(()),
            "ignore_critical" => X509VerifyFlags::IGNORE_CRITICAL,
            "crl_check" => X509VerifyFlags::CRL_CHECK,
            "crl_check_all" => X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL,
            "policy_check" => X509VerifyFlags::POLICY_CHECK,
            "explicit_policy" => X509VerifyFlags::EXPLICIT_POLICY,
            "inhibit_any" => X509VerifyFlags::INHIBIT_ANY,
            "inhibit_map" => X509VerifyFlags::INHIBIT_MAP,
            "x509_strict" => X509VerifyFlags::X509_STRICT,
            "extended_crl" => X509VerifyFlags::EXTENDED_CRL_SUPPORT,
            "use_deltas" => X509VerifyFlags::USE_DELTAS,
            "policy_print" => X509VerifyFlags::NOTIFY_POLICY,
            "check_ss_sig" => X509VerifyFlags::CHECK_SS_SIGNATURE,
            "trusted_first" => X509VerifyFlags::TRUSTED_FIRST,
            "suiteB_128_only" => X509VerifyFlags::SUITEB_128_LOS_ONLY,
            "suiteB_128" => X509VerifyFlags::SUITEB_128_LOS,
            "suiteB_192" => X509VerifyFlags::SUITEB_192_LOS,
            "partial_chain" => X509VerifyFlags::PARTIAL_CHAIN,
            "no_alt_chains" => X509VerifyFlags::NO_ALT_CHAINS,
            "no_check_time" => X509VerifyFlags::NO_CHECK_TIME,
            "allow_proxy_certs" => X509VerifyFlags::ALLOW_PROXY_CERTS,
            _ => return Err(config(alloc::format!("-{name}: not a verification option"))),
        };
        param.set_flags(flag).map_err(cfg_err("X509_VERIFY_PARAM_set_flags"))
    }

    /// `-CAstore`: every certificate and CRL of `files` (PEM) joins the context's trust store,
    /// without becoming an acceptable CA name (s_server sends only `-CAfile`'s names).
    pub fn trust_store_add(&mut self, files: &[Vec<u8>]) -> Result<(), TlsError> {
        let store = self.ctx_mut().cert_store_mut();
        for data in files {
            let (certs, crls) = pem_objects(data);
            for c in certs {
                let _ = store.add_cert(c);
            }
            for crl in &crls {
                add_crl(store, crl)?;
            }
        }
        Ok(())
    }

    /// `-CRL`: adds the CRL to the context's store (the `-CAfile` store), as
    /// `ssl_ctx_add_crls` does. Pass it to [`ServerConfigBuilder::verify_store`] too.
    #[doc(hidden)]
    pub fn add_crl(&mut self, crl: &X509Crl) -> Result<(), TlsError> {
        add_crl(self.ctx_mut().cert_store_mut(), crl)
    }

    /// `-verifyCAfile`/`-verifyCApath`/`-verifyCAstore`: a separate store used only to verify
    /// client certificates (`SSL_CTX_set1_verify_cert_store`), holding every certificate and
    /// CRL of `files` (PEM) plus the `-CRL` ones.
    #[doc(hidden)]
    pub fn verify_store(&mut self, files: &[Vec<u8>], crls: &[X509Crl]) -> Result<(), TlsError> {
        let store = store_from(files, crls)?;
        self.ctx_mut()
            .set_verify_cert_store(store)
            .map_err(cfg_err("Error loading store locations"))
    }

    /// `-chainCAfile`/`-chainCApath`/`-chainCAstore`: the store the server's own certificate
    /// chain is built from (at each handshake, or once with [`Self::build_cert_chain`]).
    pub fn chain_store(&mut self, files: &[Vec<u8>]) -> Result<(), TlsError> {
        let store = store_from(files, &[])?;
        // SAFETY: SSL_CTX_set1_chain_cert_store takes its own reference (larg 1); ours is
        // released when `store` drops.
        let ok = unsafe {
            ffi::SSL_CTX_ctrl(
                self.ctx_mut().as_ptr(),
                ffi::SSL_CTRL_SET_CHAIN_CERT_STORE,
                1,
                store.as_ptr().cast(),
            )
        };
        if ok != 1 {
            return Err(take_queue(TlsErrorKind::Config, "Error loading store locations"));
        }
        Ok(())
    }

    /// `-build_chain`: build the certificate chain now (`SSL_CTX_build_cert_chain`) from the
    /// chain store (or the `-CAfile` store); with `check` (s_server: when `-cert_chain` was
    /// given) only from the certificate and its configured chain.
    pub fn build_cert_chain(&mut self, check: bool) -> Result<(), TlsError> {
        let ctx = self.ctx_mut().as_ptr();
        if check {
            // s_server's `-cert_chain` is the certificate's own chain (SSL_CTX_set1_chain);
            // ours went in as extra chain certificates: move them over first.
            let mut extra: *mut openssl_sys::stack_st_X509 = core::ptr::null_mut();
            // SAFETY: SSL_CTX_get_extra_chain_certs stores the context's own stack (or NULL)
            // in `extra`; it stays valid until the clear below.
            unsafe {
                ffi::SSL_CTX_ctrl(
                    ctx,
                    ffi::SSL_CTRL_GET_EXTRA_CHAIN_CERTS,
                    0,
                    (&mut extra as *mut *mut openssl_sys::stack_st_X509).cast(),
                )
            };
            // SAFETY: `extra` is the live stack read above or NULL (0 elements).
            let n = if extra.is_null() {
                0
            } else {
                unsafe { openssl_sys::OPENSSL_sk_num(extra.cast()) }
            };
            for i in 0..n {
                // SAFETY: index within the stack; SSL_CTX_add1_chain_cert takes its own
                // reference to the certificate.
                let ok = unsafe {
                    let c = openssl_sys::OPENSSL_sk_value(extra.cast(), i);
                    ffi::SSL_CTX_ctrl(ctx, ffi::SSL_CTRL_CHAIN_CERT, 1, c)
                };
                if ok != 1 {
                    return Err(take_queue(TlsErrorKind::Config, "error setting certificate chain"));
                }
            }
            // SAFETY: live context; drops its extra chain certificates.
            unsafe { ffi::SSL_CTX_ctrl(ctx, ffi::SSL_CTRL_CLEAR_EXTRA_CHAIN_CERTS, 0, ffi::NO_ARG) };
        }
        let flags = if check { SSL_BUILD_CHAIN_FLAG_CHECK } else { 0 };
        // SAFETY: live context; builds and stores the chain of its current certificate.
        if unsafe { ffi::SSL_CTX_ctrl(ctx, ffi::SSL_CTRL_BUILD_CERT_CHAIN, flags, ffi::NO_ARG) } <= 0 {
            // The reason is "certificate verify failed"; OpenSSL's data says why.
            let stack = openssl::error::ErrorStack::get();
            let mut e = config_error("", &stack);
            if let Some(data) = stack.errors().last().and_then(|e| e.data()) {
                e.reason = alloc::format!("{}: {data}", e.reason);
            }
            return Err(e);
        }
        Ok(())
    }

    /// `-nameopt`: how certificate names are printed (flags from [`nameopt_flags`]).
    pub fn name_options(&mut self, flags: u64) {
        self.ctx_mut().set_ex_data(nameopt_index(), NameOpt(flags));
    }
}

/// `SSL_BUILD_CHAIN_FLAG_CHECK` (SSL_CTX_build_cert_chain(3)).
const SSL_BUILD_CHAIN_FLAG_CHECK: core::ffi::c_long = 0x4;

/// apps/lib/opt.c `opt_intmax`: `strtoimax(value, &end, 0)` that must consume everything:
/// optional sign, then decimal, `0x` hexadecimal or `0` octal.
fn strtoimax(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let n = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -n } else { n })
}

/// C `atoi`: optional sign and leading digits, 0 when there are none.
fn atoi(s: &str) -> c_int {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).fold(0i64, |n, d| {
        (n * 10 + i64::from(d - b'0')).min(i64::from(c_int::MAX) + 1)
    });
    let n = if neg { -n } else { n };
    n.clamp(i64::from(c_int::MIN), i64::from(c_int::MAX)) as c_int
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameopt_parsing_follows_set_name_ex() {
        assert_eq!(nameopt_flags(0, "oneline"), Some(XN_FLAG_ONELINE));
        assert_eq!(nameopt_flags(0, "RFC2253"), Some(XN_FLAG_RFC2253));
        assert_eq!(nameopt_flags(0, "compat"), Some(0));
        assert_eq!(
            nameopt_flags(0, "space_eq"),
            Some(XN_FLAG_SPC_EQ | XN_FLAG_SEP_CPLUS_SPC)
        );
        assert_eq!(
            nameopt_flags(0, "oneline, -space_eq"),
            Some(XN_FLAG_ONELINE & !XN_FLAG_SPC_EQ)
        );
        assert_eq!(nameopt_flags(0, "Multiline"), Some(XN_FLAG_MULTILINE));
        assert_eq!(nameopt_flags(0, "bogus"), None);
    }

    #[test]
    fn strtoimax_takes_c_bases() {
        assert_eq!(strtoimax("4102444800"), Some(4_102_444_800));
        assert_eq!(strtoimax("0x10"), Some(16));
        assert_eq!(strtoimax("010"), Some(8));
        assert_eq!(strtoimax("-5"), Some(-5));
        assert_eq!(strtoimax("0"), Some(0));
        assert_eq!(strtoimax("12abc"), None);
        assert_eq!(strtoimax(""), None);
    }

    #[test]
    fn atoi_is_c_like() {
        assert_eq!(atoi("3"), 3);
        assert_eq!(atoi(" -2x"), -2);
        assert_eq!(atoi("x"), 0);
    }

    #[test]
    fn pem_objects_split_certs_and_crls() {
        assert_eq!(pem_objects(b"nothing").0.len(), 0);
    }
}
