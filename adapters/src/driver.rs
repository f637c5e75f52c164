//! The async connection driver and accept loop, written once for every runtime.
//!
//! Per connection: write what the session wants to send, hand events to their owner, then wait
//! for the first of "socket readable", "the session's `poll_timeout`" and "server shutdown".
//! Reads go through one buffer per thread, so an idle connection owns no read buffer.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use event_listener::Event as Notify;
use futures_lite::future;
use sserve_engine::{Event, FileError, FileRequest, Instant, ServerConfig, SessionOptions, TlsSession};

use crate::files::{open_requested, read_piece, FileRoot};
use crate::keylog::KeyLog;
use crate::observer::Summary;
use crate::observer::{ConnId, Observer};
use crate::runtime::Runtime;
use crate::transport::Listener;
use crate::write_failure;

/// Size of one socket read (s_server's `bufsize`).
const READ_SIZE: usize = 16 * 1024;
/// Size of one file read while serving `-WWW`/`-HTTP`.
const FILE_CHUNK: usize = 128 * 1024;
/// How long to wait for the peer's FIN after our last write (s_server waits 0.5 s).
const LINGER: StdDuration = StdDuration::from_millis(500);

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_SIZE]);
}

/// An observer shared by concurrent connections.
pub type SharedObserver = Arc<Mutex<dyn Observer + Send>>;

/// Tells the accept loop and every connection to stop (SIGINT/SIGTERM).
#[derive(Debug, Default)]
pub struct Shutdown {
    triggered: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// A new, untriggered switch.
    pub fn new() -> Arc<Self> {
        Arc::new(Shutdown::default())
    }

    /// Stop accepting; open connections send close_notify and end.
    pub fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
        self.notify.notify(usize::MAX);
    }

    /// Has [`Shutdown::trigger`] been called?
    pub fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Resolves once triggered.
    pub async fn wait(&self) {
        loop {
            if self.is_triggered() {
                return;
            }
            let listener = self.notify.listen();
            if self.is_triggered() {
                return;
            }
            listener.await;
        }
    }
}

/// Transport-side options of a concurrent server.
#[derive(Debug)]
pub struct AsyncServeOptions {
    /// `-naccept N`: accept N connections, finish them, then return.
    pub naccept: Option<u64>,
    /// At most this many connections at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// `-WWW`/`-HTTP`: where files come from.
    pub files: Option<Arc<FileRoot>>,
    /// `-keylogfile`.
    pub keylog: Option<Arc<Mutex<KeyLog>>>,
}

impl Default for AsyncServeOptions {
    fn default() -> Self {
        AsyncServeOptions {
            naccept: None,
            max_connections: 16 * 1024,
            files: None,
            keylog: None,
        }
    }
}

/// Counts live connections and wakes whoever waits for that count to drop.
#[derive(Debug, Default)]
struct Tracker {
    active: AtomicUsize,
    changed: Notify,
}

impl Tracker {
    async fn wait_below(&self, limit: usize) {
        loop {
            if self.active.load(Ordering::SeqCst) < limit {
                return;
            }
            let l = self.changed.listen();
            if self.active.load(Ordering::SeqCst) < limit {
                return;
            }
            l.await;
        }
    }
}

/// Decrements the live count when a connection task ends, however it ends.
struct Live(Arc<Tracker>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify(usize::MAX);
    }
}

/// Everything a connection task shares with the server.
struct Shared<R: Runtime> {
    rt: R,
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    files: Option<Arc<FileRoot>>,
    keylog: Option<Arc<Mutex<KeyLog>>>,
    observer: SharedObserver,
    shutdown: Arc<Shutdown>,
    epoch: StdInstant,
}

impl<R: Runtime> Shared<R> {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn to_std(&self, t: Instant) -> StdInstant {
        self.epoch + StdDuration::from_micros(t.as_micros())
    }

    fn io_error(&self, context: &str, e: &io::Error) {
        lock(&self.observer).io_error(context, e);
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while printing must not silence every later connection.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Accepts and serves connections concurrently until `-naccept` is reached or `shutdown` fires,
/// then waits for the connections in flight.
#[allow(clippy::too_many_arguments)]
pub async fn serve<R: Runtime>(
    rt: R,
    listener: Listener,
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    serve: AsyncServeOptions,
    observer: SharedObserver,
    shutdown: Arc<Shutdown>,
) -> Summary {
    let mut summary = Summary::default();
    let listener = match listener.set_nonblocking(true).and_then(|()| rt.listener(listener)) {
        Ok(l) => l,
        Err(e) => {
            lock(&observer).io_error("listen", &e);
            return summary;
        }
    };
    let shared = Arc::new(Shared {
        rt: rt.clone(),
        config,
        opts,
        files: serve.files,
        keylog: serve.keylog,
        observer,
        shutdown: shutdown.clone(),
        epoch: StdInstant::now(),
    });
    let tracker = Arc::new(Tracker::default());
    let max = serve.max_connections.max(1);
    while serve.naccept.is_none_or(|n| summary.connections < n) {
        let accepted = future::or(
            async {
                tracker.wait_below(max).await;
                Some(rt.accept(&listener).await)
            },
            async {
                shutdown.wait().await;
                None
            },
        )
        .await;
        match accepted {
            None => break,
            Some(Err(e)) => {
                shared.io_error("accept", &e);
                // EMFILE and friends: do not spin.
                rt.sleep_until(StdInstant::now() + StdDuration::from_millis(50)).await;
            }
            Some(Ok((stream, peer))) => {
                summary.connections += 1;
                let id = summary.connections;
                peer.report(&mut *lock(&shared.observer), id);
                tracker.active.fetch_add(1, Ordering::SeqCst);
                let live = Live(tracker.clone());
                let shared = shared.clone();
                rt.spawn(async move {
                    drive(&shared, id, stream).await;
                    drop(live);
                });
            }
        }
    }
    // Stop listening as soon as the count is reached, then let the connections finish.
    drop(listener);
    tracker.wait_below(1).await;
    summary
}

/// What ended a wait in the connection loop.
enum Wake {
    Readable(io::Result<()>),
    Timer,
    Shutdown,
}

/// Serves one connection to its end.
async fn drive<R: Runtime>(shared: &Shared<R>, id: ConnId, mut stream: R::Stream) {
    let mut session = match shared.config.session(shared.opts.clone(), shared.now()) {
        Ok(s) => s,
        Err(e) => return shared.io_error("creating a session", &io::Error::other(e.reason)),
    };
    let mut peer_ended = false;
    loop {
        if let Err(e) = pump(shared, id, &mut session, &mut stream).await {
            if !write_failure::is_peer_gone(&e) {
                shared.io_error("write", &e);
            }
            peer_ended = true;
            write_failure::end_session(&mut session, shared.now(), |event| {
                lock(&shared.observer).event(id, event);
            });
            break;
        }
        if session.is_closed() {
            break;
        }
        let deadline = session.poll_timeout().map(|t| shared.to_std(t));
        let wake = future::or(
            async { Wake::Readable(R::readable(&stream).await) },
            future::or(
                async {
                    match deadline {
                        Some(d) => shared.rt.sleep_until(d).await,
                        None => future::pending::<()>().await,
                    }
                    Wake::Timer
                },
                async {
                    shared.shutdown.wait().await;
                    Wake::Shutdown
                },
            ),
        )
        .await;
        let now = shared.now();
        match wake {
            Wake::Readable(Ok(())) => {
                let ended = READ_BUF.with_borrow_mut(|buf| match R::try_read(&stream, buf) {
                    Ok(0) => true,
                    Ok(n) => {
                        session.handle_input(now, &buf[..n]);
                        false
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                    Err(_) => true,
                });
                if ended {
                    peer_ended = true;
                    session.handle_eof(now);
                }
            }
            Wake::Readable(Err(_)) => {
                peer_ended = true;
                session.handle_eof(now);
            }
            Wake::Timer => session.handle_timeout(now),
            Wake::Shutdown => session.close(),
        }
    }
    linger::<R>(shared, &stream, peer_ended).await;
}

/// Half-closes and waits briefly for the peer's FIN so our last alert or close_notify is read
/// before the socket goes away (as s_server's `do_server` does).
async fn linger<R: Runtime>(shared: &Shared<R>, stream: &R::Stream, peer_ended: bool) {
    let _ = R::shutdown_write(stream);
    if peer_ended {
        return;
    }
    let until = StdInstant::now() + LINGER;
    future::or(
        async {
            loop {
                if R::readable(stream).await.is_err() {
                    return;
                }
                let done = READ_BUF.with_borrow_mut(|buf| match R::try_read(stream, buf) {
                    Ok(0) => true,
                    Ok(_) => false,
                    Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                });
                if done {
                    return;
                }
            }
        },
        shared.rt.sleep_until(until),
    )
    .await;
}

/// Writes pending ciphertext and handles events until the session has nothing more to say.
async fn pump<R: Runtime>(
    shared: &Shared<R>,
    id: ConnId,
    session: &mut TlsSession,
    stream: &mut R::Stream,
) -> io::Result<()> {
    loop {
        while let Some(t) = session.poll_transmit() {
            R::write_all(stream, &t.data).await?;
        }
        let Some(event) = session.poll_event() else {
            return Ok(());
        };
        if let Event::KeyLog(line) = &event {
            if let Some(k) = &shared.keylog {
                if let Err(e) = lock(k).write_line(line) {
                    shared.io_error("keylog file", &e);
                }
            }
        }
        lock(&shared.observer).event(id, &event);
        if let Event::FileRequest(req) = event {
            send_file(shared, session, stream, &req).await?;
        }
    }
}

/// Streams a requested file: the first piece is read on the connection's task, every later one
/// on the runtime's blocking pool while the previous one is written, so memory stays bounded
/// for any file size.
async fn send_file<R: Runtime>(
    shared: &Shared<R>,
    session: &mut TlsSession,
    stream: &mut R::Stream,
    req: &FileRequest,
) -> io::Result<()> {
    let root = shared.files.clone();
    let path = req.path.clone();
    // Opening and the first read happen right here, on the connection's task: for the small
    // files a test server mostly serves (from the page cache) that costs microseconds, while a
    // trip to the blocking pool costs two thread hand-offs per request. Further pieces of a
    // large file are read on the pool, ahead of the writes.
    let first = (|| {
        let mut file = open_requested(root.as_deref(), &path)?;
        let piece = read_piece(&mut file, FILE_CHUNK).map_err(|e| FileError::Open(e.to_string()))?;
        Ok::<_, FileError>((file, piece))
    })();
    let (mut file, mut piece) = match first {
        Ok(f) => f,
        Err(e) => {
            session.respond_file(req, Err(e));
            return Ok(());
        }
    };
    session.respond_file(req, Ok(()));
    loop {
        // A short read of a regular file means its end was reached.
        let last = piece.len() < FILE_CHUNK;
        session.file_data(&piece);
        let mut out = Vec::new();
        while let Some(t) = session.poll_transmit() {
            out.push(t.data);
        }
        let write = async {
            for data in &out {
                R::write_all(stream, data).await?;
            }
            Ok::<(), io::Error>(())
        };
        if session.is_closed() || last {
            write.await?;
            break;
        }
        // Read the next piece while this one is being written.
        let read = shared.rt.unblock(move || {
            let piece = read_piece(&mut file, FILE_CHUNK);
            (file, piece)
        });
        let (written, (f, next)) = future::zip(write, read).await;
        written?;
        file = f;
        match next {
            Ok(p) => piece = p,
            Err(e) => {
                shared.io_error("reading file", &e);
                break;
            }
        }
    }
    session.file_end();
    Ok(())
}
