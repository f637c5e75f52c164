//! The blocking `std::net` adapter: connections are served one after another, as
//! `openssl s_server` does, but a silent peer cannot hold the server (the engine's handshake
//! timeout), and the listener closes as soon as `-naccept` is reached.
//!
//! Threads only move bytes: one reads the console (stdin) for the whole run, one reads the
//! current socket; both feed one bounded channel that the serving thread waits on with the
//! session's `poll_timeout` as the deadline. The bound is the backpressure: when the serving
//! thread is behind (its observer writes to a stdout nobody reads, or the peer is not reading
//! what we send), the readers stop reading, and TCP stops the peer.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::Shutdown as SocketShutdown;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::Duration as StdDuration;

use sserve_engine::{Event, Instant, ServerConfig, SessionOptions};

use crate::connection::{self, Connection, SendEnd, Step, FILE_PIECE, LINGER, READ_AHEAD, READ_SIZE, SEND_CHUNK};
use crate::files::{open_requested, FileRoot, ReadAhead};
use crate::keylog::KeyLog;
pub use crate::observer::{ConnId, Observer, Summary};
pub use crate::shutdown::Shutdown;
use crate::transport::{Listener, Stream};

/// Messages the serving thread may hold unread (each at most [`READ_SIZE`] bytes): what a
/// peer or the console can make the server buffer is bounded by this.
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
    Net(u64, Vec<u8>),
    NetEnd(u64),
    Console(Vec<u8>),
    ConsoleEof,
    /// Look at the shutdown switch.
    Wake,
}

/// A blocking server: owns the clock epoch and the console reader.
pub struct BlockingServer {
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    serve: ServeOptions,
    shutdown: Arc<Shutdown>,
    epoch: std::time::Instant,
    tx: SyncSender<Input>,
    rx: Receiver<Input>,
    /// Console input that arrived while a connection was ending: it belongs to the next one.
    deferred: VecDeque<Input>,
    console_started: bool,
}

impl BlockingServer {
    /// A server for `config`, creating sessions with `opts`, stopped by `shutdown`.
    pub fn new(
        config: Arc<ServerConfig>,
        opts: Arc<SessionOptions>,
        serve: ServeOptions,
        shutdown: Arc<Shutdown>,
    ) -> Self {
        let (tx, rx) = crate::shutdown::woken_channel(&shutdown, QUEUE, || Input::Wake);
        BlockingServer {
            config,
            opts,
            serve,
            shutdown,
            epoch: std::time::Instant::now(),
            tx,
            rx,
            deferred: VecDeque::new(),
            console_started: false,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn start_console(&mut self) {
        if self.console_started || !self.serve.console {
            return;
        }
        self.console_started = true;
        crate::shutdown::spawn_console_reader(self.tx.clone(), Input::Console, Input::ConsoleEof);
    }

    /// Accepts and serves connections one at a time until `-naccept` is reached, the console
    /// stops the server, or the shutdown switch is triggered.
    pub fn serve(&mut self, listener: impl Into<Listener>, observer: &mut dyn Observer) -> Summary {
        self.start_console();
        let mut summary = Summary::default();
        let listener = listener.into();
        let accepting = match AcceptWait::new(&listener, &self.shutdown) {
            Ok(w) => w,
            Err(e) => {
                observer.io_error("listen", &e);
                return summary;
            }
        };
        let mut listener = Some(listener);
        while let Some(l) = listener.as_ref() {
            if !accepting.wait(l) {
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
        let reader = match stream.try_clone() {
            Ok(r) => spawn_reader(r, id, self.tx.clone()),
            Err(e) => {
                observer.io_error("socket", &e);
                return false;
            }
        };
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
                Step::Wait => self.wait(&mut conn, id, &mut peer_ended),
            }
        }
        drop(file);
        if !stopping {
            self.linger(&mut stream, id, peer_ended);
        }
        let _ = stream.shutdown(SocketShutdown::Both);
        self.finish_reader(id, reader);
        conn.stop_requested() || stopping
    }

    /// Waits for the socket reader to end. It may be blocked on the full queue, so the queue is
    /// drained meanwhile (socket data is dropped, console input kept for the next connection).
    fn finish_reader(&mut self, id: u64, reader: thread::JoinHandle<()>) {
        while !reader.is_finished() {
            match self.rx.recv_timeout(StdDuration::from_millis(50)) {
                Ok(Input::NetEnd(cid)) if cid == id => break,
                Ok(i @ (Input::Console(_) | Input::ConsoleEof)) => self.deferred.push_back(i),
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = reader.join();
    }

    /// Waits for the next input (or the session's timer) and hands it to the connection.
    fn wait(&mut self, conn: &mut Connection, id: u64, peer_ended: &mut bool) {
        let input = match conn.poll_timeout() {
            _ if !self.deferred.is_empty() => self.deferred.pop_front(),
            Some(deadline) => {
                let wait = StdDuration::from(deadline.saturating_duration_since(self.now()));
                match self.rx.recv_timeout(wait) {
                    Ok(i) => Some(i),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(Input::Wake),
                }
            }
            None => Some(self.rx.recv().unwrap_or(Input::Wake)),
        };
        let now = self.now();
        match input {
            None => conn.timeout(now),
            Some(Input::Net(cid, data)) if cid == id => conn.input(now, &data),
            Some(Input::NetEnd(cid)) if cid == id => {
                *peer_ended = true;
                conn.eof(now);
            }
            Some(Input::Console(data)) => conn.console(&data),
            Some(Input::ConsoleEof) => conn.console_eof(),
            // Late input from an earlier connection, or a look at the shutdown switch.
            Some(_) => {}
        }
    }

    /// Writes `data`, a slice at a time, telling the connection whether the peer takes it, so a
    /// peer that stopped reading ends at the send timeout instead of holding the server.
    fn send(&self, conn: &mut Connection, stream: &mut Stream, data: &[u8]) -> Result<(), SendEnd> {
        let mut rest = data;
        while !rest.is_empty() {
            let n = rest.len().min(SEND_CHUNK);
            // Until this slice is taken the peer counts as not reading (cleared by `sent`).
            conn.send_blocked(self.now());
            match stream.write(&rest[..n]) {
                Ok(0) => return Err(SendEnd::Failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    rest = &rest[n..];
                    conn.sent(self.now());
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
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
    /// read before the socket goes away (s_server's `do_server` does the same).
    fn linger(&mut self, stream: &mut Stream, id: u64, mut peer_ended: bool) {
        let _ = stream.shutdown(SocketShutdown::Write);
        let until = std::time::Instant::now() + LINGER;
        while !peer_ended && !self.shutdown.is_triggered() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Input::NetEnd(cid)) if cid == id => peer_ended = true,
                Ok(i @ (Input::Console(_) | Input::ConsoleEof)) => self.deferred.push_back(i),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
}

fn spawn_reader(mut stream: Stream, id: u64, tx: SyncSender<Input>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Input::NetEnd(id));
                    return;
                }
                Ok(n) => {
                    if tx.send(Input::Net(id, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// Waits for a connection to accept, or for the shutdown switch, without a busy loop: the
/// listening socket and one end of a socket pair that a shutdown writes to are polled together.
struct AcceptWait {
    wake: std::os::unix::net::UnixStream,
}

impl AcceptWait {
    fn new(listener: &Listener, shutdown: &Shutdown) -> io::Result<Self> {
        let (wake, poke) = std::os::unix::net::UnixStream::pair()?;
        poke.set_nonblocking(true)?;
        listener.set_nonblocking(true)?;
        shutdown.on_trigger(move || {
            let _ = (&poke).write(&[1]);
        });
        Ok(AcceptWait { wake })
    }

    /// True when a connection may be waiting, false when the server must stop.
    fn wait(&self, listener: &Listener) -> bool {
        use rustix::event::{poll, PollFd, PollFlags};
        loop {
            let mut fds = [
                PollFd::new(listener, PollFlags::IN),
                PollFd::new(&self.wake, PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) if !fds[1].revents().is_empty() => return false,
                Ok(_) => return true,
                Err(rustix::io::Errno::INTR) => continue,
                // Cannot wait: let accept() decide (it reports its own errors).
                Err(_) => return true,
            }
        }
    }
}
