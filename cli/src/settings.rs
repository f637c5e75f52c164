//! The typed run settings: every value of the command line is checked here, right after
//! parsing and before anything happens (no certificate is generated, no file read, no socket
//! opened before a bad value is refused). The mode and the output switches come from the
//! parsed options, never from a scan of argv, so a value such as `-context www` stays a value.
//! This module (with `groups.rs`, one typed struct per option group) is the only reader of
//! clap's `ArgMatches`: the modules that apply the options take the typed groups.

use clap::parser::ValueSource;
use clap::ArgMatches;
use sserve_adapters::listen::ListenSpec;
use sserve_engine::http::WebMode;
use sserve_engine::{AppMode, Duration};

use crate::error::Error;

mod groups;
pub use groups::{
    CertSettings, ConsoleSettings, ContextSettings, OutputSettings, ProtocolSettings, ProviderStep, PskSettings,
    SessionSettings, StatusSettings, StoreSources, TransportSettings, VerifySettings, XcertSettings,
};

/// s_server's default port.
pub const DEFAULT_PORT: u16 = 4433;
/// Most worker threads `-threads` takes.
const MAX_THREADS: u64 = 1024;
/// Largest `-read_buf` (OpenSSL allocates it per connection).
const MAX_READ_BUF: u64 = 1 << 20;
/// Longest timeout in seconds (a year).
pub(crate) const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// How connections are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeChoice {
    /// One connection at a time on the calling thread (the console mode).
    Blocking,
    /// tokio's multi-threaded runtime.
    Tokio,
    /// smol's executor.
    Smol,
}

/// What the command line asks for, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `-www`/`-WWW`/`-HTTP` (the last one given) or `-rev` (which wins), else the console.
    pub mode: AppMode,
    /// `-dtls`, `-dtls1` or `-dtls1_2` was given.
    pub dtls: bool,
    /// `-json`.
    pub json: bool,
    /// `-quiet` or `-brief`.
    pub quiet: bool,
    /// `-brief`.
    pub brief: bool,
    /// Where to listen (`-accept`/`-port`, `-4`/`-6`).
    pub listen: ListenSpec,
    /// `-naccept` (at least 1).
    pub naccept: Option<u64>,
    /// `-runtime`, resolved against the mode.
    pub runtime: RuntimeChoice,
    /// `-threads` (1 to 1024).
    pub threads: Option<usize>,
    /// `-max_conns` (default 16384).
    pub max_conns: usize,
    /// `-handshake_timeout` (default 10 s, 0 = never).
    pub handshake_timeout: Option<Duration>,
    /// `-idle_timeout` (default never).
    pub idle_timeout: Option<Duration>,
    /// `-read_buf` (1 B to 1 MiB).
    pub read_buf: Option<usize>,
    /// `-mtu` (DTLS link MTU, default 1500).
    pub mtu: usize,
    /// The last of `-msg` (false) and `-trace` (true).
    pub msg: Option<bool>,
    /// The last of `-security_debug` (false) and `-security_debug_verbose` (true).
    pub security_debug: Option<bool>,
    /// `-keep_alive`: HTTP/1.1 persistent connections in the web modes.
    pub keep_alive: bool,
    /// Protocol version flags.
    pub protocol: ProtocolSettings,
    /// Certificates.
    pub certs: CertSettings,
    /// Verification.
    pub verify: VerifySettings,
    /// PSK, early data, SRP.
    pub psk: PskSettings,
    /// OCSP stapling.
    pub status: StatusSettings,
    /// Session cache and tickets.
    pub session: SessionSettings,
    /// Diagnostics.
    pub output: OutputSettings,
    /// Transport and process options.
    pub transport: TransportSettings,
    /// The rest of the context options.
    pub context: ContextSettings,
    /// Console switches.
    pub console: ConsoleSettings,
}

/// What to print instead of serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Info {
    /// `-help`.
    Help,
    /// `-version`.
    Version,
}

/// `-help` or `-version`, which win over everything else (no other value is checked).
pub fn info_request(m: &ArgMatches) -> Option<Info> {
    if m.get_flag("help") {
        Some(Info::Help)
    } else if m.get_flag("version") {
        Some(Info::Version)
    } else {
        None
    }
}

/// The position of flag `name` on the command line, if given.
fn flag_index(m: &ArgMatches, name: &str) -> Option<usize> {
    (m.value_source(name) == Some(ValueSource::CommandLine))
        .then(|| m.indices_of(name).and_then(Iterator::last))
        .flatten()
}

/// Of the flags `choices` (name, meaning), the meaning of the one given last.
fn last_of<T: Copy>(m: &ArgMatches, choices: &[(&str, T)]) -> Option<T> {
    choices
        .iter()
        .filter_map(|(name, v)| flag_index(m, name).map(|i| (i, *v)))
        .max_by_key(|(i, _)| *i)
        .map(|(_, v)| v)
}

/// A number option in s_server's wording, within `min..=max`.
fn number(m: &ArgMatches, name: &str, min: u64, max: u64) -> Result<Option<u64>, Error> {
    let Some(v) = m.get_one::<String>(name) else {
        return Ok(None);
    };
    let n: i128 = v
        .trim()
        .parse()
        .map_err(|_| Error(format!("Can't parse \"{v}\" as a number for option -{name}")))?;
    if n < 1 && min >= 1 {
        return Err(Error(format!("Non-positive number \"{v}\" for option -{name}")));
    }
    if n < i128::from(min) || n > i128::from(max) {
        return Err(Error(format!(
            "Value \"{v}\" for option -{name} is out of range ({min} to {max})"
        )));
    }
    Ok(Some(n as u64))
}

/// Options whose value is a plain number, with their bounds (checked before anything else).
const NUMBERS: &[(&str, u64, u64)] = &[
    ("verify", 0, i32::MAX as u64),
    ("Verify", 0, i32::MAX as u64),
    ("keymatexportlen", 1, 1 << 16),
    // OpenSSL checks these ranges itself, with its own messages.
    ("max_send_frag", 0, i32::MAX as u64),
    ("split_send_frag", 0, i32::MAX as u64),
    ("max_pipelines", 0, i32::MAX as u64),
    ("status_timeout", 0, MAX_TIMEOUT_SECS),
    ("max_early_data", 0, u32::MAX as u64),
    ("recv_max_early_data", 0, u32::MAX as u64),
    ("verify_depth", 0, i32::MAX as u64),
    ("auth_level", 0, 5),
];

/// Format options that take `PEM` or `DER`.
const FORMATS: &[&str] = &[
    "certform",
    "keyform",
    "dcertform",
    "dkeyform",
    "CRLform",
    "xcertform",
    "xkeyform",
];

fn seconds(m: &ArgMatches, name: &str, default: u64) -> Result<Option<Duration>, Error> {
    Ok(match number(m, name, 0, MAX_TIMEOUT_SECS)?.unwrap_or(default) {
        0 => None,
        s => Some(Duration::from_secs(s)),
    })
}

/// `-accept [host:]port`, with the IPv6 brackets checked.
fn accept_spec(value: &str) -> Result<ListenSpec, Error> {
    if let Some(rest) = value.strip_prefix('[') {
        let Some((addr, tail)) = rest.split_once(']') else {
            return Err(Error(format!("-accept {value}: missing ']' after the IPv6 address")));
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Error(format!("-accept {value}: '{addr}' is not an IPv6 address")));
        }
        if !tail.is_empty() && !tail.starts_with(':') {
            return Err(Error(format!("-accept {value}: expected ':port' after ']'")));
        }
    }
    ListenSpec::parse_accept(value).map_err(Error)
}

fn listen_spec(m: &ArgMatches) -> Result<ListenSpec, Error> {
    // As in s_server, the last of -accept and -port decides.
    let port = number(m, "port", 1, u64::from(u16::MAX))?;
    let port_last = m.index_of("port") > m.index_of("accept");
    let mut spec = match m.get_one::<String>("accept").filter(|_| !port_last) {
        Some(a) => accept_spec(a)?,
        None => ListenSpec {
            host: None,
            port: port.map_or(DEFAULT_PORT, |p| p as u16),
            ipv4_only: false,
            ipv6_only: false,
        },
    };
    spec.ipv4_only = m.get_flag("4");
    spec.ipv6_only = m.get_flag("6");
    Ok(spec)
}

fn runtime(m: &ArgMatches, mode: AppMode, dtls: bool) -> Result<RuntimeChoice, Error> {
    let choice = match m.get_one::<String>("runtime").map(String::as_str) {
        None if mode == AppMode::Console || dtls => RuntimeChoice::Blocking,
        None | Some("tokio") => RuntimeChoice::Tokio,
        Some("smol") => RuntimeChoice::Smol,
        Some("blocking") => RuntimeChoice::Blocking,
        Some(other) => {
            return Err(Error(format!(
                "-runtime: unknown runtime '{other}' (tokio, smol or blocking)"
            )))
        }
    };
    if mode == AppMode::Console && choice != RuntimeChoice::Blocking {
        return Err(Error(if dtls {
            "-runtime: the DTLS console mode reads the console itself (use -runtime blocking)".into()
        } else {
            "-runtime: the console mode serves one connection at a time (use -www, -WWW, -HTTP or -rev for concurrency)"
                .into()
        }));
    }
    Ok(choice)
}

impl Settings {
    /// Checks every value of `m`; the first bad one is the error.
    pub fn from_matches(m: &ArgMatches) -> Result<Settings, Error> {
        for (name, min, max) in NUMBERS {
            number(m, name, *min, *max)?;
        }
        for name in FORMATS {
            for v in m.get_many::<String>(name).into_iter().flatten() {
                if !matches!(v.to_ascii_uppercase().as_str(), "PEM" | "DER") {
                    return Err(Error(format!("Invalid format \"{v}\" for option -{name} (PEM or DER)")));
                }
            }
        }
        let mode = if m.get_flag("rev") {
            AppMode::Rev
        } else {
            last_of(
                m,
                &[
                    ("www", WebMode::Status),
                    ("WWW", WebMode::Files),
                    ("HTTP", WebMode::Raw),
                ],
            )
            .map_or(AppMode::Console, AppMode::Web)
        };
        let dtls = ["dtls", "dtls1", "dtls1_2"].iter().any(|f| m.get_flag(f));
        let keep_alive = m.get_flag("keep_alive");
        if keep_alive && !matches!(mode, AppMode::Web(WebMode::Status | WebMode::Files)) {
            return Err(Error(
                "-keep_alive needs -www or -WWW (an -HTTP file carries its own headers)".into(),
            ));
        }
        if let Some(list) = m.get_one::<String>("alpn") {
            crate::web::check_alpn(list, mode)?;
        }
        let brief = m.get_flag("brief");
        let status = StatusSettings::from_matches(m)?;
        status.check_url()?;
        Ok(Settings {
            mode,
            dtls,
            json: m.get_flag("json"),
            quiet: m.get_flag("quiet") || brief,
            brief,
            listen: listen_spec(m)?,
            naccept: number(m, "naccept", 1, i64::MAX as u64)?,
            runtime: runtime(m, mode, dtls)?,
            threads: number(m, "threads", 1, MAX_THREADS)?.map(|n| n as usize),
            max_conns: number(m, "max_conns", 1, 1 << 24)?.map_or(16 * 1024, |n| n as usize),
            handshake_timeout: seconds(m, "handshake_timeout", 10)?,
            idle_timeout: seconds(m, "idle_timeout", 0)?,
            read_buf: number(m, "read_buf", 1, MAX_READ_BUF)?.map(|n| n as usize),
            mtu: number(m, "mtu", 1, u64::from(u16::MAX))?.map_or(1500, |n| n as usize),
            msg: last_of(m, &[("msg", false), ("trace", true)]),
            security_debug: last_of(m, &[("security_debug", false), ("security_debug_verbose", true)]),
            keep_alive,
            protocol: ProtocolSettings::from_matches(m),
            certs: CertSettings::from_matches(m)?,
            verify: VerifySettings::from_matches(m)?,
            psk: PskSettings::from_matches(m)?,
            status,
            session: SessionSettings::from_matches(m),
            output: OutputSettings::from_matches(m)?,
            transport: TransportSettings::from_matches(m),
            context: ContextSettings::from_matches(m)?,
            console: ConsoleSettings::from_matches(m),
        })
    }

    /// Whether -quiet/-brief silence the informational output (`-debug` overrides, elsewhere).
    pub fn verbosity(&self) -> crate::render::Verbosity {
        crate::render::Verbosity {
            quiet: self.quiet,
            brief: self.brief,
            verify_quiet: self.console.verify_quiet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &str) -> Result<Settings, Error> {
        let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        let split = crate::options::split_args(&args, |_| None)?;
        Settings::from_matches(&crate::options::parse(&split.clap_args)?)
    }

    #[test]
    fn values_are_never_flags() {
        assert_eq!(settings("-context www").unwrap().mode, AppMode::Console);
        let s = settings("-context msg -www").unwrap();
        assert_eq!(s.mode, AppMode::Web(WebMode::Status));
        assert_eq!(s.msg, None);
        assert_eq!(settings("-www -WWW").unwrap().mode, AppMode::Web(WebMode::Files));
        assert_eq!(settings("-HTTP -www").unwrap().mode, AppMode::Web(WebMode::Status));
        // -trace needs a library built with ssl-trace (refused while splitting otherwise).
        if sserve_engine::ossl::version::unsupported_option("trace").is_none() {
            assert_eq!(settings("-trace -msg").unwrap().msg, Some(false));
            assert_eq!(settings("-msg -trace").unwrap().msg, Some(true));
        } else {
            assert!(settings("-msg -trace").unwrap_err().0.starts_with("option -trace: "));
        }
    }

    #[test]
    fn bad_values_in_s_server_words() {
        let err = |a: &str| settings(a).unwrap_err().0;
        assert_eq!(err("-naccept 0"), "Non-positive number \"0\" for option -naccept");
        assert_eq!(err("-naccept x"), "Can't parse \"x\" as a number for option -naccept");
        assert_eq!(
            err("-threads 20000"),
            "Value \"20000\" for option -threads is out of range (1 to 1024)"
        );
        assert_eq!(err("-read_buf 0"), "Non-positive number \"0\" for option -read_buf");
        assert!(err("-read_buf 99999999999").contains("out of range"));
        assert!(err("-accept notaport").contains("invalid port"));
        assert!(err("-accept 99999").contains("invalid port"));
        assert!(err("-accept [::1").contains("missing ']'"));
        assert!(err("-certform XML").contains("-certform"));
        assert!(err("-runtime foo").contains("unknown runtime"));
        assert!(err("-keep_alive").contains("-keep_alive"));
    }

    #[test]
    fn option_groups_are_typed() {
        use sserve_engine::ossl::CertFormat;
        let s = settings("-xcert a.pem -xkey a.key -xcert b.pem -xcertform DER -xchain_build").unwrap();
        let x = &s.certs.xcerts;
        assert_eq!(x.len(), 2);
        assert_eq!((x[0].key.as_deref(), x[0].build_chain), (Some("a.key"), false));
        assert_eq!(
            (x[1].certform, x[1].keyform, x[1].build_chain),
            (CertFormat::Der, CertFormat::Der, true)
        );
        assert_eq!(settings("-unix /tmp/x -accept 1234").unwrap().transport.unix, None);
        let t = settings("-accept 1234 -unix /tmp/x").unwrap().transport;
        assert_eq!(t.unix.as_deref(), Some("/tmp/x"));
        // Providers need OpenSSL 3 (refused while splitting the arguments otherwise).
        if sserve_engine::ossl::version::unsupported_option("provider").is_none() {
            let t = settings("-provider a -propquery q -provider-path p").unwrap().transport;
            assert_eq!(
                t.providers,
                [
                    ProviderStep::Load("a".into()),
                    ProviderStep::Properties("q".into()),
                    ProviderStep::SearchPath("p".into())
                ]
            );
        }
        let v = settings("-verify_depth 3 -x509_strict -verify_name ssl_server -Verify 2")
            .unwrap()
            .verify;
        let names: Vec<&str> = v.params.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["verify_depth", "x509_strict", "verify_name"]);
        assert_eq!((v.verify, v.verify_required), (None, Some(2)));
        let s = settings("-psk 0a0B -status_timeout 0 -ign_eof -no_ign_eof").unwrap();
        assert_eq!(s.psk.key.as_deref(), Some(&[0x0a, 0x0b][..]));
        assert_eq!((s.status.enabled, s.status.timeout), (true, Some(0)));
        assert!(!s.console.ign_eof);
    }

    #[test]
    fn group_values_are_checked_up_front() {
        let err = |a: &str| settings(a).unwrap_err().0;
        assert_eq!(err("-psk xyz"), "Not a hex number 'xyz'");
        assert_eq!(err("-xcert a -xchain c -xchain d"), "-xchain: Chain already specified");
        assert_eq!(err("-xcert a -xkey k -xkey l"), "-xkey: Key already specified");
        assert!(err("-status_url https://127.0.0.1/").contains("https responders are not supported"));
        assert!(err("-json -msg").contains("cannot be combined with -json"));
        // A status file makes the URL unused, as in s_server.
        assert!(settings("-status_file r.der -status_url https://127.0.0.1/").is_ok());
    }
}
