//! `-psk`, `-psk_identity`, `-psk_hint`, `-psk_session`, `-nocert`, the TLS 1.3 early data
//! options (`-early_data`, `-max_early_data`, `-recv_max_early_data`) and SRP (`-srpvfile`,
//! `-srpuserseed`), as s_server applies them.

use sserve_engine::ossl::DEFAULT_PSK_IDENTITY;
use sserve_engine::{AppMode, ServerConfigBuilder};

use crate::error::Error;
use crate::settings::PskSettings;

/// s_server's default `-max_early_data` with `-early_data` (`SSL3_RT_MAX_PLAIN_LENGTH`).
const DEFAULT_MAX_EARLY_DATA: u32 = 16384;

/// What the rest of the set-up needs to know.
#[derive(Debug, Clone, Copy, Default)]
pub struct PskSetup {
    /// `-early_data`: sessions read TLS 1.3 early data first.
    pub early_data: bool,
}

/// Applies the PSK and early data options to `b`. `tls1_3_only` is s_server's
/// `min_version == TLS1_3_VERSION` (`-tls1_3`), `quiet` silences its informational warning.
pub fn configure(
    b: &mut ServerConfigBuilder,
    p: &PskSettings,
    mode: AppMode,
    tls1_3_only: bool,
    quiet: bool,
) -> Result<PskSetup, Error> {
    let early_data = p.early_data;
    if early_data && mode == AppMode::Rev {
        return Err("Can't use -early_data in combination with -rev".into());
    }
    let session = match &p.session {
        Some(path) => Some(std::fs::read(path).map_err(|_| format!("Can't open PSK session file {path}"))?),
        None => None,
    };
    let identity = p.identity.as_deref().unwrap_or(DEFAULT_PSK_IDENTITY);
    if p.key.is_some() || session.is_some() {
        b.psk(identity, p.key.as_deref(), session.as_deref()).map_err(|e| {
            let path = p.session.as_deref().unwrap_or("");
            format!("Can't read PSK session file {path}: {}", e.reason)
        })?;
    }
    if let Some(hint) = &p.hint {
        if tls1_3_only {
            if !quiet {
                crate::stdout::write(b"PSK warning: there is NO identity hint in TLSv1.3\n");
            }
        } else {
            b.psk_identity_hint(hint).map_err(|e| e.reason)?;
        }
    }
    let max = p.max_early_data.or(early_data.then_some(DEFAULT_MAX_EARLY_DATA));
    if let Some(n) = max {
        b.max_early_data(n).map_err(|e| e.reason)?;
    }
    if let Some(n) = p.recv_max_early_data {
        b.recv_max_early_data(n).map_err(|e| e.reason)?;
    }
    if let Some(path) = &p.srpvfile {
        // SRP_ERR_OPEN_FILE is 3.
        let data = std::fs::read(path).map_err(|_| format!("Cannot initialize SRP verifier file \"{path}\":ret=3"))?;
        let seed = p.srpuserseed.as_deref();
        b.srp_verifiers(&data, seed)
            .map_err(|e| format!("Cannot initialize SRP verifier file \"{path}\":{}", e.reason))?;
    }
    Ok(PskSetup { early_data })
}
