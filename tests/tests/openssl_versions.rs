//! The OpenSSL the server links (system 3.0, vendored 3.5, or 1.1.1 through
//! scripts/openssl-matrix.sh): options that only some versions have are accepted where the
//! linked OpenSSL has them and refused at start-up, naming the version, where it does not; and
//! whatever the version, the system's s_client, curl and Python talk TLS 1.2 and 1.3 to it,
//! with resumption and client certificates.

use sserve_tests::{
    curl, is_openssl, py_fetch, require, s_client_finish, server, server_openssl_version, unsupported_option, TestDir,
    CLIENT_CN, TIMEOUT,
};

#[test]
fn help_names_the_linked_openssl() {
    if is_openssl() {
        return;
    }
    let dir = TestDir::new();
    let f = server!(&dir).no_cert().args(["-help"]).run_to_exit(TIMEOUT);
    let want = format!("Linked with {}.", server_openssl_version());
    assert!(f.out().contains(&want), "{want}\n{}", f.dump());
    // -help says which versions have a gated option, whatever this build links.
    let provider = f
        .out()
        .lines()
        .find(|l| l.trim_start().starts_with("-provider "))
        .unwrap_or_default()
        .to_string();
    assert!(provider.contains("[OpenSSL 3.0 and later]"), "{}", f.dump());
}

#[test]
fn version_gated_options_are_taken_or_refused_naming_the_version() {
    require!("openssl");
    let dir = TestDir::new();
    let cases: &[&[&str]] = &[
        &["-provider", "default"],
        &["-provider-path", "."],
        &["-propquery", "provider=default"],
        &["-ignore_unexpected_eof"],
        &["-no_ca_names"],
        &["-no_etm"],
        &["-client_renegotiation"],
        &["-proxy", "127.0.0.1:1"],
        &["-no_proxy", "localhost"],
        &["-trace"],
    ];
    let version = server_openssl_version();
    for args in cases {
        let name = args[0].trim_start_matches('-');
        match unsupported_option(name) {
            Some(why) => {
                let f = server!(&dir).args(*args).run_to_exit(TIMEOUT);
                assert_eq!(f.code(), Some(1), "{args:?}\n{}", f.dump());
                let err = f.err();
                assert_eq!(err.lines().count(), 1, "{args:?}: one line\n{}", f.dump());
                assert!(err.contains(&format!("option -{name}: {why}")), "{}", f.dump());
                assert!(err.contains(&version), "{args:?} names {version}\n{}", f.dump());
            }
            None => {
                let srv = server!(&dir).args(*args).start();
                let f = s_client_finish(srv.port, &[], b"ping\n");
                assert!(f.success(), "{args:?}\n{}\n{}", f.dump(), srv.dump());
                srv.expect_stdout("ping");
            }
        }
    }
}

#[test]
fn system_peers_interoperate_over_tls_1_2_and_1_3() {
    require!("openssl", "curl", "python3");
    let dir = TestDir::new();
    let ca = dir.pki.ca_cert.to_str().unwrap().to_owned();
    let cert = dir.pki.client_cert.to_str().unwrap().to_owned();
    let key = dir.pki.client_key.to_str().unwrap().to_owned();
    for (flag, protocol, py, curl_flag) in [
        ("-tls1_2", "TLSv1.2", "1.2", "--tls-max"),
        ("-tls1_3", "TLSv1.3", "1.3", "--tlsv1.3"),
    ] {
        // Resumption: the session of a first -www fetch, offered again on a second one (the
        // TLS 1.3 ticket comes after the handshake, so -reconnect would be too early).
        let srv = server!(&dir).args(["-www"]).start();
        let sess = dir.join(format!("sess{flag}.pem"));
        let sess = sess.to_str().unwrap();
        let get = b"GET / HTTP/1.0\r\n\r\n";
        let first = s_client_finish(srv.port, &[flag, "-ign_eof", "-sess_out", sess], get);
        assert!(first.success(), "{flag}\n{}", first.dump());
        let second = s_client_finish(srv.port, &[flag, "-ign_eof", "-sess_in", sess], get);
        assert!(
            second
                .out()
                .lines()
                .any(|l| l.starts_with("Reused, ") && l.contains(protocol)),
            "{flag}: no resumption\n{}\n{}",
            second.dump(),
            srv.dump()
        );
        drop(srv);
        // A required client certificate, checked against -CAfile.
        let srv = server!(&dir).args(["-Verify", "1", "-CAfile", &ca]).start();
        let f = s_client_finish(srv.port, &[flag, "-cert", &cert, "-key", &key], b"with-cert\n");
        assert!(f.success(), "{flag}\n{}\n{}", f.dump(), srv.dump());
        srv.expect_stdout("with-cert");
        assert!(srv.stdout().contains(CLIENT_CN), "{flag}\n{}", srv.dump());
        drop(srv);
        // curl and Python against -www.
        let srv = server!(&dir).args(["-www"]).start();
        let url = format!("https://127.0.0.1:{}/", srv.port);
        let c = if curl_flag == "--tls-max" {
            curl(&["-sk", "--tls-max", "1.2", &url])
        } else {
            curl(&["-sk", curl_flag, &url])
        };
        assert!(c.success() && c.out().contains(protocol), "{flag} curl\n{}", c.dump());
        let p = py_fetch(srv.port, py, b"GET / HTTP/1.0\r\n\r\n");
        assert!(p.out().contains(protocol), "{flag} python\n{}", p.dump());
    }
}
