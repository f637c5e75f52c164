//! s_server's command line: single-dash long options (`-accept 4433 -www`), parsed with `clap`.
//! The tables here are also the source of `-help`, `docs/options.md` and `docs/sserve.1`
//! (`help.rs`).
//!
//! Every argument goes through [`split_args`] first. It rewrites our own options to clap's
//! `--name` form, hands any option that OpenSSL's `SSL_CONF` knows by name (`-cipher`,
//! `-groups`, `-no_tls1_2`, `-prioritize_chacha`, …) to the TLS configuration untouched, as
//! s_server does, and rejects every other s_server option with a one-line reason.

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::error::Error;

/// Options of `openssl s_server -help` (OpenSSL 3.0) and the 1.1.1 manual, one per line.
const S_SERVER_OPTIONS: &str = include_str!("s_server_options.txt");

/// Options we implement that take a value: (name, value name, help).
const VALUE_OPTIONS: &[(&str, &str, &str)] = &[
    ("accept", "[host:]port", "TCP address to listen on (default 4433)"),
    ("port", "port", "TCP port to listen on (default 4433)"),
    ("naccept", "n", "Serve n connections, then exit"),
    (
        "cert",
        "file",
        "Certificate file (default server.pem; without it an ephemeral self-signed certificate is generated)",
    ),
    ("key", "file", "Private key file (default: the -cert file)"),
    ("certform", "PEM|DER", "Certificate format (default PEM)"),
    ("keyform", "PEM|DER", "Key format (default PEM)"),
    ("pass", "source", "Key password source (pass:, env:, file:, stdin)"),
    (
        "cert_chain",
        "file",
        "Extra certificates to send with the certificate (PEM)",
    ),
    (
        "CAfile",
        "file",
        "Trusted CA certificates for client verification (PEM)",
    ),
    ("CApath", "dir", "Directory of trusted CA certificates (PEM files)"),
    ("verify", "depth", "Ask for a client certificate"),
    ("Verify", "depth", "Require a client certificate"),
    (
        "alpn",
        "list",
        "Comma-separated ALPN protocols to accept, in preference order",
    ),
    ("keylogfile", "file", "Append TLS secrets in NSS key log format"),
    (
        "mtu",
        "n",
        "DTLS: link MTU; datagrams are at most n minus the IP/UDP header (default 1500)",
    ),
    (
        "use_srtp",
        "profiles",
        "DTLS: offer these SRTP protection profiles (colon separated)",
    ),
    ("context", "id", "Set session ID context"),
    ("keymatexport", "label", "Export keying material using label"),
    ("keymatexportlen", "n", "Export n bytes of keying material; default 20"),
    ("max_send_frag", "n", "Maximum size of send frames (512 to 16384)"),
    ("split_send_frag", "n", "Size used to split data for encrypt pipelines"),
    (
        "max_pipelines",
        "n",
        "Maximum number of encrypt/decrypt pipelines to be used",
    ),
    ("read_buf", "n", "Default read buffer size to be used for connections"),
    (
        "runtime",
        "tokio|smol|blocking",
        "sserve: how -www/-WWW/-HTTP/-rev serve (default tokio, concurrent; console mode is always blocking)",
    ),
    (
        "max_conns",
        "n",
        "sserve: most connections served at once (default 16384)",
    ),
    (
        "idle_timeout",
        "secs",
        "sserve: close a connection idle this long after its handshake (default 0 = never)",
    ),
    (
        "threads",
        "n",
        "sserve: threads serving -www/-WWW/-HTTP/-rev (tokio: one listener and runtime each; default: number of CPUs)",
    ),
    (
        "handshake_timeout",
        "secs",
        "sserve: drop a connection whose handshake takes longer (default 10, 0 = never)",
    ),
    (
        "msgfile",
        "outfile",
        "File to send output of -msg or -trace, instead of stdout",
    ),
    (
        "status_timeout",
        "n",
        "Status request responder timeout (sserve: default 30)",
    ),
    ("status_url", "val", "Status request fallback URL"),
    ("status_file", "infile", "File containing DER encoded OCSP Response"),
    (
        "proxy",
        "val",
        "[http://]host[:port][/path] of HTTP proxy to use; path is ignored",
    ),
    (
        "no_proxy",
        "val",
        "List of addresses of servers not to use HTTP(S) proxy for",
    ),
    ("id_prefix", "val", "Generate SSL/TLS session IDs prefixed by arg"),
    ("servername", "name", "Servername for HostName TLS extension"),
    (
        "cert2",
        "file",
        "Certificate file to use for servername; default server2.pem",
    ),
    (
        "key2",
        "file",
        "Private Key file to use for servername if not in -cert2",
    ),
    (
        "dcert",
        "file",
        "Second server certificate file to use (usually for another key type)",
    ),
    ("dcertform", "PEM|DER", "Second server certificate file format"),
    (
        "dcert_chain",
        "file",
        "second server certificate chain file in PEM format",
    ),
    ("dkey", "file", "Second private key file to use"),
    ("dkeyform", "PEM|DER", "Second key file format"),
    ("dpass", "source", "Second private key and cert file pass phrase source"),
    ("serverinfo", "file", "PEM serverinfo file for certificate"),
    ("dhparam", "file", "DH parameters file to use"),
    (
        "nextprotoneg",
        "list",
        "Set the advertised protocols for the NPN extension (comma-separated list)",
    ),
    ("xcert", "file", "cert for Extended certificates"),
    ("xkey", "file", "key for Extended certificates"),
    ("xchain", "file", "chain for Extended certificates"),
    ("xcertform", "PEM|DER", "format of Extended certificate"),
    ("xkeyform", "PEM|DER", "format of Extended certificate's key"),
    (
        "CAstore",
        "uri",
        "URI (file: or path) of a store of trusted CA certificates",
    ),
    (
        "chainCAfile",
        "file",
        "CA file for building the server's certificate chain (PEM)",
    ),
    (
        "chainCApath",
        "dir",
        "Directory of CA certificates for building the server's chain",
    ),
    (
        "chainCAstore",
        "uri",
        "Store URI of CA certificates for building the server's chain",
    ),
    (
        "verifyCAfile",
        "file",
        "CA file for verifying client certificates (PEM)",
    ),
    (
        "verifyCApath",
        "dir",
        "Directory of CA certificates for verifying client certificates",
    ),
    (
        "verifyCAstore",
        "uri",
        "Store URI of CA certificates for verifying client certificates",
    ),
    ("CRL", "file", "CRL file to use"),
    ("CRLform", "PEM|DER", "CRL file format (default PEM)"),
    ("nameopt", "options", "Certificate subject/issuer name printing options"),
    ("policy", "oid", "Adds policy to the acceptable policy set"),
    ("purpose", "name", "Certificate chain purpose"),
    ("verify_name", "name", "Verification policy name"),
    ("verify_depth", "n", "Chain depth limit"),
    ("auth_level", "n", "Chain authentication security level"),
    ("attime", "secs", "Verification epoch time"),
    ("verify_hostname", "host", "Expected peer hostname"),
    ("verify_email", "email", "Expected peer email"),
    ("verify_ip", "ip", "Expected peer IP address"),
    ("psk", "hex", "PSK in hex (without 0x)"),
    ("psk_identity", "id", "PSK identity to expect (default Client_identity)"),
    ("psk_hint", "hint", "PSK identity hint to use (TLS 1.2 and below)"),
    (
        "psk_session",
        "file",
        "File to read the TLS 1.3 PSK SSL session from (PEM)",
    ),
    (
        "max_early_data",
        "n",
        "The maximum number of bytes of early data as advertised in tickets",
    ),
    (
        "recv_max_early_data",
        "n",
        "The maximum number of bytes of early data (hard limit)",
    ),
    ("srpvfile", "file", "(deprecated) The verifier file for SRP"),
    (
        "srpuserseed",
        "seed",
        "(deprecated) A seed string for a default user salt",
    ),
    ("unix", "path", "Unix domain socket to accept on"),
    (
        "ssl_config",
        "val",
        "Configure SSL_CTX using the given configuration value (a section of the OpenSSL config file's ssl_conf)",
    ),
    (
        "provider-path",
        "dir",
        "Provider load path (must be before 'provider' argument if required)",
    ),
    ("provider", "val", "Provider to load (can be specified multiple times)"),
    ("propquery", "val", "Property query used when fetching algorithms"),
    (
        "rand",
        "files",
        "Load the given file(s) into the random number generator (':' separated)",
    ),
    (
        "writerand",
        "outfile",
        "Write random data to the specified file at exit",
    ),
];

/// Options that may be given more than once (each `-xcert` starts another extended
/// certificate; `cli/src/certs.rs` reads them in command-line order).
const REPEATABLE: &[&str] = &["xcert", "xkey", "xchain", "xcertform", "xkeyform", "xchain_build"];

/// sserve's own options (not in s_server), documented in docs/compat.md.
pub const EXTENSIONS: &[&str] = &[
    "handshake_timeout",
    "runtime",
    "max_conns",
    "idle_timeout",
    "threads",
    "json",
    "keep_alive",
    "version",
];

/// Options we implement that take no value: (name, help).
const FLAG_OPTIONS: &[(&str, &str)] = &[
    ("help", "Display this summary (also -h and -?)"),
    ("4", "Use IPv4 only"),
    ("6", "Use IPv6 only"),
    ("www", "Respond to a 'GET /' with a status page"),
    ("WWW", "Respond to a 'GET /<path> HTTP/1.0' with file ./<path>"),
    ("HTTP", "Like -WWW, but the file holds its own HTTP headers"),
    ("rev", "Act as an echo server that sends back received text reversed"),
    ("crlf", "Convert LF from the terminal into CRLF"),
    (
        "ign_eof",
        "Ignore console EOF (sserve: keep the connection); -rev: CLOSE is plain text",
    ),
    ("no_ign_eof", "Do not ignore input EOF"),
    ("quiet", "No server output"),
    ("brief", "Only print a summary of each connection"),
    ("no-CAfile", "Do not load the default CA file"),
    ("no-CApath", "Do not load the default CA directory"),
    (
        "verify_return_error",
        "Close the connection on client verification errors",
    ),
    (
        "tls1",
        "Just talk TLSv1 (OpenSSL 3 also needs -cipher DEFAULT:@SECLEVEL=0)",
    ),
    (
        "tls1_1",
        "Just talk TLSv1.1 (OpenSSL 3 also needs -cipher DEFAULT:@SECLEVEL=0)",
    ),
    ("tls1_2", "Just talk TLSv1.2"),
    ("tls1_3", "Just talk TLSv1.3"),
    ("no_cache", "Disable the session cache"),
    ("no_ca_names", "Disable TLS Extension CA Names"),
    (
        "ignore_unexpected_eof",
        "Do not treat lack of close_notify from a peer as an error",
    ),
    ("verify_quiet", "No verify output except verify errors"),
    (
        "no_resume_ephemeral",
        "Disable caching and tickets if ephemeral (EC)DH is used",
    ),
    ("http_server_binmode", "Open -WWW/-HTTP files in binary mode"),
    ("dtls", "Use any DTLS version (UDP)"),
    ("dtls1", "Just talk DTLSv1"),
    ("dtls1_2", "Just talk DTLSv1.2"),
    (
        "listen",
        "DTLS: stateless cookie exchange first (sserve always does this)",
    ),
    ("timeout", "DTLS: enable timeouts (sserve's timers are always on)"),
    (
        "json",
        "sserve: print one JSON object per event on stdout (schema in docs/json.md)",
    ),
    (
        "keep_alive",
        "sserve: web modes speak HTTP/1.1 with persistent connections, Content-Length, Content-Type and real status codes",
    ),
    ("version", "sserve: print sserve's version and the OpenSSL version in use"),
    ("msg", "Show protocol messages"),
    ("trace", "trace protocol messages"),
    ("state", "Print the SSL states"),
    ("debug", "Print more output"),
    ("tlsextdebug", "Hex dump of all TLS extensions received"),
    ("security_debug", "Print output from SSL/TLS security framework"),
    (
        "security_debug_verbose",
        "Print more output from SSL/TLS security framework",
    ),
    ("status", "Request certificate status from server"),
    ("status_verbose", "Print more output in certificate status callback"),
    ("ext_cache", "Disable internal cache, set up and use external cache"),
    ("stateless", "Require TLSv1.3 cookies"),
    (
        "servername_fatal",
        "On servername mismatch send fatal alert (default warning alert)",
    ),
    ("no_dhe", "Disable ephemeral DH"),
    ("xchain_build", "build certificate chain for the extended certificates"),
    ("no-CAstore", "Do not load the default CA store"),
    ("build_chain", "Build the server certificate chain at start-up"),
    ("ignore_critical", "Permit unhandled critical extensions"),
    ("issuer_checks", "(deprecated)"),
    ("crl_check", "Check leaf certificate revocation"),
    ("crl_check_all", "Check full chain revocation"),
    ("policy_check", "Perform rfc5280 policy checks"),
    ("explicit_policy", "Set policy variable require-explicit-policy"),
    ("inhibit_any", "Set policy variable inhibit-any-policy"),
    ("inhibit_map", "Set policy variable inhibit-policy-mapping"),
    ("x509_strict", "Disable certificate compatibility work-arounds"),
    ("extended_crl", "Enable extended CRL features"),
    ("use_deltas", "Use delta CRLs"),
    ("policy_print", "Print policy processing diagnostics"),
    ("check_ss_sig", "Check root CA self-signatures"),
    ("trusted_first", "Search trust store first (default)"),
    ("suiteB_128_only", "Suite B 128-bit-only mode"),
    ("suiteB_128", "Suite B 128-bit mode allowing 192-bit algorithms"),
    ("suiteB_192", "Suite B 192-bit-only mode"),
    (
        "partial_chain",
        "Accept chains anchored by intermediate trust-store CAs",
    ),
    ("no_alt_chains", "(deprecated)"),
    ("no_check_time", "Ignore certificate validity time"),
    ("allow_proxy_certs", "Allow the use of proxy certificates"),
    ("nocert", "Don't use any certificates (PSK or anonymous suites only)"),
    (
        "early_data",
        "Attempt to read early data (web modes: a GET is served, anything else gets 425 Too Early)",
    ),
    ("unlink", "For -unix, unlink existing socket first"),
    ("nbio", "Use non-blocking IO (sserve's sockets always are)"),
    (
        "nbio_test",
        "Test with short I/O: every socket read and write moves 1 to 7 bytes (implies -nbio)",
    ),
    (
        "sendfile",
        "Use sendfile to response file with -WWW (never possible here: no KTLS, so s_server's warning and a normal write)",
    ),
];

/// A command-line problem: one line for stderr, exit status 1.
pub type UsageError = Error;

/// The result of the pre-pass: clap's argv and the `SSL_CONF` commands in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SplitArgs {
    /// Arguments for clap (`--name` spelling).
    pub clap_args: Vec<String>,
    /// `(-name, value)` pairs for `SSL_CONF_cmd`.
    pub conf: Vec<(String, Option<String>)>,
}

/// Our options that take a value: (name, value name, help).
pub(crate) fn value_options() -> &'static [(&'static str, &'static str, &'static str)] {
    VALUE_OPTIONS
}

/// Our options without a value: (name, help).
pub(crate) fn flag_options() -> &'static [(&'static str, &'static str)] {
    FLAG_OPTIONS
}

fn value_option(name: &str) -> bool {
    VALUE_OPTIONS.iter().any(|(n, _, _)| *n == name)
}

fn flag_option(name: &str) -> bool {
    FLAG_OPTIONS.iter().any(|(n, _)| *n == name)
}

/// Is `name` an option of `openssl s_server`?
pub fn is_s_server_option(name: &str) -> bool {
    s_server_options().any(|l| l == name)
}

/// Every option of `openssl s_server` (OpenSSL 3.0's `-help` plus the 1.1.1 manual's extras),
/// without the dash.
pub fn s_server_options() -> impl Iterator<Item = &'static str> {
    S_SERVER_OPTIONS.lines().filter(|l| !l.is_empty())
}

/// Why s_server options we do not implement are refused.
pub(crate) fn not_implemented(name: &str) -> String {
    let why = match name {
        "engine" => "engines are not supported (OpenSSL 3 providers replace them)",
        "sctp" | "sctp_label_bug" => "this build has no SCTP support",
        "ssl2" | "ssl3" => "SSLv2/SSLv3 are not supported",
        "legacy_server_connect" | "no_legacy_server_connect" => {
            "a client-side option: OpenSSL's SSL_CONF_cmd refuses it on a server (s_server 3.0 fails with \"Call to SSL_CONF_cmd(...) failed\")"
        }
        "debug_broken_protocol" => {
            "OpenSSL 3's SSL_CONF_cmd no longer knows it (s_server 3.0 fails with \"Call to SSL_CONF_cmd(-debug_broken_protocol, <NULL>) failed\")"
        }
        "crl_download" => {
            "downloading CRLs from distribution points during the handshake is not supported (give them with -CRL)"
        }
        "async" => {
            "with SSL_MODE_ASYNC a paused job (SSL_ERROR_WANT_ASYNC) must be resumed when its wait fd (SSL_get_all_async_fds) is readable, and the sans-I/O engine cannot hand that fd to the adapters' event loops"
        }
        _ => "not implemented yet",
    };
    format!("option -{name}: {why}")
}

/// Sorts arguments into ours (for clap) and OpenSSL's (`SSL_CONF`), refusing everything else.
/// `conf_lookup("-name")` says whether OpenSSL knows an option and whether it takes a value.
pub fn split_args(args: &[String], conf_lookup: impl Fn(&str) -> Option<bool>) -> Result<SplitArgs, UsageError> {
    let mut out = SplitArgs::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let name = match arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            Some(n) if !n.is_empty() => n,
            _ => return Err(Error(format!("Extra option: \"{arg}\""))),
        };
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error(format!("Option -{name} needs a value ({what})")))
        };
        let name = if matches!(name, "h" | "?") { "help" } else { name };
        if let Some(why) = sserve_engine::ossl::version::unsupported_option(name) {
            return Err(Error(format!("option -{name}: {why}")));
        }
        if flag_option(name) {
            out.clap_args.push(format!("--{name}"));
        } else if value_option(name) {
            out.clap_args.push(format!("--{name}"));
            out.clap_args.push(value("see -help")?);
        } else if let Some(takes_value) = conf_lookup(&format!("-{name}")) {
            let v = if takes_value {
                Some(value("an OpenSSL option value")?)
            } else {
                None
            };
            out.conf.push((format!("-{name}"), v));
        } else if is_s_server_option(name) {
            return Err(Error(not_implemented(name)));
        } else {
            return Err(Error(format!("Unknown option: -{name} (use -help for a summary)")));
        }
    }
    Ok(out)
}

/// The clap command describing our options.
pub fn command() -> Command {
    let mut cmd = Command::new("sserve")
        .about("A drop-in reimplementation of openssl s_server")
        .override_usage("sserve [options]")
        .disable_help_flag(true)
        .disable_version_flag(true)
        // s_server takes an option given twice: the last value wins (repeatable ones append).
        .args_override_self(true);
    for (name, value_name, help) in VALUE_OPTIONS {
        cmd = cmd.arg(
            Arg::new(*name)
                .long(*name)
                .value_name(*value_name)
                .help(*help)
                .allow_hyphen_values(true)
                .action(if REPEATABLE.contains(name) {
                    ArgAction::Append
                } else {
                    ArgAction::Set
                }),
        );
    }
    for (name, help) in FLAG_OPTIONS {
        let action = if REPEATABLE.contains(name) {
            ArgAction::Count
        } else {
            ArgAction::SetTrue
        };
        cmd = cmd.arg(Arg::new(*name).long(*name).help(*help).action(action));
    }
    cmd = crate::verify::adjust_command(cmd);
    crate::transport::clap_args(cmd)
}

/// Parses clap's argv.
pub fn parse(clap_args: &[String]) -> Result<ArgMatches, UsageError> {
    command()
        .try_get_matches_from(std::iter::once("sserve".to_string()).chain(clap_args.iter().cloned()))
        .map_err(|e| {
            Error(
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &str) -> Vec<String> {
        a.split_whitespace().map(str::to_string).collect()
    }

    fn conf(name: &str) -> Option<bool> {
        match name {
            "-cipher" => Some(true),
            "-no_tls1_2" => Some(false),
            _ => None,
        }
    }

    #[test]
    fn single_dash_options() {
        let s = split_args(&args("-accept 0 -www -cipher ECDHE -no_tls1_2 -4 --rev"), conf).unwrap();
        assert_eq!(s.clap_args, args("--accept 0 --www --4 --rev"));
        assert_eq!(
            s.conf,
            vec![("-cipher".into(), Some("ECDHE".into())), ("-no_tls1_2".into(), None)]
        );
        let m = parse(&s.clap_args).unwrap();
        assert_eq!(m.get_one::<String>("accept").map(String::as_str), Some("0"));
        assert!(m.get_flag("www") && m.get_flag("4") && m.get_flag("rev"));
    }

    #[test]
    fn repeated_options_last_wins_and_repeatable_ones_append() {
        let conf = |_: &str| None;
        let s = split_args(&args("-accept 1 -accept 2 -quiet -quiet -xcert a -xcert b"), conf).unwrap();
        let m = parse(&s.clap_args).unwrap();
        assert_eq!(m.get_one::<String>("accept").map(String::as_str), Some("2"));
        assert!(m.get_flag("quiet"));
        let x: Vec<&String> = m.get_many::<String>("xcert").unwrap().collect();
        assert_eq!(x, ["a", "b"]);
    }

    #[test]
    fn values_may_start_with_a_dash() {
        let s = split_args(&args("-pass -secret"), conf).unwrap();
        assert_eq!(
            parse(&s.clap_args)
                .unwrap()
                .get_one::<String>("pass")
                .map(String::as_str),
            Some("-secret")
        );
    }

    #[test]
    fn refusals_are_one_line() {
        assert_eq!(
            split_args(&args("-bogus"), conf).unwrap_err().0,
            "Unknown option: -bogus (use -help for a summary)"
        );
        assert_eq!(
            split_args(&args("-sctp"), conf).unwrap_err().0,
            "option -sctp: this build has no SCTP support"
        );
        assert_eq!(
            split_args(&args("-engine x"), conf).unwrap_err().0,
            "option -engine: engines are not supported (OpenSSL 3 providers replace them)"
        );
        assert_eq!(
            split_args(&args("-accept"), conf).unwrap_err().0,
            "Option -accept needs a value (see -help)"
        );
        assert_eq!(
            split_args(&args("stray"), conf).unwrap_err().0,
            "Extra option: \"stray\""
        );
    }

    #[test]
    fn every_option_we_parse_is_an_s_server_option_or_documented_extension() {
        for (name, _, _) in VALUE_OPTIONS {
            assert!(is_s_server_option(name) || EXTENSIONS.contains(name), "{name}");
        }
        for (name, _) in FLAG_OPTIONS {
            assert!(is_s_server_option(name) || EXTENSIONS.contains(name), "{name}");
        }
    }
}
