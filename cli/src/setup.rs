//! From command line to running server: check the options, build the TLS configuration, bind,
//! serve, print the statistics.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use sserve_adapters::blocking::{BlockingServer, ServeOptions};
use sserve_adapters::driver::{AsyncServeOptions, SharedObserver, Shutdown};
use sserve_adapters::files::FileRoot;
use sserve_adapters::keylog::KeyLog;
use sserve_adapters::listen::{bind_shared, steer_by_cpu, ListenSpec};
use sserve_adapters::transport::Listener;
use sserve_adapters::udp::{bind_udp, header_overhead, UdpServer};
use sserve_engine::dtls::ListenerLimits;
use sserve_engine::http::WebMode;
use sserve_engine::ossl::dtls::MIN_LINK_MTU;
use sserve_engine::ossl::{CertificatePins, DtlsSettings, DtlsVersion, TlsVersion};
use sserve_engine::status_page::stats_text;
use sserve_engine::{AppMode, ServerConfig, ServerConfigBuilder, SessionOptions};

use crate::error::{io_text, Error};
use crate::json::JsonOutput;
use crate::load::{format_of, password, read_file, tls};
use crate::options::{self, SplitArgs};
use crate::render::Console;
use crate::settings::{CertSettings, ContextSettings, Info, RuntimeChoice, Settings, VerifySettings};

/// s_server's default certificate file.
pub(crate) const DEFAULT_CERT: &str = "server.pem";

/// Runs sserve with `args` (without the program name); returns the exit status.
pub fn run(args: &[String]) -> i32 {
    let code = match run_inner(args) {
        Ok(code) => code,
        Err(Error(msg)) => {
            crate::stdout::flush();
            eprintln!("sserve: {msg}");
            1
        }
    };
    crate::stdout::flush();
    crate::transport::finish(code)
}

fn run_inner(args: &[String]) -> Result<i32, Error> {
    let split = options::split_args(args, crate::transport::ssl_conf_lookup)?;
    let m = options::parse(&split.clap_args)?;
    match crate::settings::info_request(&m) {
        Some(Info::Help) => {
            crate::stdout::write(crate::help::help_text().as_bytes());
            return Ok(0);
        }
        Some(Info::Version) => {
            let line = format!(
                "sserve {} ({})\n",
                env!("CARGO_PKG_VERSION"),
                sserve_engine::ossl::openssl_version()
            );
            crate::stdout::write(line.as_bytes());
            return Ok(0);
        }
        None => {}
    }
    // Every value is checked before anything happens.
    let s = Settings::from_matches(&m)?;
    let dtls = dtls_version(&s)?;
    crate::transport::validate(&s.transport, dtls.is_some(), s.mode)?;
    protocol_flags(&s, &split, dtls.is_some())?;
    // Providers first: the TLS context must see them (transport.rs).
    let _startup = crate::transport::start(&s.transport)?;
    let built = build_config(&split, &s, dtls)?;
    match dtls {
        Some(_) => serve_dtls(args, &s, built),
        None => serve_stream(args, &s, built),
    }
}

/// What the TLS set-up hands to the serving part.
struct Built {
    config: Arc<ServerConfig>,
    keylog: Option<KeyLog>,
    /// s_server's start-up lines before `ACCEPT` (second context, DH parameters).
    startup: String,
    /// `-early_data`.
    early_data: bool,
    /// The ephemeral certificate, when no certificate was given.
    ephemeral: Option<CertificatePins>,
}

/// `-tls1`…`-tls1_3` (at most one, and not with `-no_<prot>`), checked before any set-up.
fn protocol_flags(s: &Settings, split: &SplitArgs, dtls: bool) -> Result<Option<TlsVersion>, Error> {
    let exact = &s.protocol.tls;
    if exact.len() > 1 {
        return Err(Error("Cannot supply multiple protocol flags".into()));
    }
    let no_prot = ["-no_ssl3", "-no_tls1", "-no_tls1_1", "-no_tls1_2", "-no_tls1_3"];
    let prot_flags = exact.len() + usize::from(dtls);
    if prot_flags > 0 && split.conf.iter().any(|(c, _)| no_prot.contains(&c.as_str())) {
        return Err(Error("Cannot supply both a protocol flag and '-no_<prot>'".into()));
    }
    Ok(exact.first().copied())
}

/// The TLS (or DTLS) configuration, in s_server's order.
fn build_config(split: &SplitArgs, s: &Settings, dtls: Option<DtlsVersion>) -> Result<Built, Error> {
    let mut b = match dtls {
        Some(v) => ServerConfigBuilder::new_dtls(v).map_err(tls("creating the DTLS context"))?,
        None => ServerConfigBuilder::new().map_err(tls("creating the TLS context"))?,
    };
    // Output first, so that -security_debug also checks what is configured below.
    crate::output::configure(&mut b, s)?;
    let exact = protocol_flags(s, split, dtls.is_some())?;
    if let Some(v) = exact {
        b.only_version(v).map_err(tls("protocol version"))?;
    }
    let ephemeral = if s.certs.nocert {
        None
    } else {
        let pins = configure_certificates(&mut b, &s.certs)?;
        crate::certs::configure_extra_certificates(&mut b, &s.certs)?;
        pins
    };
    configure_verification(&mut b, &s.verify, s.quiet)?;
    crate::verify::configure(&mut b, &s.verify, s.certs.cert_chain.is_some())?;
    for (cmd, value) in &split.conf {
        b.ssl_conf(cmd, value.as_deref()).map_err(tls(""))?;
    }
    let psk = crate::psk::configure(
        &mut b,
        &s.psk,
        s.mode,
        exact == Some(TlsVersion::Tls1_3),
        s.quiet || s.json,
    )?;
    if let Some(name) = &s.context.ssl_config {
        b.ssl_config(name, exact.is_some() || dtls.is_some());
    }
    if let Some(list) = &s.context.alpn {
        let protos: Vec<&str> = list.split(',').collect();
        b.alpn(&protos).map_err(tls("-alpn"))?;
    }
    if s.session.no_cache {
        b.disable_session_cache();
    }
    configure_tuning(&mut b, &s.context, s.read_buf)?;
    crate::ocsp::configure(&mut b, s, dtls.is_some())?;
    if let Some(profiles) = &s.context.use_srtp {
        b.use_srtp(profiles)
            .map_err(|e| Error(format!("Error setting SRTP profile: {}", e.reason)))?;
    }
    let keylog = match &s.context.keylogfile {
        Some(path) => {
            b.keylog();
            Some(
                KeyLog::open(Path::new(path))
                    .map_err(|e| Error(format!("Error writing keylog file {path}: {}", io_text(&e))))?,
            )
        }
        None => None,
    };
    crate::certs::configure_npn(&mut b, &s.certs, s.protocol.tls.contains(&TlsVersion::Tls1_3))?;
    let second = crate::certs::SecondContext {
        s,
        split,
        dtls,
        exact,
        xcerts: crate::certs::extended_certificates(&s.certs)?,
    };
    let startup = crate::certs::configure_sni_and_dh(&mut b, &second)?;
    Ok(Built {
        config: b.build().map_err(tls(""))?,
        keylog,
        startup,
        early_data: psk.early_data,
        ephemeral,
    })
}

/// The certificate and key: `-cert`/`-key` (default `server.pem`), or, when neither is given
/// and there is no `server.pem`, an ephemeral self-signed certificate (whose pins it returns).
fn configure_certificates(b: &mut ServerConfigBuilder, c: &CertSettings) -> Result<Option<CertificatePins>, Error> {
    let (cert, key) = (c.cert.as_ref(), c.key.as_ref());
    if cert.is_none() && key.is_none() && !Path::new(DEFAULT_CERT).exists() {
        let pins = b
            .ephemeral_certificate_pins()
            .map_err(tls("generating an ephemeral certificate"))?;
        // Said even with -quiet: a client will see an unexpected certificate. One write, so the
        // line never interleaves with other output.
        let line = format!(
            "sserve: no -cert given and {DEFAULT_CERT} not found: using an ephemeral self-signed P-256 certificate for localhost (SHA-256 fingerprint {}, SPKI SHA-256 base64 {})\n",
            pins.sha256, pins.spki_sha256_base64
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
        return Ok(Some(pins));
    }
    let cert_path = cert.map_or(DEFAULT_CERT, String::as_str);
    let key_path = key.map_or(cert_path, String::as_str);
    // s_server loads the key first, so a missing key file is what it reports.
    let key_data = read_file("private key file", key_path)?;
    let cert_data = read_file("certificate file", cert_path)?;
    b.certificate(&cert_data, format_of(c.certform, &cert_data))
        .map_err(|e| Error(format!("{} ('{cert_path}')", e.reason)))?;
    let pass = c.pass.as_deref().map(password).transpose()?;
    b.private_key(&key_data, format_of(c.keyform, &key_data), pass.as_deref())
        .map_err(|e| Error(format!("{} ('{key_path}'; wrong or missing -pass?)", e.reason)))?;
    if let Some(chain) = &c.cert_chain {
        b.chain(&read_file("certificate chain file", chain)?)
            .map_err(tls("-cert_chain"))?;
    }
    Ok(None)
}

/// `-CAfile`, `-CApath`, `-verify`/`-Verify` and `-verify_return_error`.
pub(crate) fn configure_verification(
    b: &mut ServerConfigBuilder,
    v: &VerifySettings,
    quiet: bool,
) -> Result<(), Error> {
    if let Some(ca) = &v.ca_file {
        b.trusted_certificates(&read_file("CA file", ca)?)
            .map_err(tls("-CAfile"))?;
    }
    if let Some(dir) = &v.ca_path {
        let entries =
            std::fs::read_dir(dir).map_err(|e| Error(format!("cannot read CA directory '{dir}': {}", io_text(&e))))?;
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
    for (depth, require) in [(v.verify, false), (v.verify_required, true)] {
        if let Some(depth) = depth {
            b.verify_client(depth, require);
            if !quiet {
                let must = if require { ", must return a certificate" } else { "" };
                eprintln!("verify depth is {depth}{must}");
            }
        }
    }
    b.verify_return_error(v.verify_return_error);
    Ok(())
}

/// `-context`, `-keymatexport`, the record-size knobs and the `SSL_OP_*` flags, in s_server's
/// order and with its error messages.
pub(crate) fn configure_tuning(
    b: &mut ServerConfigBuilder,
    c: &ContextSettings,
    read_buf: Option<usize>,
) -> Result<(), Error> {
    if let Some(id) = &c.context {
        b.session_id_context(id.as_bytes()).map_err(tls(""))?;
    }
    if let Some(label) = &c.keymatexport {
        b.export_keying_material(label, c.keymatexportlen);
    }
    if c.no_ca_names {
        b.no_ca_names();
    }
    if c.ignore_unexpected_eof {
        b.ignore_unexpected_eof();
    }
    if c.no_resume_ephemeral {
        b.no_resume_ephemeral();
    }
    if let Some(n) = c.max_send_frag {
        b.max_send_fragment(n).map_err(tls(""))?;
    }
    if let Some(n) = c.split_send_frag {
        b.split_send_fragment(n).map_err(tls(""))?;
    }
    if let Some(n) = c.max_pipelines {
        b.max_pipelines(n).map_err(tls(""))?;
    }
    if let Some(n) = read_buf {
        b.read_buffer_len(n);
    }
    Ok(())
}

/// The per-connection options shared by TLS and DTLS.
fn session_options(args: &[String], s: &Settings) -> SessionOptions {
    SessionOptions {
        mode: s.mode,
        crlf: s.console.crlf,
        commands: !s.quiet,
        ign_eof: s.console.ign_eof,
        binmode: s.console.binmode,
        handshake_timeout: s.handshake_timeout,
        idle_timeout: s.idle_timeout,
        argv: std::iter::once("sserve".to_string())
            .chain(args.iter().cloned())
            .collect(),
        detailed_info: wants_detailed_info(s),
        ..SessionOptions::s_server()
    }
}

/// Whether anything shows the printed blocks of a handshake (session PEM, cipher, sigalg and
/// group lists, keying material): the console's connection info (silenced by `-quiet` unless
/// `-debug` turns s_server's output on again), the `-brief` and `-rev` summaries, and the
/// keying material of `-json`. The web modes print nothing, and the status page asks for itself.
fn wants_detailed_info(s: &Settings) -> bool {
    match s.mode {
        AppMode::Web(_) => false,
        AppMode::Rev => true,
        AppMode::Console if s.json => s.context.keymatexport.is_some(),
        AppMode::Console => !s.quiet || s.brief || s.output.debug,
    }
}

/// Binds `n` listeners sharing the port and has `steer` steer them by CPU. Steering only keeps
/// a client on a warm loop: where the kernel or a sandbox refuses it, the group stays spread by
/// hash, which serves as well, so the failure is a warning and not a reason to stop.
fn listen_group(
    spec: &ListenSpec,
    n: usize,
    steer: impl FnOnce(&[TcpListener]) -> std::io::Result<bool>,
) -> Result<Vec<TcpListener>, Error> {
    let group =
        bind_shared(spec, n).map_err(|e| Error(format!("cannot listen on port {}: {}", spec.port, io_text(&e))))?;
    if let Err(e) = steer(&group) {
        eprintln!(
            "warning: cannot steer connections by CPU ({}); spreading them by hash",
            io_text(&e)
        );
    }
    Ok(group)
}

/// Serves TLS on TCP (or a Unix-domain socket).
fn serve_stream(args: &[String], s: &Settings, built: Built) -> Result<i32, Error> {
    let threads = s
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let (mut listeners, bound) = match crate::transport::listen_unix(&s.transport)? {
        Some((unix, bound)) => (vec![unix], bound),
        None => {
            // tokio serves with one listener (and one thread) per core; `-naccept` counts on one.
            let group = if s.runtime == RuntimeChoice::Tokio && s.naccept.is_none() {
                threads
            } else {
                1
            };
            let listeners = listen_group(&s.listen, group, steer_by_cpu)?;
            let bound = listeners[0]
                .local_addr()
                .map_err(|e| Error(format!("listening socket: {}", io_text(&e))))?;
            (
                listeners.into_iter().map(Listener::from).collect::<Vec<_>>(),
                bound.into(),
            )
        }
    };
    let opts = Arc::new(SessionOptions {
        early_data: built.early_data,
        ..crate::web::session_options(session_options(args, s), s)
    });
    let files = match s.mode {
        AppMode::Web(WebMode::Files | WebMode::Raw) => {
            Some(FileRoot::new(".").map_err(|e| Error(format!("cannot serve the current directory: {e}")))?)
        }
        _ => None,
    };
    // Thousands of concurrent connections need thousands of descriptors.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let observer = announce(s, &bound, &built);
    let shutdown = Shutdown::new();
    watch_signals(shutdown.clone());
    let config = built.config;
    let summary = match s.runtime {
        RuntimeChoice::Blocking => {
            let serve = ServeOptions {
                naccept: s.naccept,
                files,
                keylog: built.keylog,
                console: s.mode == AppMode::Console,
            };
            let mut server = BlockingServer::new(config.clone(), opts, serve, shutdown);
            let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
            server.serve(listeners.remove(0), &mut *guard)
        }
        RuntimeChoice::Tokio | RuntimeChoice::Smol => {
            let serve = AsyncServeOptions {
                naccept: s.naccept,
                max_connections: s.max_conns,
                files: files.map(Arc::new),
                keylog: built.keylog.map(Arc::new),
            };
            let served = if s.runtime == RuntimeChoice::Tokio {
                sserve_adapters::tokio::serve(listeners, config.clone(), opts, serve, observer, shutdown)
            } else {
                sserve_adapters::smol::serve(
                    threads,
                    listeners.remove(0),
                    config.clone(),
                    opts,
                    serve,
                    observer,
                    shutdown,
                )
            };
            served.map_err(|e| Error(format!("cannot start the async runtime: {e}")))?
        }
    };
    print_exit(s, summary.connections, &config);
    Ok(0)
}

/// The last output of a run: s_server's cache statistics, or the `-json` `exit` event.
fn print_exit(s: &Settings, connections: u64, config: &ServerConfig) {
    let stats = config.cache_stats();
    if s.json {
        crate::json::emit(serde_json::json!({
            "event": "exit",
            "connections": connections,
            "stats": crate::json::stats(&stats),
        }));
    } else if !s.quiet || crate::output::debug_forces_output() {
        crate::stdout::write(stats_text(&stats).as_bytes());
    }
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
fn dtls_version(s: &Settings) -> Result<Option<DtlsVersion>, Error> {
    let (given, mode) = (&s.protocol.dtls, s.mode);
    let tls_flag = !s.protocol.tls.is_empty();
    if given.len() > 1 || (!given.is_empty() && tls_flag) {
        return Err(Error("Cannot supply multiple protocol flags".into()));
    }
    let Some(&version) = given.first() else {
        if s.protocol.listen {
            return Err(Error("Can only use -listen with DTLS".into()));
        }
        return Ok(None);
    };
    if matches!(mode, AppMode::Web(_)) {
        return Err(Error("Can't use -HTTP, -www or -WWW with DTLS".into()));
    }
    // s_server refuses -rev with DTLS ("Can't use -rev with DTLS"); sserve serves it (compat.md).
    Ok(Some(version))
}

/// Serves DTLS on UDP: every association concurrently, demultiplexed by peer address.
fn serve_dtls(args: &[String], s: &Settings, built: Built) -> Result<i32, Error> {
    if s.mtu < MIN_LINK_MTU {
        return Err(Error(format!("MTU too small. Must be at least {MIN_LINK_MTU}")));
    }
    let socket =
        bind_udp(&s.listen).map_err(|e| Error(format!("cannot listen on port {}: {}", s.listen.port, io_text(&e))))?;
    let bound = socket
        .local_addr()
        .map_err(|e| Error(format!("listening socket: {}", io_text(&e))))?;
    let settings = DtlsSettings {
        mtu: s.mtu - header_overhead(&socket),
        ..DtlsSettings::default()
    };
    let limits = ListenerLimits {
        max_peers: s.max_conns,
        naccept: s.naccept,
        ..ListenerLimits::default()
    };
    let config = built.config.clone();
    let listener = config
        .dtls_listener(Arc::new(session_options(args, s)), settings, limits)
        .map_err(tls("DTLS listener"))?;
    let observer = announce(s, &bound.into(), &built);
    let shutdown = Shutdown::new();
    watch_signals(shutdown.clone());
    let summary = match s.runtime {
        RuntimeChoice::Blocking => {
            let server = UdpServer::new(socket, listener, built.keylog, s.mode == AppMode::Console, shutdown);
            let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
            server.serve(&mut *guard)
        }
        runtime => {
            let name = if runtime == RuntimeChoice::Tokio {
                "tokio"
            } else {
                "smol"
            };
            sserve_adapters::udp::serve_async(
                name,
                s.threads.unwrap_or(1),
                socket,
                listener,
                built.keylog,
                observer,
                shutdown,
            )
            .map_err(|e| Error(format!("cannot start the async runtime: {e}")))?
        }
    };
    print_exit(s, summary.connections, &config);
    Ok(0)
}

/// Prints s_server's start-up lines (the second context and DH parameter lines, then
/// `ACCEPT`; or the `-json` listening event) and returns the observer that renders what follows.
fn announce(s: &Settings, bound: &crate::transport::Bound, built: &Built) -> SharedObserver {
    let verbosity = s.verbosity();
    if let (Some(_), AppMode::Web(_), crate::transport::Bound::Ip(addr)) = (&built.ephemeral, s.mode, bound) {
        // stderr, so that stdout stays s_server's.
        let what = if s.mode == AppMode::Web(WebMode::Status) {
            "the status page"
        } else {
            "files of the current directory"
        };
        eprintln!("sserve: open https://localhost:{}/ ({what})", addr.port());
    }
    if s.json {
        crate::json::emit(serde_json::json!({"event": "listening", "address": bound.to_string()}));
        return Arc::new(Mutex::new(JsonOutput::new(bound.to_string())));
    }
    // `-debug` makes s_server's `bio_s_out` stdout even with `-quiet`.
    if !verbosity.quiet || crate::output::debug_forces_output() {
        crate::stdout::write(format!("{}{}\n", built.startup, bound.accept_line(s.listen.port)).as_bytes());
    }
    let console: SharedObserver = Arc::new(Mutex::new(Console::new(s.mode, verbosity)));
    crate::transport::observer(console, s, verbosity.quiet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> ListenSpec {
        ListenSpec {
            host: Some("127.0.0.1".into()),
            port: 0,
            ipv4_only: false,
            ipv6_only: false,
        }
    }

    #[test]
    fn a_refused_steering_leaves_the_group_listening() {
        let refused = |_: &[TcpListener]| Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        let group = listen_group(&loopback(), 2, refused).expect("steering is optional");
        assert_eq!(group.len(), 2);
        let addr = group[0].local_addr().unwrap();
        assert_eq!(group[1].local_addr().unwrap(), addr);
        std::net::TcpStream::connect(addr).expect("the group accepts connections");
    }

    #[test]
    fn a_port_in_use_is_still_an_error() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let spec = ListenSpec {
            port: held.local_addr().unwrap().port(),
            ..loopback()
        };
        let Err(Error(msg)) = listen_group(&spec, 2, |_| Ok(true)) else {
            panic!("a port another socket holds was bound");
        };
        assert!(msg.starts_with("cannot listen on port"), "{msg}");
    }
}
