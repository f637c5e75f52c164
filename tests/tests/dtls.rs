//! DTLS over UDP against `openssl s_client -dtls1_2`: console mode both ways, `-rev` (an sserve
//! extension: s_server refuses it), `-listen`, two clients at once, and s_server's refusals.

use sserve_tests::{expect_client_handshake, is_openssl, require, s_client, server, Proc, Server, TestDir};

fn dtls_client(srv: &Server, extra: &[&str]) -> Proc {
    let mut args = vec!["-dtls1_2"];
    args.extend_from_slice(extra);
    let c = s_client(srv.port, &args);
    expect_client_handshake(&c);
    c
}

#[test]
fn console_mode_data_both_ways() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-dtls1_2", "-mtu", "1200"]).start();
    let mut c = dtls_client(&srv, &["-mtu", "1200"]);
    srv.expect_stdout("CIPHER is ");
    c.write_stdin(b"from-client-dtls\n");
    srv.expect_stdout("from-client-dtls");
    srv.write_stdin(b"from-server-dtls\n");
    c.expect_stdout("from-server-dtls");
    c.kill();
}

#[test]
fn listen_and_two_clients_at_once() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-dtls", "-listen"]).start();
    let mut a = dtls_client(&srv, &[]);
    let mut b = dtls_client(&srv, &[]);
    a.write_stdin(b"line-from-a\n");
    b.write_stdin(b"line-from-b\n");
    srv.expect_stdout("line-from-a");
    srv.expect_stdout("line-from-b");
    // Console input goes to every open association.
    srv.write_stdin(b"to-everyone\n");
    a.expect_stdout("to-everyone");
    b.expect_stdout("to-everyone");
    a.kill();
    b.kill();
}

#[test]
fn rev_over_dtls() {
    require!("openssl");
    if is_openssl() {
        return; // s_server: "Can't use -rev with DTLS" (sserve deviation, docs/compat.md)
    }
    let dir = TestDir::new();
    let srv = server!(&dir).args(["-dtls1_2", "-rev"]).start();
    let mut c = dtls_client(&srv, &[]);
    c.write_stdin(b"hello dtls\n");
    c.expect_stdout("sltd olleh");
    srv.expect_stderr("CONNECTION ESTABLISHED");
    c.kill();
}

#[test]
fn naccept_counts_associations() {
    require!("openssl");
    let dir = TestDir::new();
    let mut srv = server!(&dir).args(["-dtls1_2", "-naccept", "1"]).start();
    let mut c = dtls_client(&srv, &[]);
    srv.expect_stdout("CIPHER is ");
    // `q` ends the association; with -naccept 1 reached the server exits.
    srv.write_stdin(b"q\n");
    srv.proc.expect_exit(sserve_tests::TIMEOUT);
    c.kill();
}

#[test]
fn incompatible_options_give_s_server_errors() {
    let dir = TestDir::new();
    for (args, msg) in [
        (&["-dtls", "-www"][..], "Can't use -HTTP, -www or -WWW with DTLS"),
        (&["-listen"][..], "Can only use -listen with DTLS"),
        (&["-dtls1", "-dtls1_2"][..], "Cannot supply multiple protocol flags"),
    ] {
        let f = server!(&dir).args(args).run_to_exit(sserve_tests::TIMEOUT);
        assert_eq!(f.code(), Some(1), "{args:?}\n{}", f.dump());
        assert!(f.err().contains(msg), "{args:?}: {}", f.dump());
    }
    if !is_openssl() {
        let f = server!(&dir)
            .args(["-dtls", "-mtu", "100"])
            .run_to_exit(sserve_tests::TIMEOUT);
        assert!(f.err().contains("MTU too small. Must be at least 256"), "{}", f.dump());
    }
}

/// `-use_srtp`: the profile both sides offer is negotiated and printed as s_server prints it.
#[test]
fn use_srtp_negotiates_and_prints_the_profile() {
    require!("openssl");
    let dir = TestDir::new();
    let srv = server!(&dir)
        .args(["-dtls1_2", "-use_srtp", "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"])
        .start();
    let c = dtls_client(&srv, &["-use_srtp", "SRTP_AES128_CM_SHA1_32"]);
    srv.expect_stdout("SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_32");
    c.expect_stdout("SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_32");
    drop(c);
}
