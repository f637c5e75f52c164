//! The OpenSSL this build is linked with, and the s_server options it cannot back.
//!
//! sserve builds against OpenSSL 1.1.1 and 3.x. What a version lacks is decided here, from the
//! cfgs `build.rs` derives from the headers (`ossl300`, `ssl_trace`, …), so the CLI refuses
//! those options at start-up with a reason that names the linked version.

use alloc::format;
use alloc::string::String;

/// `OpenSSL_version_num()`: the linked library's `OPENSSL_VERSION_NUMBER` (`0x30500050` for
/// 3.5.5, `0x1010117f` for 1.1.1w).
pub fn openssl_version_number() -> u64 {
    openssl::version::number() as u64
}

/// `OpenSSL_version(OPENSSL_VERSION)`, e.g. `OpenSSL 3.5.5 27 Jan 2026`.
pub fn openssl_version() -> &'static str {
    openssl::version::version()
}

/// Options that only some OpenSSL builds can back.
struct Gate {
    /// s_server option names, without the dash.
    options: &'static [&'static str],
    /// Does the linked OpenSSL have it?
    available: bool,
    /// What is missing, for the refusal ("providers need OpenSSL 3.0 or later").
    missing: &'static str,
    /// Which versions have it, for `-help` and docs/options.md.
    versions: &'static str,
}

const GATES: &[Gate] = &[
    Gate {
        options: &["provider", "provider-path", "propquery"],
        available: cfg!(ossl300),
        missing: "providers need OpenSSL 3.0 or later",
        versions: "OpenSSL 3.0 and later",
    },
    Gate {
        options: &["ignore_unexpected_eof"],
        available: cfg!(ossl300),
        missing: "SSL_OP_IGNORE_UNEXPECTED_EOF needs OpenSSL 3.0 or later",
        versions: "OpenSSL 3.0 and later",
    },
    Gate {
        options: &["no_ca_names"],
        available: cfg!(ossl300),
        missing: "SSL_OP_DISABLE_TLSEXT_CA_NAMES needs OpenSSL 3.0 or later",
        versions: "OpenSSL 3.0 and later",
    },
    Gate {
        options: &["client_renegotiation", "no_etm"],
        available: cfg!(ossl300),
        missing: "OpenSSL's SSL_CONF_cmd knows it from 3.0 on",
        versions: "OpenSSL 3.0 and later",
    },
    Gate {
        options: &["proxy", "no_proxy"],
        available: cfg!(ossl300),
        missing: "OpenSSL's HTTP proxy choice (OSSL_HTTP_adapt_proxy) arrived in 3.0",
        versions: "OpenSSL 3.0 and later",
    },
    Gate {
        options: &["trace"],
        available: cfg!(ssl_trace),
        missing: "this OpenSSL was built without ssl-trace",
        versions: "OpenSSL built with ssl-trace: 3.x as Debian and the vendored build have it, not a default 1.1.1",
    },
];

fn gate(option: &str) -> Option<&'static Gate> {
    GATES.iter().find(|g| g.options.contains(&option))
}

/// Why the linked OpenSSL cannot back s_server option `option` (no dash), naming the version;
/// `None` when it can.
pub fn unsupported_option(option: &str) -> Option<String> {
    gate(option)
        .filter(|g| !g.available)
        .map(|g| format!("{} (this sserve is linked with {})", g.missing, openssl_version()))
}

/// Which OpenSSL versions have `option` (no dash), whatever this build links; `None` for
/// options every supported version has.
pub fn option_versions(option: &str) -> Option<&'static str> {
    gate(option).map(|g| g.versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_number_matches_the_headers() {
        let n = openssl_version_number();
        assert_eq!(cfg!(ossl300), n >= 0x3000_0000, "{n:#x}");
        assert_eq!(cfg!(ossl350), n >= 0x3050_0000, "{n:#x}");
        assert!(n >= 0x1010_1000, "{n:#x}");
        assert!(openssl_version().starts_with("OpenSSL "));
    }

    #[test]
    fn refusals_name_the_linked_version() {
        for g in GATES {
            for o in g.options {
                assert_eq!(option_versions(o), Some(g.versions));
                match unsupported_option(o) {
                    None => assert!(g.available, "{o}"),
                    Some(why) => {
                        assert!(!g.available, "{o}");
                        assert!(why.contains(openssl_version()), "{why}");
                    }
                }
            }
        }
        assert_eq!(unsupported_option("www"), None);
        assert_eq!(option_versions("www"), None);
    }
}
