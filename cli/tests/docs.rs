//! `docs/options.md` and `docs/sserve.1` are generated from the option table that also prints
//! `-help`; this test keeps the checked-in files equal to it. Regenerate with
//! `SSERVE_UPDATE_DOCS=1 cargo test -p sserve --test docs`.

use std::path::Path;

#[test]
fn generated_documents_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let update = std::env::var_os("SSERVE_UPDATE_DOCS").is_some();
    for (path, text) in sserve::help::documents() {
        let file = root.join(path);
        if update {
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        let current = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            current == text,
            "{path} is out of date: run SSERVE_UPDATE_DOCS=1 cargo test -p sserve --test docs"
        );
    }
}

#[test]
fn help_is_the_table_with_one_dash() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sserve"))
        .arg("-help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert_eq!(help, sserve::help::help_text());
    assert!(help.starts_with("Usage: sserve [options]\n\nGeneral options:\n -help "));
    for section in [
        "Network options:",
        "Identity options:",
        "TLS/SSL options:",
        "sserve options:",
    ] {
        assert!(help.contains(&format!("\n{section}\n")), "{section}");
    }
    for line in help.lines().filter(|l| l.starts_with(' ')) {
        assert!(!line.trim_start().starts_with("--"), "{line}");
    }
}

/// The documents take the `SSL_CONF_cmd` names from a fixed list so that they do not change with
/// the linked OpenSSL; with a 3.x library that list is exactly what `SSL_CONF_cmd` knows.
#[test]
fn reference_ssl_conf_names_are_what_openssl_3_knows() {
    if sserve_engine::ossl::version::openssl_version_number() < 0x3000_0000 {
        return;
    }
    let b = sserve_engine::ServerConfigBuilder::new().unwrap();
    let live = sserve::help::table(|n| b.ssl_conf_lookup(n));
    let reference = sserve::help::table(sserve::help::reference_conf_lookup);
    assert_eq!(live.len(), reference.len());
    for (l, r) in live.iter().zip(&reference) {
        assert_eq!(l.status, r.status, "-{}", l.name);
    }
}
