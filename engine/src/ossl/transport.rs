//! Process-wide OpenSSL state that s_server sets up before its `SSL_CTX` ("Provider" and
//! "Random state" options: `-provider`, `-provider-path`, `-propquery`, `-rand`, `-writerand`),
//! and `-ssl_config` (a named section of the OpenSSL configuration file, applied with
//! `SSL_CTX_config` after the command line's `SSL_CONF` options, as s_server does).

use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_int;
#[cfg(ossl300)]
use openssl::provider::Provider;
use openssl::ssl::SslContextBuilder;

use super::conf::ConfCtx;
use super::config::ServerConfigBuilder;
use super::errors::{config_error, take_queue};
use super::ffi;
use crate::error::{TlsError, TlsErrorKind};

/// Initialises OpenSSL (loading its configuration file, as s_server's start-up does) and
/// converts `s` for a C call.
fn c_string(what: &str, s: &str) -> Result<CString, TlsError> {
    openssl_sys::init();
    CString::new(s).map_err(|_| TlsError::new(TlsErrorKind::Config, alloc::format!("{what}: contains a NUL byte")))
}

/// Whether OpenSSL's `SSL_CONF` knows `cmd` (with its leading `-`) and whether it takes a
/// value, asked without an `SSL_CTX`: creating one fetches algorithms, which activates the
/// `default` provider before `-provider` options could be applied.
pub fn ssl_conf_lookup(cmd: &str) -> Option<bool> {
    openssl_sys::init();
    ConfCtx::new(core::ptr::null_mut()).ok()?.lookup(cmd)
}

/// A provider loaded into the default library context; unloaded on drop (s_server unloads its
/// providers at exit), so keep it for as long as anything may fetch from it.
pub struct LoadedProvider {
    #[cfg(ossl300)]
    _provider: Provider,
}

impl core::fmt::Debug for LoadedProvider {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedProvider").finish_non_exhaustive()
    }
}

/// `-provider name`: `OSSL_PROVIDER_load` into the default library context. Loading any
/// provider explicitly turns off the automatic loading of `default`, exactly as in s_server.
#[cfg(ossl300)]
pub fn load_provider(name: &str) -> Result<LoadedProvider, TlsError> {
    openssl_sys::init();
    Provider::load(None, name)
        .map(|p| LoadedProvider { _provider: p })
        .map_err(|e| {
            let mut err = config_error("", &e);
            err.reason = alloc::format!("unable to load provider {name}");
            err
        })
}

/// `-provider name` on 1.1.1: there are no providers.
#[cfg(not(ossl300))]
pub fn load_provider(_name: &str) -> Result<LoadedProvider, TlsError> {
    Err(needs_ossl300("-provider"))
}

/// The error of a provider option on a library older than 3.0.
#[cfg(not(ossl300))]
fn needs_ossl300(what: &str) -> TlsError {
    let why = super::version::unsupported_option(what.trim_start_matches('-')).unwrap_or_default();
    TlsError::new(TlsErrorKind::Config, alloc::format!("{what}: {why}"))
}

/// `-provider-path dir`: `OSSL_PROVIDER_set_default_search_path`; an empty path restores the
/// built-in default (s_server passes NULL for it).
#[cfg(ossl300)]
pub fn set_provider_search_path(path: &str) -> Result<(), TlsError> {
    let c = c_string("-provider-path", path)?;
    let p = if path.is_empty() { core::ptr::null() } else { c.as_ptr() };
    // SAFETY: NULL selects the default library context; `p` is NULL or a valid C string that
    // OpenSSL copies.
    if unsafe { openssl_sys::OSSL_PROVIDER_set_default_search_path(core::ptr::null_mut(), p) } == 1 {
        Ok(())
    } else {
        Err(take_queue(
            TlsErrorKind::Config,
            "unable to set the provider search path",
        ))
    }
}

/// `-provider-path dir` on 1.1.1: there are no providers.
#[cfg(not(ossl300))]
pub fn set_provider_search_path(_path: &str) -> Result<(), TlsError> {
    Err(needs_ossl300("-provider-path"))
}

/// `-propquery q`: the property query every later fetch uses (`EVP_set_default_properties` on
/// the default library context). s_server passes it to each fetch it makes (`SSL_CTX_new_ex`,
/// key and certificate loading); setting it as the default reaches the same fetches.
#[cfg(ossl300)]
pub fn set_default_properties(query: &str) -> Result<(), TlsError> {
    let c = c_string("-propquery", query)?;
    // SAFETY: NULL selects the default library context; OpenSSL parses and copies the query.
    if unsafe { ffi::EVP_set_default_properties(core::ptr::null_mut(), c.as_ptr()) } == 1 {
        Ok(())
    } else {
        Err(take_queue(TlsErrorKind::Config, "invalid property query"))
    }
}

/// `-propquery q` on 1.1.1: there are no properties to query.
#[cfg(not(ossl300))]
pub fn set_default_properties(_query: &str) -> Result<(), TlsError> {
    Err(needs_ossl300("-propquery"))
}

/// `-rand file`: mixes `seed` (the file's contents, which the caller read) into the random
/// generator, counting every byte as entropy, as `RAND_load_file` does.
pub fn rand_add(seed: &[u8]) -> Result<(), TlsError> {
    for chunk in seed.chunks(1 << 20) {
        // SAFETY: `chunk` is readable for its length (at most 1 MiB, so it fits a c_int);
        // OpenSSL only reads it.
        unsafe { openssl_sys::RAND_add(chunk.as_ptr().cast(), chunk.len() as c_int, chunk.len() as f64) };
    }
    // SAFETY: a read-only query of the default generator.
    if unsafe { openssl_sys::RAND_status() } == 1 {
        Ok(())
    } else {
        Err(take_queue(TlsErrorKind::Config, "the random generator is not seeded"))
    }
}

/// How many bytes `RAND_write_file` writes, and so `-writerand` does.
pub const RAND_FILE_BYTES: usize = 1024;

/// `-writerand file`: fresh random bytes for the caller to save (for a later `-rand`).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, TlsError> {
    let mut buf = alloc::vec![0u8; n];
    openssl::rand::rand_bytes(&mut buf).map_err(|e| config_error("Cannot write random bytes", &e))?;
    Ok(buf)
}

/// What [`ServerConfigBuilder::build`] still has to apply for this module.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// `-ssl_config name`.
    ssl_config: Option<String>,
    /// A protocol flag (`-tls1_2`, `-dtls1`, …) pinned the versions: s_server sets them after
    /// `SSL_CTX_config`, so the flag wins over the section's `MinProtocol`/`MaxProtocol`.
    pinned: bool,
}

impl ServerConfigBuilder {
    /// `-ssl_config name`: apply the named `ssl_conf` section of the OpenSSL configuration file
    /// (`SSL_CTX_config`), after the command line's `SSL_CONF` options. `pinned_version`: a
    /// protocol flag was given, whose versions stay in force (s_server applies them last).
    pub fn ssl_config(&mut self, name: &str, pinned_version: bool) {
        self.transport.ssl_config = Some(String::from(name));
        self.transport.pinned = pinned_version;
    }
}

/// Applies what [`Pending`] holds to `ctx` (called by `build` after the `SSL_CONF` commands).
pub(crate) fn apply(pending: &Pending, ctx: &mut SslContextBuilder) -> Result<(), TlsError> {
    let Some(name) = &pending.ssl_config else {
        return Ok(());
    };
    let versions = (ctx.min_proto_version(), ctx.max_proto_version());
    let c = c_string("-ssl_config", name)?;
    // SAFETY: `ctx` is a live SSL_CTX and `c` a valid C string; OpenSSL only reads the loaded
    // configuration.
    if unsafe { ffi::SSL_CTX_config(ctx.as_ptr(), c.as_ptr()) } == 0 {
        return Err(take_queue(
            TlsErrorKind::Config,
            &alloc::format!("Error using configuration \"{name}\""),
        ));
    }
    if pending.pinned {
        let err = |e| config_error("protocol version", &e);
        if versions.0.is_some() {
            ctx.set_min_proto_version(versions.0).map_err(err)?;
        }
        if versions.1.is_some() {
            ctx.set_max_proto_version(versions.1).map_err(err)?;
        }
    }
    Ok(())
}
