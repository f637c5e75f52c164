//! The hyper example (`examples/hyper_https.rs`) answers curl over TLS: the example's own
//! `config` and `serve` run in-process on a free loopback port, curl is the client.

use std::process::Command;
use std::time::Duration;

#[path = "../examples/hyper_https.rs"]
mod hyper_https;

/// True when curl can be run; a missing curl skips the test, or fails it when
/// `SSERVE_TESTS_REQUIRE_PEERS=1` (as CI sets).
fn have_curl() -> bool {
    if Command::new("curl").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("SSERVE_TESTS_REQUIRE_PEERS").as_deref() != Ok("1"),
        "curl is not installed (SSERVE_TESTS_REQUIRE_PEERS=1)"
    );
    eprintln!("SKIPPED: curl is not installed");
    false
}

fn curl(url: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "20", "-w", "\n%{http_code} %{http_version}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hyper_example_answers_curl() {
    if !have_curl() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let config = hyper_https::config().unwrap();
    let server = rt.spawn(hyper_https::serve(listener, config));

    let url = format!("https://{addr}/");
    let (out, err) = curl(&url, &["--tlsv1.3"]);
    assert!(out.starts_with("hello from hyper over sserve\n"), "{out}\n{err}");
    assert!(out.contains("protocol: TLSv1.3\n"), "{out}\n{err}");
    assert!(out.contains("cipher: TLS_"), "{out}\n{err}");
    assert!(out.ends_with("\n200 1.1"), "{out}\n{err}");

    let (out, err) = curl(&url, &["--tls-max", "1.2"]);
    assert!(out.contains("protocol: TLSv1.2\n"), "{out}\n{err}");
    assert!(out.ends_with("\n200 1.1"), "{out}\n{err}");

    let (out, err) = curl(&format!("https://{addr}/missing"), &[]);
    assert!(out.ends_with("not found\n\n404 1.1"), "{out}\n{err}");

    // The server keeps serving: it only returns on an accept error.
    assert!(!server.is_finished());
    server.abort();
    rt.shutdown_timeout(Duration::from_secs(5));
}
