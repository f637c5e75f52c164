//! The blocking `std::net` adapter: connections are served one after another, as
//! `openssl s_server` does, but a silent peer cannot hold the server (the engine's handshake
//! timeout), and the listener closes as soon as `-naccept` is reached.
//!
//! The serving thread reads the socket itself, into one buffer the session decrypts in place,
//! and waits in `poll` on the socket and a wake-up socket, with the session's `poll_timeout` as
//! the deadline. One thread reads the console (stdin) for the whole run into a small bounded
//! channel and pokes the wake-up socket; so does the shutdown switch. Backpressure is
//! s_server's: while the serving thread is busy (its observer writes to a stdout nobody reads,
//! or the peer is not reading what we send) nobody reads the socket, and TCP stops the peer.

use std::io::{self, Read, Write};
use std::net::Shutdown as SocketShutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::Duration as StdDuration;

use sserve_engine::{Event, Instant, PeerRead, PeerReader, Pulled, ServerConfig, SessionOptions};

use crate::connection::{self, Connection, SendEnd, Step, FILE_PIECE, LINGER, READ_AHEAD, SEND_CHUNK};
use crate::files::{open_requested, FileRoot, ReadAhead};
use crate::keylog::KeyLog;
pub use crate::observer::{ConnId, Observer, Summary};
pub use crate::shutdown::Shutdown;
use crate::transport::{Listener, Stream};

/// Console messages the serving thread may hold unread (each at most 16 KiB): what the console
/// can make the server buffer is bounded by this.
const QUEUE: usize = 4;
/// How often a blocked socket write looks at the send timeout and at shutdown.
const WRITE_SLICE: StdDuration = StdDuration::from_millis(200);
/// How long close_notify may take to leave when the server is stopping.
const STOP_WRITE: StdDuration = StdDuration::from_millis(100);

/// Options of the serving loop (the transport side; the TLS side is in `ServerConfig`).
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// `-naccept N`: stop after N connections (the listener closes when the Nth is accepted).
    pub naccept: Option<u64>,
    /// `-WWW`/`-HTTP`: where files come from.
    pub files: Option<FileRoot>,
    /// `-keylogfile`.
    pub keylog: Option<KeyLog>,
    /// Read the console (stdin) and hand it to the session (s_server's default mode).
    pub console: bool,
}

#[derive(Debug)]
enum Input {
    Console(Vec<u8>),
    ConsoleEof,
}

/// The serving thread's wake-up: whoever queues console input, and the shutdown switch, write a
/// byte to the far end, which the serving thread polls beside the socket it serves.
#[derive(Debug)]
struct Wake {
    near: UnixStream,
    far: Arc<UnixStream>,
}

impl Wake {
    fn new() -> io::Result<Self> {
        let (near, far) = UnixStream::pair()?;
        near.set_nonblocking(true)?;
        far.set_nonblocking(true)?;
        Ok(Wake {
            near,
            far: Arc::new(far),
        })
    }

    /// Pokes the serving thread; never blocks (a full socket already says "look").
    fn poker(&self) -> impl Fn() + Send + Sync + 'static {
        let far = self.far.clone();
        move || {
            let _ = (&*far).write(&[1]);
        }
    }

    /// Takes the pokes seen so far, before the channel and the switch are looked at, so a poke
    /// that comes after is not lost.
    fn clear(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.near).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// What [`ready`] saw.
#[derive(Debug, Clone, Copy)]
struct Ready {
    socket: bool,
    woken: bool,
}

/// Waits until `socket` (when given) is readable or `wake` was poked, at most `timeout` (no
/// limit when `None`). Both false: the time ran out.
fn ready(socket: Option<BorrowedFd<'_>>, wake: &Wake, timeout: Option<StdDuration>) -> Ready {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    // Past rustix's range is as good as no limit.
    let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
    let n = if socket.is_some() { 2 } else { 1 };
    loop {
        let mut fds = [
            PollFd::new(&wake.near, PollFlags::IN),
            PollFd::from_borrowed_fd(socket.unwrap_or(wake.near.as_fd()), PollFlags::IN),
        ];
        match poll(&mut fds[..n], timeout.as_ref()) {
            Ok(_) => {
                return Ready {
                    woken: !fds[0].revents().is_empty(),
                    socket: n == 2 && !fds[1].revents().is_empty(),
                }
            }
            Err(rustix::io::Errno::INTR) => continue,
            // Cannot wait (out of memory for the poll set): say the socket is ready, whose read
            // then reports its own error or blocks like a plain blocking server.
            Err(_) => {
                return Ready {
                    socket: socket.is_some(),
                    woken: false,
                }
            }
        }
    }
}

/// The connection's socket as the session reads it (after `poll` found it readable, so the
/// one read a call makes does not wait): straight into OpenSSL's record buffer.
struct SocketReader<'s>(&'s Stream);

impl PeerReader for SocketReader<'_> {
    fn read<'b>(&mut self, buf: &'b mut [std::mem::MaybeUninit<u8>]) -> PeerRead<'b> {
        connection::peer_read(self.0.read_uninit(buf))
    }
}

/// A blocking server: owns the clock epoch and the console reader.
pub struct BlockingServer {
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    serve: ServeOptions,
    shutdown: Arc<Shutdown>,
    epoch: std::time::Instant,
    /// Console input; made with the wake-up, on the first [`BlockingServer::serve`].
    console: Option<(Wake, Receiver<Input>)>,
}

impl BlockingServer {
    /// A server for `config`, creating sessions with `opts`, stopped by `shutdown`.
    pub fn new(
        config: Arc<ServerConfig>,
        opts: Arc<SessionOptions>,
        serve: ServeOptions,
        shutdown: Arc<Shutdown>,
    ) -> Self {
        BlockingServer {
            config,
            opts,
            serve,
            shutdown,
            epoch: std::time::Instant::now(),
            console: None,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    /// The wake-up and the console channel, started once: the shutdown switch and the console
    /// reader (when the console is served) poke the wake-up.
    fn start(&mut self) -> io::Result<()> {
        if self.console.is_some() {
            return Ok(());
        }
        let wake = Wake::new()?;
        self.shutdown.on_trigger(wake.poker());
        let (tx, rx): (SyncSender<Input>, _) = std::sync::mpsc::sync_channel(QUEUE);
        if self.serve.console {
            crate::shutdown::spawn_console_reader(tx, Input::Console, Input::ConsoleEof, wake.poker());
        }
        self.console = Some((wake, rx));
        Ok(())
    }

    /// Accepts and serves connections one at a time until `-naccept` is reached, the console
    /// stops the server, or the shutdown switch is triggered.
    pub fn serve(&mut self, listener: impl Into<Listener>, observer: &mut dyn Observer) -> Summary {
        let mut summary = Summary::default();
        let listener = listener.into();
        if let Err(e) = self.start().and_then(|()| listener.set_nonblocking(true)) {
            observer.io_error("listen", &e);
            return summary;
        }
        let mut listener = Some(listener);
        while let Some(l) = listener.as_ref() {
            if !self.accept_ready(l) {
                break;
            }
            let stream = match l.accept() {
                Ok((s, peer)) => {
                    peer.report(observer, summary.connections + 1);
                    if let Some(local) = observer.wants_local_address().then(|| s.local_addr()).flatten() {
                        observer.local_address(summary.connections + 1, local);
                    }
                    s
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    observer.io_error("accept", &e);
                    // EMFILE and friends: do not spin.
                    thread::sleep(StdDuration::from_millis(50));
                    continue;
                }
            };
            summary.connections += 1;
            if self.serve.naccept.is_some_and(|n| summary.connections >= n) {
                listener = None;
            }
            if self.serve_connection(stream, summary.connections, observer) {
                summary.stopped_by_console = !self.shutdown.is_triggered();
                break;
            }
        }
        summary
    }

    /// Waits for a connection to accept: true when one may be waiting, false when the server
    /// must stop. Console input meanwhile stays queued for the next connection.
    fn accept_ready(&self, listener: &Listener) -> bool {
        let Some((wake, _)) = &self.console else {
            return false;
        };
        loop {
            if self.shutdown.is_triggered() {
                return false;
            }
            let r = ready(Some(listener.as_fd()), wake, None);
            if r.woken {
                wake.clear();
            }
            if r.socket {
                return !self.shutdown.is_triggered();
            }
        }
    }

    /// Serves one connection to its end. Returns true when the console or a signal asked to stop.
    fn serve_connection(&mut self, mut stream: Stream, id: u64, observer: &mut dyn Observer) -> bool {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(WRITE_SLICE));
        let session = match self.config.session(self.opts.clone(), self.now()) {
            Ok(s) => s,
            Err(e) => {
                observer.io_error("creating a session", &io::Error::other(e.reason));
                return false;
            }
        };
        let mut conn = Connection::new(session);
        let mut stopping = false;
        let mut peer_ended = false;
        let mut file = None;
        let mut ahead = ReadAhead::default();
        loop {
            if self.shutdown.is_triggered() && !stopping {
                stopping = true;
                let _ = stream.set_write_timeout(Some(STOP_WRITE));
                conn.close();
            }
            match conn.next() {
                Step::Send(data) => {
                    if let Err(end) = self.send(&mut conn, &mut stream, &data) {
                        connection::report_send_end(observer, &end);
                        peer_ended |= !matches!(end, SendEnd::Stopping);
                        conn.send_failed(self.now(), &end);
                    }
                }
                Step::Report(event) => {
                    if matches!(event, Event::Closed(_)) {
                        observer.totals(id, &conn.totals());
                    }
                    crate::observer::report(self.serve.keylog.as_ref(), observer, id, &event)
                }
                Step::Open(req) => match open_requested(self.serve.files.as_ref(), &req.path) {
                    Ok(f) => {
                        conn.opened(Ok(()), Some(f.size()));
                        file = Some(f);
                        ahead = ReadAhead::default();
                    }
                    Err(e) => conn.opened(Err(e), None),
                },
                Step::Read => {
                    // Pieces of a record, cut from larger reads (as the async driver does).
                    let chunk = match file.as_mut() {
                        Some(_) if ahead.has_piece() => Ok(()),
                        Some(f) => f.read_piece(READ_AHEAD).map(|c| ahead.set(c)),
                        None => Err(io::Error::other("no file open")),
                    };
                    match chunk {
                        Ok(()) => conn.piece(Ok(ahead.piece(FILE_PIECE))),
                        Err(e) => {
                            observer.io_error("reading file", &e);
                            conn.piece(Err(e));
                        }
                    }
                }
                Step::Done => break,
                Step::Wait => self.wait(&mut conn, &mut stream, &mut peer_ended),
            }
        }
        let stop = conn.stop_requested() || stopping;
        // The session is done: the linger below waits for the peer's FIN with the socket alone.
        drop((file, conn));
        if !stopping {
            self.linger(&mut stream, peer_ended);
        }
        let _ = stream.shutdown(SocketShutdown::Both);
        stop
    }

    /// Waits for the peer, the console or the session's timer, and hands what came to the
    /// connection. Like s_server's loop, one pass takes a queued console message and whatever
    /// the socket has, so neither side can starve the other.
    fn wait(&mut self, conn: &mut Connection, stream: &mut Stream, peer_ended: &mut bool) {
        let Some((wake, console)) = &self.console else {
            return;
        };
        let console_input = match console.try_recv() {
            Ok(Input::Console(data)) => {
                conn.console(&data);
                true
            }
            Ok(Input::ConsoleEof) => {
                conn.console_eof();
                true
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => false,
        };
        let timeout = if console_input {
            Some(StdDuration::ZERO)
        } else {
            conn.poll_timeout()
                .map(|deadline| StdDuration::from(deadline.saturating_duration_since(self.now())))
        };
        let r = ready((!*peer_ended).then(|| stream.as_fd()), wake, timeout);
        if r.woken {
            // Console input or the switch: the loop looks at both before waiting again.
            wake.clear();
        }
        if r.socket {
            if conn.readable(self.now(), &mut SocketReader(stream)) == Pulled::End {
                *peer_ended = true;
            }
        } else if !r.woken && !console_input {
            conn.timeout(self.now());
        }
    }

    /// Writes `data`, a slice at a time, telling the connection whether the peer takes it, so a
    /// peer that stopped reading ends at the send timeout instead of holding the server.
    fn send(&self, conn: &mut Connection, stream: &mut Stream, data: &[u8]) -> Result<(), SendEnd> {
        let mut rest = data;
        while !rest.is_empty() {
            let n = rest.len().min(SEND_CHUNK);
            let start = self.now();
            match stream.write(&rest[..n]) {
                Ok(0) => return Err(SendEnd::Failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    rest = &rest[n..];
                    conn.sent(self.now());
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    // The peer has not read since `start`: the send timer runs from there
                    // (cleared by `sent`).
                    conn.send_blocked(start);
                    if self.shutdown.is_triggered() {
                        return Err(SendEnd::Stopping);
                    }
                    conn.timeout(self.now());
                    if conn.is_send_stalled() {
                        return Err(SendEnd::Stalled);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SendEnd::Failed(e)),
            }
        }
        Ok(())
    }

    /// Half-closes and waits briefly for the peer's FIN, so our last alert or close_notify is
    /// read before the socket goes away (s_server's `do_server` does the same). What the peer
    /// still sends is read and dropped; console input stays queued for the next connection.
    fn linger(&mut self, stream: &mut Stream, peer_ended: bool) {
        let _ = stream.shutdown(SocketShutdown::Write);
        if peer_ended {
            return;
        }
        let Some((wake, _)) = &self.console else {
            return;
        };
        let until = std::time::Instant::now() + LINGER;
        let mut sink = [std::mem::MaybeUninit::uninit(); 4096];
        while !self.shutdown.is_triggered() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            let r = ready(Some(stream.as_fd()), wake, Some(left));
            if r.woken {
                wake.clear();
            } else if !r.socket {
                break;
            }
            if r.socket && connection::peer_read(stream.read_uninit(&mut sink)) == PeerRead::End {
                break;
            }
        }
    }
}
