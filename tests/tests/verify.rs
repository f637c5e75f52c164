//! Client-certificate verification options: CA stores (`-verifyCAfile`, `-CAstore`, …), CRLs,
//! the X509 verification parameters (`-verify_depth`, `-purpose`, `-attime`, …), the server's
//! chain (`-chainCAfile`, `-build_chain`) and `-nameopt`.
//!
//! A root CA issues an intermediate, which issues the client certificates (one of them revoked
//! in the intermediate's CRL) and a server certificate. Clients are `openssl s_client -cert`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sserve_tests::{is_openssl, openssl, require, s_client, server, Proc, Server, TestDir, TIMEOUT};

/// The extra PKI, generated with the `openssl` CLI in `<test dir>/chain`.
struct Chain {
    dir: PathBuf,
}

impl Chain {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }
}

fn generate(dir: &TestDir) -> Chain {
    let d = dir.join("chain");
    std::fs::create_dir_all(d.join("db")).unwrap();
    let run = |args: &[&str]| {
        openssl(args, &d);
    };
    for k in ["root", "inter", "leaf", "rev", "srv", "lax"] {
        run(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{k}.key"),
        ]);
    }
    let ca_ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
    std::fs::write(d.join("ca.ext"), ca_ext).unwrap();
    std::fs::write(
        d.join("client.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    std::fs::write(
        d.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    let self_signed = |key: &str, out: &str, subj: &str, bc: &str| {
        run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            key,
            "-out",
            out,
            "-days",
            "30",
            "-subj",
            subj,
            "-addext",
            bc,
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    };
    self_signed(
        "root.key",
        "root.pem",
        "/C=US/O=Test Org/CN=root-ca",
        "basicConstraints=critical,CA:TRUE",
    );
    // Not X.509-strict: a CA whose basicConstraints are not critical.
    self_signed("lax.key", "lax.pem", "/CN=lax-ca", "basicConstraints=CA:TRUE");
    let issue = |name: &str, key: &str, subj: &str, ca: &str, ext: &str| {
        let csr = format!("{name}.csr");
        run(&["req", "-new", "-key", key, "-subj", subj, "-out", &csr]);
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            ext,
            "-out",
            &format!("{name}.pem"),
        ]);
    };
    issue("inter", "inter.key", "/C=US/O=Test Org/CN=inter-ca", "root", "ca.ext");
    issue(
        "leaf",
        "leaf.key",
        "/C=US/O=Test Org/CN=client-leaf",
        "inter",
        "client.ext",
    );
    issue(
        "rev",
        "rev.key",
        "/C=US/O=Test Org/CN=client-rev",
        "inter",
        "client.ext",
    );
    issue("srv", "srv.key", "/CN=localhost", "inter", "server.ext");
    issue("laxclient", "leaf.key", "/CN=lax-client", "lax", "client.ext");
    let inter = std::fs::read(d.join("inter.pem")).unwrap();
    let root = std::fs::read(d.join("root.pem")).unwrap();
    std::fs::write(d.join("chain.pem"), [inter.clone(), root.clone()].concat()).unwrap();
    // Hashed CA directories (`<subject hash>.0`, as `openssl rehash` names them) for the
    // *CApath options: one with the root, one with the intermediate and the root.
    let hash = |pem: &str| {
        openssl(&["x509", "-hash", "-noout", "-in", pem], &d)
            .out()
            .trim()
            .to_owned()
    };
    let (root_hash, inter_hash) = (hash("root.pem"), hash("inter.pem"));
    std::fs::create_dir(d.join("rootdir")).unwrap();
    std::fs::write(d.join(format!("rootdir/{root_hash}.0")), &root).unwrap();
    std::fs::create_dir(d.join("chaindir")).unwrap();
    std::fs::write(d.join(format!("chaindir/{inter_hash}.0")), &inter).unwrap();
    std::fs::write(d.join(format!("chaindir/{root_hash}.0")), &root).unwrap();
    // The intermediate's CRL, revoking `rev`.
    std::fs::write(d.join("db/index.txt"), "").unwrap();
    std::fs::write(d.join("db/crlnumber"), "01\n").unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        "[ca]\ndefault_ca=CA_default\n[CA_default]\ndatabase=db/index.txt\ncrlnumber=db/crlnumber\n\
         default_md=sha256\ndefault_crl_days=30\n",
    )
    .unwrap();
    let ca = ["-config", "ca.cnf", "-cert", "inter.pem", "-keyfile", "inter.key"];
    run(&[&["ca"][..], &ca, &["-revoke", "rev.pem"]].concat());
    run(&[&["ca"][..], &ca, &["-gencrl", "-out", "inter.crl"]].concat());
    run(&["crl", "-in", "inter.crl", "-outform", "DER", "-out", "inter.der"]);
    Chain { dir: d }
}

/// What happened to one client connection (the processes stay alive for late output).
struct Outcome {
    /// The server got the client's data: the certificate was accepted.
    accepted: bool,
    srv: Server,
    client: Proc,
}

impl Outcome {
    fn server_out(&self) -> String {
        self.srv.stdout().text()
    }

    fn server_err(&self) -> String {
        self.srv.stderr().text()
    }

    fn client_out(&self) -> String {
        format!("{}{}", self.client.stdout.text(), self.client.stderr.text())
    }

    /// Waits (bounded) for `pat` on the server's stdout.
    fn out_has(&self, pat: &str) -> bool {
        self.srv.stdout().wait_for(pat, Duration::from_secs(5))
    }

    /// Waits (bounded) for `pat` on the server's stderr: it is a separate pipe, read by its own
    /// thread, so it may lag behind what stdout shows.
    fn err_has(&self, pat: &str) -> bool {
        if self.srv.stderr().wait_for(pat, Duration::from_secs(5)) {
            return true;
        }
        // OpenSSL 1.1.1 capitalises some verify error texts ("Hostname mismatch").
        !sserve_tests::server_is_ossl3() && self.srv.stderr().text().to_lowercase().contains(&pat.to_lowercase())
    }
}

/// Starts a server with `args`, connects one `s_client` with `client`, and sends a line.
fn connect(dir: &TestDir, args: &[&str], client: &[&str]) -> Outcome {
    connect_with(server!(dir).args(args).start(), client)
}

fn connect_with(srv: Server, client: &[&str]) -> Outcome {
    let mut c = s_client(srv.port, client);
    c.write_stdin(b"verify-ping\n");
    let deadline = Instant::now() + TIMEOUT;
    let accepted = loop {
        if srv.stdout().contains("verify-ping") {
            break true;
        }
        if c.try_status().is_some() {
            // Refused: let the server finish reporting.
            srv.stdout().wait_for("CONNECTION CLOSED", Duration::from_secs(5));
            break srv.stdout().contains("verify-ping");
        }
        assert!(Instant::now() < deadline, "no outcome\n{}\n{}", srv.dump(), c.dump());
        std::thread::sleep(Duration::from_millis(25));
    };
    if accepted {
        c.stdout.wait_for("Verify return code", Duration::from_secs(5));
    } else {
        c.stdout.wait_closed(Duration::from_secs(5));
        c.stderr.wait_closed(Duration::from_secs(5));
    }
    Outcome {
        accepted,
        srv,
        client: c,
    }
}

fn describe(o: &Outcome) -> String {
    format!(
        "--- server stdout\n{}\n--- server stderr\n{}\n--- client\n{}",
        o.server_out(),
        o.server_err(),
        o.client_out()
    )
}

/// Client arguments: certificate `name` with the intermediate as its chain.
fn client(ch: &Chain, name: &str) -> Vec<String> {
    let key = if name == "laxclient" { "leaf" } else { name };
    vec![
        "-cert".into(),
        ch.path(&format!("{name}.pem")),
        "-key".into(),
        ch.path(&format!("{key}.key")),
        "-cert_chain".into(),
        ch.path("inter.pem"),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `-Verify 5 -verify_return_error`: every verification error refuses the client.
fn strict<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["-Verify", "5", "-verify_return_error"];
    v.extend_from_slice(extra);
    v
}

fn expect(o: &Outcome, accepted: bool, stderr_has: &[&str], what: &str) {
    assert_eq!(o.accepted, accepted, "{what}\n{}", describe(o));
    for s in stderr_has {
        assert!(o.err_has(s), "{what}: stderr lacks {s:?}\n{}", describe(o));
    }
}

#[test]
fn crl_refuses_a_revoked_client_certificate() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let (root, crl) = (ch.path("root.pem"), ch.path("inter.crl"));
    let rev = client(&ch, "rev");
    let leaf = client(&ch, "leaf");
    let o = connect(
        &dir,
        &strict(&["-CAfile", &root, "-CRL", &crl, "-crl_check"]),
        &strs(&rev),
    );
    expect(
        &o,
        false,
        &[
            "depth=0 C = US, O = Test Org, CN = client-rev",
            "verify error:num=23:certificate revoked",
        ],
        "-CRL -crl_check, revoked",
    );
    assert!(o.client_out().contains("certificate revoked"), "{}", describe(&o));
    let o = connect(
        &dir,
        &strict(&["-CAfile", &root, "-CRL", &crl, "-crl_check"]),
        &strs(&leaf),
    );
    expect(&o, true, &[], "-CRL -crl_check, good certificate");
    // Without -crl_check the CRL is loaded but not consulted.
    let o = connect(&dir, &strict(&["-CAfile", &root, "-CRL", &crl]), &strs(&rev));
    expect(&o, true, &[], "-CRL without -crl_check");
    // DER CRL.
    let der = ch.path("inter.der");
    let o = connect(
        &dir,
        &strict(&["-CAfile", &root, "-CRL", &der, "-CRLform", "DER", "-crl_check"]),
        &strs(&rev),
    );
    expect(&o, false, &["certificate revoked"], "-CRLform DER");
    // -crl_check_all wants a CRL for every CA of the chain: the root issued none.
    let o = connect(
        &dir,
        &strict(&["-CAfile", &root, "-CRL", &crl, "-crl_check_all"]),
        &strs(&leaf),
    );
    expect(&o, false, &["unable to get certificate CRL"], "-crl_check_all");
    // With -verifyCAfile the CRL goes into the verification store too.
    let o = connect(
        &dir,
        &strict(&["-verifyCAfile", &root, "-CRL", &crl, "-crl_check"]),
        &strs(&rev),
    );
    expect(&o, false, &["certificate revoked"], "-verifyCAfile -CRL -crl_check");
}

#[test]
fn verify_stores_replace_cafile() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let root = ch.path("root.pem");
    let leaf = client(&ch, "leaf");
    let o = connect(&dir, &strict(&["-verifyCAfile", &root]), &strs(&leaf));
    expect(
        &o,
        true,
        &["depth=2 C = US, O = Test Org, CN = root-ca"],
        "-verifyCAfile",
    );
    // Only -CAfile names acceptable CAs in the CertificateRequest.
    assert!(
        o.client_out().contains("No client certificate CA names sent"),
        "{}",
        describe(&o)
    );
    let o = connect(&dir, &strict(&["-CAfile", &root]), &strs(&leaf));
    assert!(
        o.client_out().contains("Acceptable client certificate CA names"),
        "{}",
        describe(&o)
    );
    // Nothing trusted: refused.
    let o = connect(&dir, &strict(&[]), &strs(&leaf));
    expect(&o, false, &["unable to get local issuer certificate"], "no CA");
    let rootdir = ch.path("rootdir");
    let o = connect(&dir, &strict(&["-verifyCApath", &rootdir]), &strs(&leaf));
    expect(&o, true, &[], "-verifyCApath");
    let o = connect(
        &dir,
        &strict(&["-verifyCAstore", &format!("file:{root}")]),
        &strs(&leaf),
    );
    expect(&o, true, &[], "-verifyCAstore");
    let o = connect(&dir, &strict(&["-CAstore", &root, "-no-CAstore"]), &strs(&leaf));
    expect(&o, true, &[], "-CAstore");
    let o = connect(&dir, &strict(&["-CAstore", &rootdir]), &strs(&leaf));
    expect(&o, true, &[], "-CAstore directory");
}

#[test]
fn verify_depth_limits_the_chain() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let root = ch.path("root.pem");
    let leaf = client(&ch, "leaf");
    let o = connect(&dir, &strict(&["-CAfile", &root, "-verify_depth", "0"]), &strs(&leaf));
    expect(
        &o,
        false,
        &["verify error:num=22:certificate chain too long"],
        "-verify_depth 0",
    );
    let o = connect(&dir, &strict(&["-CAfile", &root, "-verify_depth", "1"]), &strs(&leaf));
    expect(&o, true, &[], "-verify_depth 1");
    // -verify's depth is only the callback's limit for forgiving errors, not a chain limit.
    let o = connect(
        &dir,
        &["-verify", "0", "-verify_return_error", "-CAfile", &root],
        &strs(&leaf),
    );
    expect(&o, true, &["depth=2 "], "-verify 0");
}

#[test]
fn verify_parameters_change_the_outcome() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let (root, inter) = (ch.path("root.pem"), ch.path("inter.pem"));
    let leaf = client(&ch, "leaf");
    let leaf = strs(&leaf);
    let with = |extra: &[&str]| {
        let mut a = vec!["-CAfile", root.as_str()];
        a.extend_from_slice(extra);
        connect(&dir, &strict(&a), &leaf)
    };
    expect(&with(&["-purpose", "sslclient"]), true, &[], "-purpose sslclient");
    // OpenSSL 1.1.1 words X509_V_ERR_INVALID_PURPOSE "unsupported certificate purpose".
    let purpose = if sserve_tests::server_is_ossl3() {
        "unsuitable certificate purpose"
    } else {
        "unsupported certificate purpose"
    };
    expect(
        &with(&["-purpose", "sslserver"]),
        false,
        &[&format!("verify error:num=26:{purpose}")],
        "-purpose sslserver",
    );
    expect(
        &with(&["-verify_name", "ssl_server"]),
        false,
        &[purpose],
        "-verify_name ssl_server",
    );
    // 2100-01-01: everything has expired; 0 (1970): nothing is valid yet.
    expect(
        &with(&["-attime", "4102444800"]),
        false,
        &["verify error:num=10:certificate has expired", "notAfter="],
        "-attime future",
    );
    expect(
        &with(&["-attime", "0"]),
        false,
        &["verify error:num=9:certificate is not yet valid", "notBefore="],
        "-attime past",
    );
    expect(
        &with(&["-verify_hostname", "other.example"]),
        false,
        &["verify error:num=62:hostname mismatch"],
        "-verify_hostname",
    );
    expect(
        &with(&["-verify_email", "a@example.com"]),
        false,
        &["verify error:num=63:email address mismatch"],
        "-verify_email",
    );
    expect(
        &with(&["-verify_ip", "192.0.2.1"]),
        false,
        &["verify error:num=64:IP address mismatch"],
        "-verify_ip",
    );
    // P-256 gives 128 bits of security; level 5 needs 256.
    expect(
        &with(&["-auth_level", "5"]),
        false,
        &["verify error:num=66:EE certificate key too weak"],
        "-auth_level 5",
    );
    expect(&with(&["-auth_level", "1"]), true, &[], "-auth_level 1");
    expect(
        &with(&["-suiteB_192"]),
        false,
        &["Suite B: curve not allowed for this LOS"],
        "-suiteB_192",
    );

    // -x509_strict: the lax CA's basicConstraints are not critical.
    let lax = ch.path("lax.pem");
    let laxclient = [
        "-cert".to_string(),
        ch.path("laxclient.pem"),
        "-key".into(),
        ch.path("leaf.key"),
    ];
    let o = connect(&dir, &strict(&["-CAfile", &lax]), &strs(&laxclient));
    expect(&o, true, &[], "lax CA");
    // OpenSSL 3.0 added this strict check (X509_V_ERR_CA_BCONS_NOT_CRITICAL); 1.1.1's
    // -x509_strict accepts the lax CA.
    let o = connect(&dir, &strict(&["-CAfile", &lax, "-x509_strict"]), &strs(&laxclient));
    if sserve_tests::server_is_ossl3() {
        expect(
            &o,
            false,
            &["verify error:num=89:Basic Constraints of CA cert not marked critical"],
            "-x509_strict",
        );
    } else {
        expect(&o, true, &[], "-x509_strict (1.1.1)");
    }

    // -partial_chain: trusting only the intermediate is enough with it.
    let leaf_only = [
        "-cert".to_string(),
        ch.path("leaf.pem"),
        "-key".into(),
        ch.path("leaf.key"),
    ];
    let o = connect(&dir, &strict(&["-CAfile", &inter]), &strs(&leaf_only));
    expect(
        &o,
        false,
        &[
            "verify error:num=2:unable to get issuer certificate",
            "issuer= C = US, O = Test Org, CN = root-ca",
        ],
        "intermediate only",
    );
    let o = connect(&dir, &strict(&["-CAfile", &inter, "-partial_chain"]), &strs(&leaf_only));
    expect(&o, true, &[], "-partial_chain");
}

#[test]
fn policy_options() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let root = ch.path("root.pem");
    let leaf = client(&ch, "leaf");
    let o = connect(
        &dir,
        &["-verify", "5", "-CAfile", &root, "-policy_check", "-policy_print"],
        &strs(&leaf),
    );
    expect(
        &o,
        true,
        &[
            "depth=0 <no cert>\nRequire explicit Policy: False\nAuthority Policies: <empty>\nUser Policies: <empty>\nverify return:2\n",
        ],
        "-policy_print",
    );
    // Our certificates carry no policies.
    let o = connect(&dir, &strict(&["-CAfile", &root, "-explicit_policy"]), &strs(&leaf));
    expect(
        &o,
        false,
        &[
            "verify error:num=43:no explicit policy",
            "Require explicit Policy: True",
        ],
        "-explicit_policy",
    );
    let o = connect(
        &dir,
        &strict(&[
            "-CAfile",
            &root,
            "-policy",
            "1.2.3.4",
            "-policy",
            "1.2.3.5",
            "-explicit_policy",
        ]),
        &strs(&leaf),
    );
    expect(&o, false, &["no explicit policy"], "-policy");
    let bad = server!(&dir).args(["-policy", "not-an-oid"]).run_to_exit(TIMEOUT);
    assert_eq!(bad.code(), Some(1), "{}", bad.dump());
    assert!(bad.err().contains("Invalid Policy not-an-oid"), "{}", bad.dump());
}

#[test]
fn flags_that_keep_a_good_chain_valid() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let root = ch.path("root.pem");
    let leaf = client(&ch, "leaf");
    for flag in [
        "-ignore_critical",
        "-issuer_checks",
        "-inhibit_any",
        "-inhibit_map",
        "-extended_crl",
        "-use_deltas",
        "-check_ss_sig",
        "-trusted_first",
        "-suiteB_128_only",
        "-suiteB_128",
        "-no_alt_chains",
        "-no_check_time",
        "-allow_proxy_certs",
    ] {
        let o = connect(&dir, &strict(&["-CAfile", &root, flag]), &strs(&leaf));
        expect(&o, true, &["depth=0 C = US, O = Test Org, CN = client-leaf"], flag);
    }
}

#[test]
fn chain_store_and_build_chain_send_the_intermediate() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let (srv, key) = (ch.path("srv.pem"), ch.path("srv.key"));
    let show = |args: &[&str]| {
        let s = server!(&dir).cert(&srv, &key).args(args).start();
        connect_with(s, &["-showcerts"])
    };
    let inter_line = " 1 s:C = US, O = Test Org, CN = inter-ca";
    let o = show(&[]);
    assert!(!o.client_out().contains(inter_line), "{}", describe(&o));
    for args in [
        vec!["-chainCAfile", &ch.path("chain.pem"), "-build_chain"],
        vec!["-chainCApath", &ch.path("chaindir")],
        vec!["-chainCAstore", &ch.path("chain.pem"), "-build_chain"],
    ] {
        let o = show(&args);
        assert!(o.client_out().contains(inter_line), "{args:?}\n{}", describe(&o));
        assert!(
            o.client_out().contains(" 2 s:C = US, O = Test Org, CN = root-ca"),
            "{args:?}\n{}",
            describe(&o)
        );
    }
    // Nothing to build the chain from: start-up fails.
    let f = server!(&dir).cert(&srv, &key).arg("-build_chain").run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    assert!(f.err().contains("error building certificate chain"), "{}", f.dump());
    // With -cert_chain the chain is only checked: the intermediate alone does not reach a root.
    let f = server!(&dir)
        .cert(&srv, &key)
        .args(["-cert_chain", &ch.path("inter.pem"), "-build_chain"])
        .run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
    let s = server!(&dir)
        .cert(&srv, &key)
        .args(["-cert_chain", &ch.path("chain.pem"), "-build_chain"])
        .start();
    let o = connect_with(s, &["-showcerts"]);
    assert!(o.client_out().contains(inter_line), "{}", describe(&o));
}

#[test]
fn nameopt_changes_printed_names() {
    require!("openssl");
    let dir = TestDir::new();
    let ch = generate(&dir);
    let root = ch.path("root.pem");
    let leaf = client(&ch, "leaf");
    let run = |extra: &[&str]| {
        let mut a = vec!["-verify", "1", "-CAfile", root.as_str()];
        a.extend_from_slice(extra);
        let o = connect(&dir, &a, &strs(&leaf));
        assert!(o.accepted, "{}", describe(&o));
        o
    };
    let o = run(&[]);
    assert!(
        o.out_has("subject=C = US, O = Test Org, CN = client-leaf\nissuer=C = US, O = Test Org, CN = inter-ca\n"),
        "{}",
        describe(&o)
    );
    let o = run(&["-nameopt", "RFC2253"]);
    assert!(
        o.out_has("subject=CN=client-leaf,O=Test Org,C=US\nissuer=CN=inter-ca,O=Test Org,C=US\n"),
        "{}",
        describe(&o)
    );
    assert!(
        o.err_has("depth=0 CN=client-leaf,O=Test Org,C=US\n"),
        "{}",
        describe(&o)
    );
    let o = run(&["-nameopt", "compat"]);
    assert!(
        o.out_has("subject=/C=US/O=Test Org/CN=client-leaf\n"),
        "{}",
        describe(&o)
    );
    assert!(
        o.err_has("depth=0 C=US, O=Test Org, CN=client-leaf\n"),
        "{}",
        describe(&o)
    );
    let o = run(&["-nameopt", "multiline"]);
    assert!(
        o.out_has("subject=\n    countryName               = US\n"),
        "{}",
        describe(&o)
    );
    // Options accumulate: oneline without the spaces around '='.
    let o = run(&["-nameopt", "oneline", "-nameopt", "-space_eq"]);
    assert!(
        o.out_has("subject=C=US, O=Test Org, CN=client-leaf\n"),
        "{}",
        describe(&o)
    );
    let f = server!(&dir).args(["-nameopt", "bogus"]).run_to_exit(TIMEOUT);
    assert_eq!(f.code(), Some(1), "{}", f.dump());
}

#[test]
fn bad_values_and_refusals() {
    require!("openssl");
    let dir = TestDir::new();
    for (args, msg) in [
        (&["-purpose", "bogus"][..], "Invalid purpose bogus"),
        (&["-verify_name", "bogus"][..], "Invalid verify name bogus"),
        (&["-CRL", "/nonexistent/x.crl"][..], ""),
        (&["-verifyCAfile", "/nonexistent/x.pem"][..], ""),
    ] {
        let f = server!(&dir).args(args).run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{args:?}\n{}", f.dump());
        assert!(f.err().contains(msg), "{args:?}\n{}", f.dump());
    }
    if !is_openssl() {
        let f = server!(&dir).arg("-crl_download").run_to_exit(TIMEOUT);
        assert_eq!(f.code(), Some(1), "{}", f.dump());
        assert!(f.err().contains("option -crl_download"), "{}", f.dump());
    }
}
