//! Turns the OpenSSL version that `openssl-sys` found (or built, with `vendored`) into cfgs for
//! the backend, the pattern the `openssl` crate uses: `ossl111`, `ossl300`, `ossl320`, …, each
//! set when the linked OpenSSL is at least that version. `ssl_trace` is set when the library
//! was built with `enable-ssl-trace` (`SSL_trace` exists; vendored builds leave it out).

use std::env;
use std::path::Path;

/// (cfg name, lowest `OPENSSL_VERSION_NUMBER` that sets it).
const VERSIONS: &[(&str, u64)] = &[
    ("ossl111", 0x1010_1000),
    ("ossl300", 0x3000_0000),
    ("ossl320", 0x3020_0000),
    ("ossl330", 0x3030_0000),
    ("ossl340", 0x3040_0000),
    ("ossl350", 0x3050_0000),
];

fn main() {
    for (name, _) in VERSIONS {
        println!("cargo:rustc-check-cfg=cfg({name})");
    }
    println!("cargo:rustc-check-cfg=cfg(ssl_trace)");
    // Without the `openssl` feature there is no openssl-sys and nothing to detect.
    let Ok(hex) = env::var("DEP_OPENSSL_VERSION_NUMBER") else {
        return;
    };
    let version = u64::from_str_radix(&hex, 16).expect("DEP_OPENSSL_VERSION_NUMBER is hex");
    for (name, min) in VERSIONS {
        if version >= *min {
            println!("cargo:rustc-cfg={name}");
        }
    }
    if let Ok(include) = env::var("DEP_OPENSSL_INCLUDE") {
        if has_ssl_trace(Path::new(&include)) {
            println!("cargo:rustc-cfg=ssl_trace");
        }
    }
}

/// `SSL_trace` is compiled in unless `opensslconf.h` (1.1.1) or `configuration.h` (3.x)
/// defines `OPENSSL_NO_SSL_TRACE`. Debian-style systems keep `configuration.h` in a multiarch
/// directory (`/usr/include/x86_64-linux-gnu/openssl`), so subdirectories are searched too.
fn has_ssl_trace(include: &Path) -> bool {
    let mut dirs = vec![include.join("openssl")];
    if let Ok(entries) = std::fs::read_dir(include) {
        dirs.extend(entries.flatten().map(|e| e.path().join("openssl")));
    }
    let mut seen = false;
    for dir in dirs {
        for header in ["configuration.h", "opensslconf.h"] {
            let Ok(text) = std::fs::read_to_string(dir.join(header)) else {
                continue;
            };
            println!("cargo:rerun-if-changed={}", dir.join(header).display());
            seen = true;
            let disabled = text.lines().any(|l| {
                let l = l.trim_start().trim_start_matches('#').trim_start();
                l.strip_prefix("define")
                    .is_some_and(|r| r.trim() == "OPENSSL_NO_SSL_TRACE")
            });
            if disabled {
                return false;
            }
        }
    }
    seen
}
