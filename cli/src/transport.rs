//! s_server's transport and process-level options: `-unix`/`-unlink` (a Unix-domain listening
//! socket), `-nbio` (non-blocking I/O, which sserve always uses), `-nbio_test` (short socket I/O,
//! in the adapters), `-sendfile` (never possible
//! here: no kernel TLS), the "Provider" options (`-provider`, `-provider-path`, `-propquery`) and
//! the "Random state" options (`-rand`, `-writerand`).

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use clap::{ArgAction, Command};
use sserve_adapters::driver::SharedObserver;
use sserve_adapters::observer::{ConnId, Observer};
use sserve_adapters::transport::{bind_unix, set_short_io, Listener};
use sserve_engine::ossl::transport::{self as ossl, LoadedProvider};
use sserve_engine::{AppMode, Event};

use crate::error::Error;
use crate::settings::{ProviderStep, Settings, TransportSettings};

/// Options that may be given more than once and act in command-line order.
const REPEATABLE: &[&str] = &["provider", "provider-path", "propquery", "rand"];

/// Lets the repeatable options collect every occurrence.
pub(crate) fn clap_args(mut cmd: Command) -> Command {
    for name in REPEATABLE {
        cmd = cmd.mut_arg(*name, |a| a.action(ArgAction::Append));
    }
    cmd
}

/// `-writerand file`, written when sserve exits (s_server writes it at the end of `main`).
static WRITERAND: OnceLock<String> = OnceLock::new();

/// What must stay alive for the whole run.
#[derive(Debug, Default)]
pub(crate) struct Startup {
    /// Providers loaded with `-provider` (unloading them would break later fetches).
    _providers: Vec<LoadedProvider>,
}

/// Start-up work that s_server does while parsing its options and right after: provider options
/// in command-line order, then `-rand` files. Runs before the first `SSL_CTX` exists, so the
/// context sees exactly the providers and property query asked for.
pub(crate) fn start(t: &TransportSettings) -> Result<Startup, Error> {
    let mut startup = Startup::default();
    for step in &t.providers {
        match step {
            ProviderStep::Load(value) => startup._providers.push(ossl::load_provider(value).map_err(|e| {
                let hint = "use -provider-path or the OPENSSL_MODULES environment variable";
                format!("unable to load provider {value} ({hint})")
                    + &e.stack.first().map(|l| format!(": {l}")).unwrap_or_default()
            })?),
            ProviderStep::SearchPath(value) => {
                ossl::set_provider_search_path(value).map_err(|e| format!("-provider-path: {}", e.reason))?
            }
            ProviderStep::Properties(value) => {
                ossl::set_default_properties(value).map_err(|e| format!("-propquery: {}", e.reason))?
            }
        }
    }
    for list in &t.rand {
        // LIST_SEPARATOR_CHAR is ':' on Unix; an empty tail ends the list, as in app_rand.c.
        for file in list.split(':').filter(|f| !f.is_empty()) {
            let seed = read_rand_file(file).map_err(|_| format!("Can't load {file} into RNG"))?;
            ossl::rand_add(&seed).map_err(|_| format!("Can't load {file} into RNG"))?;
        }
    }
    if let Some(f) = &t.writerand {
        let _ = WRITERAND.set(f.clone());
    }
    Ok(startup)
}

/// `-rand file`: what `RAND_load_file(file, -1)` reads: a regular file whole, anything else
/// (`/dev/urandom`) 256 bytes.
fn read_rand_file(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let limit = if file.metadata()?.is_file() { u64::MAX } else { 256 };
    let mut seed = Vec::new();
    file.take(limit).read_to_end(&mut seed)?;
    Ok(seed)
}

/// `-writerand file`: as `RAND_write_file`, 1024 fresh random bytes, the file created with
/// mode 0600 (an existing one is overwritten in place and then restricted to 0600).
fn write_rand_file(path: &str) -> Result<(), Error> {
    use std::io::Write;
    let bytes = ossl::random_bytes(ossl::RAND_FILE_BYTES).map_err(|e| e.reason)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| crate::error::io_text(&e))?;
    file.write_all(&bytes).map_err(|e| crate::error::io_text(&e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// At exit: `-writerand` (on success and failure alike, as s_server). Returns the exit status,
/// 1 if the file could not be written.
pub(crate) fn finish(code: i32) -> i32 {
    let Some(path) = WRITERAND.get() else {
        return code;
    };
    match write_rand_file(path) {
        Ok(()) => code,
        Err(e) => {
            eprintln!("sserve: Cannot write random bytes to {path}: {e}");
            1
        }
    }
}

/// Checks the transport options against the rest of the command line, as s_server does.
pub(crate) fn validate(t: &TransportSettings, dtls: bool, mode: AppMode) -> Result<(), Error> {
    if t.unix.is_some() && dtls {
        return Err("Can't use unix sockets and datagrams together".into());
    }
    if t.sendfile && !matches!(mode, AppMode::Web(w) if w != sserve_engine::http::WebMode::Status) {
        return Err("Can't use -sendfile without -WWW or -HTTP".into());
    }
    let nbio_test = t.nbio_test;
    if nbio_test && dtls {
        // s_server pushes its filter over the datagram BIO too, where a short read truncates the
        // datagram and no handshake can complete.
        return Err("option -nbio_test: DTLS datagrams cannot be read in pieces".into());
    }
    // s_server's -rev handler does not insert the test BIO.
    set_short_io(nbio_test && mode != AppMode::Rev);
    Ok(())
}

/// A Unix-domain socket path bound by sserve: removed when the server is done, as s_server's
/// `do_server` does.
#[derive(Debug)]
pub(crate) struct UnixPath(PathBuf);

impl Drop for UnixPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Where the server listens, for the start-up line.
#[derive(Debug)]
pub(crate) enum Bound {
    /// TCP.
    Ip(SocketAddr),
    /// `-unix path`.
    Unix(UnixPath),
}

impl From<SocketAddr> for Bound {
    fn from(a: SocketAddr) -> Self {
        Bound::Ip(a)
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Ip(a) => a.fmt(f),
            Bound::Unix(p) => write!(f, "unix:{}", p.0.display()),
        }
    }
}

impl Bound {
    /// s_server's `ACCEPT` line. A Unix-domain socket has no port, so s_server always reports
    /// its address, which `BIO_ADDR_hostname_string` renders as `localhost:<path>`.
    pub(crate) fn accept_line(&self, requested_port: u16) -> String {
        match self {
            Bound::Ip(a) => sserve_adapters::listen::accept_line(requested_port, *a),
            Bound::Unix(p) => format!("ACCEPT localhost:{}", p.0.display()),
        }
    }
}

/// `-unix path` (and `-unlink`): the listening socket, or `None` for TCP. As in s_server, the
/// last of `-unix`, `-accept` and `-port` decides.
pub(crate) fn listen_unix(t: &TransportSettings) -> Result<Option<(Listener, Bound)>, Error> {
    let Some(path) = &t.unix else {
        return Ok(None);
    };
    let listener = bind_unix(path.as_ref(), t.unlink).map_err(|e| {
        let hint = if e.kind() == io::ErrorKind::AddrInUse && !t.unlink {
            " (remove it or add -unlink)"
        } else {
            ""
        };
        format!(
            "cannot listen on unix socket {path}: {}{hint}",
            crate::error::io_text(&e)
        )
    })?;
    Ok(Some((listener.into(), Bound::Unix(UnixPath(PathBuf::from(path))))))
}

/// What s_server prints per connection for `-nbio` and `-sendfile`, around the console observer.
struct Notices {
    inner: SharedObserver,
    /// `-nbio`: "Turned on non blocking io" (stderr) for every connection except with `-rev`,
    /// whose handler does not switch, and `-quiet`.
    nbio: bool,
    /// `-sendfile`: the memory transport is never kernel TLS, so s_server's fallback warning
    /// follows every file served.
    sendfile: bool,
}

impl Notices {
    fn inner(&self) -> std::sync::MutexGuard<'_, dyn Observer + Send + 'static> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn nbio_line(&self) {
        if self.nbio {
            let _ = io::stderr().lock().write_all(b"Turned on non blocking io\n");
        }
    }
}

impl Observer for Notices {
    fn accepted(&mut self, conn: ConnId, peer: SocketAddr) {
        self.inner().accepted(conn, peer);
        self.nbio_line();
    }

    fn accepted_unix(&mut self, conn: ConnId) {
        self.inner().accepted_unix(conn);
        self.nbio_line();
    }

    fn event(&mut self, conn: ConnId, event: &Event) {
        self.inner().event(conn, event);
        if self.sendfile && matches!(event, Event::FileServed(_)) {
            let _ = io::stderr()
                .lock()
                .write_all(b"Warning: sendfile requested but KTLS is not available\n");
        }
    }

    fn io_error(&mut self, context: &str, error: &io::Error) {
        self.inner().io_error(context, error);
    }
}

/// Wraps `observer` with the `-nbio`/`-sendfile` notices when they apply (not with `-json`).
pub(crate) fn observer(observer: SharedObserver, s: &Settings, quiet: bool) -> SharedObserver {
    let t = &s.transport;
    // -nbio_test implies -nbio, as in s_server.
    let nbio = (t.nbio || t.nbio_test) && !quiet && s.mode != AppMode::Rev;
    let sendfile = t.sendfile;
    if s.json || !(nbio || sendfile) {
        return observer;
    }
    Arc::new(Mutex::new(Notices {
        inner: observer,
        nbio,
        sendfile,
    }))
}

/// Whether OpenSSL's `SSL_CONF` knows `name`, without creating an `SSL_CTX` (which would load
/// the default provider before `-provider` had its say).
pub(crate) fn ssl_conf_lookup(name: &str) -> Option<bool> {
    ossl::ssl_conf_lookup(name)
}
