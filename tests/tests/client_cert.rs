//! Client certificates: `-verify 1` (optional) and `-Verify 1` (required) with `-CAfile`.

use sserve_tests::{expect_client_handshake, require, s_client, server, TestDir, CLIENT_CN, TIMEOUT};

fn ca(dir: &TestDir) -> String {
    dir.pki.ca_cert.to_str().unwrap().to_owned()
}

fn client_cert_args(dir: &TestDir) -> [String; 4] {
    [
        "-cert".into(),
        dir.pki.client_cert.to_str().unwrap().into(),
        "-key".into(),
        dir.pki.client_key.to_str().unwrap().into(),
    ]
}

#[test]
fn verify_1_with_client_certificate() {
    require!("openssl");
    let dir = TestDir::new();
    let ca = ca(&dir);
    let mut srv = server!(&dir).args(["-verify", "1", "-CAfile", &ca]).start();
    let cc = client_cert_args(&dir);
    let cc: Vec<&str> = cc.iter().map(String::as_str).collect();
    let mut client = s_client(srv.port, &cc);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    // The connection summary shows the client certificate.
    srv.expect_stdout("Client certificate");
    assert!(srv.stdout().contains(CLIENT_CN), "{}", srv.dump());
    client.write_stdin(b"verified-client\n");
    srv.expect_stdout("verified-client");
    srv.write_stdin(b"hello-verified\n");
    client.expect_stdout("hello-verified");
}

#[test]
fn verify_1_without_client_certificate_still_connects() {
    require!("openssl");
    let dir = TestDir::new();
    let ca = ca(&dir);
    let srv = server!(&dir).args(["-verify", "1", "-CAfile", &ca]).start();
    let mut client = s_client(srv.port, &[]);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    client.write_stdin(b"anonymous-client\n");
    srv.expect_stdout("anonymous-client");
    assert!(
        !srv.stdout().contains(CLIENT_CN),
        "unexpected client certificate\n{}",
        srv.dump()
    );
}

#[test]
#[allow(non_snake_case)]
fn Verify_1_with_client_certificate() {
    require!("openssl");
    let dir = TestDir::new();
    let ca = ca(&dir);
    let srv = server!(&dir).args(["-Verify", "1", "-CAfile", &ca]).start();
    let cc = client_cert_args(&dir);
    let cc: Vec<&str> = cc.iter().map(String::as_str).collect();
    let mut client = s_client(srv.port, &cc);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    srv.expect_stdout("Client certificate");
    assert!(srv.stdout().contains(CLIENT_CN), "{}", srv.dump());
    client.write_stdin(b"required-client\n");
    srv.expect_stdout("required-client");
}

#[test]
#[allow(non_snake_case)]
fn Verify_1_without_client_certificate_fails() {
    require!("openssl");
    for version in ["-tls1_3", "-tls1_2"] {
        let dir = TestDir::new();
        let ca = ca(&dir);
        let srv = server!(&dir).args(["-Verify", "1", "-CAfile", &ca]).start();
        let mut client = s_client(srv.port, &[version]);
        // The client gets a fatal alert (certificate required / handshake failure) and
        // stops; the server never completes the handshake.
        client.write_stdin(b"should-not-arrive\n");
        client.expect_exit(TIMEOUT);
        let all = format!("{}{}", client.stdout.text(), client.stderr.text());
        assert!(
            all.contains("alert"),
            "{version}: client saw no alert\n{}",
            client.dump()
        );
        assert!(
            !srv.stdout().contains("CIPHER is "),
            "{version}: server completed the handshake\n{}",
            srv.dump()
        );
        assert!(!srv.stdout().contains("should-not-arrive"), "{}", srv.dump());
        // A client that does present a certificate is served next.
        let cc = client_cert_args(&dir);
        let cc: Vec<&str> = cc.iter().map(String::as_str).collect();
        let mut good = s_client(srv.port, &cc);
        expect_client_handshake(&good);
        good.write_stdin(b"good-client\n");
        srv.expect_stdout("good-client");
    }
}

#[test]
fn untrusted_client_certificate_is_reported() {
    require!("openssl");
    // A client certificate not issued by the -CAfile CA: with -verify (no
    // -verify_return_error) s_server logs the verify error but continues.
    let dir = TestDir::new();
    let other = TestDir::new();
    let ca = ca(&dir);
    let srv = server!(&dir).args(["-verify", "1", "-CAfile", &ca]).start();
    let cc = client_cert_args(&other);
    let cc: Vec<&str> = cc.iter().map(String::as_str).collect();
    let mut client = s_client(srv.port, &cc);
    expect_client_handshake(&client);
    srv.expect_stdout("CIPHER is ");
    srv.expect_stderr("verify error");
    client.write_stdin(b"untrusted-but-served\n");
    srv.expect_stdout("untrusted-but-served");
}
