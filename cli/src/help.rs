//! One option table, three renderings: `-help` (in s_server's sections and layout),
//! `docs/options.md` and the man page `docs/sserve.1`. The sections, their order and the value
//! kinds come from OpenSSL 3.0's `s_server -help` (kept in `s_server_help.txt`); the help texts
//! and what sserve does with each option come from `options.rs`.

use std::fmt::Write as _;

use crate::options::{flag_options, is_s_server_option, not_implemented, s_server_options, value_options, EXTENSIONS};

/// `openssl s_server -help` of OpenSSL 3.0, verbatim.
const S_SERVER_HELP: &str = include_str!("s_server_help.txt");
/// Which test covers each option: `name<TAB>where`.
const COVERAGE: &str = include_str!("option_coverage.txt");
/// The section of sserve's own options.
const SSERVE_SECTION: &str = "sserve options";
/// The section of s_server options that its 3.0 help does not list.
const OTHER_SECTION: &str = "Other s_server options (OpenSSL 1.1.1 manual)";

/// What sserve does with an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Implemented by sserve, as s_server does it.
    Implemented,
    /// Handed to OpenSSL's `SSL_CONF_cmd` by name, as s_server does.
    SslConf,
    /// Refused at start-up with this reason.
    Rejected(String),
    /// sserve's own option.
    Extension,
}

/// One option of the table.
#[derive(Debug, Clone)]
pub struct OptionRow {
    /// The name without the dash.
    pub name: String,
    /// The `-help` section.
    pub section: String,
    /// The value kind (`val`, `+int`, `infile`, …), none for a flag.
    pub value: Option<String>,
    /// One-line description.
    pub help: String,
    /// What sserve does with it.
    pub status: Status,
}

/// s_server's help: (section, name, value kind, text), in its order.
fn s_server_help() -> Vec<(String, String, Option<String>, String)> {
    let mut out: Vec<(String, String, Option<String>, String)> = Vec::new();
    let mut section = String::new();
    for line in S_SERVER_HELP.lines() {
        if let Some(title) = line.strip_suffix(" options:") {
            section = format!("{title} options");
        } else if let Some(rest) = line.strip_prefix(" -") {
            let (left, text) = rest.split_at(rest.len().min(26));
            let mut words = left.split_whitespace();
            let name = words.next().unwrap_or_default().to_string();
            let value = words.next().map(str::to_string);
            out.push((section.clone(), name, value, text.trim().to_string()));
        } else if line.starts_with("    ") {
            if let Some(last) = out.last_mut() {
                last.3.push(' ');
                last.3.push_str(line.trim());
            }
        }
    }
    out
}

fn our_help(name: &str) -> Option<(Option<&'static str>, &'static str)> {
    value_options()
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, v, h)| (Some(*v), *h))
        .or_else(|| flag_options().iter().find(|(n, _)| *n == name).map(|(_, h)| (None, *h)))
}

/// Every option: s_server's (in its sections and order; then the few only its 1.1.1 manual
/// names), then sserve's own. `conf_lookup("-name")` says whether OpenSSL's `SSL_CONF_cmd`
/// knows a name.
pub fn table(conf_lookup: impl Fn(&str) -> Option<bool>) -> Vec<OptionRow> {
    let mut rows = Vec::new();
    let status = |name: &str| {
        if our_help(name).is_some() {
            Status::Implemented
        } else if conf_lookup(&format!("-{name}")).is_some() {
            Status::SslConf
        } else {
            Status::Rejected(
                not_implemented(name)
                    .split_once(": ")
                    .map_or(String::new(), |(_, w)| w.to_string()),
            )
        }
    };
    let listed = s_server_help();
    for (section, name, value, text) in &listed {
        let help = our_help(name).map_or(text.as_str(), |(_, h)| h).to_string();
        rows.push(OptionRow {
            name: name.clone(),
            section: section.clone(),
            value: value.clone(),
            help,
            status: status(name),
        });
    }
    for name in s_server_options().filter(|n| !listed.iter().any(|(_, l, _, _)| l == n)) {
        let (value, help) = our_help(name).unwrap_or((None, ""));
        rows.push(OptionRow {
            name: name.to_string(),
            section: OTHER_SECTION.into(),
            value: value.map(str::to_string),
            help: help.to_string(),
            status: status(name),
        });
    }
    for name in EXTENSIONS.iter().filter(|n| !is_s_server_option(n)) {
        let (value, help) = our_help(name).unwrap_or((None, ""));
        rows.push(OptionRow {
            name: name.to_string(),
            section: SSERVE_SECTION.into(),
            value: value.map(str::to_string),
            help: help.trim_start_matches("sserve: ").to_string(),
            status: Status::Extension,
        });
    }
    // Options that not every supported OpenSSL has say which versions do.
    for r in &mut rows {
        if let Some(v) = sserve_engine::ossl::version::option_versions(&r.name) {
            r.help = format!("{} [{v}]", r.help);
        }
    }
    rows
}

/// The s_server options OpenSSL 3.0's `SSL_CONF_cmd` knows on a server (of those in the
/// table): what the generated documents describe, whichever OpenSSL the build links (1.1.1's
/// `SSL_CONF_cmd` knows a few others; compat.md lists the differences).
pub const SSL_CONF_NAMES_3_0: &[&str] = &[
    "num_tickets",
    "anti_replay",
    "no_anti_replay",
    "no_ssl3",
    "no_tls1",
    "no_tls1_1",
    "no_tls1_2",
    "no_tls1_3",
    "bugs",
    "no_comp",
    "comp",
    "no_ticket",
    "serverpref",
    "legacy_renegotiation",
    "client_renegotiation",
    "no_renegotiation",
    "no_resumption_on_reneg",
    "allow_no_dhe_kex",
    "prioritize_chacha",
    "strict",
    "sigalgs",
    "client_sigalgs",
    "groups",
    "curves",
    "named_curve",
    "cipher",
    "ciphersuites",
    "min_protocol",
    "max_protocol",
    "record_padding",
    "no_middlebox",
    "no_etm",
];

/// `conf_lookup` for [`table`] answering from [`SSL_CONF_NAMES_3_0`].
pub fn reference_conf_lookup(name: &str) -> Option<bool> {
    let name = name.strip_prefix('-')?;
    SSL_CONF_NAMES_3_0.contains(&name).then_some(false)
}

/// The table with the linked OpenSSL's `SSL_CONF_cmd` names. Options that the linked OpenSSL
/// cannot back stay listed, with the versions that have them in brackets.
fn live_table() -> Vec<OptionRow> {
    table(crate::transport::ssl_conf_lookup)
}

/// The sections in order, each with its rows (s_server has two "Network options" sections;
/// they stay apart, as in its help).
fn sections(rows: &[OptionRow]) -> Vec<(&str, Vec<&OptionRow>)> {
    let mut out: Vec<(&str, Vec<&OptionRow>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((s, v)) if *s == r.section => v.push(r),
            _ => out.push((&r.section, vec![r])),
        }
    }
    out
}

/// The sections with the options sserve takes (refused ones left out), empty ones dropped.
fn usable_sections(rows: &[OptionRow]) -> Vec<(&str, Vec<&OptionRow>)> {
    sections(rows)
        .into_iter()
        .map(|(section, rows)| {
            let usable: Vec<&OptionRow> = rows
                .into_iter()
                .filter(|r| !matches!(r.status, Status::Rejected(_)))
                .collect();
            (section, usable)
        })
        .filter(|(_, usable)| !usable.is_empty())
        .collect()
}

/// `-help`: s_server's layout (`-name val` in a 26-column field), every option sserve takes,
/// in s_server's sections and order, sserve's own options last.
pub fn help_text() -> String {
    let mut t = render_help(&live_table());
    let _ = write!(
        t,
        "\nLinked with {}.\n",
        sserve_engine::ossl::version::openssl_version()
    );
    t
}

/// [`help_text`] for a given table.
pub fn render_help(rows: &[OptionRow]) -> String {
    let mut t = String::from("Usage: sserve [options]\n");
    for (section, usable) in usable_sections(rows) {
        let _ = write!(t, "\n{section}:\n");
        for r in usable {
            let left = match &r.value {
                Some(v) => format!("-{} {v}", r.name),
                None => format!("-{}", r.name),
            };
            if left.len() > 25 {
                let _ = writeln!(t, " {left}\n {:26} {}", "", r.help);
            } else {
                let _ = writeln!(t, " {left:26} {}", r.help);
            }
        }
    }
    t
}

fn coverage(name: &str) -> &'static str {
    COVERAGE
        .lines()
        .find_map(|l| l.split_once('\t').filter(|(n, _)| *n == name).map(|(_, c)| c))
        .unwrap_or("cli/tests/option_surface.rs (every refusal: its message and exit 1)")
}

/// `docs/options.md`.
pub fn options_markdown(rows: &[OptionRow]) -> String {
    let mut t = String::from(
        "# Option table\n\n\
<!-- Generated from cli/src/options.rs and cli/src/help.rs; regenerate with\n     \
SSERVE_UPDATE_DOCS=1 cargo test -p sserve --test docs -->\n\n\
Every option of `openssl s_server -help` (OpenSSL 3.0, in its sections and order), the few more\n\
that OpenSSL 1.1.1's manual names, and sserve's own. *implemented* options act as in s_server;\n\
*rejected* ones exit 1 with a one-line reason (nothing is silently ignored). Options that\n\
OpenSSL's `SSL_CONF_cmd` knows by name are handed to it unchanged, exactly as s_server's\n\
`config_ctx` does. `sserve -help` prints the same table; the man page is [sserve.1](sserve.1)\n\
(`man ./docs/sserve.1`). Deviations from s_server are in [compat.md](compat.md).\n",
    );
    for (section, rows) in sections(rows) {
        let _ = write!(
            t,
            "\n## {section}\n\n| option | status | notes | covered by |\n| --- | --- | --- | --- |\n"
        );
        for r in rows {
            let (status, note) = match &r.status {
                Status::Implemented => ("implemented", r.help.clone()),
                Status::SslConf => (
                    "implemented (SSL_CONF_cmd)",
                    format!("{} (passed to OpenSSL by name, as s_server does)", r.help),
                ),
                Status::Rejected(why) => ("rejected", why.clone()),
                Status::Extension => ("sserve extension", r.help.clone()),
            };
            let name = match &r.value {
                Some(v) => format!("`-{}` | {status} | `{v}`: ", r.name),
                None => format!("`-{}` | {status} | ", r.name),
            };
            let _ = writeln!(t, "| {name}{} | {} |", note.replace('|', "\\|"), coverage(&r.name));
        }
    }
    t
}

fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

/// The man page `docs/sserve.1`.
pub fn man_page(rows: &[OptionRow]) -> String {
    let mut t = String::from(
        ".\\\" Generated from cli/src/options.rs and cli/src/help.rs; regenerate with\n\
.\\\" SSERVE_UPDATE_DOCS=1 cargo test -p sserve --test docs\n\
.TH SSERVE 1 \"\" \"sserve\" \"User Commands\"\n\
.SH NAME\n\
sserve \\- a drop\\-in reimplementation of openssl s_server\n\
.SH SYNOPSIS\n\
.B sserve\n\
[\\fIoptions\\fR]\n\
.SH DESCRIPTION\n\
.B sserve\n\
takes the command line of\n\
.BR openssl\\-s_server (1)\n\
(single\\-dash options, the same defaults) and prints the same console output and web pages.\n\
It listens on port 4433 by default and serves the console: what the client sends is printed,\n\
what is typed is sent. With \\fB\\-www\\fR, \\fB\\-WWW\\fR or \\fB\\-HTTP\\fR it is a small HTTPS\n\
server, with \\fB\\-rev\\fR an echo server that reverses lines. Without \\fB\\-cert\\fR, \\fB\\-key\\fR\n\
and a \\fIserver.pem\\fR in the current directory it makes an ephemeral self\\-signed\n\
certificate for localhost and says so on stderr.\n\
.PP\n\
Every value is checked before anything else happens: a bad value is one line on stderr and\n\
exit status 1. s_server options that sserve does not implement are refused the same way,\n\
with the reason.\n\
.SH OPTIONS\n",
    );
    for (section, usable) in usable_sections(rows) {
        let _ = writeln!(t, ".SS {}", roff(section));
        for r in usable {
            let _ = match &r.value {
                Some(v) => writeln!(t, ".TP\n.BI \\-{} \" {}\"", roff(&r.name), roff(v)),
                None => writeln!(t, ".TP\n.B \\-{}", roff(&r.name)),
            };
            let _ = writeln!(t, "{}", roff(&r.help));
        }
    }
    let refused: Vec<String> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Rejected(_)))
        .map(|r| format!("\\fB\\-{}\\fR", roff(&r.name)))
        .collect();
    let _ = write!(
        t,
        ".SS Refused s_server options\n\
These exit with status 1 and the reason: {}.\n\
.SH JSON OUTPUT\n\
With \\fB\\-json\\fR every event is one JSON object per line on stdout, each with \\fBevent\\fR,\n\
\\fBtime\\fR (RFC 3339, UTC, milliseconds) and \\fBschema_version\\fR; the schema is in\n\
\\fIdocs/json.md\\fR of the source tree.\n\
.SH EXIT STATUS\n\
0 after \\fB\\-naccept\\fR connections, the console's \\fBQ\\fR, or SIGINT/SIGTERM (which close every\n\
connection with close_notify and print the statistics); 1 on a start\\-up error.\n\
.SH SEE ALSO\n\
.BR openssl\\-s_server (1),\n\
.BR openssl\\-s_client (1)\n",
        refused.join(", ")
    );
    t
}

/// The generated documents: (path from the workspace root, contents). They describe sserve
/// with OpenSSL 3.0 whichever OpenSSL this build links: the version notes in brackets say what
/// other versions lack.
pub fn documents() -> Vec<(&'static str, String)> {
    let rows = table(reference_conf_lookup);
    vec![
        ("docs/options.md", options_markdown(&rows)),
        ("docs/sserve.1", man_page(&rows)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_server_sections_in_order() {
        let rows = s_server_help();
        assert_eq!(rows[0].0, "General options");
        assert_eq!(rows[0].1, "help");
        let accept = rows.iter().find(|r| r.1 == "accept").unwrap();
        assert_eq!(
            (accept.0.as_str(), accept.2.as_deref()),
            ("Network options", Some("val"))
        );
        let no_proxy = rows.iter().find(|r| r.1 == "no_proxy").unwrap();
        assert!(no_proxy.3.contains("Default from environment variable"), "{no_proxy:?}");
    }

    #[test]
    fn help_has_one_dash_and_no_elision() {
        let h = render_help(&table(|n| (n == "-cipher").then_some(true)));
        assert!(h.contains("\n -accept val                TCP address"), "{h}");
        assert!(h.contains("\n -cipher val "), "{h}");
        assert!(!h.contains("--"), "{h}");
        assert!(!h.contains("..."));
        assert!(h.contains("\nsserve options:\n -handshake_timeout secs"), "{h}");
        assert!(!h.contains(" -engine"), "refused options are not offered");
    }
}
