//! The whole s_server option surface: every option of the installed `openssl s_server -help` is
//! known to us, and every option we do not implement is refused with one line and exit 1.

use std::process::Command;

use sserve::options::{is_s_server_option, s_server_options, split_args};
use sserve_engine::ServerConfigBuilder;

/// Option names from `openssl s_server -help`, or `None` when `openssl` is not installed.
fn installed_s_server_options() -> Option<Vec<String>> {
    let out = Command::new("openssl").args(["s_server", "-help"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix(" -"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

#[test]
fn every_installed_s_server_option_is_in_our_list_and_table() {
    let table = include_str!("../../docs/options.md");
    let names = match installed_s_server_options() {
        Some(n) => n,
        // Without openssl the checked-in list is the reference; the unit test in options.rs
        // already holds the table to it.
        None => s_server_options().map(str::to_string).collect(),
    };
    assert!(names.len() > 150, "only {} options parsed from -help", names.len());
    let b = ServerConfigBuilder::new().unwrap();
    for name in &names {
        assert!(
            is_s_server_option(name),
            "-{name} is missing from cli/src/s_server_options.txt"
        );
        assert!(
            table.contains(&format!("| `-{name}` |")),
            "docs/options.md lacks -{name}"
        );
        let parsed = split_args(&[format!("-{name}"), "1".into()], |n| b.ssl_conf_lookup(n));
        if let Err(e) = &parsed {
            assert!(
                !e.0.starts_with("Unknown option"),
                "our parser does not know -{name}: {}",
                e.0
            );
        }
    }
}

/// The one-line message `split_args` refuses `-name` with, if it does (a refusal comes before
/// any value is read, so the `1` after it does not matter).
fn refusal(b: &ServerConfigBuilder, name: &str) -> Option<String> {
    match split_args(&[format!("-{name}"), "1".into()], |n| b.ssl_conf_lookup(n)) {
        Err(e) if e.0.starts_with(&format!("option -{name}:")) => Some(e.0),
        _ => None,
    }
}

/// The options `split_args` refuses, with their messages.
fn refused() -> Vec<(String, String)> {
    let b = ServerConfigBuilder::new().unwrap();
    s_server_options()
        .filter_map(|name| refusal(&b, name).map(|m| (name.to_string(), m)))
        .collect()
}

#[test]
fn every_refused_option_exits_1_with_one_line() {
    let refused = refused();
    assert!(
        refused.iter().any(|(n, _)| n == "engine"),
        "-engine should be refused: {refused:?}"
    );
    for (name, message) in &refused {
        assert!(
            !message.contains("not implemented yet"),
            "-{name} is refused without a reason: {message}"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_sserve"))
            .args([format!("-{name}"), "x".into(), "-accept".into(), "0".into()])
            .output()
            .expect("running sserve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "-{name}: {stderr}");
        assert_eq!(stderr, format!("sserve: {message}\n"), "-{name}");
        assert!(out.stdout.is_empty(), "-{name} printed to stdout");
    }
}

/// Each row's status in docs/options.md is what the parser does with the option.
#[test]
fn option_table_status_matches_the_parser() {
    let table = include_str!("../../docs/options.md");
    let b = ServerConfigBuilder::new().unwrap();
    let mut rows = 0;
    for line in table.lines() {
        let cells: Vec<&str> = line.split(" | ").collect();
        let (Some(name), Some(status)) = (cells.first(), cells.get(1)) else {
            continue;
        };
        let Some(name) = name.strip_prefix("| `-").and_then(|n| n.strip_suffix('`')) else {
            continue;
        };
        rows += 1;
        let refusal = refusal(&b, name);
        if let Some(why) = sserve_engine::ossl::version::unsupported_option(name) {
            // Implemented, but not with the linked OpenSSL: refused with the version named.
            let r = refusal.unwrap_or_default();
            assert!(r.contains(&why), "-{name}: {r}");
            continue;
        }
        let ossl3 = sserve_engine::ossl::version::openssl_version_number() >= 0x3000_0000;
        let notes = cells.get(2).copied().unwrap_or_default();
        if status.starts_with("rejected") && !ossl3 && notes.contains("SSL_CONF_cmd") {
            // Refused because OpenSSL 3's SSL_CONF_cmd does not take it; 1.1.1's does, as
            // s_server 1.1.1 did.
            continue;
        }
        if status.starts_with("rejected") {
            assert!(refusal.is_some(), "-{name} is marked {status} but is accepted");
        } else {
            assert!(refusal.is_none(), "-{name} is marked {status} but refused: {refusal:?}");
        }
        let covered = cells.get(3).map_or("", |c| c.trim_end_matches('|').trim());
        assert!(
            !covered.is_empty() && !covered.starts_with("not covered"),
            "-{name} names no test in docs/options.md"
        );
        if *status == "implemented (SSL_CONF_cmd)" {
            assert!(
                b.ssl_conf_lookup(&format!("-{name}")).is_some(),
                "-{name} is marked as passed to SSL_CONF_cmd, which does not know it"
            );
        }
    }
    assert!(rows > 190, "only {rows} option rows in docs/options.md");
}

/// `sserve -help` lists every option the installed `openssl s_server -help` lists that sserve
/// takes, in the same section, with the same value kind, and no refused one (except those only
/// the linked OpenSSL lacks: listed with the versions that have them).
#[test]
fn help_lists_every_accepted_s_server_option_like_s_server() {
    let Ok(out) = Command::new("openssl").args(["s_server", "-help"]).output() else {
        return;
    };
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let ours = sserve::help::help_text();
    let b = ServerConfigBuilder::new().unwrap();
    let section_of = |text: &str, name: &str| -> Option<(String, String)> {
        let mut section = String::new();
        for line in text.lines() {
            if let Some(t) = line.strip_suffix(':') {
                section = t.to_string();
            } else if let Some(rest) = line.strip_prefix(" -") {
                let mut words = rest.split_whitespace();
                if words.next() == Some(name) {
                    let kind = rest[..rest.len().min(26)].split_whitespace().nth(1).unwrap_or("");
                    return Some((section, kind.to_string()));
                }
            }
        }
        None
    };
    for name in installed_s_server_options().unwrap_or_default() {
        let gated = sserve_engine::ossl::version::unsupported_option(&name).is_some();
        let refused = refusal(&b, &name).is_some() && !gated;
        let listed = section_of(&ours, &name);
        if refused {
            assert!(listed.is_none(), "-{name} is refused but -help lists it");
            continue;
        }
        if gated && listed.is_none() {
            // Handed to SSL_CONF_cmd, which the linked OpenSSL's does not know (1.1.1 and
            // -client_renegotiation): not offered.
            assert!(b.ssl_conf_lookup(&format!("-{name}")).is_none(), "-{name}");
            continue;
        }
        assert_eq!(listed, section_of(&theirs, &name), "-{name}");
    }
}
