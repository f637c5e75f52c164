//! From command line to running server: build the TLS configuration, bind, serve, print stats.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use clap::ArgMatches;
use sserve_adapters::blocking::{BlockingServer, ServeOptions};
use sserve_adapters::driver::{AsyncServeOptions, SharedObserver, Shutdown};
use sserve_adapters::files::FileRoot;
use sserve_adapters::keylog::KeyLog;
use sserve_adapters::listen::{bind, ListenSpec};
use sserve_adapters::udp::{bind_udp, header_overhead, UdpServer};
use sserve_engine::dtls::ListenerLimits;
use sserve_engine::http::WebMode;
use sserve_engine::ossl::dtls::MIN_LINK_MTU;
use sserve_engine::ossl::{CertFormat, DtlsSettings, DtlsVersion, TlsVersion};
use sserve_engine::status_page::stats_text;
use sserve_engine::{AppMode, Duration, ServerConfigBuilder, SessionOptions, TlsError};

use crate::json::JsonOutput;
use crate::options::{self, UsageError};
use crate::render::{Console, Verbosity};

// --- certs ---
#[path = "certs.rs"]
mod certs;

/// s_server's default certificate file.
const DEFAULT_CERT: &str = "server.pem";
/// s_server's default port.
const DEFAULT_PORT: u16 = 4433;

/// A start-up failure: the message for stderr (one line).
struct Fatal(String);

impl From<UsageError> for Fatal {
    fn from(e: UsageError) -> Self {
        Fatal(e.0)
    }
}

fn tls(context: &str) -> impl FnOnce(TlsError) -> Fatal + '_ {
    move |e| {
        Fatal(if context.is_empty() {
            e.reason
        } else {
            format!("{context}: {}", e.reason)
        })
    }
}

/// Runs sserve with `args` (without the program name); returns the exit status.
pub fn run(args: &[String]) -> i32 {
    let code = match run_inner(args) {
        Ok(code) => code,
        Err(Fatal(msg)) => {
            eprintln!("sserve: {msg}");
            1
        }
    };
    crate::stdout::flush();
    crate::transport::finish(code)
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>, Fatal> {
    std::fs::read(path).map_err(|e| Fatal(format!("cannot read {what} '{path}': {}", io_text(&e))))
}

pub(crate) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}

/// The format of certificate or key `data`: as `-<name>` says, else detected (PEM when it holds
/// a PEM header, DER otherwise), as OpenSSL 3's loader does for s_server.
fn format_arg(m: &ArgMatches, name: &str, data: &[u8]) -> Result<CertFormat, Fatal> {
    match m.get_one::<String>(name).map(|s| s.to_ascii_uppercase()) {
        None if data.windows(11).any(|w| w == b"-----BEGIN ") => Ok(CertFormat::Pem),
        None => Ok(CertFormat::Der),
        Some(f) if f == "PEM" => Ok(CertFormat::Pem),
        Some(f) if f == "DER" => Ok(CertFormat::Der),
        Some(f) => Err(Fatal(format!("-{name}: unsupported format '{f}' (PEM or DER)"))),
    }
}

/// `-pass` sources as in openssl(1) "Pass Phrase Options".
fn password(source: &str) -> Result<Vec<u8>, Fatal> {
    let first_line = |data: &[u8]| {
        data.split(|&b| b == b'\n')
            .next()
            .unwrap_or(&[])
            .strip_suffix(b"\r")
            .map_or_else(
                || data.split(|&b| b == b'\n').next().unwrap_or(&[]).to_vec(),
                <[u8]>::to_vec,
            )
    };
    if let Some(p) = source.strip_prefix("pass:") {
        Ok(p.as_bytes().to_vec())
    } else if let Some(v) = source.strip_prefix("env:") {
        std::env::var(v)
            .map(String::into_bytes)
            .map_err(|_| Fatal(format!("-pass: environment variable {v} is not set")))
    } else if let Some(f) = source.strip_prefix("file:") {
        Ok(first_line(&read_file("password file", f)?))
    } else if source == "stdin" {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Fatal(format!("-pass stdin: {e}")))?;
        Ok(first_line(line.as_bytes()))
    } else {
        Err(Fatal(format!(
            "-pass: unsupported password source '{source}' (use pass:, env:, file: or stdin)"
        )))
    }
}

fn parse_num<T: std::str::FromStr>(m: &ArgMatches, name: &str) -> Result<Option<T>, Fatal> {
    m.get_one::<String>(name)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| Fatal(format!("-{name}: invalid number '{v}'")))
        })
        .transpose()
}

/// The application mode: `-rev` wins (as in s_server), else the last of `-www`/`-WWW`/`-HTTP`.
fn app_mode(args: &[String], m: &ArgMatches) -> AppMode {
    if m.get_flag("rev") {
        return AppMode::Rev;
    }
    let web = args.iter().rev().find_map(|a| match a.trim_start_matches('-') {
        "www" => Some(WebMode::Status),
        "WWW" => Some(WebMode::Files),
        "HTTP" => Some(WebMode::Raw),
        _ => None,
    });
    web.map_or(AppMode::Console, AppMode::Web)
}

fn configure_certificates(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), Fatal> {
    let cert = m.get_one::<String>("cert");
    if cert.is_none() && !Path::new(DEFAULT_CERT).exists() {
        let fp = b
            .ephemeral_certificate()
            .map_err(tls("generating an ephemeral certificate"))?;
        // Said even with -quiet: a client will see an unexpected certificate. One write, so the
        // line never interleaves with other output.
        let line = format!("sserve: no -cert given and {DEFAULT_CERT} not found: using an ephemeral self-signed P-256 certificate for localhost (SHA-256 fingerprint {fp})\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
        return Ok(());
    }
    let cert_path = cert.map_or(DEFAULT_CERT, String::as_str);
    let key_path = m.get_one::<String>("key").map_or(cert_path, String::as_str);
    let cert_data = read_file("certificate file", cert_path)?;
    b.certificate(&cert_data, format_arg(m, "certform", &cert_data)?)
        .map_err(|e| Fatal(format!("{} ('{cert_path}')", e.reason)))?;
    let pass = m.get_one::<String>("pass").map(|p| password(p)).transpose()?;
    let key_data = read_file("private key file", key_path)?;
    b.private_key(&key_data, format_arg(m, "keyform", &key_data)?, pass.as_deref())
        .map_err(|e| Fatal(format!("{} ('{key_path}'; wrong or missing -pass?)", e.reason)))?;
    if let Some(chain) = m.get_one::<String>("cert_chain") {
        b.chain(&read_file("certificate chain file", chain)?)
            .map_err(tls("-cert_chain"))?;
    }
    Ok(())
}

fn configure_verification(b: &mut ServerConfigBuilder, m: &ArgMatches, quiet: bool) -> Result<(), Fatal> {
    if let Some(ca) = m.get_one::<String>("CAfile") {
        b.trusted_certificates(&read_file("CA file", ca)?)
            .map_err(tls("-CAfile"))?;
    }
    if let Some(dir) = m.get_one::<String>("CApath") {
        let entries =
            std::fs::read_dir(dir).map_err(|e| Fatal(format!("cannot read CA directory '{dir}': {}", io_text(&e))))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            // Like OpenSSL's hashed directory lookup, files that hold no certificate are skipped.
            if let Ok(data) = std::fs::read(&p) {
                let _ = b.trusted_certificates(&data);
            }
        }
    }
    for (name, require) in [("verify", false), ("Verify", true)] {
        if let Some(depth) = parse_num::<u32>(m, name)? {
            b.verify_client(depth, require);
            if !quiet {
                let must = if require { ", must return a certificate" } else { "" };
                eprintln!("verify depth is {depth}{must}");
            }
        }
    }
    b.verify_return_error(m.get_flag("verify_return_error"));
    Ok(())
}

/// `-context`, `-keymatexport`, the record-size knobs and the `SSL_OP_*` flags, in s_server's
/// order and with its error messages.
fn configure_tuning(b: &mut ServerConfigBuilder, m: &ArgMatches) -> Result<(), Fatal> {
    if let Some(id) = m.get_one::<String>("context") {
        b.session_id_context(id.as_bytes()).map_err(tls(""))?;
    }
    if let Some(label) = m.get_one::<String>("keymatexport") {
        b.export_keying_material(label, parse_num::<usize>(m, "keymatexportlen")?.unwrap_or(20));
    }
    if m.get_flag("no_ca_names") {
        b.no_ca_names();
    }
    if m.get_flag("ignore_unexpected_eof") {
        b.ignore_unexpected_eof();
    }
    if m.get_flag("no_resume_ephemeral") {
        b.no_resume_ephemeral();
    }
    // s_server ignores 0 for these (`> 0`).
    if let Some(n) = parse_num::<u32>(m, "max_send_frag")?.filter(|&n| n > 0) {
        b.max_send_fragment(n).map_err(tls(""))?;
    }
    if let Some(n) = parse_num::<u32>(m, "split_send_frag")?.filter(|&n| n > 0) {
        b.split_send_fragment(n).map_err(tls(""))?;
    }
    if let Some(n) = parse_num::<u32>(m, "max_pipelines")?.filter(|&n| n > 0) {
        b.max_pipelines(n).map_err(tls(""))?;
    }
    if let Some(n) = parse_num::<usize>(m, "read_buf")?.filter(|&n| n > 0) {
        b.read_buffer_len(n);
    }
    Ok(())
}

fn run_inner(args: &[String]) -> Result<i32, Fatal> {
    let split = options::split_args(args, crate::transport::ssl_conf_lookup)?;
    let m = options::parse(&split.clap_args)?;
    if m.get_flag("help") {
        let _ = writeln!(std::io::stdout(), "{}", options::command().render_help());
        return Ok(0);
    }
    // Providers first: the TLS context must see them (transport.rs).
    let _startup = crate::transport::start(&m).map_err(Fatal)?;
    let mut b = ServerConfigBuilder::new().map_err(tls("creating the TLS context"))?;
    let brief = m.get_flag("brief");
    let quiet = m.get_flag("quiet") || brief;
    let mode = app_mode(args, &m);
    let dtls = dtls_version(&m, mode)?;
    crate::transport::validate(&m, dtls.is_some(), mode).map_err(Fatal)?;
    if let Some(v) = dtls {
        b = ServerConfigBuilder::new_dtls(v).map_err(tls("creating the DTLS context"))?;
    }
    // --- output --- (first, so that -security_debug also checks what is configured below)
    crate::output::configure(&mut b, args, &m).map_err(Fatal)?;

    let tls_flags = [
        ("tls1", TlsVersion::Tls1),
        ("tls1_1", TlsVersion::Tls1_1),
        ("tls1_2", TlsVersion::Tls1_2),
        ("tls1_3", TlsVersion::Tls1_3),
    ];
    let exact: Vec<TlsVersion> = tls_flags
        .iter()
        .filter(|(f, _)| m.get_flag(f))
        .map(|(_, v)| *v)
        .collect();
    if exact.len() > 1 {
        return Err(Fatal("Cannot supply multiple protocol flags".into()));
    }
    let no_prot = ["-no_ssl3", "-no_tls1", "-no_tls1_1", "-no_tls1_2", "-no_tls1_3"];
    let prot_flags = exact.len() + usize::from(dtls.is_some());
    if prot_flags > 0 && split.conf.iter().any(|(c, _)| no_prot.contains(&c.as_str())) {
        return Err(Fatal("Cannot supply both a protocol flag and '-no_<prot>'".into()));
    }
    if let Some(&v) = exact.first() {
        b.only_version(v).map_err(tls("protocol version"))?;
    }

    if !crate::psk::nocert(&m) {
        configure_certificates(&mut b, &m)?;
        certs::configure_extra_certificates(&mut b, &m)?; // --- certs ---
    }
    configure_verification(&mut b, &m, quiet)?;
    // --- verify ---
    crate::verify::configure(&mut b, &m).map_err(Fatal)?;
    for (cmd, value) in &split.conf {
        b.ssl_conf(cmd, value.as_deref()).map_err(tls(""))?;
    }
    let psk = crate::psk::configure(
        &mut b,
        &m,
        mode,
        exact.first() == Some(&TlsVersion::Tls1_3),
        quiet || m.get_flag("json"),
    )
    .map_err(Fatal)?;
    if let Some(name) = m.get_one::<String>("ssl_config") {
        b.ssl_config(name, prot_flags > 0);
    }
    if let Some(list) = m.get_one::<String>("alpn") {
        let protos: Vec<&str> = list.split(',').collect();
        b.alpn(&protos).map_err(tls("-alpn"))?;
    }
    if m.get_flag("no_cache") {
        b.disable_session_cache();
    }
    configure_tuning(&mut b, &m)?;
    crate::ocsp::configure(&mut b, &m, dtls.is_some()).map_err(Fatal)?;
    if let Some(profiles) = m.get_one::<String>("use_srtp") {
        b.use_srtp(profiles)
            .map_err(|e| Fatal(format!("Error setting SRTP profile: {}", e.reason)))?;
    }
    let keylog = match m.get_one::<String>("keylogfile") {
        Some(path) => {
            b.keylog();
            Some(
                KeyLog::open(Path::new(path))
                    .map_err(|e| Fatal(format!("Error writing keylog file {path}: {}", io_text(&e))))?,
            )
        }
        None => None,
    };
    // --- certs ---
    certs::configure_npn(&mut b, &m)?;
    let second = certs::SecondContext {
        m: &m,
        split: &split,
        dtls,
        exact: exact.first().copied(),
        xcerts: certs::extended_certificates(&m)?,
    };
    let startup = certs::configure_sni_and_dh(&mut b, &second)?;
    let config = b.build().map_err(tls(""))?;

    // As in s_server, the last of -accept and -port decides.
    let port_last = m.index_of("port") > m.index_of("accept");
    let accept = m.get_one::<String>("accept").filter(|_| !port_last);
    let mut spec = match (accept, parse_num::<u16>(&m, "port")?) {
        (Some(a), _) => ListenSpec::parse_accept(a).map_err(Fatal)?,
        (None, port) => ListenSpec {
            host: None,
            port: port.unwrap_or(DEFAULT_PORT),
            ipv4_only: false,
            ipv6_only: false,
        },
    };
    spec.ipv4_only = m.get_flag("4");
    spec.ipv6_only = m.get_flag("6");
    if dtls.is_some() {
        return serve_dtls(args, &m, &spec, config, mode, keylog, &startup);
    }
    let (listener, bound) = match crate::transport::listen_unix(&m).map_err(Fatal)? {
        Some(unix) => unix,
        None => {
            let listener =
                bind(&spec).map_err(|e| Fatal(format!("cannot listen on port {}: {}", spec.port, io_text(&e))))?;
            let bound = listener
                .local_addr()
                .map_err(|e| Fatal(format!("listening socket: {e}")))?;
            (listener.into(), bound.into())
        }
    };

    let secs = |name: &str, default: u64| -> Result<Option<Duration>, Fatal> {
        Ok(match parse_num::<u64>(&m, name)?.unwrap_or(default) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        })
    };
    let handshake_timeout = secs("handshake_timeout", 10)?;
    let idle_timeout = secs("idle_timeout", 0)?;
    let opts = Arc::new(SessionOptions {
        mode,
        crlf: m.get_flag("crlf"),
        commands: !quiet,
        ign_eof: m.get_flag("ign_eof") && !m.get_flag("no_ign_eof"),
        binmode: m.get_flag("http_server_binmode"),
        handshake_timeout,
        idle_timeout,
        // The web modes print nothing about the handshake; the status page asks for itself.
        detailed_info: !matches!(mode, AppMode::Web(_)),
        early_data: psk.early_data,
        argv: std::iter::once("sserve".to_string())
            .chain(args.iter().cloned())
            .collect(),
        ..SessionOptions::s_server()
    });
    let runtime = choose_runtime(&m, mode)?;
    let files = match mode {
        AppMode::Web(WebMode::Files | WebMode::Raw) => {
            Some(FileRoot::new(".").map_err(|e| Fatal(format!("cannot serve the current directory: {e}")))?)
        }
        _ => None,
    };
    let naccept = parse_num::<u64>(&m, "naccept")?;
    // Thousands of concurrent connections need thousands of descriptors.
    let _ = rlimit::increase_nofile_limit(u64::MAX);

    let json = m.get_flag("json");
    let observer = announce(&m, mode, spec.port, &bound, &startup);
    let shutdown = Shutdown::new();
    watch_signals(shutdown.clone());
    let summary = match runtime {
        RuntimeChoice::Blocking => {
            let serve = ServeOptions {
                naccept,
                files,
                keylog,
                console: mode == AppMode::Console,
            };
            let mut server = BlockingServer::new(config.clone(), opts, serve, shutdown);
            let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
            server.serve(listener, &mut *guard)
        }
        RuntimeChoice::Tokio | RuntimeChoice::Smol => {
            let serve = AsyncServeOptions {
                naccept,
                max_connections: parse_num::<usize>(&m, "max_conns")?.unwrap_or(16 * 1024),
                files: files.map(Arc::new),
                keylog: keylog.map(Arc::new),
            };
            let threads = match parse_num::<usize>(&m, "threads")? {
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(2, usize::from),
            };
            let serve_fn = if runtime == RuntimeChoice::Tokio {
                sserve_adapters::tokio::serve
            } else {
                sserve_adapters::smol::serve
            };
            serve_fn(threads, listener, config.clone(), opts, serve, observer, shutdown)
                .map_err(|e| Fatal(format!("cannot start the async runtime: {e}")))?
        }
    };
    print_exit(json, quiet, summary.connections, &config);
    Ok(0)
}

/// The last output of a run: s_server's cache statistics, or the `-json` `exit` event.
fn print_exit(json: bool, quiet: bool, connections: u64, config: &sserve_engine::ServerConfig) {
    let stats = config.cache_stats();
    if json {
        crate::json::emit(serde_json::json!({
            "event": "exit",
            "connections": connections,
            "stats": crate::json::stats(&stats),
        }));
    } else if !quiet || crate::output::debug_forces_output() {
        crate::stdout::write(stats_text(&stats).as_bytes());
    }
}

/// How connections are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuntimeChoice {
    Blocking,
    Tokio,
    Smol,
}

/// `-runtime`: the web and `-rev` modes default to tokio (concurrent); the console mode stays on
/// the blocking adapter, because stdin and the connected commands belong to one connection at a
/// time, as in s_server.
fn choose_runtime(m: &ArgMatches, mode: AppMode) -> Result<RuntimeChoice, Fatal> {
    let asked = m.get_one::<String>("runtime").map(String::as_str);
    let choice = match asked {
        None if mode == AppMode::Console => RuntimeChoice::Blocking,
        None | Some("tokio") => RuntimeChoice::Tokio,
        Some("smol") => RuntimeChoice::Smol,
        Some("blocking") => RuntimeChoice::Blocking,
        Some(other) => {
            return Err(Fatal(format!(
                "-runtime: unknown runtime '{other}' (tokio, smol or blocking)"
            )))
        }
    };
    if mode == AppMode::Console && choice != RuntimeChoice::Blocking {
        return Err(Fatal("-runtime: the console mode serves one connection at a time (use -www, -WWW, -HTTP or -rev for concurrency)".into()));
    }
    Ok(choice)
}

/// How long stdout may hold up the exit after SIGINT/SIGTERM: output that cannot be written by
/// then (a stdout nobody reads) is dropped.
const STDOUT_GRACE: StdDuration = StdDuration::from_millis(500);
/// The last resort after SIGINT/SIGTERM: should anything still hold the process (it never
/// should: every loop watches the switch), exit anyway.
const EXIT_GRACE: StdDuration = StdDuration::from_millis(2500);

/// On SIGINT/SIGTERM: stop accepting, close every connection with close_notify, print the
/// statistics (or the `-json` `exit` event) and exit 0, which the serving loops do at once.
/// A second signal exits at once.
fn watch_signals(shutdown: Arc<Shutdown>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        let mut signals = signals.forever();
        if signals.next().is_none() {
            return;
        }
        let now = std::time::Instant::now();
        crate::stdout::give_up_at(now + STDOUT_GRACE);
        shutdown.trigger();
        std::thread::spawn(move || {
            std::thread::sleep(EXIT_GRACE);
            std::process::exit(0);
        });
        if signals.next().is_some() {
            std::process::exit(0);
        }
    });
}

/// `-dtls`, `-dtls1`, `-dtls1_2` (with s_server's refusals of what DTLS cannot do), or `None`
/// for TLS.
fn dtls_version(m: &ArgMatches, mode: AppMode) -> Result<Option<DtlsVersion>, Fatal> {
    let flags = [
        ("dtls", DtlsVersion::Any),
        ("dtls1", DtlsVersion::Dtls1),
        ("dtls1_2", DtlsVersion::Dtls1_2),
    ];
    let given: Vec<DtlsVersion> = flags.iter().filter(|(f, _)| m.get_flag(f)).map(|(_, v)| *v).collect();
    let tls_flag = ["tls1", "tls1_1", "tls1_2", "tls1_3"].iter().any(|f| m.get_flag(f));
    if given.len() > 1 || (!given.is_empty() && tls_flag) {
        return Err(Fatal("Cannot supply multiple protocol flags".into()));
    }
    let Some(&version) = given.first() else {
        if m.get_flag("listen") {
            return Err(Fatal("Can only use -listen with DTLS".into()));
        }
        return Ok(None);
    };
    if matches!(mode, AppMode::Web(_)) {
        return Err(Fatal("Can't use -HTTP, -www or -WWW with DTLS".into()));
    }
    // s_server refuses -rev with DTLS ("Can't use -rev with DTLS"); sserve serves it (compat.md).
    Ok(Some(version))
}

/// Serves DTLS on UDP: every association concurrently, demultiplexed by peer address.
fn serve_dtls(
    args: &[String],
    m: &ArgMatches,
    spec: &ListenSpec,
    config: Arc<sserve_engine::ServerConfig>,
    mode: AppMode,
    keylog: Option<KeyLog>,
    startup: &str,
) -> Result<i32, Fatal> {
    let brief = m.get_flag("brief");
    let quiet = m.get_flag("quiet") || brief;
    let socket = bind_udp(spec).map_err(|e| Fatal(format!("cannot listen on port {}: {}", spec.port, io_text(&e))))?;
    let bound = socket
        .local_addr()
        .map_err(|e| Fatal(format!("listening socket: {e}")))?;
    let link_mtu = parse_num::<usize>(m, "mtu")?.unwrap_or(1500);
    if link_mtu < MIN_LINK_MTU {
        return Err(Fatal(format!("MTU too small. Must be at least {MIN_LINK_MTU}")));
    }
    let settings = DtlsSettings {
        mtu: link_mtu - header_overhead(&socket),
        ..DtlsSettings::default()
    };
    let secs = |name: &str, default: u64| -> Result<Option<Duration>, Fatal> {
        Ok(match parse_num::<u64>(m, name)?.unwrap_or(default) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        })
    };
    let opts = Arc::new(SessionOptions {
        mode,
        crlf: m.get_flag("crlf"),
        commands: !quiet,
        ign_eof: m.get_flag("ign_eof") && !m.get_flag("no_ign_eof"),
        handshake_timeout: secs("handshake_timeout", 10)?,
        idle_timeout: secs("idle_timeout", 0)?,
        argv: std::iter::once("sserve".to_string())
            .chain(args.iter().cloned())
            .collect(),
        ..SessionOptions::s_server()
    });
    let limits = ListenerLimits {
        max_peers: parse_num::<usize>(m, "max_conns")?.unwrap_or(16 * 1024),
        naccept: parse_num::<u64>(m, "naccept")?,
        ..ListenerLimits::default()
    };
    let listener = config
        .dtls_listener(opts, settings, limits)
        .map_err(tls("DTLS listener"))?;
    let runtime = match m.get_one::<String>("runtime").map(String::as_str) {
        None | Some("blocking") => "blocking",
        Some(r @ ("tokio" | "smol")) if mode != AppMode::Console => r,
        Some("tokio" | "smol") => {
            return Err(Fatal(
                "-runtime: the DTLS console mode reads the console itself (use -runtime blocking)".into(),
            ))
        }
        Some(other) => {
            return Err(Fatal(format!(
                "-runtime: unknown runtime '{other}' (tokio, smol or blocking)"
            )))
        }
    };

    let json = m.get_flag("json");
    let observer = announce(m, mode, spec.port, &bound.into(), startup);
    let shutdown = Shutdown::new();
    watch_signals(shutdown.clone());
    let summary = if runtime == "blocking" {
        let server = UdpServer::new(socket, listener, keylog, mode == AppMode::Console, shutdown);
        let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
        server.serve(&mut *guard)
    } else {
        let threads = parse_num::<usize>(m, "threads")?.unwrap_or(1);
        sserve_adapters::udp::serve_async(runtime, threads, socket, listener, keylog, observer, shutdown)
            .map_err(|e| Fatal(format!("cannot start the async runtime: {e}")))?
    };
    print_exit(json, quiet, summary.connections, &config);
    Ok(0)
}

/// Prints s_server's start-up lines (`startup`: the second context and DH parameter lines, then
/// `ACCEPT`; or the `-json` listening event) and returns the observer that renders what follows.
fn announce(
    m: &ArgMatches,
    mode: AppMode,
    requested_port: u16,
    bound: &crate::transport::Bound,
    startup: &str,
) -> SharedObserver {
    let brief = m.get_flag("brief");
    let verbosity = Verbosity {
        quiet: m.get_flag("quiet") || brief,
        brief,
        verify_quiet: m.get_flag("verify_quiet"),
    };
    if m.get_flag("json") {
        crate::json::emit(serde_json::json!({"event": "listening", "address": bound.to_string()}));
        return Arc::new(Mutex::new(JsonOutput));
    }
    // `-debug` makes s_server's `bio_s_out` stdout even with `-quiet`.
    if !verbosity.quiet || crate::output::debug_forces_output() {
        crate::stdout::write(format!("{startup}{}\n", bound.accept_line(requested_port)).as_bytes());
    }
    let console: SharedObserver = Arc::new(Mutex::new(Console::new(mode, verbosity)));
    crate::transport::observer(console, m, verbosity.quiet, mode)
}
