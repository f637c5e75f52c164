//! `-psk`, `-psk_identity`, `-psk_hint`, `-psk_session`, `-nocert`, the TLS 1.3 early data
//! options (`-early_data`, `-max_early_data`, `-recv_max_early_data`) and SRP (`-srpvfile`,
//! `-srpuserseed`), as s_server applies them.

use clap::ArgMatches;
use sserve_engine::ossl::DEFAULT_PSK_IDENTITY;
use sserve_engine::{AppMode, ServerConfigBuilder};

/// s_server's default `-max_early_data` with `-early_data` (`SSL3_RT_MAX_PLAIN_LENGTH`).
const DEFAULT_MAX_EARLY_DATA: u32 = 16384;

/// What the rest of the set-up needs to know.
#[derive(Debug, Clone, Copy, Default)]
pub struct PskSetup {
    /// `-early_data`: sessions read TLS 1.3 early data first.
    pub early_data: bool,
}

/// s_server's `-max_early_data`/`-recv_max_early_data` parsing: a non-negative number.
fn early_limit(m: &ArgMatches, name: &str) -> Result<Option<u32>, String> {
    m.get_one::<String>(name)
        .map(|v| v.parse::<u32>().map_err(|_| format!("Invalid value for {name}")))
        .transpose()
}

/// Decodes `-psk`: s_server accepts hex digits only ("Not a hex number"), and a key of odd length
/// fails later in every handshake ("Could not convert PSK key"); sserve says so at start-up.
fn psk_key(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("Not a hex number '{hex}'"));
    }
    if hex.len() % 2 != 0 {
        return Err(format!("Could not convert PSK key '{hex}' to buffer"));
    }
    Ok((0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
        .collect())
}

/// Applies the PSK and early data options to `b`. `tls1_3_only` is s_server's
/// `min_version == TLS1_3_VERSION` (`-tls1_3`), `quiet` silences its informational warning.
pub fn configure(
    b: &mut ServerConfigBuilder,
    m: &ArgMatches,
    mode: AppMode,
    tls1_3_only: bool,
    quiet: bool,
) -> Result<PskSetup, String> {
    let early_data = m.get_flag("early_data");
    if early_data && mode == AppMode::Rev {
        return Err("Can't use -early_data in combination with -rev".into());
    }
    let key = m.get_one::<String>("psk").map(|k| psk_key(k)).transpose()?;
    let session = match m.get_one::<String>("psk_session") {
        Some(path) => Some(std::fs::read(path).map_err(|_| format!("Can't open PSK session file {path}"))?),
        None => None,
    };
    let identity = m
        .get_one::<String>("psk_identity")
        .map_or(DEFAULT_PSK_IDENTITY, String::as_str);
    if key.is_some() || session.is_some() {
        b.psk(identity, key.as_deref(), session.as_deref()).map_err(|e| {
            let path = m.get_one::<String>("psk_session").map_or("", String::as_str);
            format!("Can't read PSK session file {path}: {}", e.reason)
        })?;
    }
    if let Some(hint) = m.get_one::<String>("psk_hint") {
        if tls1_3_only {
            if !quiet {
                crate::stdout::write(b"PSK warning: there is NO identity hint in TLSv1.3\n");
            }
        } else {
            b.psk_identity_hint(hint).map_err(|e| e.reason)?;
        }
    }
    let max = early_limit(m, "max_early_data")?.or(early_data.then_some(DEFAULT_MAX_EARLY_DATA));
    if let Some(n) = max {
        b.max_early_data(n).map_err(|e| e.reason)?;
    }
    if let Some(n) = early_limit(m, "recv_max_early_data")? {
        b.recv_max_early_data(n).map_err(|e| e.reason)?;
    }
    if let Some(path) = m.get_one::<String>("srpvfile") {
        // SRP_ERR_OPEN_FILE is 3.
        let data = std::fs::read(path).map_err(|_| format!("Cannot initialize SRP verifier file \"{path}\":ret=3"))?;
        let seed = m.get_one::<String>("srpuserseed").map(String::as_str);
        b.srp_verifiers(&data, seed)
            .map_err(|e| format!("Cannot initialize SRP verifier file \"{path}\":{}", e.reason))?;
    }
    Ok(PskSetup { early_data })
}

#[cfg(test)]
mod tests {
    use super::psk_key;

    #[test]
    fn psk_keys_are_hex() {
        assert_eq!(psk_key("1a2B").unwrap(), vec![0x1a, 0x2b]);
        assert_eq!(psk_key("0x12").unwrap_err(), "Not a hex number '0x12'");
        assert_eq!(psk_key("abc").unwrap_err(), "Could not convert PSK key 'abc' to buffer");
    }
}
