//! What every stream adapter does when writing to the peer fails, so the blocking loop and the
//! async driver end such a connection the same way.

use std::io;

use sserve_engine::{Event, Instant, TlsSession};

/// The peer went away first (it closed, as `s_client -reconnect` does, or reset): s_server says
/// nothing about that, so neither do we. Anything else is an error worth a line.
pub(crate) fn is_peer_gone(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
}

/// After a failed write the transport is gone: the session learns of the EOF, what it still
/// wanted to send is dropped, and its remaining events (the close above all) go to `report`,
/// so the console or `-json` still shows how the connection ended.
pub(crate) fn end_session(session: &mut TlsSession, now: Instant, mut report: impl FnMut(&Event)) {
    if !session.is_closed() {
        session.handle_eof(now);
    }
    loop {
        while session.poll_transmit().is_some() {}
        let Some(event) = session.poll_event() else {
            return;
        };
        report(&event);
    }
}
