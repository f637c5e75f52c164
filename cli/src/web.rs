//! What sserve adds to s_server's web modes: `-keep_alive` (HTTP/1.1 persistent connections,
//! real status codes, `Content-Type` from the file name) and an ALPN list that never agrees on
//! a protocol the web modes cannot speak.

use sserve_engine::{AppMode, SessionOptions};

use crate::error::Error;
use crate::settings::Settings;

/// `-alpn list`: in the web modes `h2` is refused, because the server would agree on it and
/// then speak HTTP/1.x, which an h2 client cannot read.
pub fn check_alpn(list: &str, mode: AppMode) -> Result<(), Error> {
    if matches!(mode, AppMode::Web(_)) && list.split(',').any(|p| p == "h2") {
        return Err(Error(format!(
            "-alpn {list}: the web modes speak HTTP/1.x, not h2 (offer http/1.1 instead)"
        )));
    }
    Ok(())
}

/// The session options with `-keep_alive` applied.
pub fn session_options(opts: SessionOptions, s: &Settings) -> SessionOptions {
    SessionOptions {
        keep_alive: s.keep_alive,
        ..opts
    }
}
