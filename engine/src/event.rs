//! What a [`Session`](crate::Session) reports. Events are data; the CLI turns them into
//! s_server's console lines, a library user into whatever it likes.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use crate::command::Command;
use crate::error::SessionError;

/// Something that happened on a session, in the order it happened.
///
/// A few variants exist only for the `sserve` command's console (the `S`, `B` and `Q` commands,
/// `-rev`'s `CLOSE`, `-www`'s `/reneg`, callback notes); they are hidden from these docs, and a
/// program that embeds the engine without s_server's modes never sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The handshake finished; everything s_server prints about the connection.
    HandshakeComplete(Box<HandshakeInfo>),
    /// Plaintext from the peer (console mode; s_server writes it raw to stdout).
    Plaintext(Bytes),
    /// The client offered ALPN protocols and we selected one (or none, which is fatal).
    Alpn {
        /// Protocols the client offered, in its order.
        offered: Vec<String>,
        /// The protocol we selected.
        selected: Option<String>,
    },
    /// A line for the `-keylogfile`, in NSS key log format, without the newline.
    KeyLog(String),
    /// A certificate-verification step (s_server's verify callback lines).
    Verify(VerifyStep),
    /// The `-WWW`/`-HTTP` mode wants a file: answer with [`Session::respond_file`](crate::Session::respond_file).
    FileRequest(FileRequest),
    /// A file is being sent (s_server prints `FILE:<path>`).
    FileServed(String),
    /// A web request was answered (or its answer cut short): one log line's worth.
    WebRequest(WebRequest),
    /// A console command was carried out; `result` is what `SSL_do_handshake` returned
    /// (s_server prints `SSL_do_handshake -> <result>`), or `None` if it could not start
    /// (`Failed to initiate request`).
    CommandDone {
        /// The command.
        command: Command,
        /// `SSL_do_handshake`'s return value, `None` when the request could not be started.
        result: Option<i32>,
        /// OpenSSL's reason when the command failed.
        error: Option<String>,
    },
    /// `GET /reneg` in `-www`: `SSL_renegotiate` was called (s_server prints `SSL_renegotiate -> 1`).
    #[doc(hidden)]
    Renegotiating(i32),
    /// The `S` command: the session-cache statistics to print.
    #[doc(hidden)]
    Stats(CacheStats),
    /// The `B` command: heartbeats do not exist any more (removed in OpenSSL 1.1.1).
    #[doc(hidden)]
    HeartbeatUnsupported,
    /// Console `Q` or console EOF: close this connection and stop the server.
    #[doc(hidden)]
    StopServer,
    /// In `-rev` mode, the peer sent `CLOSE`.
    #[doc(hidden)]
    RevClose,
    /// DTLS: a peer returned a valid cookie and got an association (counted for `-naccept`).
    DatagramAccepted,
    /// DTLS: the retransmission timer fired and the last flight was sent again (s_server prints
    /// `TIMEOUT occurred`).
    RetransmitTimeout,
    /// DTLS with `-use_srtp`: the negotiated SRTP protection profile (comes right before
    /// [`Event::HandshakeComplete`]; s_server prints `SRTP Extension negotiated, profile=%s`).
    SrtpNegotiated(String),
    /// A line (or lines, with their newlines) that s_server prints on stderr from a callback:
    /// `cert_status: …` (`-status_verbose`), `New session added to external cache`,
    /// `Lookup session: cache hit|miss` (`-ext_cache`).
    #[doc(hidden)]
    Note(String),
    /// The client sent SNI and `-servername` is configured (s_server prints
    /// `Hostname in TLS extension: "<host>"`, then `Switching server context.` on a match).
    ServerName {
        /// The host name, non-printable bytes as `\xNN` as s_server prints them.
        host: String,
        /// It matched `-servername`: the connection now uses the `-cert2` context.
        switched: bool,
    },
    /// `-xcert`: one extended certificate was checked against the handshake with
    /// `SSL_check_chain` (s_server prints `Checking cert chain <n>:` and the flags on stderr);
    /// it is used when [`CertChainCheck::valid`] holds.
    CertChainCheck(CertChainCheck),
    /// The connection is over; nothing more will be transmitted. Always the last event.
    Closed(CloseReason),
    /// `-msg`, `-trace`, `-state`, `-tlsextdebug`, `-security_debug`, `-debug` output.
    Diagnostic(crate::output::Diagnostic),
    /// TLS 1.3 early data (0-RTT) from the peer, console mode with
    /// [`SessionOptions::early_data`](crate::SessionOptions::early_data) (s_server prints
    /// `Early data received:` before the first piece, then writes the data raw).
    EarlyData {
        /// The plaintext.
        data: Bytes,
        /// The first piece of this connection's early data.
        first: bool,
    },
    /// The early data phase is over (comes before [`Event::HandshakeComplete`]). s_server prints
    /// `End of early data` after data, else `No early data received` or `Early data was rejected`.
    EarlyDataEnd {
        /// Some early data was received.
        received: bool,
        /// `SSL_get_early_data_status`.
        status: EarlyDataStatus,
    },
    /// Reading early data failed; [`Event::Closed`] with the error follows (s_server prints
    /// `Error reading early data` instead of `ERROR`).
    EarlyDataError,
    /// TLS 1.2 PSK: the client's identity is not the one configured (s_server still uses the key
    /// and prints `PSK warning: client identity not what we expected`).
    PskIdentityMismatch {
        /// The identity the client sent.
        got: String,
        /// The `-psk_identity` configured.
        expected: String,
    },
    /// SRP (`-srpvfile`): a client logged in as `user`. `info` is the user's info field
    /// (`(null)` for a `-srpuserseed` stand-in), `None` if there is no such user (the handshake
    /// then fails). s_server prints `SRP username = "…"`, `LOOKUP during accept …`,
    /// `LOOKUP done …` / `LOOKUP not successful`, then `SRP parameters set: …` / `User … doesn't exist`.
    SrpLookup {
        /// The SRP user name the client sent.
        user: String,
        /// The user's info, if the user exists.
        info: Option<String>,
    },
}

/// What became of a client's early data (`SSL_get_early_data_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyDataStatus {
    /// The client sent none.
    NotSent,
    /// The client sent some and it was refused (no resumption, replay, over the limit …).
    Rejected,
    /// The client's early data was accepted.
    Accepted,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent close_notify (s_server prints `DONE`).
    PeerClosed,
    /// The peer's transport ended (TCP FIN) without close_notify, after the handshake.
    PeerEof,
    /// We closed: console `q`/`Q`/EOF, a finished HTTP response, `CLOSE` in `-rev`.
    LocalClose,
    /// A failure (s_server prints `ERROR` and the OpenSSL error stack).
    Error(SessionError),
}

/// The negotiated parameters and everything s_server prints when a handshake completes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandshakeInfo {
    /// `TLSv1.3`, `TLSv1.2`, …
    pub protocol: String,
    /// OpenSSL name of the cipher, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The protocol version the cipher belongs to (`SSL_CIPHER_get_version`, e.g. `TLSv1.2`).
    pub cipher_version: String,
    /// The session resumed an earlier one.
    pub resumed: bool,
    /// The selected ALPN protocol.
    pub alpn: Option<String>,
    /// The SNI host name the client sent.
    pub server_name: Option<String>,
    /// The key-exchange group (`X25519`, `P-256`, …), when known.
    pub group: Option<String>,
    /// The peer supports secure renegotiation (RFC 5746).
    pub secure_renegotiation: bool,
    /// The session in PEM (`-----BEGIN SSL SESSION PARAMETERS-----`).
    pub session_pem: String,
    /// `SSL_SESSION_print` output (the `SSL-Session:` block).
    pub session_text: String,
    /// Ciphers common to both sides, colon separated (`SSL_get_shared_ciphers`).
    pub shared_ciphers: String,
    /// The ciphers the client offered, OpenSSL names (unknown ones as `0xXXXX`).
    pub client_ciphers: Vec<String>,
    /// The `Signature Algorithms:` / `Shared Signature Algorithms:` / `Peer signing digest` lines.
    pub sigalgs_lines: Vec<String>,
    /// The `Supported groups:` / `Shared groups:` lines.
    pub groups_lines: Vec<String>,
    /// The client's certificate, if it sent one.
    pub peer_certificate: Option<PeerCertificate>,
    /// Result of verifying the client certificate: code and text (`0`, `ok`).
    pub verify_result: (i64, String),
    /// `-keymatexport`: the exported keying material (detailed info only).
    pub keying_material: Option<KeyingMaterial>,
    /// The protocol the client chose with NPN (`-nextprotoneg`; s_server prints `NEXTPROTO is`).
    pub next_protocol: Option<String>,
}

/// Keying material exported after the handshake (RFC 5705, `SSL_export_keying_material`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyingMaterial {
    /// The label.
    pub label: String,
    /// The requested length in bytes.
    pub len: usize,
    /// The material, or `None` if the export failed (s_server prints `    Error`).
    pub value: Option<Vec<u8>>,
}

/// A client certificate as s_server shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerCertificate {
    /// Subject as `X509_NAME_print_ex` prints it with `-nameopt` (default: OpenSSL's one-line
    /// form, `C = US, CN = x`).
    pub subject: String,
    /// Issuer, printed like `subject`.
    pub issuer: String,
    /// PEM encoding.
    pub pem: String,
    /// `X509_print` text dump.
    pub text: String,
    /// SHA-256 fingerprint of the DER, lower-case hex.
    pub sha256: String,
    /// The subject as s_server's `subject=` line shows it (`print_name` with `-nameopt`:
    /// `/C=US/CN=x` for `compat`, a leading newline and indented lines for multi-line styles).
    pub subject_line: String,
    /// The issuer as s_server's `issuer=` line shows it (see `subject_line`).
    pub issuer_line: String,
}

/// One step of client-certificate verification (s_server's `verify_callback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyStep {
    /// Chain depth (0 = the client's own certificate).
    pub depth: i32,
    /// Subject of the certificate at this depth.
    pub subject: String,
    /// Verification error at this step: code and text.
    pub error: Option<(i32, String)>,
    /// What the callback returned (1 = accept).
    pub ok: bool,
    /// Lines s_server adds after the error for some errors: `issuer= …`, `notBefore=…`,
    /// `notAfter=…`.
    pub detail: Vec<String>,
    /// The policy tree (`Require explicit Policy: …`, `Authority Policies: …`), printed unless
    /// `-verify_quiet`: with `X509_V_ERR_NO_EXPLICIT_POLICY`, or on the `-policy_print` step.
    pub policies: Vec<String>,
    /// The `-policy_print` step (the callback gets ok=2 and no certificate; s_server prints
    /// `verify return:2`).
    pub notify: bool,
}

/// The session-cache counters s_server's `print_stats` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Items in the session cache.
    pub number: i64,
    /// Client connects (always 0 on a server).
    pub connect: i64,
    /// Client renegotiates.
    pub connect_renegotiate: i64,
    /// Client connects that finished.
    pub connect_good: i64,
    /// Server accepts.
    pub accept: i64,
    /// Server renegotiates.
    pub accept_renegotiate: i64,
    /// Server accepts that finished.
    pub accept_good: i64,
    /// Session cache hits.
    pub hits: i64,
    /// Session cache misses.
    pub misses: i64,
    /// Session cache timeouts.
    pub timeouts: i64,
    /// Callback cache hits.
    pub cb_hits: i64,
    /// Cache full overflows.
    pub cache_full: i64,
    /// Cache size allowed.
    pub cache_size: i64,
}

/// One request of the web modes and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebRequest {
    /// The request method (`GET`, …).
    pub method: String,
    /// The request target as sent (`/a.txt`).
    pub path: String,
    /// The HTTP status sent: s_server's bytes always say 200 (errors included), `-keep_alive`
    /// sends real codes; `None` for `-HTTP`, whose file holds its own status line.
    pub status: Option<u16>,
    /// Why the request was not served as asked (refused path, file not opened, directory).
    pub refusal: Option<String>,
    /// Plaintext bytes of the answer (status line, headers and body).
    pub bytes: u64,
    /// The answer was cut short (the connection ended first).
    pub incomplete: bool,
}

/// A file the `-WWW`/`-HTTP` mode asks the adapter to read. The path was checked by
/// [`crate::http::validate_path`]: relative, no `..` component, no `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    /// The path relative to the served root, exactly as the client wrote it (no URL decoding,
    /// like s_server).
    pub path: String,
}

/// One `SSL_check_chain` result for an `-xcert` certificate (see [`Event::CertChainCheck`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertChainCheck {
    /// 1-based position among the `-xcert` certificates, in command-line order.
    pub index: usize,
    /// The certificate's subject, one line (`CN = example`).
    pub subject: String,
    /// The `CERT_PKEY_*` flags `SSL_check_chain` returned.
    pub flags: u32,
    /// Suite B compliance (`CERT_PKEY_SUITEB`), or `None` when Suite B is not in force
    /// (s_server prints `not tested`).
    pub suite_b: Option<bool>,
}

impl CertChainCheck {
    /// s_server's labels for the flags it prints, in its order.
    pub const FLAG_NAMES: [(&'static str, u32); 9] = [
        ("Overall Validity", 0x1),
        ("Sign with EE key", 0x2),
        ("EE signature", 0x10),
        ("CA signature", 0x20),
        ("EE key parameters", 0x40),
        ("CA key parameters", 0x80),
        ("Explicitly sign with EE key", 0x100),
        ("Issuer Name", 0x200),
        ("Certificate Type", 0x400),
    ];

    /// `CERT_PKEY_VALID`: the chain is usable for this handshake.
    pub fn valid(&self) -> bool {
        self.flags & 0x1 != 0
    }
}
