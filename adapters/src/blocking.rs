//! The blocking `std::net` adapter: connections are served one after another, as
//! `openssl s_server` does, but a silent peer cannot hold the server (the engine's handshake
//! timeout), and the listener closes as soon as `-naccept` is reached.
//!
//! Threads only move bytes: one reads the console (stdin) for the whole run, one reads the
//! current socket; both feed a channel that the serving thread waits on with the session's
//! `poll_timeout` as the deadline.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Duration as StdDuration;

use sserve_engine::{Event, Instant, ServerConfig, SessionOptions, TlsSession};

use crate::files::{open_requested, read_piece, FileRoot};
use crate::keylog::KeyLog;
pub use crate::observer::{ConnId, Observer, Summary};
use crate::transport::{Listener, Stream};
use crate::write_failure;

/// Size of one socket or console read (s_server's `bufsize`).
const READ_SIZE: usize = 16 * 1024;
/// How long to wait for the peer's FIN after our last write (s_server waits 0.5 s).
const LINGER: StdDuration = StdDuration::from_millis(500);
/// A peer that stops reading for this long while we write is dropped.
const WRITE_TIMEOUT: StdDuration = StdDuration::from_secs(30);

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

enum Input {
    Net(u64, Vec<u8>),
    NetEnd(u64),
    Console(Vec<u8>),
    ConsoleEof,
    Shutdown,
}

/// Asks a [`BlockingServer`] to close its current connection (close_notify) and stop.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Sender<Input>);

impl ShutdownHandle {
    /// Requests the stop; the server ends after the current connection is closed.
    pub fn trigger(&self) {
        let _ = self.0.send(Input::Shutdown);
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::Net(..) => "Net",
            Input::NetEnd(_) => "NetEnd",
            Input::Console(_) => "Console",
            Input::ConsoleEof => "ConsoleEof",
            Input::Shutdown => "Shutdown",
        })
    }
}

/// A blocking server: owns the clock epoch and the console reader.
pub struct BlockingServer {
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    serve: ServeOptions,
    epoch: std::time::Instant,
    tx: Sender<Input>,
    rx: Receiver<Input>,
    console_started: bool,
}

impl BlockingServer {
    /// A server for `config`, creating sessions with `opts`.
    pub fn new(config: Arc<ServerConfig>, opts: Arc<SessionOptions>, serve: ServeOptions) -> Self {
        let (tx, rx) = mpsc::channel();
        BlockingServer {
            config,
            opts,
            serve,
            epoch: std::time::Instant::now(),
            tx,
            rx,
            console_started: false,
        }
    }

    /// A handle that stops the server from another thread (signal handling).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.tx.clone())
    }

    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn start_console(&mut self) {
        if self.console_started || !self.serve.console {
            return;
        }
        self.console_started = true;
        let tx = self.tx.clone();
        // Reads with a 16 KiB buffer, larger than stdin's own, so each read() reaches the
        // session as one chunk, which is what s_server's command detection looks at.
        thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut buf = vec![0u8; READ_SIZE];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Input::ConsoleEof);
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Input::Console(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }

    /// Accepts and serves connections one at a time until `-naccept` is reached or the console
    /// stops the server.
    pub fn serve(&mut self, listener: impl Into<Listener>, observer: &mut dyn Observer) -> Summary {
        self.start_console();
        let mut summary = Summary::default();
        let mut listener = Some(listener.into());
        while let Some(l) = listener.as_ref() {
            let stream = match l.accept() {
                Ok((s, peer)) => {
                    peer.report(observer, summary.connections + 1);
                    s
                }
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
                summary.stopped_by_console = true;
                break;
            }
        }
        summary
    }

    /// Serves one connection to its end. Returns true when the console or a signal asked to stop.
    fn serve_connection(&mut self, mut stream: Stream, id: u64, observer: &mut dyn Observer) -> bool {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let mut session = match self.config.session(self.opts.clone(), self.now()) {
            Ok(s) => s,
            Err(e) => {
                observer.io_error("creating a session", &io::Error::other(e.reason));
                return false;
            }
        };
        let reader = match stream.try_clone() {
            Ok(r) => spawn_reader(r, id, self.tx.clone()),
            Err(e) => {
                observer.io_error("socket", &e);
                return false;
            }
        };
        let mut stop = false;
        let mut peer_ended = false;
        loop {
            match self.pump(&mut session, &mut stream, id, observer) {
                Ok(s) => stop |= s,
                Err(e) => {
                    if !write_failure::is_peer_gone(&e) {
                        observer.io_error("write", &e);
                    }
                    peer_ended = true;
                    write_failure::end_session(&mut session, self.now(), |event| {
                        stop |= matches!(event, Event::StopServer);
                        observer.event(id, event);
                    });
                    break;
                }
            }
            if session.is_closed() {
                break;
            }
            let input = match session.poll_timeout() {
                Some(deadline) => {
                    let wait = StdDuration::from(deadline.saturating_duration_since(self.now()));
                    match self.rx.recv_timeout(wait) {
                        Ok(i) => Some(i),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                None => match self.rx.recv() {
                    Ok(i) => Some(i),
                    Err(_) => break,
                },
            };
            let now = self.now();
            match input {
                None => session.handle_timeout(now),
                Some(Input::Net(cid, data)) if cid == id => session.handle_input(now, &data),
                Some(Input::NetEnd(cid)) if cid == id => {
                    peer_ended = true;
                    session.handle_eof(now);
                }
                Some(Input::Console(data)) => session.console_input(&data),
                Some(Input::ConsoleEof) => session.console_eof(),
                Some(Input::Shutdown) => {
                    session.close();
                    stop = true;
                }
                Some(_) => {} // late input from an earlier connection
            }
        }
        self.linger(&mut stream, id, peer_ended);
        let _ = stream.shutdown(Shutdown::Both);
        let _ = reader.join();
        stop
    }

    /// Half-closes and waits briefly for the peer's FIN, so our last alert or close_notify is
    /// read before the socket goes away (s_server's `do_server` does the same).
    fn linger(&mut self, stream: &mut Stream, id: u64, mut peer_ended: bool) {
        let _ = stream.shutdown(Shutdown::Write);
        let until = std::time::Instant::now() + LINGER;
        let mut console = Vec::new();
        while !peer_ended {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Input::NetEnd(cid)) if cid == id => peer_ended = true,
                Ok(i @ (Input::Console(_) | Input::ConsoleEof | Input::Shutdown)) => console.push(i),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        // Console input that arrived while we closed belongs to the next connection.
        for i in console {
            let _ = self.tx.send(i);
        }
    }

    /// Drains transmits (written to the socket) and events (handled or passed on) until both are
    /// empty. Returns true when an event asked to stop the server.
    fn pump(
        &mut self,
        session: &mut TlsSession,
        stream: &mut Stream,
        id: ConnId,
        observer: &mut dyn Observer,
    ) -> io::Result<bool> {
        let mut stop = false;
        loop {
            while let Some(t) = session.poll_transmit() {
                stream.write_all(&t.data)?;
            }
            let Some(event) = session.poll_event() else {
                return Ok(stop);
            };
            match &event {
                Event::FileRequest(req) => {
                    observer.event(id, &event);
                    self.send_file(session, stream, req, observer)?;
                    continue;
                }
                Event::KeyLog(line) => {
                    if let Some(k) = self.serve.keylog.as_mut() {
                        if let Err(e) = k.write_line(line) {
                            observer.io_error("keylog file", &e);
                        }
                    }
                }
                Event::StopServer => stop = true,
                _ => {}
            }
            observer.event(id, &event);
        }
    }

    /// Answers a file request: streams the file in 16 KiB pieces, writing each piece's
    /// ciphertext before reading the next, so memory stays bounded for any file size.
    fn send_file(
        &mut self,
        session: &mut TlsSession,
        stream: &mut Stream,
        req: &sserve_engine::FileRequest,
        observer: &mut dyn Observer,
    ) -> io::Result<()> {
        let mut file = match open_requested(self.serve.files.as_ref(), &req.path) {
            Ok(f) => f,
            Err(e) => {
                session.respond_file(req, Err(e));
                return Ok(());
            }
        };
        session.respond_file(req, Ok(()));
        loop {
            let piece = match read_piece(&mut file, READ_SIZE) {
                Ok(p) if p.is_empty() => break,
                Ok(p) => p,
                Err(e) => {
                    observer.io_error("reading file", &e);
                    break;
                }
            };
            session.file_data(&piece);
            while let Some(t) = session.poll_transmit() {
                stream.write_all(&t.data)?;
            }
            if session.is_closed() {
                return Ok(());
            }
        }
        session.file_end();
        Ok(())
    }
}

fn spawn_reader(mut stream: Stream, id: u64, tx: Sender<Input>) -> thread::JoinHandle<()> {
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
