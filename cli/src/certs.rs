//! s_server's certificate extras: the SNI context (`-servername`, `-cert2`, `-key2`,
//! `-servername_fatal`), the second certificate (`-dcert`, `-dkey`, `-dpass`, `-dcertform`,
//! `-dkeyform`, `-dcert_chain`), `-serverinfo`, `-dhparam`, `-no_dhe` and `-nextprotoneg`,
//! applied in s_server's order with its start-up lines.

use std::path::Path;

use sserve_engine::ossl::{has_dh_params, DtlsVersion, ExtendedCert, TlsVersion};
use sserve_engine::ServerConfigBuilder;

use crate::error::Error;
use crate::load::{format_of, password, read_file, tls};
use crate::options::SplitArgs;
use crate::settings::{CertSettings, Settings};
use crate::setup::DEFAULT_CERT;

/// s_server's default `-cert2`.
const DEFAULT_CERT2: &str = "server2.pem";

/// `-serverinfo` (for the main certificate) and then `-dcert`, as s_server orders them; call
/// right after the main certificate is set.
pub(crate) fn configure_extra_certificates(b: &mut ServerConfigBuilder, c: &CertSettings) -> Result<(), Error> {
    if let Some(path) = &c.serverinfo {
        b.serverinfo(&read_file("serverinfo file", path)?)
            .map_err(|e| Error(format!("-serverinfo '{path}': {}", e.reason)))?;
    }
    let Some(dcert) = &c.dcert else {
        return Ok(());
    };
    let dkey = c.dkey.as_ref().unwrap_or(dcert);
    let dpass = c.dpass.as_deref().map(password).transpose()?;
    let chain = c
        .dcert_chain
        .as_deref()
        .map(|p| read_file("second certificate chain file", p))
        .transpose()?;
    let (cert_data, key_data) = (
        read_file("second certificate file", dcert)?,
        read_file("second private key file", dkey)?,
    );
    b.additional_certificate(
        &cert_data,
        format_of(c.dcertform, &cert_data),
        &key_data,
        format_of(c.dkeyform, &key_data),
        dpass.as_deref(),
        chain.as_deref(),
    )
    .map_err(|e| Error(format!("-dcert '{dcert}': {}", e.reason)))
}

/// `-nextprotoneg`: refused with `-tls1_3` as by s_server.
pub(crate) fn configure_npn(b: &mut ServerConfigBuilder, c: &CertSettings, tls1_3: bool) -> Result<(), Error> {
    let Some(list) = &c.nextprotoneg else {
        return Ok(());
    };
    if tls1_3 {
        return Err(Error("Cannot supply -nextprotoneg with TLSv1.3".into()));
    }
    b.next_protocols(list).map_err(tls("-nextprotoneg"))
}

/// What the second (SNI) context shares with the first: how s_server configures `ctx2`.
pub(crate) struct SecondContext<'a> {
    /// The checked options.
    pub s: &'a Settings,
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
    let certs = &c.s.certs;
    if !c.xcerts.is_empty() {
        b.extended_certificates(c.xcerts.clone());
    }
    let mut lines = String::new();
    let cert_file = match &certs.cert {
        Some(p) => Some(p.as_str()),
        None if Path::new(DEFAULT_CERT).exists() => Some(DEFAULT_CERT),
        None => None,
    };
    let mut second = match &certs.servername {
        Some(_) => {
            let b2 = second_builder(c)?;
            lines.push_str("Setting secondary ctx parameters\n");
            Some(b2)
        }
        None => None,
    };
    let dhfile = certs.dhparam.as_ref();
    if certs.no_dhe {
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
                let own = std::fs::read(cert2_path(certs)).ok();
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
    if let (Some(b2), Some(name)) = (second, &certs.servername) {
        b.sni_context(name, certs.servername_fatal, b2)
            .map_err(tls("second context"))?;
    }
    Ok(lines)
}

fn cert2_path(c: &CertSettings) -> &str {
    c.cert2.as_deref().unwrap_or(DEFAULT_CERT2)
}

/// s_server's `ctx2`: same method and protocol flags, `-cert2`/`-key2`, verification, the
/// `SSL_CONF` commands, cache and tuning flags, and (sserve) the key log.
fn second_builder(c: &SecondContext<'_>) -> Result<ServerConfigBuilder, Error> {
    let s = c.s;
    let mut b2 = match c.dtls {
        Some(v) => ServerConfigBuilder::new_dtls(v).map_err(tls("creating the second DTLS context"))?,
        None => ServerConfigBuilder::new().map_err(tls("creating the second TLS context"))?,
    };
    if let Some(v) = c.exact {
        b2.only_version(v).map_err(tls("protocol version"))?;
    }
    let cert2 = cert2_path(&s.certs);
    let key2 = s.certs.key2.as_deref().unwrap_or(cert2);
    let pass = s.certs.pass.as_deref().map(password).transpose()?;
    // s_server loads the key first, so a missing server2.pem is reported for the key.
    let key_data = read_file("second server certificate private key", key2)?;
    let cert_data = read_file("second server certificate", cert2)?;
    b2.certificate(&cert_data, format_of(s.certs.certform, &cert_data))
        .map_err(|e| Error(format!("{} ('{cert2}')", e.reason)))?;
    b2.private_key(&key_data, format_of(s.certs.keyform, &key_data), pass.as_deref())
        .map_err(|e| Error(format!("{} ('{key2}'; wrong or missing -pass?)", e.reason)))?;
    crate::setup::configure_verification(&mut b2, &s.verify, true)?;
    for (cmd, value) in &c.split.conf {
        b2.ssl_conf(cmd, value.as_deref()).map_err(tls(""))?;
    }
    if s.session.no_cache {
        b2.disable_session_cache();
    }
    crate::setup::configure_tuning(&mut b2, &s.context, s.read_buf)?;
    if s.context.keylogfile.is_some() {
        b2.keylog();
    }
    if !c.xcerts.is_empty() {
        b2.extended_certificates(c.xcerts.clone());
    }
    Ok(b2)
}

/// Loads the `-xcert …` certificates (which s_server installs on both contexts).
pub(crate) fn extended_certificates(c: &CertSettings) -> Result<Vec<ExtendedCert>, Error> {
    c.xcerts
        .iter()
        .map(|x| {
            let chain = x.chain.as_deref().map(|p| read_file("-xchain file", p)).transpose()?;
            let key_path = x.key.as_deref().unwrap_or(&x.cert);
            ExtendedCert::load(
                &read_file("-xcert file", &x.cert)?,
                x.certform,
                &read_file("-xkey file", key_path)?,
                x.keyform,
                chain.as_deref(),
                x.build_chain,
            )
            .map_err(|e| Error(format!("-xcert '{}': {}", x.cert, e.reason)))
        })
        .collect()
}
