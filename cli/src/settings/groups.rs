//! The option groups of [`Settings`](super::Settings), each read from the parsed options once
//! and handed to the module that applies it (certs.rs, verify.rs, psk.rs, ocsp.rs, output.rs,
//! transport.rs, setup.rs). Values that can be checked without touching anything are checked
//! here; files are read and OpenSSL is asked where the group is applied, in s_server's order.

use clap::parser::ValueSource;
use clap::ArgMatches;
use sserve_engine::ossl::ocsp_http::HttpUrl;
use sserve_engine::ossl::{CertFormat, DtlsVersion, TlsVersion};

use super::number;
use crate::error::Error;
use crate::load::named_format;

fn string(m: &ArgMatches, name: &str) -> Option<String> {
    m.get_one::<String>(name).cloned()
}

/// A `PEM`/`DER` option (the value was checked with the other formats).
fn format(m: &ArgMatches, name: &str) -> Result<Option<CertFormat>, Error> {
    m.get_one::<String>(name).map(|v| named_format(name, v)).transpose()
}

/// The values of `name` with their command-line positions.
fn positioned(m: &ArgMatches, name: &'static str) -> Vec<(usize, &'static str, String)> {
    match (m.indices_of(name), m.get_many::<String>(name)) {
        (Some(idx), Some(vals)) => idx.zip(vals).map(|(i, v)| (i, name, v.clone())).collect(),
        _ => Vec::new(),
    }
}

/// The command-line positions of flag `name` (none for a default value).
fn flag_positions(m: &ArgMatches, name: &str) -> Vec<usize> {
    if m.value_source(name) != Some(ValueSource::CommandLine) {
        return Vec::new();
    }
    m.indices_of(name).into_iter().flatten().collect()
}

/// `-tls1`…`-tls1_3`, `-dtls*` and `-listen`, as given (their combinations are checked in
/// setup.rs, with the `SSL_CONF` commands).
#[derive(Debug, Clone, Default)]
pub struct ProtocolSettings {
    /// `-tls1`, `-tls1_1`, `-tls1_2`, `-tls1_3` given.
    pub tls: Vec<TlsVersion>,
    /// `-dtls`, `-dtls1`, `-dtls1_2` given.
    pub dtls: Vec<DtlsVersion>,
    /// `-listen`.
    pub listen: bool,
}

impl ProtocolSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Self {
        let tls = [
            ("tls1", TlsVersion::Tls1),
            ("tls1_1", TlsVersion::Tls1_1),
            ("tls1_2", TlsVersion::Tls1_2),
            ("tls1_3", TlsVersion::Tls1_3),
        ];
        let dtls = [
            ("dtls", DtlsVersion::Any),
            ("dtls1", DtlsVersion::Dtls1),
            ("dtls1_2", DtlsVersion::Dtls1_2),
        ];
        ProtocolSettings {
            tls: tls.iter().filter(|(f, _)| m.get_flag(f)).map(|(_, v)| *v).collect(),
            dtls: dtls.iter().filter(|(f, _)| m.get_flag(f)).map(|(_, v)| *v).collect(),
            listen: m.get_flag("listen"),
        }
    }
}

/// One `-xcert` entry (s_cb.c `args_excert`): file names and formats, loaded in certs.rs.
#[derive(Debug, Clone)]
pub struct XcertSettings {
    /// `-xcert`.
    pub cert: String,
    /// `-xkey` (default: the `-xcert` file).
    pub key: Option<String>,
    /// `-xchain`.
    pub chain: Option<String>,
    /// `-xcertform` (default PEM).
    pub certform: CertFormat,
    /// `-xkeyform` (default PEM; with no `-xkey`, the certificate's format).
    pub keyform: CertFormat,
    /// `-xchain_build`.
    pub build_chain: bool,
}

/// The certificates: `-cert`/`-key` and their extras, the SNI context, `-dhparam`,
/// `-nextprotoneg`, `-xcert …`.
#[derive(Debug, Clone, Default)]
pub struct CertSettings {
    /// `-nocert`.
    pub nocert: bool,
    /// `-cert`.
    pub cert: Option<String>,
    /// `-key`.
    pub key: Option<String>,
    /// `-certform` (else detected).
    pub certform: Option<CertFormat>,
    /// `-keyform` (else detected).
    pub keyform: Option<CertFormat>,
    /// `-pass` (a pass phrase source, read when the key is).
    pub pass: Option<String>,
    /// `-cert_chain`.
    pub cert_chain: Option<String>,
    /// `-serverinfo`.
    pub serverinfo: Option<String>,
    /// `-dcert`.
    pub dcert: Option<String>,
    /// `-dkey`.
    pub dkey: Option<String>,
    /// `-dpass`.
    pub dpass: Option<String>,
    /// `-dcert_chain`.
    pub dcert_chain: Option<String>,
    /// `-dcertform`.
    pub dcertform: Option<CertFormat>,
    /// `-dkeyform`.
    pub dkeyform: Option<CertFormat>,
    /// `-nextprotoneg`.
    pub nextprotoneg: Option<String>,
    /// `-servername`.
    pub servername: Option<String>,
    /// `-servername_fatal`.
    pub servername_fatal: bool,
    /// `-cert2`.
    pub cert2: Option<String>,
    /// `-key2`.
    pub key2: Option<String>,
    /// `-dhparam`.
    pub dhparam: Option<String>,
    /// `-no_dhe`.
    pub no_dhe: bool,
    /// `-xcert …`, in command-line order.
    pub xcerts: Vec<XcertSettings>,
}

impl CertSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Result<Self, Error> {
        Ok(CertSettings {
            nocert: m.get_flag("nocert"),
            cert: string(m, "cert"),
            key: string(m, "key"),
            certform: format(m, "certform")?,
            keyform: format(m, "keyform")?,
            pass: string(m, "pass"),
            cert_chain: string(m, "cert_chain"),
            serverinfo: string(m, "serverinfo"),
            dcert: string(m, "dcert"),
            dkey: string(m, "dkey"),
            dpass: string(m, "dpass"),
            dcert_chain: string(m, "dcert_chain"),
            dcertform: format(m, "dcertform")?,
            dkeyform: format(m, "dkeyform")?,
            nextprotoneg: string(m, "nextprotoneg"),
            servername: string(m, "servername"),
            servername_fatal: m.get_flag("servername_fatal"),
            cert2: string(m, "cert2"),
            key2: string(m, "key2"),
            dhparam: string(m, "dhparam"),
            no_dhe: m.get_flag("no_dhe"),
            xcerts: xcerts(m)?,
        })
    }
}

/// One `-xcert` entry being collected.
#[derive(Default)]
struct XSpec {
    cert: Option<String>,
    key: Option<String>,
    chain: Option<String>,
    certform: Option<String>,
    keyform: Option<String>,
    build_chain: bool,
}

/// `-xcert`, `-xkey`, `-xchain`, `-xchain_build`, `-xcertform`, `-xkeyform` in command-line
/// order: each `-xcert` after the first starts a new certificate, the others apply to the
/// current one (a second `-xkey` or `-xchain` for it is an error), as in s_server.
fn xcerts(m: &ArgMatches) -> Result<Vec<XcertSettings>, Error> {
    let mut seen: Vec<(usize, &str, Option<String>)> = Vec::new();
    for name in ["xcert", "xkey", "xchain", "xcertform", "xkeyform"] {
        seen.extend(positioned(m, name).into_iter().map(|(i, n, v)| (i, n, Some(v))));
    }
    // A count flag always has a (default) value; only occurrences on the command line count.
    seen.extend(
        flag_positions(m, "xchain_build")
            .into_iter()
            .map(|i| (i, "xchain_build", None)),
    );
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    seen.sort_by_key(|(i, _, _)| *i);
    let mut specs = vec![XSpec::default()];
    for (_, name, v) in seen {
        let cur = specs.last_mut().expect("never empty");
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
    let form = |name: &str, v: &Option<String>| v.as_deref().map_or(Ok(CertFormat::Pem), |f| named_format(name, f));
    specs
        .into_iter()
        .map(|s| {
            let cert = s.cert.ok_or_else(|| Error("-xcert: Missing filename".into()))?;
            let certform = form("xcertform", &s.certform)?;
            let keyform = match &s.key {
                Some(_) => form("xkeyform", &s.keyform)?,
                None => certform,
            };
            Ok(XcertSettings {
                cert,
                key: s.key,
                chain: s.chain,
                certform,
                keyform,
                build_chain: s.build_chain,
            })
        })
        .collect()
}

/// A `CAfile`/`CApath`/`CAstore` triple (`-verifyCA*`, `-chainCA*`).
#[derive(Debug, Clone, Default)]
pub struct StoreSources {
    /// `-<prefix>CAfile`.
    pub file: Option<String>,
    /// `-<prefix>CApath`.
    pub path: Option<String>,
    /// `-<prefix>CAstore`.
    pub store: Option<String>,
}

impl StoreSources {
    fn from_matches(m: &ArgMatches, prefix: &str) -> Self {
        let get = |kind: &str| string(m, &format!("{prefix}{kind}"));
        StoreSources {
            file: get("CAfile"),
            path: get("CApath"),
            store: get("CAstore"),
        }
    }
}

/// Trust, client verification, CRLs and the `opt_verify` parameters.
#[derive(Debug, Clone, Default)]
pub struct VerifySettings {
    /// `-CAfile`.
    pub ca_file: Option<String>,
    /// `-CApath`.
    pub ca_path: Option<String>,
    /// `-verify` depth.
    pub verify: Option<u32>,
    /// `-Verify` depth (a client certificate is required).
    pub verify_required: Option<u32>,
    /// `-verify_return_error`.
    pub verify_return_error: bool,
    /// `-nameopt …`.
    pub nameopt: Vec<String>,
    /// `-CAstore`.
    pub ca_store: Option<String>,
    /// The `opt_verify` options in command-line order (`-verify_name` then `-verify_depth` is
    /// not the same as the reverse): (name, value of a value option).
    pub params: Vec<(&'static str, Option<String>)>,
    /// `-CRL`.
    pub crl: Option<String>,
    /// `-CRLform` (default PEM).
    pub crl_format: CertFormat,
    /// `-verifyCAfile`, `-verifyCApath`, `-verifyCAstore`.
    pub verify_store: StoreSources,
    /// `-chainCAfile`, `-chainCApath`, `-chainCAstore`.
    pub chain_store: StoreSources,
    /// `-build_chain`.
    pub build_chain: bool,
}

impl VerifySettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Result<Self, Error> {
        let mut params: Vec<(usize, &'static str, Option<String>)> = Vec::new();
        for name in crate::verify::PARAM_VALUE_OPTIONS {
            params.extend(positioned(m, name).into_iter().map(|(i, n, v)| (i, n, Some(v))));
        }
        for name in crate::verify::PARAM_FLAG_OPTIONS {
            if m.get_flag(name) {
                params.extend(m.indices_of(name).into_iter().flatten().map(|i| (i, *name, None)));
            }
        }
        params.sort_by_key(|(i, _, _)| *i);
        let depth = |name| number(m, name, 0, i32::MAX as u64).map(|d| d.map(|d| d as u32));
        Ok(VerifySettings {
            ca_file: string(m, "CAfile"),
            ca_path: string(m, "CApath"),
            verify: depth("verify")?,
            verify_required: depth("Verify")?,
            verify_return_error: m.get_flag("verify_return_error"),
            nameopt: m.get_many::<String>("nameopt").into_iter().flatten().cloned().collect(),
            ca_store: string(m, "CAstore"),
            params: params.into_iter().map(|(_, n, v)| (n, v)).collect(),
            crl: string(m, "CRL"),
            crl_format: format(m, "CRLform")?.unwrap_or(CertFormat::Pem),
            verify_store: StoreSources::from_matches(m, "verify"),
            chain_store: StoreSources::from_matches(m, "chain"),
            build_chain: m.get_flag("build_chain"),
        })
    }
}

/// PSK, TLS 1.3 early data and SRP.
#[derive(Debug, Clone, Default)]
pub struct PskSettings {
    /// `-early_data`.
    pub early_data: bool,
    /// `-psk`, decoded.
    pub key: Option<Vec<u8>>,
    /// `-psk_session`.
    pub session: Option<String>,
    /// `-psk_identity`.
    pub identity: Option<String>,
    /// `-psk_hint`.
    pub hint: Option<String>,
    /// `-max_early_data`.
    pub max_early_data: Option<u32>,
    /// `-recv_max_early_data`.
    pub recv_max_early_data: Option<u32>,
    /// `-srpvfile`.
    pub srpvfile: Option<String>,
    /// `-srpuserseed`.
    pub srpuserseed: Option<String>,
}

/// Decodes `-psk`: s_server accepts hex digits only ("Not a hex number"), and a key of odd length
/// fails later in every handshake ("Could not convert PSK key"); sserve says so at start-up.
pub(crate) fn psk_key(hex: &str) -> Result<Vec<u8>, Error> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error(format!("Not a hex number '{hex}'")));
    }
    if hex.len() % 2 != 0 {
        return Err(Error(format!("Could not convert PSK key '{hex}' to buffer")));
    }
    Ok((0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
        .collect())
}

impl PskSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Result<Self, Error> {
        let early_limit = |name: &str| number(m, name, 0, u64::from(u32::MAX)).map(|n| n.map(|n| n as u32));
        Ok(PskSettings {
            early_data: m.get_flag("early_data"),
            key: m.get_one::<String>("psk").map(|k| psk_key(k)).transpose()?,
            session: string(m, "psk_session"),
            identity: string(m, "psk_identity"),
            hint: string(m, "psk_hint"),
            max_early_data: early_limit("max_early_data")?,
            recv_max_early_data: early_limit("recv_max_early_data")?,
            srpvfile: string(m, "srpvfile"),
            srpuserseed: string(m, "srpuserseed"),
        })
    }
}

/// OCSP stapling (`-status*`, `-proxy`, `-no_proxy`).
#[derive(Debug, Clone, Default)]
pub struct StatusSettings {
    /// Any `-status*` option was given.
    pub enabled: bool,
    /// `-status_verbose`.
    pub verbose: bool,
    /// `-status_file`.
    pub file: Option<String>,
    /// `-status_timeout` in seconds (`None`, or 0: the default bound).
    pub timeout: Option<u64>,
    /// `-status_url` (an `http://` URL, checked).
    pub url: Option<String>,
    /// `-proxy`.
    pub proxy: Option<String>,
    /// `-no_proxy`.
    pub no_proxy: Option<String>,
}

impl StatusSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Result<Self, Error> {
        let verbose = m.get_flag("status_verbose");
        let enabled = verbose
            || m.get_flag("status")
            || ["status_timeout", "status_url", "status_file"]
                .iter()
                .any(|o| m.get_one::<String>(o).is_some());
        Ok(StatusSettings {
            enabled,
            verbose,
            file: string(m, "status_file"),
            timeout: number(m, "status_timeout", 0, super::MAX_TIMEOUT_SECS)?,
            url: string(m, "status_url"),
            proxy: string(m, "proxy"),
            no_proxy: string(m, "no_proxy"),
        })
    }

    /// `-status_url`: an http URL (only checked when stapling is on, as s_server parses it
    /// there).
    pub(crate) fn check_url(&self) -> Result<(), Error> {
        let Some(u) = self.url.as_deref().filter(|_| self.enabled && self.file.is_none()) else {
            return Ok(());
        };
        match HttpUrl::parse(u) {
            Err(_) => Err(Error("Error parsing -status_url argument".into())),
            Ok(url) if url.https => Err(Error(
                "-status_url: https responders are not supported (use an http:// URL)".into(),
            )),
            Ok(_) => Ok(()),
        }
    }
}

/// The session cache and ticket options.
#[derive(Debug, Clone, Default)]
pub struct SessionSettings {
    /// `-stateless`.
    pub stateless: bool,
    /// `-id_prefix`.
    pub id_prefix: Option<String>,
    /// `-ext_cache`.
    pub ext_cache: bool,
    /// `-no_cache`.
    pub no_cache: bool,
}

impl SessionSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Self {
        SessionSettings {
            stateless: m.get_flag("stateless"),
            id_prefix: string(m, "id_prefix"),
            ext_cache: m.get_flag("ext_cache"),
            no_cache: m.get_flag("no_cache"),
        }
    }
}

/// The diagnostic options that [`Settings`](super::Settings) does not resolve itself.
#[derive(Debug, Clone, Default)]
pub struct OutputSettings {
    /// `-msgfile`.
    pub msgfile: Option<String>,
    /// `-state`.
    pub state: bool,
    /// `-tlsextdebug`.
    pub tlsextdebug: bool,
    /// `-debug`.
    pub debug: bool,
}

impl OutputSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Result<Self, Error> {
        const TEXT_ONLY: [&str; 7] = [
            "msg",
            "trace",
            "state",
            "debug",
            "tlsextdebug",
            "security_debug",
            "security_debug_verbose",
        ];
        if m.get_flag("json") {
            if let Some(f) = TEXT_ONLY.iter().find(|f| m.get_flag(f)) {
                return Err(Error(format!(
                    "-{f} prints s_server's text output and cannot be combined with -json"
                )));
            }
        }
        Ok(OutputSettings {
            msgfile: string(m, "msgfile"),
            state: m.get_flag("state"),
            tlsextdebug: m.get_flag("tlsextdebug"),
            debug: m.get_flag("debug"),
        })
    }
}

/// A provider option (`-provider`, `-provider-path`, `-propquery`), in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderStep {
    /// `-provider name`.
    Load(String),
    /// `-provider-path dir`.
    SearchPath(String),
    /// `-propquery query`.
    Properties(String),
}

/// The transport and process options.
#[derive(Debug, Clone, Default)]
pub struct TransportSettings {
    /// `-unix path`, unless a later `-accept` or `-port` overrides it.
    pub unix: Option<String>,
    /// `-unlink`.
    pub unlink: bool,
    /// `-sendfile`.
    pub sendfile: bool,
    /// `-nbio`.
    pub nbio: bool,
    /// `-nbio_test`.
    pub nbio_test: bool,
    /// The provider options in command-line order.
    pub providers: Vec<ProviderStep>,
    /// `-rand` lists, in order.
    pub rand: Vec<String>,
    /// `-writerand`.
    pub writerand: Option<String>,
}

impl TransportSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Self {
        let mut steps: Vec<_> = ["provider", "provider-path", "propquery"]
            .into_iter()
            .flat_map(|n| positioned(m, n))
            .collect();
        steps.sort_by_key(|(i, _, _)| *i);
        let last = |name| m.index_of(name).unwrap_or(0);
        TransportSettings {
            unix: string(m, "unix").filter(|_| last("accept").max(last("port")) < last("unix")),
            unlink: m.get_flag("unlink"),
            sendfile: m.get_flag("sendfile"),
            nbio: m.get_flag("nbio"),
            nbio_test: m.get_flag("nbio_test"),
            providers: steps
                .into_iter()
                .map(|(_, name, v)| match name {
                    "provider" => ProviderStep::Load(v),
                    "provider-path" => ProviderStep::SearchPath(v),
                    _ => ProviderStep::Properties(v),
                })
                .collect(),
            rand: m.get_many::<String>("rand").into_iter().flatten().cloned().collect(),
            writerand: string(m, "writerand"),
        }
    }
}

/// The context options applied by setup.rs itself.
#[derive(Debug, Clone, Default)]
pub struct ContextSettings {
    /// `-ssl_config`.
    pub ssl_config: Option<String>,
    /// `-alpn`.
    pub alpn: Option<String>,
    /// `-use_srtp`.
    pub use_srtp: Option<String>,
    /// `-keylogfile`.
    pub keylogfile: Option<String>,
    /// `-context`.
    pub context: Option<String>,
    /// `-keymatexport`.
    pub keymatexport: Option<String>,
    /// `-keymatexportlen` (default 20).
    pub keymatexportlen: usize,
    /// `-no_ca_names`.
    pub no_ca_names: bool,
    /// `-ignore_unexpected_eof`.
    pub ignore_unexpected_eof: bool,
    /// `-no_resume_ephemeral`.
    pub no_resume_ephemeral: bool,
    /// `-max_send_frag` (s_server ignores 0).
    pub max_send_frag: Option<u32>,
    /// `-split_send_frag` (s_server ignores 0).
    pub split_send_frag: Option<u32>,
    /// `-max_pipelines` (s_server ignores 0).
    pub max_pipelines: Option<u32>,
}

impl ContextSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Result<Self, Error> {
        let num = |name: &str| number(m, name, 0, u64::from(u32::MAX));
        let positive = |name: &str| num(name).map(|n| n.filter(|&n| n > 0).map(|n| n as u32));
        Ok(ContextSettings {
            ssl_config: string(m, "ssl_config"),
            alpn: string(m, "alpn"),
            use_srtp: string(m, "use_srtp"),
            keylogfile: string(m, "keylogfile"),
            context: string(m, "context"),
            keymatexport: string(m, "keymatexport"),
            keymatexportlen: num("keymatexportlen")?.map_or(20, |n| n as usize),
            no_ca_names: m.get_flag("no_ca_names"),
            ignore_unexpected_eof: m.get_flag("ignore_unexpected_eof"),
            no_resume_ephemeral: m.get_flag("no_resume_ephemeral"),
            max_send_frag: positive("max_send_frag")?,
            split_send_frag: positive("split_send_frag")?,
            max_pipelines: positive("max_pipelines")?,
        })
    }
}

/// Per-connection console switches.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    /// `-crlf`.
    pub crlf: bool,
    /// `-ign_eof` without `-no_ign_eof`.
    pub ign_eof: bool,
    /// `-http_server_binmode`.
    pub binmode: bool,
    /// `-verify_quiet`.
    pub verify_quiet: bool,
}

impl ConsoleSettings {
    pub(super) fn from_matches(m: &ArgMatches) -> Self {
        ConsoleSettings {
            crlf: m.get_flag("crlf"),
            ign_eof: m.get_flag("ign_eof") && !m.get_flag("no_ign_eof"),
            binmode: m.get_flag("http_server_binmode"),
            verify_quiet: m.get_flag("verify_quiet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::psk_key;

    #[test]
    fn psk_keys_are_hex() {
        assert_eq!(psk_key("1a2B").unwrap(), vec![0x1a, 0x2b]);
        assert_eq!(psk_key("0x12").unwrap_err().0, "Not a hex number '0x12'");
        assert_eq!(
            psk_key("abc").unwrap_err().0,
            "Could not convert PSK key 'abc' to buffer"
        );
    }
}
