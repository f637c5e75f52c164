//! `-alpn` (with curl and s_client), `-keylogfile` (NSS key log format) and `-naccept`.

use sserve_tests::{curl, expect_client_handshake, require, s_client, server, TestDir, TIMEOUT};
use std::time::{Duration, Instant};

#[test]
fn alpn_selected_with_curl_http11() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-www", "-alpn", "spdy/1,http/1.1"]).start();
    let url = srv.url("/");
    let f = curl(&["-k", "--http1.1", "-v", &url]);
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    assert!(f.out().contains("Ciphers supported in s_server binary"), "{}", f.dump());
    srv.expect_stdout("ALPN protocols advertised by the client: http/1.1");
    srv.expect_stdout("ALPN protocols selected: http/1.1");
    // curl reports the server's choice.
    assert!(f.err().contains("http/1.1"), "{}", f.dump());
}

#[test]
fn alpn_selected_with_s_client() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-alpn", "h2,http/1.1"]).start();
    let mut client = s_client(srv.port, &["-alpn", "foo,http/1.1"]);
    expect_client_handshake(&client);
    srv.expect_stdout("ALPN protocols advertised by the client: foo, http/1.1");
    srv.expect_stdout("ALPN protocols selected: http/1.1");
    client.expect_stdout("ALPN protocol: http/1.1");
    client.write_stdin(b"alpn-data\n");
    srv.expect_stdout("alpn-data");
}

#[test]
fn alpn_without_overlap_fails_the_handshake() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-alpn", "h2"]).start();
    let mut client = s_client(srv.port, &["-alpn", "spdy/1"]);
    client.expect_exit(TIMEOUT);
    let all = format!("{}{}", client.stdout.text(), client.stderr.text());
    assert!(
        all.contains("no application protocol") || all.contains("alert number 120"),
        "{}",
        client.dump()
    );
    assert!(!srv.stdout().contains("CIPHER is "), "{}", srv.dump());
}

const TLS13_LABELS: [&str; 5] = [
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
];

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses an NSS key log: comment lines start with `#`; every other line is
/// `LABEL <client random: 64 hex> <secret: hex>`. Returns the labels seen, in order.
fn parse_keylog(text: &str) -> Result<Vec<String>, String> {
    let mut labels = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() != 3 {
            return Err(format!("not 3 space-separated fields: {line:?}"));
        }
        let (label, random, secret) = (fields[0], fields[1], fields[2]);
        let known = label == "CLIENT_RANDOM"
            || TLS13_LABELS.contains(&label)
            || label == "CLIENT_EARLY_TRAFFIC_SECRET"
            || label == "EARLY_EXPORTER_SECRET";
        if !known {
            return Err(format!("unknown label {label:?}"));
        }
        if random.len() != 64 || !is_hex(random) {
            return Err(format!("client random is not 32 hex bytes: {line:?}"));
        }
        let want_len: &[usize] = if label == "CLIENT_RANDOM" {
            &[96] // 48-byte master secret
        } else {
            &[64, 96] // SHA-256 or SHA-384 suites
        };
        if !want_len.contains(&secret.len()) || !is_hex(secret) {
            return Err(format!("bad secret field: {line:?}"));
        }
        labels.push(label.to_owned());
    }
    Ok(labels)
}

/// Waits until the key log holds every label in `want` (the server writes it during the
/// handshake, but there is no line on the console that says it is done).
fn wait_keylog(path: &std::path::Path, want: &[&str]) -> (String, Vec<String>) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let labels = parse_keylog(&text).unwrap_or_else(|e| panic!("{e}\nkeylog:\n{text}"));
        if want.iter().all(|w| labels.iter().any(|l| l == w)) || Instant::now() >= deadline {
            return (text, labels);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn keylogfile_tls13_nss_format() {
    require!("openssl");
    let dir = TestDir::new();
    let log = dir.join("keys.log");
    let srv = server!(&dir).arg("-keylogfile").arg(&log).arg("-www").start();
    let mut client = s_client(srv.port, &["-tls1_3", "-ign_eof"]);
    expect_client_handshake(&client);
    client.write_stdin(b"GET / HTTP/1.0\r\n\r\n");
    client.expect_exit(TIMEOUT);
    let (text, labels) = wait_keylog(&log, &TLS13_LABELS);
    for l in TLS13_LABELS {
        assert!(labels.iter().any(|x| x == l), "missing {l}\n{text}");
    }
    // All lines of one connection share the client random.
    let randoms: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(randoms.len(), 1, "{text}");
    // The client random is the one the client used: s_client can write its own key log.
    // (Compared in keylogfile_matches_client_keylog.)
}

#[test]
fn keylogfile_matches_client_keylog() {
    require!("openssl");
    let dir = TestDir::new();
    let server_log = dir.join("server.keys");
    let client_log = dir.join("client.keys");
    let srv = server!(&dir).arg("-keylogfile").arg(&server_log).start();
    let client = s_client(srv.port, &["-tls1_3", "-keylogfile", client_log.to_str().unwrap()]);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    let (s_text, _) = wait_keylog(&server_log, &TLS13_LABELS);
    let (c_text, _) = wait_keylog(&client_log, &TLS13_LABELS);
    let lines = |t: &str| -> std::collections::BTreeSet<String> {
        t.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (s, c) = (lines(&s_text), lines(&c_text));
    for l in TLS13_LABELS {
        let sl: Vec<_> = s.iter().filter(|x| x.starts_with(&format!("{l} "))).collect();
        let cl: Vec<_> = c.iter().filter(|x| x.starts_with(&format!("{l} "))).collect();
        assert_eq!(sl, cl, "{l} differs between server and client key logs");
    }
}

#[test]
fn keylogfile_tls12_client_random() {
    require!("openssl");
    let dir = TestDir::new();
    let log = dir.join("keys12.log");
    let srv = server!(&dir).arg("-keylogfile").arg(&log).start();
    let client = s_client(srv.port, &["-tls1_2"]);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    let (text, labels) = wait_keylog(&log, &["CLIENT_RANDOM"]);
    assert!(labels.iter().any(|l| l == "CLIENT_RANDOM"), "{text}");
}

#[test]
fn naccept_1_exits_after_one_connection() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-www", "-naccept", "1"]).start();
    let url = srv.url("/");
    let f = curl(&["-k", &url]);
    assert!(f.success(), "{}\nserver:\n{}", f.dump(), srv.dump());
    assert!(f.out().contains("Ciphers supported in s_server binary"));
    let status = srv.proc.expect_exit(TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", srv.dump());
}

#[test]
fn naccept_2_serves_two_then_exits() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    std::fs::write(dir.www().join("f.txt"), b"f\n").unwrap();
    let mut srv = server!(&dir).args(["-WWW", "-naccept", "2"]).start();
    let url = srv.url("/f.txt");
    for i in 0..2 {
        let f = curl(&["-k", &url]);
        assert!(f.success(), "request {i}\n{}\nserver:\n{}", f.dump(), srv.dump());
        assert_eq!(f.stdout, b"f\n");
    }
    let status = srv.proc.expect_exit(TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", srv.dump());
}
