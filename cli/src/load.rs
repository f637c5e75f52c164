//! Reading what the options name: certificate and key files (with their formats) and
//! pass phrases, with one-line errors.

use sserve_engine::ossl::CertFormat;
use sserve_engine::TlsError;

use crate::error::{io_text, Error};

/// The contents of `path`, or "cannot read <what> '<path>': <reason>".
pub fn read_file(what: &str, path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error(format!("cannot read {what} '{path}': {}", io_text(&e))))
}

/// Turns an OpenSSL error into a one-line error, prefixed with `context` if not empty.
pub fn tls(context: &str) -> impl FnOnce(TlsError) -> Error + '_ {
    move |e| {
        Error(if context.is_empty() {
            e.reason
        } else {
            format!("{context}: {}", e.reason)
        })
    }
}

/// The format of certificate or key `data`: as its `-…form` option says, else detected (PEM
/// when it holds a PEM header, DER otherwise), as OpenSSL 3's loader does for s_server.
pub fn format_of(given: Option<CertFormat>, data: &[u8]) -> CertFormat {
    match given {
        Some(f) => f,
        None if data.windows(11).any(|w| w == b"-----BEGIN ") => CertFormat::Pem,
        None => CertFormat::Der,
    }
}

/// `PEM` or `DER` (any case), for option `-name`.
pub fn named_format(name: &str, value: &str) -> Result<CertFormat, Error> {
    match value.to_ascii_uppercase().as_str() {
        "PEM" => Ok(CertFormat::Pem),
        "DER" => Ok(CertFormat::Der),
        _ => Err(Error(format!(
            "Invalid format \"{value}\" for option -{name} (PEM or DER)"
        ))),
    }
}

/// `-pass` sources as in openssl(1) "Pass Phrase Options".
pub fn password(source: &str) -> Result<Vec<u8>, Error> {
    let first_line = |data: &[u8]| {
        let line = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
        line.strip_suffix(b"\r").unwrap_or(line).to_vec()
    };
    if let Some(p) = source.strip_prefix("pass:") {
        Ok(p.as_bytes().to_vec())
    } else if let Some(v) = source.strip_prefix("env:") {
        std::env::var(v)
            .map(String::into_bytes)
            .map_err(|_| Error(format!("-pass: environment variable {v} is not set")))
    } else if let Some(f) = source.strip_prefix("file:") {
        Ok(first_line(&read_file("password file", f)?))
    } else if source == "stdin" {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error(format!("-pass stdin: {}", io_text(&e))))?;
        Ok(first_line(line.as_bytes()))
    } else {
        Err(Error(format!(
            "-pass: unsupported password source '{source}' (use pass:, env:, file: or stdin)"
        )))
    }
}
