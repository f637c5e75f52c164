//! Certificate stores, CRLs, verification parameters and `-nameopt`, in s_server's order:
//! `-CAstore` joins the trust store, the `opt_verify` options go to the context's
//! `X509_VERIFY_PARAM`, `-CRL` is added to the stores, then `ssl_load_stores` (`-verifyCA*`,
//! `-chainCA*`) and finally `-build_chain`.

use std::path::{Path, PathBuf};

use clap::{ArgAction, Command};
use sserve_engine::ossl::verify::{nameopt_flags, parse_crl};
use sserve_engine::ServerConfigBuilder;

use crate::error::{io_text, Error};
use crate::load::read_file;
use crate::settings::{StoreSources, VerifySettings};

/// `opt_verify`'s options that take a value (apps/include/opt.h `OPT_V_OPTIONS`).
pub const PARAM_VALUE_OPTIONS: &[&str] = &[
    "policy",
    "purpose",
    "verify_name",
    "verify_depth",
    "auth_level",
    "attime",
    "verify_hostname",
    "verify_email",
    "verify_ip",
];

/// `opt_verify`'s flags.
pub const PARAM_FLAG_OPTIONS: &[&str] = &[
    "ignore_critical",
    "issuer_checks",
    "crl_check",
    "crl_check_all",
    "policy_check",
    "explicit_policy",
    "inhibit_any",
    "inhibit_map",
    "x509_strict",
    "extended_crl",
    "use_deltas",
    "policy_print",
    "check_ss_sig",
    "trusted_first",
    "suiteB_128_only",
    "suiteB_128",
    "suiteB_192",
    "partial_chain",
    "no_alt_chains",
    "no_check_time",
    "allow_proxy_certs",
];

/// Options s_server accepts more than once (each occurrence counts, in order).
const REPEATABLE: &[&str] = &["policy", "nameopt"];

/// Lets our options repeat as in s_server: `-policy`/`-nameopt` accumulate, other values and
/// flags may be given again (the last one wins).
pub fn adjust_command(mut cmd: Command) -> Command {
    let values = PARAM_VALUE_OPTIONS.iter().chain(&[
        "nameopt",
        "CAstore",
        "CRL",
        "CRLform",
        "chainCAfile",
        "chainCApath",
        "chainCAstore",
        "verifyCAfile",
        "verifyCApath",
        "verifyCAstore",
    ]);
    for name in values {
        cmd = cmd.mut_arg(*name, |a| {
            if REPEATABLE.contains(name) {
                a.action(ArgAction::Append)
            } else {
                a.overrides_with(*name)
            }
        });
    }
    for name in PARAM_FLAG_OPTIONS.iter().chain(&["no-CAstore", "build_chain"]) {
        cmd = cmd.mut_arg(*name, |a| a.overrides_with(*name));
    }
    cmd
}

/// `<8 hex digits>.<n>` (certificates) or `<8 hex digits>.r<n>` (CRLs): the names OpenSSL's
/// hashed-directory lookup (`X509_STORE_load_path`, the file store's directory search) can
/// find, as `openssl rehash` creates them.
fn is_hashed_name(name: &str) -> bool {
    let Some((hash, n)) = name.split_once('.') else {
        return false;
    };
    let n = n.strip_prefix('r').unwrap_or(n);
    hash.len() == 8
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// The hashed-name files of a CA directory, in name order. OpenSSL looks them up by the
/// subject hash when it needs an issuer; loading them all up front finds the same
/// certificates.
fn read_dir_files(what: &str, dir: &Path) -> Result<Vec<Vec<u8>>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error(format!(
            "cannot read {what} directory '{}': {}",
            dir.display(),
            io_text(&e)
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(is_hashed_name))
        .collect();
    paths.sort();
    Ok(paths.into_iter().filter_map(|p| std::fs::read(p).ok()).collect())
}

/// An `OSSL_STORE` URI of the `file:` scheme (or a plain path): a file, or every file of a
/// directory, as OpenSSL's file store loader reads them.
fn read_store(what: &str, uri: &str) -> Result<Vec<Vec<u8>>, Error> {
    let path = if let Some(rest) = uri.strip_prefix("file://") {
        // file://localhost/path or file:///path
        rest.strip_prefix("localhost").unwrap_or(rest)
    } else if let Some(rest) = uri.strip_prefix("file:") {
        rest
    } else if uri.contains("://") || (uri.contains(':') && !Path::new(uri).exists()) {
        return Err(Error(format!(
            "-{what}: unsupported store URI '{uri}' (only file: URIs and paths are available)"
        )));
    } else {
        uri
    };
    let p = Path::new(path);
    if p.is_dir() {
        read_dir_files(what, p)
    } else {
        Ok(vec![read_file(&format!("{what} store"), path)?])
    }
}

/// The store sources of one kind (`CAfile`/`CApath`/`CAstore` with a prefix), in s_server's
/// load order: file, path, store.
fn store_files(sources: &StoreSources, prefix: &str) -> Result<Option<Vec<Vec<u8>>>, Error> {
    let StoreSources { file, path, store } = sources;
    if file.is_none() && path.is_none() && store.is_none() {
        return Ok(None);
    }
    let mut files = Vec::new();
    if let Some(f) = file {
        files.push(read_file(&format!("-{prefix}CAfile"), f)?);
    }
    if let Some(d) = path {
        files.extend(read_dir_files(&format!("-{prefix}CApath"), Path::new(d))?);
    }
    if let Some(s) = store {
        files.extend(read_store(&format!("{prefix}CAstore"), s)?);
    }
    Ok(Some(files))
}

/// Applies this group's options to `b`. Call after the certificate, key and `-CAfile`, before
/// `build`. `cert_chain`: `-cert_chain` was given (`-build_chain` then checks it).
pub fn configure(b: &mut ServerConfigBuilder, v: &VerifySettings, cert_chain: bool) -> Result<(), Error> {
    if !v.nameopt.is_empty() {
        let mut flags = 0;
        for n in &v.nameopt {
            flags = nameopt_flags(flags, n).ok_or_else(|| format!("-nameopt: invalid name options '{n}'"))?;
        }
        b.name_options(flags);
    }
    if let Some(uri) = &v.ca_store {
        b.trust_store_add(&read_store("CAstore", uri)?).map_err(|e| e.reason)?;
    }
    for (name, value) in &v.params {
        b.verify_param_option(name, value.as_deref()).map_err(|e| e.reason)?;
    }
    let mut crls = Vec::new();
    if let Some(path) = &v.crl {
        let crl =
            parse_crl(&read_file("CRL file", path)?, v.crl_format).map_err(|e| format!("{} ('{path}')", e.reason))?;
        b.add_crl(&crl).map_err(|e| e.reason)?;
        crls.push(crl);
    }
    if let Some(files) = store_files(&v.verify_store, "verify")? {
        b.verify_store(&files, &crls)
            .map_err(|e| format!("Error loading store locations: {}", e.reason))?;
    }
    if let Some(files) = store_files(&v.chain_store, "chain")? {
        b.chain_store(&files)
            .map_err(|e| format!("Error loading store locations: {}", e.reason))?;
    }
    if v.build_chain {
        // s_server checks the chain as given (SSL_BUILD_CHAIN_FLAG_CHECK) when -cert_chain is.
        b.build_cert_chain(cert_chain)
            .map_err(|e| format!("error building certificate chain: {}", e.reason))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        assert!(is_hashed_name("a1b2c3d4.0"));
        assert!(is_hashed_name("A1B2C3D4.r12"));
        assert!(!is_hashed_name("root.pem"));
        assert!(!is_hashed_name("a1b2c3d4.pem"));
        assert!(!is_hashed_name("a1b2c3d.0"));
    }

    #[test]
    fn store_uris() {
        assert!(read_store("CAstore", "org.openssl.winstore:").is_err());
        assert!(read_store("CAstore", "http://example.com/x").is_err());
        assert!(read_store("CAstore", "file:/nonexistent/x.pem")
            .unwrap_err()
            .0
            .contains("cannot read"));
    }
}
