//! One connection's state machine: TLS below, s_server's application modes above.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::mem::MaybeUninit;

use crate::command::{expand_crlf, parse_console_chunk, Command, ConsoleInput};
use crate::error::{SessionError, TlsError, TlsErrorKind};
use crate::event::{CloseReason, Event, FileRequest, WebRequest};
use crate::http::{self, Request, WebMode};
use crate::line::LineBuffer;
use crate::mode::{AppMode, SessionOptions};
use crate::peer::{Input, Once, Pulled};
use crate::status_page;
use crate::time::Instant;
use crate::tls::{EarlyRead, HandshakeStatus, PeerRead, PeerReader, ReadStatus, TlsBackend, PULL_SIZE};

/// What s_server writes unencrypted into the socket for the `P` command.
pub const PLAINTEXT_PROBE: &[u8] = b"Lets print some clear text\n";

/// Read-buffer capacity an idle session may keep.
const READ_KEEP: usize = 4 * 1024;
/// Ciphertext-buffer capacity split off by `poll_transmit` rather than handed out whole in a
/// session whose backend never keeps its buffers (no `buffer_linger`).
const OUT_REUSE: usize = 4 * 1024;

/// Ciphertext to send to the peer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The bytes.
    pub data: Bytes,
}

/// Why a requested file cannot be served; the engine answers the client with s_server's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The path names a directory.
    IsDirectory,
    /// The file could not be opened; the system's reason (e.g. `No such file or directory`).
    Open(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshaking,
    Open,
    Closed,
}

/// Where a web-mode connection is in its one request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WebState {
    /// Reading lines until a request line.
    Reading,
    /// `GET /reneg`: wait until the renegotiation finished, then send the page.
    Renegotiating,
    /// Waiting for the adapter to answer a [`FileRequest`].
    AwaitingFile(String),
    /// The adapter is streaming the file body.
    SendingFile,
    /// The answer was sent.
    Done,
}

/// A server connection driven by bytes and time. See the crate docs for the drive loop.
pub struct Session<B: TlsBackend> {
    tls: B,
    opts: Arc<SessionOptions>,
    phase: Phase,
    out: BytesMut,
    /// Plaintext being read (empty, without capacity, while idle).
    read_buf: BytesMut,
    events: VecDeque<Event>,
    lines: LineBuffer,
    web: WebState,
    /// Console input that arrived before the handshake finished; in the web modes, the request
    /// bytes that came as TLS 1.3 early data.
    early_console: BytesMut,
    handshake_deadline: Option<Instant>,
    idle_deadline: Option<Instant>,
    /// The latest `now` an adapter passed in with input, the peer's end or news of a send:
    /// the backend's kept buffers go back [`SessionOptions::buffer_linger`] after it.
    clock: Instant,
    /// When the adapter found the peer not reading (cleared by any progress).
    send_blocked_since: Option<Instant>,
    /// The send timeout passed: what is still unsent will never reach the peer.
    send_stalled: bool,
    console_closed: bool,
    /// Early data: `Reading` until `SSL_read_early_data` finished (only with
    /// [`SessionOptions::early_data`]).
    early: EarlyPhase,
    /// The peer's close_notify arrived while its web request was still being answered: nothing
    /// more is read, the answer is still sent.
    peer_closed: bool,
    /// The web request being answered, reported as [`Event::WebRequest`] when its answer ends.
    web_log: Option<WebRequest>,
    /// `-keep_alive`: the request being read and what follows it.
    keep: KeepAlive,
    /// The head of a file's answer (the `-WWW` header, or `-keep_alive`'s status line and
    /// headers), held back until the file's first piece so that both go out in one record, as
    /// s_server's buffered BIO sends them: a small file costs one record and one packet.
    head: Option<Cow<'static, [u8]>>,
    /// The backend wrote the handshake flight the peer waits for and paused
    /// ([`HandshakeStatus::FlightWritten`]): the next `poll_transmit` that finds the flight
    /// taken goes on with the handshake.
    flight_paused: bool,
}

/// `-keep_alive` bookkeeping: a request is answered once its header block has ended.
#[derive(Debug, Default)]
struct KeepAlive {
    /// The request line was read; its headers are being skipped.
    pending: Option<(Request, String, String)>,
    /// The connection stays open after the answer (HTTP/1.1 without `Connection: close`).
    persist: bool,
    /// A file's answer is sent chunked (its size was unknown).
    chunked: bool,
    /// Bytes after the request (a pipelined next request), read once the answer is done.
    backlog: Vec<u8>,
}

/// Where a session is in reading TLS 1.3 early data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EarlyPhase {
    /// Not reading early data (`-early_data` off, or finished).
    Off,
    /// Reading; `received` once some arrived.
    Reading { received: bool },
}

impl<B: TlsBackend> Session<B> {
    /// A session over `tls`, created at `now` (the handshake timer starts here).
    pub fn new(mut tls: B, opts: Arc<SessionOptions>, now: Instant) -> Self {
        tls.allow_kept_buffers(opts.buffer_linger.is_some());
        let handshake_deadline = opts.handshake_timeout.map(|t| now + t);
        let early = if opts.early_data && opts.mode != AppMode::Rev {
            EarlyPhase::Reading { received: false }
        } else {
            EarlyPhase::Off
        };
        Session {
            tls,
            opts,
            phase: Phase::Handshaking,
            out: BytesMut::new(),
            read_buf: BytesMut::new(),
            events: VecDeque::new(),
            lines: LineBuffer::new(),
            web: WebState::Reading,
            early_console: BytesMut::new(),
            handshake_deadline,
            idle_deadline: None,
            clock: now,
            send_blocked_since: None,
            send_stalled: false,
            console_closed: false,
            early,
            peer_closed: false,
            flight_paused: false,
            web_log: None,
            keep: KeepAlive::default(),
            head: None,
        }
    }

    /// The TLS backend (for details the events do not carry).
    pub fn tls(&self) -> &B {
        &self.tls
    }

    /// The TLS backend, mutably (the DTLS wrapper drains datagrams and drives retransmission
    /// timers through it). Going around the state machine breaks it: not for applications.
    #[doc(hidden)]
    pub fn tls_mut(&mut self) -> &mut B {
        &mut self.tls
    }

    /// The typed facts about the connection once its handshake is done (`None` before).
    pub fn connection_info(&self) -> Option<crate::ConnectionInfo> {
        (self.phase == Phase::Open).then(|| self.tls.connection_info())
    }

    /// The options this session runs with.
    pub fn options(&self) -> &SessionOptions {
        &self.opts
    }

    /// The session has ended: [`Event::Closed`] was queued and nothing more will be produced
    /// after the queued transmits.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The handshake has completed and the session is still open.
    pub fn is_established(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Ciphertext bytes waiting in [`Session::poll_transmit`] (use it for backpressure when
    /// streaming a file).
    pub fn pending_transmit(&self) -> usize {
        self.out.len()
    }

    /// Ciphertext from the peer. Call `poll_transmit` and `poll_event` afterwards.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.clock = now;
        if self.phase == Phase::Closed || data.is_empty() {
            return;
        }
        self.touch(now);
        if self.phase == Phase::Open {
            // The backend may decrypt straight from `data`; only what it leaves is kept.
            self.read_plaintext(Input::Bytes(data));
        } else {
            self.tls.push_ciphertext(data);
            self.advance();
        }
    }

    /// The peer's socket is readable: reads it once through `reader` and handles what came,
    /// as [`Session::handle_input`] or, at the end, [`Session::handle_eof`] would. Once the
    /// handshake is done the backend may have the read land straight in its record buffer,
    /// where `handle_input` would copy the adapter's buffer there. Returns what the read gave
    /// ([`Pulled::WouldBlock`] also when the session did not need to read). Call
    /// `poll_transmit` and `poll_event` afterwards, as after `handle_input`.
    pub fn handle_readable(&mut self, now: Instant, reader: &mut dyn PeerReader) -> Pulled {
        self.clock = now;
        let mut once = Once::new(reader);
        if self.phase == Phase::Open && !self.peer_closed {
            self.read_plaintext(Input::Reader(&mut once));
            if matches!(once.result(), Pulled::Data(_)) && self.phase != Phase::Closed {
                self.touch(now);
            }
        } else {
            let mut buf = [MaybeUninit::uninit(); PULL_SIZE];
            match once.read(&mut buf) {
                PeerRead::Data(data) => self.handle_input(now, data),
                PeerRead::End => self.handle_eof(now),
                PeerRead::WouldBlock => {}
            }
        }
        once.result()
    }

    /// The peer's transport ended (TCP FIN).
    pub fn handle_eof(&mut self, now: Instant) {
        self.clock = now;
        if self.phase == Phase::Closed {
            return;
        }
        self.touch(now);
        self.tls.push_eof();
        self.advance();
    }

    /// The adapter could not hand all of our ciphertext to the peer: its transport refused more
    /// (the peer stopped reading). Starts the send timer if it is not running; from then on
    /// [`Session::poll_timeout`] includes [`SessionOptions::send_timeout`], and
    /// [`Session::handle_timeout`] fails the session with [`SessionError::SendStalled`] once it
    /// passes without [`Session::send_progress`]. The buffers kept for the next record (see
    /// [`SessionOptions::buffer_linger`]) go back at once. The timer also runs for the last
    /// ciphertext of a session that already ended (a response's tail and its close_notify), so
    /// [`Session::is_send_stalled`], not [`Session::is_closed`], says when to give up sending.
    pub fn send_blocked(&mut self, now: Instant) {
        self.clock = now;
        if self.send_blocked_since.is_none() {
            self.send_blocked_since = Some(now);
            // Nothing more is written until the peer reads: the kept buffers go back now.
            self.release_buffers();
        }
    }

    /// Gives back now what only makes the next record cheaper (the backend's kept record
    /// buffers and the session's drained queues), as [`SessionOptions::buffer_linger`]'s timer
    /// would: for a driver that runs no timers but knows the connection went quiet, e.g. its
    /// read of the peer found nothing and nothing waits to be sent. Data not yet handled stays,
    /// and the buffers come back with the next record.
    pub fn release_buffers(&mut self) {
        if !self.tls.keeps_buffers() {
            return;
        }
        self.tls.release_idle_buffers();
        if self.out.is_empty() {
            self.out = BytesMut::new();
        }
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        }
    }

    /// The send timeout passed while the peer was not reading: drop whatever is still unsent
    /// and end the connection.
    pub fn is_send_stalled(&self) -> bool {
        self.send_stalled
    }

    /// The peer took some of our ciphertext: stops the send timer. Progress also counts as
    /// activity for the idle timeout, so a long download is not idle.
    pub fn send_progress(&mut self, now: Instant) {
        self.clock = now;
        self.send_blocked_since = None;
        if self.phase == Phase::Open {
            self.touch(now);
        }
    }

    fn send_deadline(&self) -> Option<Instant> {
        let since = self.send_blocked_since?;
        // -idle_timeout counts time blocked on a send as idle time too.
        let limit = match (self.opts.send_timeout, self.opts.idle_timeout) {
            (Some(s), Some(i)) => s.min(i),
            (s, i) => s.or(i)?,
        };
        Some(since + limit)
    }

    /// The earliest time [`Session::handle_timeout`] must be called, if any. Changes after any
    /// call: besides the timeouts it ends [`SessionOptions::buffer_linger`] after the latest
    /// input or send progress.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.send_stalled {
            return None;
        }
        let phase = match self.phase {
            Phase::Handshaking => self.handshake_deadline,
            Phase::Open => earliest(self.idle_deadline, self.release_deadline()),
            Phase::Closed => None,
        };
        earliest(phase, self.send_deadline())
    }

    /// Time has reached `now`: fires the handshake, idle or send timeout if due, and gives the
    /// kept buffers back once the connection was quiet for [`SessionOptions::buffer_linger`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.release_deadline().is_some_and(|d| now >= d) {
            self.release_buffers();
        }
        // Idle while blocked on a send is the peer not reading: say so, whichever timer fired.
        let idle = self.phase == Phase::Open && self.idle_deadline.is_some_and(|d| now >= d);
        let stalled = self.send_deadline().is_some_and(|d| now >= d) || (self.send_blocked_since.is_some() && idle);
        if stalled && !self.send_stalled {
            // Nothing more can reach the peer: drop what is queued instead of a close_notify.
            self.send_stalled = true;
            if self.phase != Phase::Closed {
                self.fail(SessionError::SendStalled);
            }
            self.out.clear();
            return;
        }
        match self.phase {
            Phase::Handshaking if self.handshake_deadline.is_some_and(|d| now >= d) => {
                self.fail(SessionError::HandshakeTimeout);
            }
            Phase::Open if self.idle_deadline.is_some_and(|d| now >= d) => {
                self.tls.shutdown();
                self.pump();
                self.fail(SessionError::IdleTimeout);
            }
            _ => {}
        }
    }

    /// The ciphertext taken so far ends a handshake flight the peer is waiting for, and the
    /// handshake paused before the work that follows it (TLS 1.3's application keys). Write it
    /// to the peer before calling [`Session::poll_transmit`] again, which then goes on with the
    /// handshake while the peer reads: an adapter that gathers transmits to write them together
    /// would otherwise hold the flight back for that work.
    pub fn flight_waiting(&self) -> bool {
        self.flight_paused && self.phase == Phase::Handshaking
    }

    /// Next ciphertext to send. Drain after every input, before `poll_event`.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.out.is_empty() && self.flight_waiting() {
            // The adapter took the flight (and sends it before asking again): the work that
            // follows it overlaps the peer's reading it, as with a blocking server.
            self.advance();
        }
        if self.out.is_empty() {
            None
        } else {
            // Split off: once the adapter dropped it, the next record reclaims the allocation
            // instead of a new one. The remainder keeps a view of the allocation, and so all
            // its capacity, until the next record or the release of the kept buffers. So it is
            // split while the backend keeps its buffers (data moves; the view goes when they
            // do), or, small, in a session that never keeps them and has no other reuse; else
            // it goes whole, and an idle connection holds no view of its handshake's flights.
            let reuse =
                self.tls.keeps_buffers() || (self.opts.buffer_linger.is_none() && self.out.capacity() <= OUT_REUSE);
            let data = if reuse {
                self.out.split()
            } else {
                core::mem::take(&mut self.out)
            };
            Some(Transmit { data: data.freeze() })
        }
    }

    /// Next event. Drain after `poll_transmit`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// One chunk of console input, with s_server's semantics: in console mode a chunk may be a
    /// connected command (unless commands are off, as with `-quiet`/`-brief`); otherwise it is
    /// sent to the peer. Other modes ignore the console, as s_server does.
    pub fn console_input(&mut self, data: &[u8]) {
        if self.opts.mode != AppMode::Console || self.phase == Phase::Closed || self.console_closed {
            return;
        }
        if !self.opts.commands {
            self.send(data);
            return;
        }
        match parse_console_chunk(data) {
            ConsoleInput::Command(c) => self.command(c),
            ConsoleInput::CommandThenSend(c, d) => {
                self.command(c);
                self.send(d);
            }
            ConsoleInput::Data(d) => self.send(d),
        }
    }

    /// The console reached EOF. s_server treats it like `Q` (close and stop the server) when
    /// commands are on; with `-ign_eof`, or with commands off (`-quiet`/`-brief`), sserve only
    /// stops reading the console and keeps the connection (see docs/compat.md).
    pub fn console_eof(&mut self) {
        if self.opts.mode != AppMode::Console || self.console_closed {
            return;
        }
        self.console_closed = true;
        if self.opts.commands && !self.opts.ign_eof {
            self.command(Command::Shutdown);
        }
    }

    /// Sends console plaintext to the peer (with `-crlf` expansion). Before the handshake ends it
    /// is queued, up to `max_pending_console` bytes.
    pub fn send(&mut self, data: &[u8]) {
        match self.phase {
            Phase::Closed => {}
            Phase::Handshaking => {
                if self.early_console.len() + data.len() > self.opts.max_pending_console {
                    self.fail(SessionError::BufferLimit("console queue"));
                } else {
                    self.early_console.extend_from_slice(data);
                }
            }
            Phase::Open => {
                let result = if self.opts.crlf {
                    let mut expanded = Vec::with_capacity(data.len() + 16);
                    expand_crlf(data, |p| expanded.extend_from_slice(p));
                    self.tls.write(&expanded)
                } else {
                    self.tls.write(data)
                };
                self.pump();
                if let Err(e) = result {
                    self.fail(e.into());
                }
            }
        }
    }

    /// Carries out a connected command (s_server's `q Q r R P S k K c B`).
    pub fn command(&mut self, command: Command) {
        if self.phase == Phase::Closed {
            return;
        }
        match command {
            Command::Quit => self.close_locally(),
            Command::Shutdown => {
                self.events.push_back(Event::StopServer);
                self.close_locally();
            }
            Command::PlaintextProbe => self.out.extend_from_slice(PLAINTEXT_PROBE),
            Command::Stats => self.events.push_back(Event::Stats(self.tls.cache_stats())),
            Command::Heartbeat => self.events.push_back(Event::HeartbeatUnsupported),
            Command::Renegotiate
            | Command::RenegotiateWithCert
            | Command::KeyUpdate
            | Command::KeyUpdateRequested
            | Command::RequestClientCert => {
                let renegotiating = matches!(command, Command::Renegotiate | Command::RenegotiateWithCert)
                    && self.tls.renegotiation_pending();
                let result = if self.phase != Phase::Open {
                    Err(TlsError::new(
                        TlsErrorKind::InvalidState,
                        "the handshake has not finished",
                    ))
                } else if renegotiating {
                    // A second HelloRequest in the middle of a renegotiation makes OpenSSL
                    // clients abort with a no_renegotiation alert.
                    Err(TlsError::new(
                        TlsErrorKind::InvalidState,
                        "a renegotiation is already in progress",
                    ))
                } else {
                    match command {
                        Command::Renegotiate => self.tls.renegotiate(false),
                        Command::RenegotiateWithCert => self.tls.renegotiate(true),
                        Command::KeyUpdate => self.tls.key_update(false),
                        Command::KeyUpdateRequested => self.tls.key_update(true),
                        _ => self.tls.request_client_certificate(),
                    }
                };
                self.pump();
                let event = match result {
                    Ok(r) => Event::CommandDone {
                        command,
                        result: Some(r),
                        error: None,
                    },
                    Err(e) => Event::CommandDone {
                        command,
                        result: None,
                        error: Some(e.reason),
                    },
                };
                self.events.push_back(event);
            }
        }
    }

    /// Ends the session from our side: close_notify to the peer, then [`Event::Closed`] with
    /// [`CloseReason::LocalClose`]. Adapters call it when the server shuts down.
    pub fn close(&mut self) {
        if self.phase != Phase::Closed {
            self.close_locally();
        }
    }

    /// The adapter's answer to an [`Event::FileRequest`]. On `Ok`, stream the contents with
    /// [`Session::file_data`] and finish with [`Session::file_end`] (the answer's header waits
    /// for the first piece, so that a small file leaves in one record); on `Err` the engine
    /// answers the client with s_server's message and closes.
    pub fn respond_file(&mut self, request: &FileRequest, result: Result<(), FileError>) {
        self.respond_file_len(request, result, None);
    }

    /// [`Session::respond_file`] with the file's size, which `-keep_alive` sends as
    /// `Content-Length` (without it, the answer is chunked).
    pub fn respond_file_len(&mut self, request: &FileRequest, result: Result<(), FileError>, len: Option<u64>) {
        if self.web != WebState::AwaitingFile(request.path.clone()) || self.phase != Phase::Open {
            return;
        }
        let binmode = self.opts.binmode;
        match result {
            Ok(()) => {
                self.events.push_back(Event::FileServed(request.path.clone()));
                if self.opts.keep_alive {
                    self.keep.chunked = len.is_none();
                    let head = http::response_head(200, http::content_type(&request.path), len, !self.keep.persist);
                    self.head = Some(Cow::Owned(head));
                } else if self.opts.mode == AppMode::Web(WebMode::Files) {
                    self.head = Some(Cow::Borrowed(http::file_header(&request.path)));
                }
                self.web = WebState::SendingFile;
            }
            Err(FileError::IsDirectory) => {
                let msg = http::directory_message(&request.path);
                self.refused(&msg);
                self.answer_error(403, &msg)
            }
            Err(FileError::Open(reason)) => {
                let msg = http::open_error_message(&request.path, binmode, &reason);
                self.refused(&msg);
                let status = if reason.contains("No such file") { 404 } else { 403 };
                self.answer_error(status, &msg)
            }
        }
    }

    /// A piece of the file being served (after `respond_file(.., Ok(()))`).
    pub fn file_data(&mut self, data: &[u8]) {
        if self.web == WebState::SendingFile && self.phase == Phase::Open && !data.is_empty() {
            if self.keep.chunked {
                self.write_body(&[format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"]);
            } else {
                self.write_body(&[data]);
            }
        }
    }

    /// The whole file was sent: close the connection as s_server does (or, with
    /// `-keep_alive`, read the next request).
    pub fn file_end(&mut self) {
        if self.web == WebState::SendingFile {
            if self.keep.chunked {
                self.write_body(&[b"0\r\n\r\n"]);
            } else {
                self.write_body(&[]);
            }
            self.web = WebState::Done;
            self.log_request(false);
            self.answered();
        }
    }

    fn touch(&mut self, now: Instant) {
        if let Some(idle) = self.opts.idle_timeout {
            self.idle_deadline = Some(now + idle);
        }
    }

    /// Moves backend output (ciphertext, callback events) into our queues, in order.
    fn pump(&mut self) {
        self.tls.take_ciphertext(&mut self.out);
        while let Some(e) = self.tls.poll_event() {
            self.events.push_back(e);
        }
    }

    /// When the kept buffers go back if nothing happens before.
    fn release_deadline(&self) -> Option<Instant> {
        let linger = self.opts.buffer_linger.filter(|_| self.tls.keeps_buffers())?;
        Some(self.clock + linger)
    }

    fn advance(&mut self) {
        self.flight_paused = false;
        if self.phase == Phase::Handshaking {
            if self.early != EarlyPhase::Off && !self.read_early_data() {
                return;
            }
            let r = self.tls.handshake();
            self.pump();
            match r {
                Ok(HandshakeStatus::WantInput) => return,
                Ok(HandshakeStatus::FlightWritten) => {
                    self.flight_paused = true;
                    return;
                }
                Ok(HandshakeStatus::Done) => self.on_established(),
                Err(e) => return self.fail(e.into()),
            }
        }
        self.read_plaintext(Input::Bytes(&[]));
    }

    fn on_established(&mut self) {
        self.phase = Phase::Open;
        self.events.push_back(Event::HandshakeComplete(Box::new(
            self.tls.handshake_info(self.opts.detailed_info),
        )));
        if !self.early_console.is_empty() {
            let queued = self.early_console.split();
            match self.opts.mode {
                AppMode::Web(mode) => self.on_early_request(mode, &queued),
                _ => self.send(&queued),
            }
        }
    }

    /// Reads TLS 1.3 early data until the backend says it is over; false while more input is
    /// needed (or the session failed).
    fn read_early_data(&mut self) -> bool {
        loop {
            let r = self.tls.read_early_data(&mut self.read_buf);
            self.pump();
            let EarlyPhase::Reading { received } = self.early else {
                return true;
            };
            match r {
                Ok(EarlyRead::Data(_)) => {
                    let data = self.read_buf.split().freeze();
                    self.early = EarlyPhase::Reading { received: true };
                    if let AppMode::Web(_) = self.opts.mode {
                        // Held until the handshake is done (the client is not yet authenticated
                        // by its Finished); bounded by `-recv_max_early_data`.
                        self.early_console.extend_from_slice(&data);
                    } else {
                        self.events.push_back(Event::EarlyData { data, first: !received });
                    }
                }
                Ok(EarlyRead::WantInput) => return false,
                Ok(EarlyRead::Finished(status)) => {
                    self.early = EarlyPhase::Off;
                    if self.read_buf.capacity() > READ_KEEP {
                        self.read_buf = BytesMut::new();
                    }
                    self.events.push_back(Event::EarlyDataEnd { received, status });
                    return true;
                }
                Err(e) => {
                    self.events.push_back(Event::EarlyDataError);
                    self.fail(e.into());
                    return false;
                }
            }
        }
    }

    /// A web-mode request that began in early data (RFC 8470): a `GET` (safe, so harmless if
    /// replayed) is served as usual now that the handshake is done; anything else is answered
    /// `425 Too Early`.
    fn on_early_request(&mut self, mode: WebMode, data: &[u8]) {
        let n = data.len().min(4);
        if data[..n] == b"GET "[..n] {
            self.on_web_data(mode, data);
        } else {
            self.web = WebState::Done;
            self.write_plain(http::TOO_EARLY);
            self.close_locally();
        }
    }

    /// Reads and handles plaintext while the session is open, with `input` as ciphertext that
    /// follows what the backend holds. What is left of `input` when reading stops is pushed for
    /// later, unless the stream is over (after the peer's close_notify nothing more is read).
    fn read_plaintext(&mut self, mut input: Input<'_, '_>) {
        // A large record came: the peer streams, and the next one is likely part-read already.
        let mut streaming = false;
        while self.phase == Phase::Open && !self.peer_closed {
            let r = match &mut input {
                Input::Bytes(data) => self.tls.read_from(data, &mut self.read_buf),
                Input::Reader(once) => self.tls.read_pulling(*once, &mut self.read_buf),
            };
            self.pump();
            match r {
                Ok(ReadStatus::Data(n)) => {
                    streaming |= n > READ_KEEP;
                    let data = if n <= READ_KEEP && n * 4 < self.read_buf.capacity() {
                        // A small piece in a large buffer (sized for a whole record before the
                        // read) is copied out: handed out as is, it would hold all the buffer.
                        let small = Bytes::copy_from_slice(&self.read_buf);
                        self.read_buf.clear();
                        small
                    } else {
                        self.read_buf.split().freeze()
                    };
                    let drained = input.used_up() && self.tls.input_drained();
                    self.on_plaintext(data);
                    if drained {
                        self.release_read_buf();
                        break;
                    }
                }
                Ok(ReadStatus::WantInput) => {
                    // A streaming peer's next record is part-read: its buffer is kept for it
                    // (as s_server keeps one per connection). A peer that only dribbles, or
                    // has paused, holds none.
                    if !streaming || self.tls.input_drained() {
                        self.release_read_buf();
                    }
                    break;
                }
                Ok(ReadStatus::Closed) => {
                    self.last_line();
                    if self.phase == Phase::Open && self.answering() {
                        self.peer_closed = true;
                        break;
                    }
                    self.tls.shutdown();
                    self.pump();
                    self.finish(CloseReason::PeerClosed);
                }
                Err(e) if e.kind == TlsErrorKind::UnexpectedEof => self.finish(CloseReason::PeerEof),
                Err(e) => self.fail(e.into()),
            }
        }
        if let Input::Bytes(rest) = input {
            if !rest.is_empty() && self.phase == Phase::Open && !self.peer_closed {
                self.tls.push_ciphertext(rest);
            }
        }
        // After close_notify the client cannot take part in a renegotiation any more; s_server
        // stops waiting for it when its read sees the end, and sends the page.
        if self.web == WebState::Renegotiating
            && self.phase == Phase::Open
            && (self.peer_closed || !self.tls.renegotiation_pending())
        {
            self.send_status_page();
        }
    }

    /// At close_notify `BIO_gets` returns an unfinished last line as a line, so s_server still
    /// answers a request line without its line end (`-www`/`-WWW`/`-HTTP`) or reverses it
    /// (`-rev`). Without close_notify OpenSSL fails the read instead and nothing is answered.
    fn last_line(&mut self) {
        let mut line = Vec::new();
        self.lines.take_pending(|l| line.extend_from_slice(l));
        if line.is_empty() {
            return;
        }
        match self.opts.mode {
            AppMode::Rev => match rev_reply(&line, self.opts.ign_eof) {
                Some(reply) => self.send_rev(&[reply], false),
                None => self.send_rev(&[], true),
            },
            AppMode::Web(mode) if self.web == WebState::Reading => self.on_request(http::classify_line(mode, &line)),
            _ => {}
        }
    }

    /// A web request is being answered (the answer goes out even after the peer's close_notify,
    /// as s_server writes it regardless).
    fn answering(&self) -> bool {
        matches!(
            self.web,
            WebState::Renegotiating | WebState::AwaitingFile(_) | WebState::SendingFile
        )
    }

    /// Idle sessions hold no large read buffer (one streaming large records keeps it).
    fn release_read_buf(&mut self) {
        if self.read_buf.capacity() > READ_KEEP {
            self.read_buf = BytesMut::new();
        }
    }

    fn on_plaintext(&mut self, data: Bytes) {
        match self.opts.mode {
            AppMode::Console => self.events.push_back(Event::Plaintext(data)),
            AppMode::Rev => self.on_rev_data(&data),
            AppMode::Web(mode) => self.on_web_data(mode, &data),
        }
    }

    fn on_rev_data(&mut self, data: &[u8]) {
        let mut lines = core::mem::take(&mut self.lines);
        let mut replies: Vec<Vec<u8>> = Vec::new();
        let mut close = false;
        lines.push(data, |line| match rev_reply(line, self.opts.ign_eof) {
            Some(reply) => {
                replies.push(reply);
                true
            }
            None => {
                close = true;
                false
            }
        });
        self.lines = lines;
        self.send_rev(&replies, close);
    }

    fn send_rev(&mut self, replies: &[Vec<u8>], close: bool) {
        for r in replies {
            self.write_plain(r);
        }
        if close {
            self.events.push_back(Event::RevClose);
            self.close_locally();
        }
    }

    fn on_web_data(&mut self, mode: WebMode, data: &[u8]) {
        if self.opts.keep_alive {
            if self.web == WebState::Reading {
                self.on_keep_alive_data(mode, data);
            } else {
                self.keep.backlog.extend_from_slice(data);
            }
            return;
        }
        if self.web != WebState::Reading {
            return; // one request per connection; later bytes are ignored, as in s_server
        }
        let mut lines = core::mem::take(&mut self.lines);
        let mut request = None;
        lines.push(data, |line| match http::classify_line(mode, line) {
            Request::Ignore => true,
            r => {
                request = Some((r, http::request_target(line)));
                false
            }
        });
        self.lines = lines;
        if let Some((r, (method, path))) = request {
            self.web_log = Some(WebRequest {
                method,
                path,
                status: (mode != WebMode::Raw).then_some(200),
                ..WebRequest::default()
            });
            self.on_request(r);
        }
    }

    /// `-keep_alive`: reads a request line and its header block (noting `Connection:`), then
    /// answers; bytes after the block wait in the backlog until the answer is done.
    fn on_keep_alive_data(&mut self, mode: WebMode, data: &[u8]) {
        let mut lines = core::mem::take(&mut self.lines);
        let mut pending = self.keep.pending.take();
        let mut persist = self.keep.persist;
        let mut ready = false;
        let consumed = lines.push(data, |line| {
            let blank = matches!(line, b"\r\n" | b"\n");
            if pending.is_none() {
                if let Some((method, http11)) = http::request_line(line) {
                    let request = match http::classify_line(mode, line) {
                        Request::Ignore if method != b"GET" => Request::Reject(Vec::new()),
                        Request::Ignore => return true,
                        r => r,
                    };
                    let (m, p) = http::request_target(line);
                    persist = http11;
                    pending = Some((request, m, p));
                }
                return true;
            }
            if blank {
                ready = true;
                return false;
            }
            if let Some(value) = header_value(line, b"connection") {
                if value.eq_ignore_ascii_case(b"close") {
                    persist = false;
                } else if value.eq_ignore_ascii_case(b"keep-alive") {
                    persist = true;
                }
            }
            true
        });
        self.lines = lines;
        self.keep.persist = persist;
        if !ready {
            self.keep.pending = pending;
            return;
        }
        self.keep.backlog.extend_from_slice(&data[consumed..]);
        if let Some((request, method, path)) = pending {
            self.web_log = Some(WebRequest {
                method: method.clone(),
                path,
                status: Some(200),
                ..WebRequest::default()
            });
            match request {
                Request::Reject(msg) if msg.is_empty() => {
                    let msg = format!("method {method} is not supported (GET only)\r\n").into_bytes();
                    self.refused(&msg);
                    self.answer_error(405, &msg);
                }
                Request::Reject(msg) => {
                    self.refused(&msg);
                    self.answer_error(403, &msg);
                }
                r => self.on_request(r),
            }
        }
    }

    /// An answer is complete: close as s_server does, or (`-keep_alive`, persistent) read the
    /// next request, starting with what already arrived.
    fn answered(&mut self) {
        if !(self.opts.keep_alive && self.keep.persist) || self.phase != Phase::Open {
            self.close_locally();
            return;
        }
        self.web = WebState::Reading;
        self.keep.chunked = false;
        let backlog = core::mem::take(&mut self.keep.backlog);
        if let (AppMode::Web(mode), false) = (self.opts.mode, backlog.is_empty()) {
            self.on_web_data(mode, &backlog);
        }
    }

    /// Answers with a text message: s_server's `200 ok` (then closes), or with `-keep_alive`
    /// the real `status`.
    fn answer_error(&mut self, status: u16, message: &[u8]) {
        if !self.opts.keep_alive {
            return self.answer_and_close(message);
        }
        self.web = WebState::Done;
        if let Some(log) = self.web_log.as_mut() {
            log.status = Some(status);
        }
        let mut body = http::response_head(
            status,
            "text/plain; charset=utf-8",
            Some(message.len() as u64),
            !self.keep.persist,
        );
        body.extend_from_slice(message);
        self.write_plain(&body);
        self.log_request(false);
        self.answered();
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::StatusPage {
                renegotiate: Some(cert),
            } => {
                let r = self.tls.renegotiate(cert);
                self.pump();
                match r {
                    Ok(code) => {
                        self.events.push_back(Event::Renegotiating(code));
                        self.web = WebState::Renegotiating;
                    }
                    // TLS 1.3 cannot renegotiate: answer with the page right away.
                    Err(_) => self.send_status_page(),
                }
            }
            Request::StatusPage { renegotiate: None } => self.send_status_page(),
            Request::File(path) => {
                self.web = WebState::AwaitingFile(path.clone());
                self.events.push_back(Event::FileRequest(FileRequest { path }));
            }
            Request::Reject(msg) => {
                self.refused(&msg);
                self.answer_and_close(&msg)
            }
            Request::Ignore => {}
        }
    }

    fn send_status_page(&mut self) {
        let page = status_page::render(
            &self.opts.argv,
            &self.tls.handshake_info(true),
            &self.tls.supported_ciphers(),
            &self.tls.cache_stats(),
        );
        self.web = WebState::Done;
        if self.opts.keep_alive {
            let body = page.strip_prefix(http::HTML_HEADER).unwrap_or(&page);
            let mut answer = http::response_head(
                200,
                "text/html; charset=utf-8",
                Some(body.len() as u64),
                !self.keep.persist,
            );
            answer.extend_from_slice(body);
            self.write_plain(&answer);
        } else {
            self.write_plain(&page);
        }
        self.log_request(false);
        self.answered();
    }

    fn answer_and_close(&mut self, message: &[u8]) {
        self.web = WebState::Done;
        let mut body = Vec::with_capacity(http::TEXT_HEADER.len() + message.len());
        body.extend_from_slice(http::TEXT_HEADER);
        body.extend_from_slice(message);
        self.write_plain(&body);
        self.log_request(false);
        self.close_locally();
    }

    /// Notes why the current web request is not served (the first line of the message).
    fn refused(&mut self, message: &[u8]) {
        if let Some(log) = self.web_log.as_mut() {
            let line = message.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            log.refusal = Some(String::from_utf8_lossy(line).into_owned());
        }
    }

    /// Reports the current web request, if any (its answer is complete unless `incomplete`).
    fn log_request(&mut self, incomplete: bool) {
        if let Some(mut log) = self.web_log.take() {
            log.incomplete = incomplete;
            self.events.push_back(Event::WebRequest(log));
        }
    }

    fn write_plain(&mut self, data: &[u8]) {
        if self.phase != Phase::Open {
            return;
        }
        if let Some(log) = self.web_log.as_mut() {
            log.bytes += data.len() as u64;
        }
        let r = self.tls.write(data);
        self.pump();
        if let Err(e) = r {
            self.fail(e.into());
        }
    }

    /// Writes the next part of a file's answer (given in pieces, written as one), with the
    /// held-back head in front of the first.
    fn write_body(&mut self, parts: &[&[u8]]) {
        let head = self.head.take();
        match (head.as_deref(), parts) {
            (None, [part]) => self.write_plain(part),
            (head, parts) => {
                let all = head
                    .into_iter()
                    .chain(parts.iter().copied())
                    .collect::<Vec<_>>()
                    .concat();
                if !all.is_empty() {
                    self.write_plain(&all);
                }
            }
        }
    }

    fn close_locally(&mut self) {
        if self.phase == Phase::Open {
            self.tls.shutdown();
            self.pump();
        }
        self.finish(CloseReason::LocalClose);
    }

    fn fail(&mut self, error: SessionError) {
        self.pump();
        self.finish(CloseReason::Error(error));
    }

    fn finish(&mut self, reason: CloseReason) {
        self.log_request(true);
        if self.phase != Phase::Closed {
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed(reason));
        }
    }
}

/// The value of header `name` (lower case) in `line`, trimmed.
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    if !line[..colon].eq_ignore_ascii_case(name) {
        return None;
    }
    Some(line[colon + 1..].trim_ascii())
}

/// `-rev`'s answer to one line: the line without its line end, reversed, plus `\n`; `None` for
/// `CLOSE` (unless `-ign_eof`), which ends the connection.
fn rev_reply(line: &[u8], ign_eof: bool) -> Option<Vec<u8>> {
    let trimmed = trim_line_end(line);
    if trimmed == b"CLOSE" && !ign_eof {
        return None;
    }
    let mut r: Vec<u8> = trimmed.iter().rev().copied().collect();
    r.push(b'\n');
    Some(r)
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    &line[..end]
}

impl<B: TlsBackend> core::fmt::Debug for Session<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("phase", &self.phase)
            .field("mode", &self.opts.mode)
            .field("pending_transmit", &self.out.len())
            .field("pending_events", &self.events.len())
            .finish()
    }
}
