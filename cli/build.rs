//! Links the `sserve` binary with `cold.ld` on Linux: code a serving process never runs (help and
//! error output, panic backtraces, DTLS, OCSP, JSON events, the blocking and smol servers) is
//! laid out after the rest. The kernel maps a binary's text 64 KiB or more at a time around
//! each page it runs, so scattered cold code would otherwise be resident; grouped at the end it
//! is not, and the server's resident memory drops by about 0.5 MiB. The layout changes nothing
//! else: a name the script no longer matches only stays where the compiler put it.

fn main() {
    println!("cargo:rerun-if-changed=cold.ld");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    // SSERVE_NO_COLD_LD=1 links without the script (for a linker that takes no linker scripts, e.g. mold).
    println!("cargo:rerun-if-env-changed=SSERVE_NO_COLD_LD");
    let disabled = std::env::var_os("SSERVE_NO_COLD_LD").is_some_and(|v| v == "1");
    if linux && !disabled {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/cold.ld");
    }
}
