//! Listening: the `ACCEPT` line, dual stack by default, `-4`, `-6`, `-accept host:port`.

use sserve_tests::{curl, require, server, Server, TestDir};
use std::net::{TcpListener, TcpStream};

fn ipv6_available() -> bool {
    let ok = TcpListener::bind("[::1]:0").is_ok();
    if !ok {
        eprintln!("SKIPPED: no IPv6 loopback on this machine");
    }
    ok
}

fn fetch(srv: &Server, host: &str) -> bool {
    let url = format!("https://{host}:{}/", srv.port);
    let f = curl(&["-k", "-g", &url]);
    f.success() && f.out().contains("Ciphers supported in s_server binary")
}

fn accept_line(srv: &Server) -> String {
    srv.stdout()
        .text()
        .lines()
        .find(|l| l.starts_with("ACCEPT"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn default_is_dual_stack() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).arg("-www").start();
    if !ipv6_available() {
        assert!(fetch(&srv, "127.0.0.1"), "{}", srv.dump());
        return;
    }
    assert_eq!(accept_line(&srv), format!("ACCEPT [::]:{}", srv.port));
    assert!(fetch(&srv, "127.0.0.1"), "IPv4 client not served\n{}", srv.dump());
    assert!(fetch(&srv, "[::1]"), "IPv6 client not served\n{}", srv.dump());
}

#[test]
fn dash_4_listens_on_ipv4_only() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-www", "-4"]).start();
    assert_eq!(accept_line(&srv), format!("ACCEPT 0.0.0.0:{}", srv.port));
    assert!(fetch(&srv, "127.0.0.1"), "{}", srv.dump());
    if ipv6_available() {
        assert!(
            TcpStream::connect(("::1", srv.port)).is_err(),
            "-4 server accepted an IPv6 connection"
        );
    }
}

#[test]
fn dash_6_listens_on_ipv6_only() {
    require!("openssl", "curl");
    if !ipv6_available() {
        return;
    }
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-www", "-6"]).start();
    assert_eq!(accept_line(&srv), format!("ACCEPT [::]:{}", srv.port));
    assert!(fetch(&srv, "[::1]"), "{}", srv.dump());
    assert!(
        TcpStream::connect(("127.0.0.1", srv.port)).is_err(),
        "-6 server accepted an IPv4 connection"
    );
}

#[test]
fn accept_with_host() {
    require!("openssl", "curl");
    let dir = TestDir::new();
    let srv = server!(&dir).accept("127.0.0.1:0").arg("-www").start();
    assert_eq!(accept_line(&srv), format!("ACCEPT 127.0.0.1:{}", srv.port));
    assert!(fetch(&srv, "127.0.0.1"), "{}", srv.dump());
}
