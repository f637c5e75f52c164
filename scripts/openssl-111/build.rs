//! Builds OpenSSL 1.1.1 (static libraries and headers) once; cargo reruns this only when the
//! pinned openssl-src version changes.

fn main() {
    let artifacts = openssl_src::Build::new().build();
    let prefix = artifacts.lib_dir().parent().expect("lib dir has a parent");
    println!("cargo:rustc-env=OPENSSL_111_PREFIX={}", prefix.display());
    println!("cargo:rerun-if-changed=build.rs");
}
