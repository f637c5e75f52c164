//! s_server's certificate extras: the SNI context (`-servername`, `-cert2`, `-key2`,
//! `-servername_fatal`), the second certificate (`-dcert`, `-dkey`, `-dpass`, `-dcertform`,
//! `-dkeyform`, `-dcert_chain`), `-serverinfo`, `-dhparam`, `-no_dhe` and `-nextprotoneg`,
//! applied in s_server's order with its start-up lines.

use std::path::Path;

use clap::ArgMatches;
use sserve_engine::ossl::{has_dh_params, DtlsVersion, TlsVersion};
use sserve_engine::ServerConfigBuilder;

use super::{format_arg, password, read_file, tls, Fatal, DEFAULT_CERT};
use crate::options::SplitArgs;

/// s_server's default `-cert2`.
const DEFAULT_CERT2: &str = "server2.pem";

/// `-serverinfo` (for the main certificate) and then `-dcert`, as s_server orders them; call
/// right after the main certificate is set.
pub(super) fn configure_extra_certificates(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), Fatal> {
    if let Some(path) = m.get_one::<String>("serverinfo") {
        b.serverinfo(&read_file("serverinfo file", path)?)
            .map_err(|e| Fatal(format!("-serverinfo '{path}': {}", e.reason)))?;
    }
    let Some(dcert) = m.get_one::<String>("dcert") else {
        return Ok(());
    };
    let dkey = m.get_one::<String>("dkey").unwrap_or(dcert);
    let dpass = m.get_one::<String>("dpass").map(|p| password(p)).transpose()?;
    let chain = m
        .get_one::<String>("dcert_chain")
        .map(|p| read_file("second certificate chain file", p))
        .transpose()?;
    b.additional_certificate(
        &read_file("second certificate file", dcert)?,
        format_arg(m, "dcertform")?,
        &read_file("second private key file", dkey)?,
        format_arg(m, "dkeyform")?,
        dpass.as_deref(),
        chain.as_deref(),
    )
    .map_err(|e| Fatal(format!("-dcert '{dcert}': {}", e.reason)))
}

/// `-nextprotoneg`: refused with `-tls1_3` as by s_server.
pub(super) fn configure_npn(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), Fatal> {
    let Some(list) = m.get_one::<String>("nextprotoneg") else {
        return Ok(());
    };
    if m.get_flag("tls1_3") {
        return Err(Fatal("Cannot supply -nextprotoneg with TLSv1.3".into()));
    }
    b.next_protocols(list).map_err(tls("-nextprotoneg"))
}

/// What the second (SNI) context shares with the first: how s_server configures `ctx2`.
pub(super) struct SecondContext<'a> {
    /// The parsed options.
    pub m: &'a ArgMatches,
    /// The `SSL_CONF` commands.
    pub split: &'a SplitArgs,
    /// DTLS version, or `None` for TLS.
    pub dtls: Option<DtlsVersion>,
    /// `-tls1`…`-tls1_3`.
    pub exact: Option<TlsVersion>,
}

/// With `-servername`: builds s_server's second context (`-cert2`/`-key2`, default
/// `server2.pem`, with the main `-certform`/`-keyform`/`-pass`), configured like the first
/// except ALPN, NPN, `-serverinfo` and `-dcert` (which s_server sets on the first only), and
/// installs the SNI switch. Returns the start-up lines s_server prints (secondary context and
/// DH parameters), which also covers `-dhparam` and `-no_dhe` for both contexts.
pub(super) fn configure_sni_and_dh(b: &mut ServerConfigBuilder, c: &SecondContext<'_>) -> Result<String, Fatal> {
    let m = c.m;
    let mut lines = String::new();
    let cert_file = match m.get_one::<String>("cert") {
        Some(p) => Some(p.as_str()),
        None if Path::new(DEFAULT_CERT).exists() => Some(DEFAULT_CERT),
        None => None,
    };
    let mut second = match m.get_one::<String>("servername") {
        Some(_) => {
            let b2 = second_builder(c)?;
            lines.push_str("Setting secondary ctx parameters\n");
            Some(b2)
        }
        None => None,
    };
    let dhfile = m.get_one::<String>("dhparam");
    if m.get_flag("no_dhe") {
        b.no_dhe();
        if let Some(b2) = second.as_mut() {
            b2.no_dhe();
        }
    } else {
        // s_server reports an unreadable -dhparam and goes on with the built-in parameters.
        let dh = match dhfile {
            Some(f) => match std::fs::read(f) {
                Ok(d) if has_dh_params(&d) => Some(d),
                _ => {
                    eprintln!("Could not read params of DH parameters from {f}");
                    None
                }
            },
            None => cert_file
                .and_then(|f| std::fs::read(f).ok())
                .filter(|d| has_dh_params(d)),
        };
        if let Some(d) = &dh {
            b.dh_parameters(d).map_err(tls(""))?;
            lines.push_str("Setting temp DH parameters\n");
        } else {
            lines.push_str("Using default temp DH parameters\n");
        }
        if let Some(b2) = second.as_mut() {
            let mut dh2 = dh;
            if dhfile.is_some() {
                let own = std::fs::read(cert2_path(m)).ok();
                if let Some(d) = own.filter(|d| has_dh_params(d)) {
                    lines.push_str("Setting temp DH parameters\n");
                    dh2 = Some(d);
                }
            }
            if let Some(d) = &dh2 {
                b2.dh_parameters(d).map_err(tls(""))?;
            }
        }
    }
    if let (Some(b2), Some(name)) = (second, m.get_one::<String>("servername")) {
        b.sni_context(name, m.get_flag("servername_fatal"), b2)
            .map_err(tls("second context"))?;
    }
    Ok(lines)
}

fn cert2_path(m: &ArgMatches) -> &str {
    m.get_one::<String>("cert2").map_or(DEFAULT_CERT2, String::as_str)
}

/// s_server's `ctx2`: same method and protocol flags, `-cert2`/`-key2`, verification, the
/// `SSL_CONF` commands, cache and tuning flags, and (sserve) the key log.
fn second_builder(c: &SecondContext<'_>) -> Result<ServerConfigBuilder, Fatal> {
    let m = c.m;
    let mut b2 = match c.dtls {
        Some(v) => ServerConfigBuilder::new_dtls(v).map_err(tls("creating the second DTLS context"))?,
        None => ServerConfigBuilder::new().map_err(tls("creating the second TLS context"))?,
    };
    if let Some(v) = c.exact {
        b2.only_version(v).map_err(tls("protocol version"))?;
    }
    let cert2 = cert2_path(m);
    let key2 = m.get_one::<String>("key2").map_or(cert2, String::as_str);
    let pass = m.get_one::<String>("pass").map(|p| password(p)).transpose()?;
    // s_server loads the key first, so a missing server2.pem is reported for the key.
    let key_data = read_file("second server certificate private key", key2)?;
    b2.certificate(
        &read_file("second server certificate", cert2)?,
        format_arg(m, "certform")?,
    )
    .map_err(|e| Fatal(format!("{} ('{cert2}')", e.reason)))?;
    b2.private_key(&key_data, format_arg(m, "keyform")?, pass.as_deref())
        .map_err(|e| Fatal(format!("{} ('{key2}'; wrong or missing -pass?)", e.reason)))?;
    super::configure_verification(&mut b2, m, true)?;
    for (cmd, value) in &c.split.conf {
        b2.ssl_conf(cmd, value.as_deref()).map_err(tls(""))?;
    }
    if m.get_flag("no_cache") {
        b2.disable_session_cache();
    }
    super::configure_tuning(&mut b2, m)?;
    if m.get_one::<String>("keylogfile").is_some() {
        b2.keylog();
    }
    Ok(b2)
}
