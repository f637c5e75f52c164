//! s_server's console output, rendered from the engine's events.

use std::collections::HashMap;
use std::io::{self, Write};

use sserve_adapters::observer::{ConnId, Observer};
use sserve_engine::status_page::stats_text;
use sserve_engine::{AppMode, CloseReason, Command, Event, HandshakeInfo, SessionError};

/// How much to print (`-quiet`, `-brief`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verbosity {
    /// `-quiet`: no informational output (peer data and errors still appear).
    pub quiet: bool,
    /// `-brief`: quiet, plus a short summary of each connection on stderr.
    pub brief: bool,
    /// `-verify_quiet` (implied by `-brief`): verify callback lines only for errors.
    pub verify_quiet: bool,
}

/// What the console remembers about one connection between its events.
#[derive(Debug, Default)]
struct ConnState {
    handshake_done: bool,
    /// DTLS `-use_srtp`: the profile to print in the connection summary.
    srtp_profile: Option<String>,
    /// The connection failed while reading early data: s_server said so instead of `ERROR`.
    early_error: bool,
}

/// Prints events the way s_server does for the active mode.
pub struct Console {
    mode: AppMode,
    verbosity: Verbosity,
    /// Per connection (the web and `-rev` modes serve many at once); removed at close.
    conns: HashMap<ConnId, ConnState>,
}

impl Console {
    /// A renderer for `mode`.
    pub fn new(mode: AppMode, verbosity: Verbosity) -> Self {
        Console {
            mode,
            verbosity,
            conns: HashMap::new(),
        }
    }

    /// Informational stdout (s_server's `bio_s_out`, a null BIO with `-quiet`/`-brief`).
    fn info(&self, text: &str) {
        // `-debug` makes s_server's `bio_s_out` stdout even with `-quiet`.
        if (!self.verbosity.quiet && !self.verbosity.brief) || crate::output::debug_forces_output() {
            crate::stdout::write(text.as_bytes());
        }
    }

    fn err(&self, text: &str) {
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }

    fn connection_info(&self, i: &HandshakeInfo, srtp_profile: Option<&str>) {
        let mut t = String::new();
        t.push_str(&i.session_pem);
        if let Some(c) = &i.peer_certificate {
            t.push_str("Client certificate\n");
            t.push_str(&c.pem);
            // print_name: `subject=` and `issuer=` lines, as in s_server 3.0.
            t.push_str(&format!("subject={}\nissuer={}\n", c.subject_line, c.issuer_line));
        }
        if !i.shared_ciphers.is_empty() {
            t.push_str(&format!("Shared ciphers:{}\n", i.shared_ciphers));
        }
        for l in i.sigalgs_lines.iter().chain(&i.groups_lines) {
            t.push_str(l);
            t.push('\n');
        }
        t.push_str(&format!(
            "CIPHER is {}\n",
            if i.cipher.is_empty() { "(NONE)" } else { &i.cipher }
        ));
        if let Some(p) = &i.next_protocol {
            t.push_str(&format!("NEXTPROTO is {p}\n"));
        }
        if let Some(p) = srtp_profile {
            t.push_str(&format!("SRTP Extension negotiated, profile={p}\n"));
        }
        if i.resumed {
            t.push_str("Reused session-id\n");
        }
        t.push_str(&format!(
            "Secure Renegotiation IS{} supported\n",
            if i.secure_renegotiation { "" } else { " NOT" }
        ));
        if let Some(k) = &i.keying_material {
            t.push_str(&format!(
                "Keying material exporter:\n    Label: '{}'\n    Length: {} bytes\n",
                k.label, k.len
            ));
            match &k.value {
                Some(v) => {
                    t.push_str("    Keying material: ");
                    for b in v {
                        t.push_str(&format!("{b:02X}"));
                    }
                    t.push('\n');
                }
                None => t.push_str("    Error\n"),
            }
        }
        self.info(&t);
    }

    /// s_cb.c `print_ssl_summary` (stderr).
    fn summary(&self, i: &HandshakeInfo) {
        let mut t = format!("Protocol version: {}\n", i.protocol);
        t.push_str(&format!("Client cipher list: {}\n", i.client_ciphers.join(":")));
        t.push_str(&format!("Ciphersuite: {}\n", i.cipher));
        if let Some(l) = i.sigalgs_lines.iter().find(|l| l.starts_with("Signature Algorithms: ")) {
            t.push_str(l);
            t.push('\n');
        }
        match &i.peer_certificate {
            Some(c) => {
                t.push_str(&format!("Peer certificate: {}\n", c.subject));
                if i.verify_result.0 == 0 {
                    t.push_str("Verification: OK\n");
                } else {
                    t.push_str(&format!("Verification error: {}\n", i.verify_result.1));
                }
            }
            None => t.push_str("No peer certificate\n"),
        }
        if let Some(l) = i.groups_lines.iter().find(|l| l.starts_with("Supported groups: ")) {
            t.push_str(l);
            t.push('\n');
        }
        self.err(&t);
    }

    fn closed(&mut self, conn: ConnId, reason: &CloseReason) {
        let state = self.conns.remove(&conn).unwrap_or_default();
        let during_handshake = !state.handshake_done;
        let error_text = |e: &SessionError| -> String {
            let mut t = String::new();
            match e {
                SessionError::Tls(tls) => {
                    if let Some(v) = &tls.verify_error {
                        t.push_str(&format!("verify error:{v}\n"));
                    }
                    if tls.stack.is_empty() {
                        t.push_str(&format!("{}\n", tls.reason));
                    }
                    for l in &tls.stack {
                        t.push_str(l);
                        t.push('\n');
                    }
                }
                other => t.push_str(&format!("sserve: {other}\n")),
            }
            t
        };
        match self.mode {
            AppMode::Console => {
                match reason {
                    CloseReason::PeerClosed | CloseReason::LocalClose => self.info("DONE\n"),
                    CloseReason::PeerEof => {
                        self.info("ERROR\n");
                        self.err("unexpected eof while reading\n");
                    }
                    CloseReason::Error(e) => {
                        if state.early_error {
                            // "Error reading early data" was printed instead.
                        } else if during_handshake {
                            self.err("ERROR\n");
                        } else {
                            self.info("ERROR\n");
                        }
                        self.err(&error_text(e));
                    }
                    _ => {}
                }
                self.info("shutting down SSL\nCONNECTION CLOSED\n");
            }
            AppMode::Rev => match reason {
                CloseReason::Error(e) if during_handshake => {
                    self.err("CONNECTION FAILURE\n");
                    self.err(&error_text(e));
                }
                CloseReason::Error(e) => {
                    self.err(&error_text(e));
                    self.err("CONNECTION CLOSED\n");
                }
                _ => self.err("CONNECTION CLOSED\n"),
            },
            AppMode::Web(_) => {
                if let CloseReason::Error(e) = reason {
                    if !self.verbosity.quiet {
                        self.err(&error_text(e));
                    }
                }
            }
        }
    }
}

impl Observer for Console {
    fn event(&mut self, conn: ConnId, event: &Event) {
        match event {
            Event::HandshakeComplete(info) => {
                let state = self.conns.entry(conn).or_default();
                state.handshake_done = true;
                let srtp = state.srtp_profile.take();
                match self.mode {
                    AppMode::Console => {
                        if self.verbosity.brief {
                            self.summary(info);
                        }
                        self.connection_info(info, srtp.as_deref());
                    }
                    AppMode::Rev => {
                        self.err("CONNECTION ESTABLISHED\n");
                        self.summary(info);
                    }
                    AppMode::Web(_) => {}
                }
            }
            Event::Plaintext(data) => {
                // Peer data goes to stdout even with -quiet, as in s_server.
                crate::stdout::write_shared(data.clone());
            }
            Event::Alpn { offered, selected } if !self.verbosity.quiet => {
                let mut text = format!("ALPN protocols advertised by the client: {}\n", offered.join(", "));
                if let Some(s) = selected {
                    text.push_str(&format!("ALPN protocols selected: {s}\n"));
                }
                crate::stdout::write(text.as_bytes());
            }
            Event::Verify(step) => {
                let quiet = self.verbosity.brief || self.verbosity.verify_quiet;
                let mut t = String::new();
                if !quiet || step.error.is_some() {
                    t.push_str(&format!("depth={} {}\n", step.depth, step.subject));
                }
                if let Some((num, text)) = &step.error {
                    t.push_str(&format!("verify error:num={num}:{text}\n"));
                }
                for l in step.detail.iter().chain(step.policies.iter().filter(|_| !quiet)) {
                    t.push_str(l);
                    t.push('\n');
                }
                if step.ok && !quiet {
                    t.push_str(if step.notify {
                        "verify return:2\n"
                    } else {
                        "verify return:1\n"
                    });
                }
                self.err(&t);
            }
            Event::FileServed(path) if !self.verbosity.quiet => self.err(&format!("FILE:{path}\n")),
            Event::CommandDone { command, result, error } => match (result, command) {
                (Some(r), _) => crate::stdout::write(format!("SSL_do_handshake -> {r}\n").as_bytes()),
                (None, Command::RequestClientCert) => {
                    crate::stdout::write(b"Failed to initiate request\n");
                    self.err(&format!("{}\n", error.as_deref().unwrap_or("")));
                }
                (None, c) => self.err(&format!(
                    "sserve: command {}: {}\n",
                    c.letter(),
                    error.as_deref().unwrap_or("failed")
                )),
            },
            Event::Renegotiating(r) => self.info(&format!("SSL_renegotiate -> {r}\n")),
            Event::Stats(s) => self.info(&stats_text(s)),
            Event::HeartbeatUnsupported => {
                self.err("sserve: B: heartbeats are not supported (removed from OpenSSL in 1.1.1)\n")
            }
            Event::StopServer => self.err("shutdown accept socket\n"),
            Event::SrtpNegotiated(p) => self.conns.entry(conn).or_default().srtp_profile = Some(p.clone()),
            Event::RetransmitTimeout => self.err("TIMEOUT occurred\n"),
            Event::Note(text) => self.err(text),
            Event::Closed(reason) => self.closed(conn, reason),
            Event::Diagnostic(d) => crate::output::print(d, self.verbosity.quiet || self.verbosity.brief),
            Event::ServerName { host, switched } => {
                let switching = if *switched { "Switching server context.\n" } else { "" };
                self.info(&format!("Hostname in TLS extension: \"{host}\"\n{switching}"));
            }
            Event::CertChainCheck(c) => {
                let mut t = format!("Checking cert chain {}:\nSubject: {}\n", c.index, c.subject);
                for (name, bit) in sserve_engine::CertChainCheck::FLAG_NAMES {
                    let ok = if c.flags & bit != 0 { "OK" } else { "NOT OK" };
                    t.push_str(&format!("\t{name}: {ok}\n"));
                }
                t.push_str(match c.suite_b {
                    None => "\tSuite B: not tested\n",
                    Some(true) => "\tSuite B: OK\n",
                    Some(false) => "\tSuite B: NOT OK\n",
                });
                self.err(&t);
            }
            Event::EarlyData { data, first } => {
                if *first {
                    self.info("Early data received:\n");
                }
                // Raw to stdout even with -quiet, as s_server's raw_write_stdout.
                crate::stdout::write_shared(data.clone());
            }
            Event::EarlyDataEnd { received, status } if self.mode == AppMode::Console => self.info(if *received {
                "\nEnd of early data\n"
            } else if *status == sserve_engine::EarlyDataStatus::NotSent {
                "No early data received\n"
            } else {
                "Early data was rejected\n"
            }),
            Event::EarlyDataError if self.mode == AppMode::Console => {
                self.conns.entry(conn).or_default().early_error = true;
                self.err("Error reading early data\n");
            }
            Event::SrpLookup { user, info } => {
                self.err(&format!("SRP username = \"{user}\"\n"));
                self.info(&format!("LOOKUP during accept {user}\n"));
                match info {
                    Some(i) => {
                        self.info(&format!("LOOKUP done {i}\n"));
                        self.err(&format!("SRP parameters set: username = \"{user}\" info=\"{i}\" \n"));
                    }
                    None => {
                        self.info("LOOKUP not successful\n");
                        self.err(&format!("User {user} doesn't exist\n"));
                    }
                }
            }
            Event::PskIdentityMismatch { got, expected } => self.info(&format!(
                "PSK warning: client identity not what we expected (got '{got}' expected '{expected}')\n"
            )),
            _ => {}
        }
    }

    fn io_error(&mut self, context: &str, error: &io::Error) {
        self.err(&format!("sserve: {context}: {}\n", crate::error::io_text(error)));
    }
}
