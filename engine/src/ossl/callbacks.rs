//! OpenSSL callbacks. They run inside `SSL_do_handshake`/`SSL_read`; what s_server prints from
//! them becomes an [`Event`] in the connection's [`ConnEvents`], drained after each call.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use openssl::ex_data::Index;
use openssl::ssl::{AlpnError, Ssl, SslRef};
use openssl::x509::X509StoreContextRef;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Mutex;

use crate::event::{Event, VerifyStep};

/// Events produced by callbacks for one connection (stored as `SSL` ex_data), and the one fact
/// a callback needs from the transport.
#[derive(Debug, Default)]
pub(crate) struct ConnEvents {
    events: Mutex<Vec<Event>>,
    /// Set by `push`: lets the session's drain after every OpenSSL call skip the lock when no
    /// callback fired (the common case once the handshake is over).
    any: AtomicBool,
    /// The last alert sent and received: `0x100 | description`, 0 for none (see
    /// [`ConnEvents::record_alert`]), so a failure can say which alert ended it.
    alert_sent: AtomicU16,
    alert_received: AtomicU16,
}

impl ConnEvents {
    /// Notes an alert the info callback saw go out (`read` false) or come in.
    pub(crate) fn record_alert(&self, read: bool, description: u8) {
        let slot = if read { &self.alert_received } else { &self.alert_sent };
        slot.store(0x100 | u16::from(description), Ordering::Relaxed);
    }

    /// The last alert sent and the last one received, if any.
    pub(crate) fn alerts(&self) -> (Option<u8>, Option<u8>) {
        let get = |slot: &AtomicU16| {
            let v = slot.load(Ordering::Relaxed);
            (v != 0).then_some((v & 0xff) as u8)
        };
        (get(&self.alert_sent), get(&self.alert_received))
    }

    pub(crate) fn push(&self, e: Event) {
        // A poisoned lock only means a callback panicked earlier; the Vec is still usable.
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        self.any.store(true, Ordering::Release);
    }

    pub(crate) fn take(&self) -> Vec<Event> {
        // A plain load first: nothing new is the common case, and cheaper than a swap.
        if !self.any.load(Ordering::Relaxed) || !self.any.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        core::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The ex_data index of [`ConnEvents`] on every `SSL` of a context.
/// Shared with the connection, which reads it without an ex_data lookup.
pub(crate) fn events_index() -> Index<Ssl, Arc<ConnEvents>> {
    static INDEX: std::sync::OnceLock<Index<Ssl, Arc<ConnEvents>>> = std::sync::OnceLock::new();
    // An allocation failure here would be an out-of-memory at start-up; there is no sensible
    // recovery, so it aborts like any other allocation failure.
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("SSL_get_ex_new_index failed"))
}

pub(crate) fn push(ssl: &SslRef, e: Event) {
    if let Some(ev) = ssl.ex_data(events_index()) {
        ev.push(e);
    }
}

/// Key log lines (NSS format) as events; the adapter appends them to the `-keylogfile`.
pub(crate) fn keylog(ssl: &SslRef, line: &str) {
    push(ssl, Event::KeyLog(String::from(line)));
}

/// The entries of an ALPN wire-format list (length-prefixed names); a truncated tail is dropped.
fn alpn_wire_items(mut wire: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    core::iter::from_fn(move || {
        let (&len, rest) = wire.split_first()?;
        let item = rest.get(..usize::from(len))?;
        wire = &rest[usize::from(len)..];
        Some(item)
    })
}

/// Splits an ALPN wire-format list into names.
pub(crate) fn alpn_names(wire: &[u8]) -> Vec<String> {
    alpn_wire_items(wire)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// s_server's `alpn_cb`: pick the first of *our* protocols the client offered; no overlap is a
/// fatal `no_application_protocol` alert.
pub(crate) fn alpn_select<'a>(ours: &[u8], ssl: &mut SslRef, client: &'a [u8]) -> Result<&'a [u8], AlpnError> {
    let offered = alpn_wire_items(client);
    let selected = alpn_wire_items(ours).find_map(|p| offered.clone().find(|c| *c == p));
    push(
        ssl,
        Event::Alpn {
            offered: alpn_names(client),
            selected: selected.map(|p| String::from_utf8_lossy(p).into_owned()),
        },
    );
    selected.ok_or(AlpnError::ALERT_FATAL)
}

/// Client-certificate verification policy (s_server's `verify_args`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct VerifyPolicy {
    /// `-verify n`/`-Verify n`: deepest chain depth accepted despite errors; `None` = any.
    pub(crate) depth: Option<u32>,
    /// `-verify_return_error`: verification errors are fatal.
    pub(crate) return_error: bool,
}

/// s_server's `verify_callback`: report each step; errors are forgiven unless
/// `-verify_return_error`, except beyond the depth limit.
pub(crate) fn verify(policy: VerifyPolicy, preverify_ok: bool, ctx: &mut X509StoreContextRef) -> bool {
    let depth = ctx.error_depth() as i32;
    let ssl = openssl::x509::X509StoreContext::ssl_idx()
        .ok()
        .and_then(|idx| ctx.ex_data(idx));
    // names printed with -nameopt, and s_server's extra lines per error.
    let (subject, detail) = super::verify::verify_step_text(ssl, ctx);
    // X509_V_FLAG_NOTIFY_POLICY (-policy_print) calls back with ok=2 and no current certificate.
    let notify = preverify_ok && ctx.current_cert().is_none();
    let mut policies = alloc::vec::Vec::new();
    if notify && ctx.error().as_raw() == 0 || ctx.error().as_raw() == X509_V_ERR_NO_EXPLICIT_POLICY {
        policies = super::verify::policies_text(ctx);
    }
    let mut ok = preverify_ok;
    let mut error = None;
    if !preverify_ok {
        let err = ctx.error();
        error = Some((err.as_raw(), String::from(err.error_string())));
        let within_depth = policy.depth.is_none_or(|d| i64::from(d) >= i64::from(depth));
        ok = within_depth && !policy.return_error;
    }
    if let Some(ssl) = ssl {
        push(
            ssl,
            Event::Verify(VerifyStep {
                depth,
                subject,
                error,
                ok,
                detail,
                policies,
                notify,
            }),
        );
    }
    ok
}

/// `X509_V_ERR_NO_EXPLICIT_POLICY`: s_server prints the policy tree with it.
const X509_V_ERR_NO_EXPLICIT_POLICY: i32 = 43;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_wire_parsing_is_bounded() {
        assert_eq!(alpn_names(b"\x02h2\x08http/1.1"), ["h2", "http/1.1"]);
        assert_eq!(alpn_names(b"\x05ab"), Vec::<String>::new());
        assert_eq!(alpn_names(b""), Vec::<String>::new());
    }
}
