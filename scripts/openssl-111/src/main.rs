//! Prints the install prefix of the OpenSSL 1.1.1 that build.rs built, for OPENSSL_DIR.

fn main() {
    println!("{}", env!("OPENSSL_111_PREFIX"));
}
