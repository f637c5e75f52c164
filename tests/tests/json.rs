//! `-json` (an sserve extension): one JSON object per line, stable schema (docs/json.md).

use std::time::Duration;

use serde_json::Value;
use sserve_tests::{
    curl, dtls_half_open, is_openssl, require, s_client, s_client_finish, server, Proc, TestDir, TIMEOUT,
};

/// Parses every complete stdout line as JSON (panics on a line that is not).
fn objects(proc: &Proc) -> Vec<Value> {
    let text = proc.stdout.text();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{}", proc.dump())))
        .collect()
}

fn wait_for_event(proc: &Proc, event: &str) -> Vec<Value> {
    let needle = format!("\"event\":\"{event}\"");
    assert!(
        proc.stdout.wait_for(&needle, TIMEOUT),
        "no {event} event\n{}",
        proc.dump()
    );
    objects(proc)
}

/// `2026-12-06T15:38:52.397Z`.
fn is_rfc3339_millis(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[23] == b'Z'
        && t.chars().filter(char::is_ascii_digit).count() == 17
}

fn port_of(listening: &Value) -> u16 {
    listening["address"]
        .as_str()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("port")
}

#[test]
fn www_connection_as_json_events() {
    require!("curl");
    if is_openssl() {
        return; // -json is sserve-only; s_server refuses it
    }
    let dir = TestDir::new();
    let mut proc = server!(&dir).args(["-www", "-json", "-naccept", "1"]).spawn();
    let first = wait_for_event(&proc, "listening");
    assert_eq!(first[0]["event"], "listening");
    let port = port_of(&first[0]);
    let page = curl(&["-k", &format!("https://127.0.0.1:{port}/")]);
    assert!(
        page.out().contains("Ciphers supported in s_server binary"),
        "{}",
        page.dump()
    );
    let status = proc
        .wait_exit(Duration::from_secs(10))
        .expect("server exits after -naccept 1");
    assert!(status.success());
    let mut all = objects(&proc);
    for o in &all {
        assert_eq!(o["schema_version"], 2, "{o}");
        assert!(o["time"].as_str().is_some_and(is_rfc3339_millis), "{o}");
    }
    let kinds: Vec<&str> = all.iter().filter_map(|o| o["event"].as_str()).collect();
    assert_eq!(
        kinds,
        ["listening", "accept", "handshake", "request", "alert", "close", "exit"],
        "{all:?}"
    );
    let request = all.remove(3);
    assert_eq!(request["method"], "GET");
    assert_eq!(request["path"], "/");
    assert_eq!(request["status"], 200);
    assert!(request["refusal"].is_null());
    assert_eq!(request["complete"], true);
    assert!(
        request["bytes"]
            .as_u64()
            .is_some_and(|b| b as usize >= page.out().len()),
        "{request}"
    );
    let close = &all[4];
    assert_eq!(close["peer"], all[1]["peer"]);
    assert!(
        close["local"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!(":{port}"))),
        "{close}"
    );
    assert!(close["bytes_in"].as_u64().is_some_and(|b| b > 200), "{close}");
    assert!(
        close["bytes_out"]
            .as_u64()
            .is_some_and(|b| b as usize > page.out().len()),
        "{close}"
    );
    assert!(close["duration_ms"].as_u64().is_some(), "{close}");
    let hs = &all[2];
    assert_eq!(hs["conn"], 1);
    assert_eq!(hs["protocol"], "TLSv1.3");
    assert!(hs["cipher"].as_str().is_some_and(|c| c.starts_with("TLS_")), "{hs}");
    assert_eq!(hs["resumed"], false);
    assert!(hs["peer_certificate"].is_null());
    // Our close_notify, sent after the page.
    assert_eq!(all[3]["direction"], "out");
    assert_eq!(all[3]["level"], "warning");
    assert_eq!(all[3]["description"], "close notify");
    assert_eq!(all[4]["reason"], "local");
    assert_eq!(all[5]["connections"], 1);
    assert_eq!(all[5]["stats"]["accepts_finished"], 1);
}

#[test]
fn file_requests_and_errors_as_json() {
    require!("curl");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), b"hello\n").unwrap();
    let proc = server!(&dir).args(["-WWW", "-json", "-handshake_timeout", "1"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let got = curl(&["-k", &format!("https://127.0.0.1:{port}/a.txt")]);
    assert_eq!(got.out(), "hello\n");
    // A silent TCP peer: its handshake times out, reported as a close with that reason.
    let _silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let all = wait_for_event(&proc, "close");
    assert!(proc.stdout.wait_for("handshake_timeout", TIMEOUT), "{}", proc.dump());
    let all = if all.iter().any(|o| o["reason"] == "handshake_timeout") {
        all
    } else {
        objects(&proc)
    };
    assert!(
        all.iter().any(|o| o["event"] == "file_request" && o["path"] == "a.txt"),
        "{all:?}"
    );
    assert!(
        all.iter().any(|o| o["event"] == "file_served" && o["path"] == "a.txt"),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|o| o["event"] == "close" && o["reason"] == "handshake_timeout"),
        "{all:?}"
    );
}

#[test]
fn fatal_alert_sent_is_a_json_event() {
    require!("openssl");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    let proc = server!(&dir).args(["-www", "-json", "-tls1_3"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let mut client = s_client(port, &["-tls1_2"]);
    client.close_stdin();
    client.wait_exit(TIMEOUT);
    let all = wait_for_event(&proc, "alert");
    let alert = all.iter().find(|o| o["event"] == "alert").expect("alert");
    assert_eq!(alert["direction"], "out", "{all:?}");
    assert_eq!(alert["level"], "fatal", "{all:?}");
    assert_eq!(alert["description"], "protocol version", "{all:?}");
    assert!(wait_for_event(&proc, "close")
        .iter()
        .any(|o| o["event"] == "close" && o["reason"] == "error"));
}

#[test]
fn early_data_is_a_json_event() {
    require!("openssl");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    let sess = dir.join("sess.pem");
    let early = dir.join("early.txt");
    std::fs::write(&early, "0rtt-json\n").unwrap();
    let proc = server!(&dir).args(["-early_data", "-json"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let sess_arg = sess.to_str().unwrap();
    let mut first = s_client(port, &["-sess_out", sess_arg]);
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !std::fs::read_to_string(&sess).is_ok_and(|t| t.contains("END SSL SESSION PARAMETERS")) {
        assert!(std::time::Instant::now() < deadline, "no ticket\n{}", first.dump());
        std::thread::sleep(Duration::from_millis(20));
    }
    first.close_stdin();
    first.wait_exit(TIMEOUT);
    let mut second = s_client(port, &["-sess_in", sess_arg, "-early_data", early.to_str().unwrap()]);
    assert!(
        second.stdout.wait_for("Early data was accepted", TIMEOUT),
        "{}",
        second.dump()
    );
    // The first connection had its own (empty) early-data phase; wait for the second's.
    assert!(
        proc.stdout.wait_for(r#""conn":2,"event":"early_data_end""#, TIMEOUT),
        "{}",
        proc.dump()
    );
    let all = objects(&proc);
    second.close_stdin();
    second.wait_exit(TIMEOUT);
    let data = all
        .iter()
        .find(|o| o["event"] == "early_data")
        .expect("early_data event");
    assert_eq!(data["bytes"], 10, "{all:?}");
    let end = all
        .iter()
        .find(|o| o["event"] == "early_data_end" && o["conn"] == 2)
        .expect("early_data_end");
    assert_eq!(end["status"], "accepted", "{all:?}");
    assert_eq!(end["received"], true, "{all:?}");
}

/// A client that resets the connection in the middle of a large `-WWW` download: the server's
/// write fails, which is the peer leaving, not an error to report, and the connection still
/// ends with its `close` event.
#[test]
fn peer_reset_mid_download_is_a_close_not_an_error() {
    require!("python3");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    std::fs::write(dir.www().join("big.bin"), vec![7u8; 8 << 20]).unwrap();
    let proc = server!(&dir).args(["-WWW", "-json"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let script = r#"
import socket, ssl, struct, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
s.recv(1000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
"#;
    let f = sserve_tests::python(script, &[&port.to_string()]);
    assert!(f.success(), "{}", f.dump());
    let all = wait_for_event(&proc, "close");
    let close = all.iter().find(|o| o["event"] == "close").expect("close");
    assert_eq!(close["conn"], 1, "{all:?}");
    std::thread::sleep(Duration::from_millis(200));
    let all = objects(&proc);
    assert!(!all.iter().any(|o| o["event"] == "error"), "{all:?}");
}

/// DTLS: a half-open association evicted at the cap (here `-max_conns 2`) ends with a `close`
/// event of reason `half_open_evicted`; the oldest goes first.
#[test]
fn evicted_half_open_dtls_association_is_a_close_event() {
    if is_openssl() {
        return; // -json is sserve-only
    }
    let dir = TestDir::new();
    let proc = server!(&dir).args(["-dtls1_2", "-json", "-max_conns", "2"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let socks: Vec<_> = (0..3).map(|i| dtls_half_open(port, i).expect("a flight")).collect();
    let all = wait_for_event(&proc, "close");
    let closes: Vec<&Value> = all.iter().filter(|o| o["event"] == "close").collect();
    assert_eq!(closes.len(), 1, "{all:?}");
    assert_eq!(closes[0]["reason"], "half_open_evicted");
    assert_eq!(closes[0]["conn"], 1, "the oldest is evicted");
    drop(socks);
}

/// DTLS: the `close` event of an association carries its ciphertext totals and duration, as
/// a TCP connection's does.
#[test]
fn dtls_close_event_counts_the_association_bytes() {
    require!("openssl");
    if is_openssl() {
        return; // -json is sserve-only
    }
    let dir = TestDir::new();
    // The blocking loop (console mode) and the async one (-rev on tokio).
    for extra in [&[][..], &["-rev", "-runtime", "tokio"][..]] {
        let mut proc = server!(&dir)
            .args(["-dtls1_2", "-json", "-naccept", "1"])
            .args(extra)
            .spawn();
        let port = port_of(&wait_for_event(&proc, "listening")[0]);
        let client = s_client_finish(port, &["-dtls1_2"], b"ping\n");
        assert!(client.out().contains("Verify return code:"), "{}", client.dump());
        let status = proc.wait_exit(TIMEOUT).expect("server exits after -naccept 1");
        assert!(status.success(), "{extra:?}\n{}", proc.dump());
        let all = objects(&proc);
        let close = all
            .iter()
            .find(|o| o["event"] == "close")
            .unwrap_or_else(|| panic!("{extra:?}: no close event: {all:?}"));
        // The ClientHello alone is over 100 bytes; the server's flight carries its certificate.
        assert!(
            close["bytes_in"].as_u64().is_some_and(|b| b > 100),
            "{extra:?}: {close}"
        );
        assert!(
            close["bytes_out"].as_u64().is_some_and(|b| b > 500),
            "{extra:?}: {close}"
        );
        assert!(close["duration_ms"].as_u64().is_some(), "{extra:?}: {close}");
        assert_eq!(close["conn"], 1, "{close}");
    }
}

/// A refused path and a missing file each give a `request` event with the refusal.
#[test]
fn refused_and_missing_paths_are_request_events() {
    require!("curl");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    let proc = server!(&dir).args(["-WWW", "-json", "-naccept", "2"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let base = format!("https://127.0.0.1:{port}");
    curl(&["-k", "--path-as-is", &format!("{base}/../x")]);
    curl(&["-k", &format!("{base}/missing.txt")]);
    assert!(proc.stdout.wait_for("\"event\":\"exit\"", TIMEOUT), "{}", proc.dump());
    let requests: Vec<Value> = objects(&proc).into_iter().filter(|o| o["event"] == "request").collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0]["path"], "/../x");
    assert_eq!(requests[0]["refusal"], "'../x' contains '..' or ':'");
    assert_eq!(requests[1]["path"], "/missing.txt");
    assert_eq!(requests[1]["refusal"], "Error opening 'missing.txt' mode='r'");
}

/// docs/json.md's example is this run (SSERVE_UPDATE_DOCS=1 rewrites it).
#[test]
fn docs_example_is_a_real_run() {
    require!("curl");
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    std::fs::write(dir.www().join("a.txt"), b"hello\n").unwrap();
    let proc = server!(&dir).args(["-WWW", "-json", "-naccept", "2"]).spawn();
    let port = port_of(&wait_for_event(&proc, "listening")[0]);
    let base = format!("https://127.0.0.1:{port}");
    assert_eq!(curl(&["-k", &format!("{base}/a.txt")]).out(), "hello\n");
    curl(&["-k", "--path-as-is", &format!("{base}/../x")]);
    assert!(proc.stdout.wait_for("\"event\":\"exit\"", TIMEOUT), "{}", proc.dump());
    let example = proc.stdout.text();
    let doc_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/json.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (head, rest) = doc.split_once("<!-- example start -->\n").expect("start marker");
    let (block, tail) = rest.split_once("<!-- example end -->").expect("end marker");
    if std::env::var_os("SSERVE_UPDATE_DOCS").is_some() {
        let new = format!("{head}<!-- example start -->\n```json\n{example}```\n<!-- example end -->{tail}");
        std::fs::write(&doc_path, new).unwrap();
        return;
    }
    // The documented run has the same events with the same fields as this one.
    let shape = |text: &str| -> Vec<(String, Vec<String>)> {
        text.lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let keys = v.as_object().unwrap().keys().cloned().collect();
                (v["event"].as_str().unwrap_or_default().to_string(), keys)
            })
            .collect()
    };
    assert_eq!(
        shape(block),
        shape(&example),
        "docs/json.md's example is stale: run SSERVE_UPDATE_DOCS=1 cargo test -p sserve-tests --test json"
    );
}
