//! Typed facts about an established connection, for programs that embed the engine:
//! the protocol version, the cipher suite (IANA id and names), ALPN, SNI, resumption and the
//! peer's certificate chain as DER. (The command-line tool prints s_server's text from
//! [`crate::HandshakeInfo`] instead.)

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A TLS or DTLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// TLS 1.0.
    Tls1_0,
    /// TLS 1.1.
    Tls1_1,
    /// TLS 1.2.
    Tls1_2,
    /// TLS 1.3.
    Tls1_3,
    /// DTLS 1.0.
    Dtls1_0,
    /// DTLS 1.2.
    Dtls1_2,
    /// Another wire version (the two-byte code from the protocol).
    Other(u16),
}

impl ProtocolVersion {
    /// The version for its two-byte wire code (`0x0304` is TLS 1.3, `0xfefd` DTLS 1.2).
    pub fn from_wire(code: u16) -> Self {
        match code {
            0x0301 => ProtocolVersion::Tls1_0,
            0x0302 => ProtocolVersion::Tls1_1,
            0x0303 => ProtocolVersion::Tls1_2,
            0x0304 => ProtocolVersion::Tls1_3,
            0xfeff => ProtocolVersion::Dtls1_0,
            0xfefd => ProtocolVersion::Dtls1_2,
            other => ProtocolVersion::Other(other),
        }
    }

    /// The two-byte wire code.
    pub fn wire(self) -> u16 {
        match self {
            ProtocolVersion::Tls1_0 => 0x0301,
            ProtocolVersion::Tls1_1 => 0x0302,
            ProtocolVersion::Tls1_2 => 0x0303,
            ProtocolVersion::Tls1_3 => 0x0304,
            ProtocolVersion::Dtls1_0 => 0xfeff,
            ProtocolVersion::Dtls1_2 => 0xfefd,
            ProtocolVersion::Other(code) => code,
        }
    }

    /// OpenSSL's name (`TLSv1.3`, `DTLSv1.2`), or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::Tls1_0 => "TLSv1",
            ProtocolVersion::Tls1_1 => "TLSv1.1",
            ProtocolVersion::Tls1_2 => "TLSv1.2",
            ProtocolVersion::Tls1_3 => "TLSv1.3",
            ProtocolVersion::Dtls1_0 => "DTLSv1",
            ProtocolVersion::Dtls1_2 => "DTLSv1.2",
            ProtocolVersion::Other(_) => "unknown",
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A negotiated cipher suite.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CipherSuite {
    pub(crate) id: u16,
    pub(crate) name: String,
    pub(crate) openssl_name: String,
}

impl CipherSuite {
    /// A suite from its IANA id and its two names.
    pub fn new(id: u16, name: impl Into<String>, openssl_name: impl Into<String>) -> Self {
        CipherSuite {
            id,
            name: name.into(),
            openssl_name: openssl_name.into(),
        }
    }

    /// The IANA id (`0x1302` for `TLS_AES_256_GCM_SHA384`).
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The IANA (RFC) name, e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// OpenSSL's name, e.g. `ECDHE-ECDSA-AES128-GCM-SHA256` (the same as [`name`](Self::name)
    /// for TLS 1.3 suites).
    pub fn openssl_name(&self) -> &str {
        &self.openssl_name
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A certificate the peer sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Certificate {
    pub(crate) der: Vec<u8>,
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) sha256: [u8; 32],
}

impl Certificate {
    /// A certificate from its DER encoding, its subject and issuer as text, and its SHA-256
    /// fingerprint (a backend computes these; the engine itself parses no certificates).
    pub fn new(der: Vec<u8>, subject: String, issuer: String, sha256: [u8; 32]) -> Self {
        Certificate {
            der,
            subject,
            issuer,
            sha256,
        }
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject in RFC 2253 form (`CN=client,O=Example`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer in RFC 2253 form.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The SHA-256 fingerprint of the DER encoding.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// The SHA-256 fingerprint as lower-case hex.
    pub fn sha256_hex(&self) -> String {
        use core::fmt::Write;
        let mut s = String::with_capacity(64);
        for b in self.sha256 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

/// What is known about an established connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    pub(crate) protocol: ProtocolVersion,
    pub(crate) cipher_suite: CipherSuite,
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) server_name: Option<String>,
    pub(crate) resumed: bool,
    pub(crate) peer_chain: Vec<Certificate>,
    pub(crate) verify_result: Option<(i64, String)>,
}

impl ConnectionInfo {
    /// The facts a backend collected after a handshake. `peer_chain` starts with the peer's own
    /// certificate; `verify_result` is the peer-certificate verification code and text, when a
    /// certificate was verified.
    pub fn new(
        protocol: ProtocolVersion,
        cipher_suite: CipherSuite,
        alpn: Option<Vec<u8>>,
        server_name: Option<String>,
        resumed: bool,
        peer_chain: Vec<Certificate>,
        verify_result: Option<(i64, String)>,
    ) -> Self {
        ConnectionInfo {
            protocol,
            cipher_suite,
            alpn,
            server_name,
            resumed,
            peer_chain,
            verify_result,
        }
    }

    /// The negotiated protocol version.
    pub fn protocol(&self) -> ProtocolVersion {
        self.protocol
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> &CipherSuite {
        &self.cipher_suite
    }

    /// The ALPN protocol agreed on (`b"h2"`, `b"http/1.1"`), if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// The host name the client asked for with SNI, if any.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The session resumed an earlier one.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The peer's certificate chain, its own certificate first; empty when it sent none.
    pub fn peer_certificates(&self) -> &[Certificate] {
        &self.peer_chain
    }

    /// The peer's own certificate, if it sent one.
    pub fn peer_certificate(&self) -> Option<&Certificate> {
        self.peer_chain.first()
    }

    /// The result of verifying the peer's certificate (`0`, `ok` when it verified), when one
    /// was sent.
    pub fn verify_result(&self) -> Option<(i64, &str)> {
        self.verify_result.as_ref().map(|(c, t)| (*c, t.as_str()))
    }
}
