//! The application layer every stream serving loop shares, written once and sans-I/O: a
//! [`Connection`] wraps the engine's session and says, one [`Step`] at a time, what the loop
//! must do next: send these bytes, report this event, open this file, read its next piece,
//! wait, or finish. The blocking loop and the async driver only carry the steps out (with their
//! own sockets, threads and timers), so the `-WWW`/`-HTTP` file protocol, piece sizes, the end
//! of a file, a peer gone mid-write and a peer that stopped reading are all handled here alike.

use std::io;
use std::time::Duration as StdDuration;

use bytes::Bytes;

use crate::observer::Totals;
use sserve_engine::{Event, FileError, FileRequest, Instant, PeerRead, PeerReader, Pulled, TlsSession};

use crate::observer::Observer;

/// Size of one piece of a file handed to the session while serving `-WWW`/`-HTTP`: one TLS
/// record. A piece shorter than this is the last. Each piece's ciphertext is written before the
/// next is encrypted, so a download whose peer stopped reading holds at most one record.
pub(crate) const FILE_PIECE: usize = 16 * 1024;
/// Size of one read from a served file (a multiple of [`FILE_PIECE`]): pieces are cut from it,
/// and what a waiting connection has not used yet is given back and read again later.
pub(crate) const READ_AHEAD: usize = 8 * FILE_PIECE;
/// Largest single socket write while watching for a stalled peer: a peer that takes none of
/// this within the send timeout is not reading at all.
pub(crate) const SEND_CHUNK: usize = 64 * 1024;
/// How long to wait for the peer's FIN after our last write (s_server waits 0.5 s).
pub(crate) const LINGER: StdDuration = StdDuration::from_millis(500);

/// What a serving loop must do next for one connection.
#[derive(Debug)]
pub(crate) enum Step {
    /// Write these bytes to the peer; report progress with [`Connection::sent`] and
    /// [`Connection::send_blocked`], or the end with [`Connection::send_failed`].
    Send(Bytes),
    /// Hand this event to the observer (with [`crate::observer::report`], which also writes
    /// the key log).
    Report(Event),
    /// Open this requested file and answer with [`Connection::opened`].
    Open(FileRequest),
    /// Read the next piece (at most [`FILE_PIECE`] bytes) of the open file and answer with
    /// [`Connection::piece`]. It may follow [`Step::Send`]s that are still being written.
    Read,
    /// Nothing to do until the peer sends, [`Connection::poll_timeout`] passes, or the server
    /// stops.
    Wait,
    /// The connection is over: half-close, linger, drop the socket (and any open file).
    Done,
}

/// Where the connection is in answering a file request.
#[derive(Debug)]
enum FileState {
    Idle,
    ToOpen(FileRequest),
    Opening(FileRequest),
    ToRead,
    Reading,
}

/// One connection's application state (see the module docs).
pub(crate) struct Connection {
    session: TlsSession,
    file: FileState,
    /// The socket can take no more writes (reset, broken pipe, stalled, abandoned): what the
    /// session still wants to send is dropped, its events are still reported.
    transport_gone: bool,
    stop: bool,
    /// What moved on the transport, for [`Observer::totals`](crate::observer::Observer::totals).
    totals: Totals,
}

/// How writing to the peer ended early.
#[derive(Debug)]
pub(crate) enum SendEnd {
    /// The socket failed (reset, broken pipe, …).
    Failed(io::Error),
    /// A session timer fired while the peer took nothing (the session is closed now).
    Stalled,
    /// The server is stopping and the peer is not taking our data: give up on it.
    Stopping,
}

/// What one socket read gave, as the session's reader reports it.
pub(crate) fn peer_read(read: io::Result<&mut [u8]>) -> PeerRead<'_> {
    match read {
        Ok([]) => PeerRead::End,
        Ok(data) => PeerRead::Data(data),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => PeerRead::WouldBlock,
        // A reset: nothing more comes.
        Err(_) => PeerRead::End,
    }
}

impl Connection {
    pub(crate) fn new(session: TlsSession) -> Self {
        Connection {
            session,
            file: FileState::Idle,
            transport_gone: false,
            stop: false,
            totals: Totals::default(),
        }
    }

    /// Bytes received and handed out for sending so far.
    pub(crate) fn totals(&self) -> Totals {
        self.totals
    }

    /// The next thing to do (see [`Step`]). Call until it returns [`Step::Wait`] or
    /// [`Step::Done`], carrying out each step (and answering `Open`/`Read`) before the next.
    pub(crate) fn next(&mut self) -> Step {
        loop {
            if let Some(t) = self.session.poll_transmit() {
                if self.transport_gone {
                    continue;
                }
                self.totals.bytes_out += t.data.len() as u64;
                return Step::Send(t.data);
            }
            let open = !self.session.is_closed() && !self.transport_gone;
            match std::mem::replace(&mut self.file, FileState::Idle) {
                FileState::ToOpen(req) if open => {
                    self.file = FileState::Opening(req.clone());
                    return Step::Open(req);
                }
                FileState::ToRead if open => {
                    self.file = FileState::Reading;
                    return Step::Read;
                }
                state @ (FileState::Opening(_) | FileState::Reading) => self.file = state,
                _ => {}
            }
            if let Some(event) = self.session.poll_event() {
                match &event {
                    Event::StopServer => self.stop = true,
                    Event::FileRequest(req) => self.file = FileState::ToOpen(req.clone()),
                    _ => {}
                }
                return Step::Report(event);
            }
            return if self.session.is_closed() {
                Step::Done
            } else {
                Step::Wait
            };
        }
    }

    /// The answer to [`Step::Open`], with the file's size when known (sent as `Content-Length`
    /// with `-keep_alive`).
    pub(crate) fn opened(&mut self, result: Result<(), FileError>, len: Option<u64>) {
        if let FileState::Opening(req) = std::mem::replace(&mut self.file, FileState::Idle) {
            let ok = result.is_ok();
            self.session.respond_file_len(&req, result, len);
            if ok {
                self.file = FileState::ToRead;
            }
        }
    }

    /// The answer to [`Step::Read`]: the piece read (shorter than [`FILE_PIECE`] at the end of
    /// the file), or the read's failure (the loop reports it; the response ends there).
    pub(crate) fn piece(&mut self, result: io::Result<&[u8]>) {
        if !matches!(self.file, FileState::Reading) {
            return;
        }
        self.file = FileState::Idle;
        match result {
            Ok(data) => {
                self.session.file_data(data);
                if data.len() < FILE_PIECE {
                    self.session.file_end();
                } else {
                    self.file = FileState::ToRead;
                }
            }
            Err(_) => self.session.file_end(),
        }
    }

    /// The socket is readable: the session reads it once through `reader`.
    pub(crate) fn readable(&mut self, now: Instant, reader: &mut dyn PeerReader) -> Pulled {
        let r = self.session.handle_readable(now, reader);
        if let Pulled::Data(n) = r {
            self.totals.bytes_in += n as u64;
        }
        r
    }

    /// The peer's side of the transport ended (FIN, or a read error).
    pub(crate) fn eof(&mut self, now: Instant) {
        self.session.handle_eof(now);
    }

    /// Console input (the blocking console mode).
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn console(&mut self, data: &[u8]) {
        self.session.console_input(data);
    }

    /// The console reached EOF.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn console_eof(&mut self) {
        self.session.console_eof();
    }

    /// The server is stopping: close_notify, then the close event.
    pub(crate) fn close(&mut self) {
        self.session.close();
    }

    /// The earliest time [`Connection::timeout`] must be called.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// Time has reached `now`: fires whichever session timer is due.
    pub(crate) fn timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }

    /// The bytes of the last [`Step::Send`] end a handshake flight the peer is waiting for:
    /// write them before the next step (see `Session::flight_waiting`).
    pub(crate) fn flight_waiting(&self) -> bool {
        self.session.flight_waiting()
    }

    /// The peer took some of the bytes being sent.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.session.send_progress(now);
    }

    /// A write is waiting for the peer to read: from now on the send timeout runs (see
    /// `SessionOptions::send_timeout`), cleared by [`Connection::sent`].
    pub(crate) fn send_blocked(&mut self, now: Instant) {
        self.session.send_blocked(now);
    }

    /// Writing ended early (see [`SendEnd`]): nothing more is sent on this connection; the
    /// session ends and its remaining events (the close above all) are still reported, so the
    /// console or `-json` shows how the connection ended.
    pub(crate) fn send_failed(&mut self, now: Instant, end: &SendEnd) {
        self.transport_gone = true;
        match end {
            SendEnd::Stopping => self.session.close(),
            SendEnd::Failed(_) | SendEnd::Stalled => self.session.handle_eof(now),
        }
    }

    /// The send timeout passed with the peer not reading: stop writing (a session that merely
    /// ended still has its last bytes to send).
    pub(crate) fn is_send_stalled(&self) -> bool {
        self.session.is_send_stalled()
    }

    /// An event asked to stop the whole server (console `Q`, console EOF).
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop
    }
}

/// The peer went away first (it closed, as `s_client -reconnect` does, or reset): s_server says
/// nothing about that, so neither do we. Anything else is an error worth a line.
pub(crate) fn is_peer_gone(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
}

/// Joins consecutive small writes (a session ticket, a response, close_notify) into one, up to
/// [`SEND_CHUNK`], so they cost one system call; larger ones (a file's records) are left alone
/// rather than copied: a vectored write sends several at once.
pub(crate) fn coalesce(batch: Vec<Bytes>) -> Vec<Bytes> {
    if batch.len() < 2 {
        return batch;
    }
    let mut out = Vec::with_capacity(batch.len());
    let mut joined = bytes::BytesMut::new();
    for data in batch {
        let large = data.len() >= FILE_PIECE;
        if !joined.is_empty() && (large || joined.len() + data.len() > SEND_CHUNK) {
            out.push(std::mem::take(&mut joined).freeze());
        }
        if large {
            out.push(data);
        } else {
            joined.extend_from_slice(&data);
        }
    }
    if !joined.is_empty() {
        out.push(joined.freeze());
    }
    out
}

/// Reports how a write ended early, when that is worth a line.
pub(crate) fn report_send_end(observer: &mut (impl Observer + ?Sized), end: &SendEnd) {
    if let SendEnd::Failed(e) = end {
        if !is_peer_gone(e) {
            observer.io_error("write", e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(batch: &[Bytes]) -> Vec<usize> {
        batch.iter().map(Bytes::len).collect()
    }

    #[test]
    fn small_writes_are_joined_in_order_and_large_ones_left_alone() {
        let small = |n: usize, b: u8| Bytes::from(vec![b; n]);
        let joined = coalesce(vec![small(255, 1), small(67, 2), small(52, 3)]);
        assert_eq!(sizes(&joined), [374]);
        assert_eq!(joined[0][0], 1);
        assert_eq!(joined[0][255], 2);
        assert_eq!(joined[0][373], 3);
        // A record-sized piece or larger is not copied; what is around it keeps its order.
        let big = small(SEND_CHUNK + 10, 9);
        let out = coalesce(vec![small(10, 1), big.clone(), small(20, 2), small(30, 3)]);
        assert_eq!(sizes(&out), [10, SEND_CHUNK + 10, 50]);
        assert_eq!(out[1].as_ptr(), big.as_ptr());
        // What comes before a record stays before it (a response header, then the file).
        let record = small(FILE_PIECE + 22, 7);
        let out = coalesce(vec![small(100, 1), record.clone(), small(5, 2)]);
        assert_eq!(sizes(&out), [100, FILE_PIECE + 22, 5]);
        assert_eq!(out[1].as_ptr(), record.as_ptr());
        // Joined writes never exceed a send slice.
        let out = coalesce(vec![small(SEND_CHUNK - 5, 1), small(10, 2), small(10, 3)]);
        assert_eq!(sizes(&out), [SEND_CHUNK - 5, 20]);
        let concat: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(concat.len(), SEND_CHUNK + 15);
    }
}
