//! s_server's certificate extras: the SNI context (`-servername`, `-cert2`, `-key2`,
//! `-servername_fatal`), the second certificate (`-dcert`, `-dkey`, `-dpass`, `-dcertform`,
//! `-dkeyform`, `-dcert_chain`), `-serverinfo`, `-dhparam`, `-no_dhe` and `-nextprotoneg`,
//! applied in s_server's order with its start-up lines.

use std::path::Path;

use clap::ArgMatches;
use sserve_engine::ossl::{has_dh_params, CertFormat, DtlsVersion, ExtendedCert, TlsVersion};
use sserve_engine::ServerConfigBuilder;

use crate::error::Error;
use crate::load::{format_arg, named_format, password, read_file, tls};
use crate::options::SplitArgs;
use crate::setup::DEFAULT_CERT;

/// s_server's default `-cert2`.
const DEFAULT_CERT2: &str = "server2.pem";

/// `-serverinfo` (for the main certificate) and then `-dcert`, as s_server orders them; call
/// right after the main certificate is set.
pub(crate) fn configure_extra_certificates(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), Error> {
    if let Some(path) = m.get_one::<String>("serverinfo") {
        b.serverinfo(&read_file("serverinfo file", path)?)
            .map_err(|e| Error(format!("-serverinfo '{path}': {}", e.reason)))?;
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
    let (cert_data, key_data) = (
        read_file("second certificate file", dcert)?,
        read_file("second private key file", dkey)?,
    );
    b.additional_certificate(
        &cert_data,
        format_arg(m, "dcertform", &cert_data)?,
        &key_data,
        format_arg(m, "dkeyform", &key_data)?,
        dpass.as_deref(),
        chain.as_deref(),
    )
    .map_err(|e| Error(format!("-dcert '{dcert}': {}", e.reason)))
}

/// `-nextprotoneg`: refused with `-tls1_3` as by s_server.
pub(crate) fn configure_npn(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), Error> {
    let Some(list) = m.get_one::<String>("nextprotoneg") else {
        return Ok(());
    };
    if m.get_flag("tls1_3") {
        return Err(Error("Cannot supply -nextprotoneg with TLSv1.3".into()));
    }
    b.next_protocols(list).map_err(tls("-nextprotoneg"))
}

/// What the second (SNI) context shares with the first: how s_server configures `ctx2`.
pub(crate) struct SecondContext<'a> {
    /// The parsed options.
    pub m: &'a ArgMatches,
    /// The `SSL_CONF` commands.
    pub split: &'a SplitArgs,
    /// DTLS version, or `None` for TLS.
    pub dtls: Option<DtlsVersion>,
    /// `-tls1`…`-tls1_3`.
    pub exact: Option<TlsVersion>,
    /// `-xcert …`, which s_server installs on both contexts.
    pub xcerts: Vec<ExtendedCert>,
}

/// Installs `-xcert …` on the first context and, with `-servername`, builds s_server's second
/// context (`-cert2`/`-key2`, default
/// `server2.pem`, with the main `-certform`/`-keyform`/`-pass`), configured like the first
/// except ALPN, NPN, `-serverinfo` and `-dcert` (which s_server sets on the first only), and
/// installs the SNI switch. Returns the start-up lines s_server prints (secondary context and
/// DH parameters), which also covers `-dhparam` and `-no_dhe` for both contexts.
pub(crate) fn configure_sni_and_dh(b: &mut ServerConfigBuilder, c: &SecondContext<'_>) -> Result<String, Error> {
    let m = c.m;
    if !c.xcerts.is_empty() {
        b.extended_certificates(c.xcerts.clone());
    }
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
fn second_builder(c: &SecondContext<'_>) -> Result<ServerConfigBuilder, Error> {
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
    let cert_data = read_file("second server certificate", cert2)?;
    b2.certificate(&cert_data, format_arg(m, "certform", &cert_data)?)
        .map_err(|e| Error(format!("{} ('{cert2}')", e.reason)))?;
    b2.private_key(&key_data, format_arg(m, "keyform", &key_data)?, pass.as_deref())
        .map_err(|e| Error(format!("{} ('{key2}'; wrong or missing -pass?)", e.reason)))?;
    crate::setup::configure_verification(&mut b2, m, true)?;
    for (cmd, value) in &c.split.conf {
        b2.ssl_conf(cmd, value.as_deref()).map_err(tls(""))?;
    }
    if m.get_flag("no_cache") {
        b2.disable_session_cache();
    }
    crate::setup::configure_tuning(&mut b2, m)?;
    if m.get_one::<String>("keylogfile").is_some() {
        b2.keylog();
    }
    if !c.xcerts.is_empty() {
        b2.extended_certificates(c.xcerts.clone());
    }
    Ok(b2)
}

/// One `-xcert` entry being collected (s_cb.c `args_excert`).
#[derive(Default)]
struct XSpec {
    cert: Option<String>,
    key: Option<String>,
    chain: Option<String>,
    certform: Option<String>,
    keyform: Option<String>,
    build_chain: bool,
}

fn parse_form(name: &str, v: Option<&String>) -> Result<CertFormat, Error> {
    v.map_or(Ok(CertFormat::Pem), |f| named_format(name, f))
}

/// `-xcert`, `-xkey`, `-xchain`, `-xchain_build`, `-xcertform`, `-xkeyform` in command-line
/// order: each `-xcert` after the first starts a new certificate, the others apply to the
/// current one (a second `-xkey` or `-xchain` for it is an error), as in s_server.
pub(crate) fn extended_certificates(m: &ArgMatches) -> Result<Vec<ExtendedCert>, Error> {
    let mut seen: Vec<(usize, &str, Option<&String>)> = Vec::new();
    for name in ["xcert", "xkey", "xchain", "xcertform", "xkeyform"] {
        if let (Some(idx), Some(vals)) = (m.indices_of(name), m.get_many::<String>(name)) {
            seen.extend(idx.zip(vals).map(|(i, v)| (i, name, Some(v))));
        }
    }
    // A count flag always has a (default) value; only occurrences on the command line count.
    let given = m.value_source("xchain_build") == Some(clap::parser::ValueSource::CommandLine);
    if let Some(idx) = m.indices_of("xchain_build").filter(|_| given) {
        seen.extend(idx.map(|i| (i, "xchain_build", None)));
    }
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    seen.sort_by_key(|(i, _, _)| *i);
    let mut specs = vec![XSpec::default()];
    for (_, name, value) in seen {
        let cur = specs.last_mut().expect("never empty");
        let v = value.cloned();
        match name {
            "xcert" if cur.cert.is_some() => specs.push(XSpec {
                cert: v,
                ..XSpec::default()
            }),
            "xcert" => cur.cert = v,
            "xkey" if cur.key.is_some() => return Err(Error("-xkey: Key already specified".into())),
            "xkey" => cur.key = v,
            "xchain" if cur.chain.is_some() => return Err(Error("-xchain: Chain already specified".into())),
            "xchain" => cur.chain = v,
            "xcertform" => cur.certform = v,
            "xkeyform" => cur.keyform = v,
            _ => cur.build_chain = true,
        }
    }
    if specs.len() == 1 && specs[0].cert.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for s in specs {
        let Some(cert) = s.cert else {
            return Err(Error("-xcert: Missing filename".into()));
        };
        let certform = parse_form("xcertform", s.certform.as_ref())?;
        let (key_path, keyform) = match &s.key {
            Some(k) => (k.as_str(), parse_form("xkeyform", s.keyform.as_ref())?),
            None => (cert.as_str(), certform),
        };
        let chain = s.chain.as_deref().map(|p| read_file("-xchain file", p)).transpose()?;
        let x = ExtendedCert::load(
            &read_file("-xcert file", &cert)?,
            certform,
            &read_file("-xkey file", key_path)?,
            keyform,
            chain.as_deref(),
            s.build_chain,
        )
        .map_err(|e| Error(format!("-xcert '{cert}': {}", e.reason)))?;
        out.push(x);
    }
    Ok(out)
}
