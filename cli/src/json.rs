//! `-json` (an sserve extension): one JSON object per line on stdout for everything that
//! happens, with a stable schema (`docs/json.md`), instead of s_server's console text.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};
use sserve_adapters::observer::{ConnId, Observer, Totals};
use sserve_engine::output::{Diagnostic, StateChange};
use sserve_engine::{CacheStats, CloseReason, EarlyDataStatus, Event, SessionError};

/// The schema version every object carries; bump it on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Writes one object, adding `time` (RFC 3339, UTC, milliseconds) and `schema_version`; a
/// single write per line, so lines from concurrent connections never interleave.
pub fn emit(mut object: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(
            "time".into(),
            json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
        );
        map.insert("schema_version".into(), json!(SCHEMA_VERSION));
    }
    let mut line = object.to_string();
    line.push('\n');
    crate::stdout::write(line.as_bytes());
}

/// The cache counters as a JSON object.
pub fn stats(s: &CacheStats) -> Value {
    json!({
        "sessions_cached": s.number,
        "accepts": s.accept,
        "accepts_finished": s.accept_good,
        "renegotiations": s.accept_renegotiate,
        "cache_hits": s.hits,
        "cache_misses": s.misses,
        "cache_timeouts": s.timeouts,
        "callback_cache_hits": s.cb_hits,
        "cache_full": s.cache_full,
        "cache_size": s.cache_size,
    })
}

fn close(reason: &CloseReason) -> (&'static str, Option<String>) {
    match reason {
        CloseReason::PeerClosed => ("peer_close_notify", None),
        CloseReason::PeerEof => ("peer_eof", None),
        CloseReason::LocalClose => ("local", None),
        CloseReason::Error(SessionError::HandshakeTimeout) => ("handshake_timeout", None),
        CloseReason::Error(SessionError::IdleTimeout) => ("idle_timeout", None),
        CloseReason::Error(SessionError::SendStalled) => ("send_stalled", None),
        CloseReason::Error(SessionError::HalfOpenEvicted) => ("half_open_evicted", None),
        CloseReason::Error(e) => ("error", Some(e.to_string())),
        _ => ("other", None),
    }
}

/// What `close` reports about a connection, gathered from its start.
#[derive(Debug)]
struct ConnRecord {
    started: Instant,
    peer: String,
    local: Option<String>,
    totals: Option<Totals>,
}

/// The `-json` observer.
#[derive(Debug)]
pub struct JsonOutput {
    /// The listening address (`local` of a connection whose own address is not known).
    listening: String,
    conns: HashMap<ConnId, ConnRecord>,
}

impl JsonOutput {
    /// An observer for a server listening on `listening`.
    pub fn new(listening: String) -> Self {
        JsonOutput {
            listening,
            conns: HashMap::new(),
        }
    }

    fn start(&mut self, conn: ConnId, peer: String) {
        emit(json!({"event": "accept", "conn": conn, "peer": peer}));
        self.conns.insert(
            conn,
            ConnRecord {
                started: Instant::now(),
                peer,
                local: None,
                totals: None,
            },
        );
    }

    fn close(&mut self, conn: ConnId, reason: &CloseReason) -> Value {
        let (kind, error) = close(reason);
        let record = self.conns.remove(&conn);
        let totals = record.as_ref().and_then(|r| r.totals);
        json!({
            "event": "close",
            "conn": conn,
            "reason": kind,
            "error": error,
            "peer": record.as_ref().map(|r| r.peer.clone()),
            "local": record.as_ref().and_then(|r| r.local.clone()).unwrap_or_else(|| self.listening.clone()),
            "bytes_in": totals.map(|t| t.bytes_in),
            "bytes_out": totals.map(|t| t.bytes_out),
            "duration_ms": record.map(|r| u64::try_from(r.started.elapsed().as_millis()).unwrap_or(u64::MAX)),
        })
    }
}

impl Observer for JsonOutput {
    fn accepted(&mut self, conn: ConnId, peer: SocketAddr) {
        self.start(conn, peer.to_string());
    }

    fn accepted_unix(&mut self, conn: ConnId) {
        self.start(conn, "unix".into());
    }

    fn wants_local_address(&self) -> bool {
        true
    }

    fn local_address(&mut self, conn: ConnId, local: SocketAddr) {
        if let Some(r) = self.conns.get_mut(&conn) {
            r.local = Some(local.to_string());
        }
    }

    fn totals(&mut self, conn: ConnId, totals: &Totals) {
        if let Some(r) = self.conns.get_mut(&conn) {
            r.totals = Some(*totals);
        }
    }

    fn event(&mut self, conn: ConnId, event: &Event) {
        let object = match event {
            Event::HandshakeComplete(i) => json!({
                "event": "handshake",
                "conn": conn,
                "protocol": i.protocol,
                "cipher": i.cipher,
                "group": i.group,
                "alpn": i.alpn,
                "sni": i.server_name,
                "resumed": i.resumed,
                "peer_certificate": i.peer_certificate.as_ref().map(|c| json!({
                    "subject": c.subject,
                    "issuer": c.issuer,
                    "sha256": c.sha256,
                })),
                "verify_result": {"code": i.verify_result.0, "text": i.verify_result.1},
                "keying_material": i.keying_material.as_ref().map(|k| json!({
                    "label": k.label,
                    "length": k.len,
                    "hex": k.value.as_ref().map(|v| v.iter().map(|b| format!("{b:02X}")).collect::<String>()),
                })),
            }),
            Event::Plaintext(data) => json!({"event": "data", "conn": conn, "direction": "in", "bytes": data.len()}),
            Event::Alpn { offered, selected } => {
                json!({"event": "alpn", "conn": conn, "offered": offered, "selected": selected})
            }
            Event::Verify(step) => json!({
                "event": "verify",
                "conn": conn,
                "depth": step.depth,
                "subject": step.subject,
                "error": step.error.as_ref().map(|(code, text)| json!({"code": code, "text": text})),
                "ok": step.ok,
            }),
            Event::FileRequest(req) => json!({"event": "file_request", "conn": conn, "path": req.path}),
            Event::FileServed(path) => json!({"event": "file_served", "conn": conn, "path": path}),
            Event::WebRequest(r) => json!({
                "event": "request",
                "conn": conn,
                "method": r.method,
                "path": r.path,
                "status": r.status,
                "refusal": r.refusal,
                "bytes": r.bytes,
                "complete": !r.incomplete,
            }),
            Event::CommandDone { command, result, error } => json!({
                "event": "command",
                "conn": conn,
                "command": command.letter().to_string(),
                "result": result,
                "error": error,
            }),
            Event::Renegotiating(r) => json!({"event": "renegotiate", "conn": conn, "result": r}),
            Event::Stats(s) => json!({"event": "stats", "conn": conn, "stats": stats(s)}),
            Event::HeartbeatUnsupported => {
                json!({"event": "command", "conn": conn, "command": "B", "result": null, "error": "heartbeats are not supported"})
            }
            Event::StopServer => json!({"event": "stop", "conn": conn}),
            Event::RevClose => json!({"event": "rev_close", "conn": conn}),
            Event::Note(text) => json!({"event": "note", "conn": conn, "text": text.trim_end()}),
            Event::Closed(reason) => self.close(conn, reason),
            Event::Diagnostic(Diagnostic::State(StateChange::Alert {
                read,
                level,
                description,
            })) => json!({
                "event": "alert",
                "conn": conn,
                "direction": if *read { "in" } else { "out" },
                "level": level,
                "description": description,
            }),
            Event::EarlyData { data, .. } => json!({"event": "early_data", "conn": conn, "bytes": data.len()}),
            Event::EarlyDataEnd { received, status } => json!({
                "event": "early_data_end",
                "conn": conn,
                "received": received,
                "status": match status {
                    EarlyDataStatus::NotSent => "not_sent",
                    EarlyDataStatus::Rejected => "rejected",
                    EarlyDataStatus::Accepted => "accepted",
                },
            }),
            // Key log lines are secrets: they go to -keylogfile only.
            Event::KeyLog(_) => return,
            _ => return,
        };
        emit(object);
    }

    fn io_error(&mut self, context: &str, error: &io::Error) {
        emit(json!({"event": "error", "context": context, "message": error.to_string()}));
    }
}
