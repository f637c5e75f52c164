//! The `cli_args` harness, shared by the fuzz target and the stable replay test
//! (`benches/tests/cli_args_corpus.rs`, which can depend on the `sserve` package; the engine's
//! tests cannot).
#![allow(dead_code, missing_docs)]

use clap::parser::ValueSource;
use sserve::options::{parse, split_args};
use sserve_engine::ServerConfigBuilder;

/// OpenSSL's `SSL_CONF` table, as the binary consults it.
fn conf_lookup(name: &str) -> Option<bool> {
    thread_local! {
        static BUILDER: ServerConfigBuilder = ServerConfigBuilder::new().expect("ServerConfigBuilder");
    }
    BUILDER.with(|b| b.ssl_conf_lookup(name))
}

/// Splits fuzz input into argv at NUL bytes (as the kernel hands argv over), lossily decoded.
pub fn argv(data: &[u8]) -> Vec<String> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Arbitrary argv through `split_args` then `parse`. Invariants: every argument is accounted
/// for exactly once (an option for clap, its value, or an `SSL_CONF` pair OpenSSL knows); clap
/// only sees `--name` options we define; a refusal is one non-empty line unless the offending
/// argument itself holds a line break.
pub fn check_cli_args(data: &[u8]) {
    let args = argv(data);
    let has_newline = args.iter().any(|a| a.contains(['\n', '\r']));
    match split_args(&args, conf_lookup) {
        Ok(split) => {
            let conf_len: usize = split.conf.iter().map(|(_, v)| 1 + usize::from(v.is_some())).sum();
            assert_eq!(
                split.clap_args.len() + conf_len,
                args.len(),
                "every argument is used exactly once: {args:?} -> {split:?}"
            );
            for (name, value) in &split.conf {
                assert!(name.starts_with('-'), "SSL_CONF name {name:?}");
                assert_eq!(
                    conf_lookup(name),
                    Some(value.is_some()),
                    "{name} is passed to SSL_CONF with the arity OpenSSL gives it"
                );
            }
            match parse(&split.clap_args) {
                Ok(m) => {
                    for id in m.ids() {
                        let id = id.as_str();
                        if m.value_source(id) != Some(ValueSource::CommandLine) {
                            continue;
                        }
                        assert!(
                            split.clap_args.iter().any(|a| a.strip_prefix("--") == Some(id)),
                            "clap matched {id} which was not given"
                        );
                    }
                }
                Err(e) => check_message(&e.0, has_newline),
            }
        }
        Err(e) => check_message(&e.0, has_newline),
    }
}

fn check_message(m: &str, has_newline: bool) {
    assert!(!m.trim().is_empty(), "empty usage error");
    if !has_newline {
        assert!(!m.contains('\n'), "usage error is not one line: {m:?}");
    }
}
