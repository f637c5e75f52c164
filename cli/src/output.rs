//! s_server's diagnostic options: `-msg`, `-msgfile`, `-trace`, `-state`, `-debug`,
//! `-tlsextdebug`, `-security_debug[_verbose]`. The engine reports raw [`Diagnostic`]s; this
//! module prints them exactly like apps/lib/s_cb.c (`msg_cb`, `apps_ssl_info_callback`,
//! `tlsext_cb`, `security_callback_debug`, `bio_dump_callback`), on the stream s_server uses:
//! `-msg`/`-trace` to `bio_s_msg` (the `-msgfile`, else stdout), `-tlsextdebug`/`-debug` to
//! `bio_s_out` (stdout), `-state`/`-security_debug` to `bio_err` (stderr).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};

use sserve_engine::output::{Diagnostic, ProtocolMessage, SecurityCheck, StateChange, TlsExtension, TransportIo};
use sserve_engine::ServerConfigBuilder;

use crate::error::Error;
use crate::settings::Settings as RunSettings;

/// What the diagnostic options asked for, fixed at start-up.
#[derive(Debug, Default)]
struct Settings {
    /// `-debug`: s_server then writes `bio_s_out` to stdout even with `-quiet`.
    debug: bool,
    /// `-msgfile`: where `-msg`/`-trace` go instead of stdout.
    msgfile: Option<Mutex<File>>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Applies the diagnostic options to the TLS configuration. Called before anything else is
/// configured, so that `-security_debug` sees the certificate checks too (as in s_server).
/// (`-json` with a text-only option was refused in settings.rs.)
pub fn configure(b: &mut ServerConfigBuilder, s: &RunSettings) -> Result<(), Error> {
    let o = &s.output;
    let msgfile = match &o.msgfile {
        Some(path) => Some(Mutex::new(
            File::create(path).map_err(|_| Error(format!("Error writing file {path}")))?,
        )),
        None => None,
    };
    // s_server: `-msg` and `-trace` set the same variable, so the last one given wins.
    if let Some(trace) = s.msg {
        b.message_callback(trace);
    }
    // `-json` reports alerts sent and received, which the same callback sees.
    if o.state || s.json {
        b.state_callback();
    }
    if o.tlsextdebug {
        b.tlsext_debug();
    }
    let debug = o.debug;
    if debug {
        b.transport_debug();
    }
    // As in s_server, the last of `-security_debug` and `-security_debug_verbose` counts.
    if let Some(verbose) = s.security_debug {
        b.security_debug(verbose, Box::new(|c| print_err(&security_text(&c))));
    }
    let _ = SETTINGS.set(Settings { debug, msgfile });
    Ok(())
}

/// `-debug` was given: s_server's `bio_s_out` is stdout even with `-quiet`.
pub fn debug_forces_output() -> bool {
    SETTINGS.get().is_some_and(|s| s.debug)
}

fn print_err(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

fn print_out(text: &str) {
    crate::stdout::write(text.as_bytes());
}

/// s_server's `bio_s_msg`: the `-msgfile`, else stdout (even with `-quiet`).
fn print_msg(text: &str) {
    match SETTINGS.get().and_then(|s| s.msgfile.as_ref()) {
        Some(f) => {
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            let _ = f.write_all(text.as_bytes());
            let _ = f.flush();
        }
        None => print_out(text),
    }
}

/// Prints one diagnostic where s_server would. `quiet`: `-quiet`/`-brief` (a null `bio_s_out`
/// unless `-debug`).
pub fn print(d: &Diagnostic, quiet: bool) {
    let out_on = !quiet || debug_forces_output();
    match d {
        Diagnostic::Message(m) => print_msg(&message_text(m)),
        Diagnostic::Trace(t) => print_msg(t),
        Diagnostic::State(s) => print_err(&state_text(s)),
        Diagnostic::Extension(e) if out_on => print_out(&extension_text(e)),
        Diagnostic::Security(c) => print_err(&security_text(c)),
        Diagnostic::Transport(t) if out_on => print_out(&transport_text(t)),
        _ => {}
    }
}

/// s_cb.c `alert_types`.
fn alert_name(code: u8) -> &'static str {
    match code {
        0 => " close_notify",
        1 => " end_of_early_data",
        10 => " unexpected_message",
        20 => " bad_record_mac",
        21 => " decryption_failed",
        22 => " record_overflow",
        30 => " decompression_failure",
        40 => " handshake_failure",
        42 => " bad_certificate",
        43 => " unsupported_certificate",
        44 => " certificate_revoked",
        45 => " certificate_expired",
        46 => " certificate_unknown",
        47 => " illegal_parameter",
        48 => " unknown_ca",
        49 => " access_denied",
        50 => " decode_error",
        51 => " decrypt_error",
        60 => " export_restriction",
        70 => " protocol_version",
        71 => " insufficient_security",
        80 => " internal_error",
        86 => " inappropriate_fallback",
        90 => " user_canceled",
        100 => " no_renegotiation",
        109 => " missing_extension",
        110 => " unsupported_extension",
        111 => " certificate_unobtainable",
        112 => " unrecognized_name",
        113 => " bad_certificate_status_response",
        114 => " bad_certificate_hash_value",
        115 => " unknown_psk_identity",
        116 => " certificate_required",
        _ => " ???",
    }
}

/// s_cb.c `handshakes`.
fn handshake_name(t: u8) -> &'static str {
    match t {
        0 => ", HelloRequest",
        1 => ", ClientHello",
        2 => ", ServerHello",
        3 => ", HelloVerifyRequest",
        4 => ", NewSessionTicket",
        5 => ", EndOfEarlyData",
        8 => ", EncryptedExtensions",
        11 => ", Certificate",
        12 => ", ServerKeyExchange",
        13 => ", CertificateRequest",
        14 => ", ServerHelloDone",
        15 => ", CertificateVerify",
        16 => ", ClientKeyExchange",
        20 => ", Finished",
        21 => ", CertificateUrl",
        22 => ", CertificateStatus",
        23 => ", SupplementalData",
        24 => ", KeyUpdate",
        67 => ", NextProto",
        254 => ", MessageHash",
        _ => "???",
    }
}

/// s_cb.c `msg_cb`.
pub fn message_text(m: &ProtocolMessage) -> String {
    let dir = if m.write { ">>>" } else { "<<<" };
    let (mut content, mut d1, mut d2) = (String::new(), "", "");
    let version = match sserve_engine::output::protocol_version_name(m.version) {
        Some(v) => {
            content = match m.content_type {
                20 => ", ChangeCipherSpec".into(),
                21 => {
                    d1 = ", ???";
                    if let [level, desc] = m.data[..] {
                        d1 = match level {
                            1 => ", warning",
                            2 => ", fatal",
                            _ => d1,
                        };
                        d2 = alert_name(desc);
                    }
                    ", Alert".into()
                }
                22 => {
                    d1 = m.data.first().map_or("???", |&t| handshake_name(t));
                    ", Handshake".into()
                }
                23 => ", ApplicationData".into(),
                256 => ", RecordHeader".into(),
                257 => ", InnerContent".into(),
                t => format!(", Unknown (content_type={t})"),
            };
            v.to_string()
        }
        None => format!(
            "Not TLS data or unknown version (version={}, content_type={})",
            m.version, m.content_type
        ),
    };
    let mut t = format!("{dir} {version}{content} [length {:04x}]{d1}{d2}\n", m.data.len());
    if !m.data.is_empty() {
        t.push_str("   ");
        for (i, b) in m.data.iter().enumerate() {
            if i % 16 == 0 && i > 0 {
                t.push_str("\n   ");
            }
            let _ = write!(t, " {b:02x}");
        }
        t.push('\n');
    }
    t
}

/// s_cb.c `apps_ssl_info_callback`.
pub fn state_text(s: &StateChange) -> String {
    match s {
        StateChange::Loop { side, state } => format!("{side}:{state}\n"),
        StateChange::Alert {
            read,
            level,
            description,
        } => format!(
            "SSL3 alert {}:{level}:{description}\n",
            if *read { "read" } else { "write" }
        ),
        StateChange::Exit { side, failed, state } => {
            format!("{side}:{} in {state}\n", if *failed { "failed" } else { "error" })
        }
    }
}

/// s_cb.c `tlsext_types`.
fn extension_name(t: i32) -> &'static str {
    match t {
        0 => "server name",
        1 => "max fragment length",
        2 => "client certificate URL",
        3 => "trusted CA keys",
        4 => "truncated HMAC",
        5 => "status request",
        6 => "user mapping",
        7 => "client authz",
        8 => "server authz",
        9 => "cert type",
        10 => "supported_groups",
        11 => "EC point formats",
        12 => "SRP",
        13 => "signature algorithms",
        14 => "use SRTP",
        35 => "session ticket",
        0xff01 => "renegotiation info",
        18 => "signed certificate timestamps",
        21 => "TLS padding",
        13172 => "next protocol",
        22 => "encrypt-then-mac",
        16 => "application layer protocol negotiation",
        23 => "extended master secret",
        51 => "key share",
        43 => "supported versions",
        41 => "psk",
        45 => "psk kex modes",
        47 => "certificate authorities",
        49 => "post handshake auth",
        42 => "early_data",
        _ => "unknown",
    }
}

/// s_cb.c `tlsext_cb`.
pub fn extension_text(e: &TlsExtension) -> String {
    let mut t = format!(
        "TLS {} extension \"{}\" (id={}), len={}\n",
        if e.server { "server" } else { "client" },
        extension_name(e.ext_type),
        e.ext_type,
        e.data.len()
    );
    bio_dump(&mut t, &e.data);
    t
}

/// s_cb.c `security_callback_debug`.
pub fn security_text(c: &SecurityCheck) -> String {
    format!(
        "Security callback: {}: {}\n",
        c.detail,
        if c.allowed { "yes" } else { "no" }
    )
}

/// glibc's `%p`.
fn pointer(p: usize) -> String {
    if p == 0 {
        "(nil)".into()
    } else {
        format!("{p:#x}")
    }
}

/// s_cb.c `bio_dump_callback`.
pub fn transport_text(io: &TransportIo) -> String {
    let dir = if io.write { "write to" } else { "read from" };
    let (bio, buf) = (pointer(io.bio), pointer(io.buf));
    match &io.result {
        Ok(data) => {
            let n = data.len();
            let mut t = format!("{dir} {bio} [{buf}] ({} bytes => {n} (0x{n:X}))\n", io.requested);
            bio_dump(&mut t, data);
            t
        }
        Err(ret) => format!("{dir} {bio} [{buf}] ({} bytes => {ret})\n", io.requested),
    }
}

/// OpenSSL's `BIO_dump` (crypto/bio/bio_dump.c, no indent): 16 bytes a row, offset, hex with a
/// `-` after the eighth byte, then the printable characters.
pub fn bio_dump(t: &mut String, data: &[u8]) {
    for (row, chunk) in data.chunks(16).enumerate() {
        let _ = write!(t, "{:04x} - ", row * 16);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(t, "{b:02x}{}", if j == 7 { '-' } else { ' ' });
                }
                None => t.push_str("   "),
            }
        }
        t.push_str("  ");
        t.extend(
            chunk
                .iter()
                .map(|&b| if (b' '..=b'~').contains(&b) { b as char } else { '.' }),
        );
        t.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bio_dump_matches_openssl() {
        let mut t = String::new();
        bio_dump(&mut t, b"\x00\x01abcdefghijklmnopq");
        assert_eq!(
            t,
            "0000 - 00 01 61 62 63 64 65 66-67 68 69 6a 6b 6c 6d 6e   ..abcdefghijklmn\n\
             0010 - 6f 70 71                                          opq\n"
        );
    }

    #[test]
    fn msg_cb_lines() {
        let m = ProtocolMessage {
            write: false,
            version: 0x0304,
            content_type: 21,
            data: vec![1, 0],
        };
        assert_eq!(
            message_text(&m),
            "<<< TLS 1.3, Alert [length 0002], warning close_notify\n    01 00\n"
        );
        let m = ProtocolMessage {
            write: true,
            version: 0xfefd,
            content_type: 22,
            data: vec![],
        };
        assert_eq!(
            message_text(&m),
            ">>> Not TLS data or unknown version (version=65277, content_type=22) [length 0000]\n"
        );
    }
}
