//! The async connection driver and accept loop, written once for every runtime.
//!
//! Per connection: carry out the `Connection`'s steps (write, report, open and read files),
//! then wait for the first of "socket readable", "the session's `poll_timeout`" and "server
//! shutdown". Writes race the same timer and the shutdown, so a peer that stops reading is
//! dropped at the send timeout. The session reads the socket itself when it is readable
//! (`Session::handle_readable`), straight into OpenSSL's record buffer once the handshake is
//! done, so an idle connection owns no read buffer and no byte is copied on the way in.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use event_listener::Event as Notify;
use futures_lite::future;
use sserve_engine::{Event, Instant, PeerRead, PeerReader, Pulled, ServerConfig, SessionOptions};

use bytes::{Buf, Bytes};

use crate::connection::{self, Connection, SendEnd, Step, FILE_PIECE, LINGER, READ_AHEAD, SEND_CHUNK};
use crate::files::{open_requested, FileRoot, ReadAhead, ServedFile};
use crate::keylog::KeyLog;
use crate::observer::{ConnId, Observer, Summary};
use crate::runtime::Runtime;
pub use crate::shutdown::Shutdown;
use crate::transport::Listener;
use crate::trim::HeapTrim;

/// An observer shared by concurrent connections.
pub type SharedObserver = Arc<Mutex<dyn Observer + Send>>;

/// Transport-side options of a concurrent server.
#[derive(Debug, Clone)]
pub struct AsyncServeOptions {
    /// `-naccept N`: accept N connections, finish them, then return.
    pub naccept: Option<u64>,
    /// At most this many connections at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// `-WWW`/`-HTTP`: where files come from.
    pub files: Option<Arc<FileRoot>>,
    /// `-keylogfile`.
    pub keylog: Option<Arc<KeyLog>>,
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
    trim: Mutex<HeapTrim>,
}

impl Tracker {
    /// Takes one of `max` connection slots, waiting for one to come free. Accept loops on other
    /// threads take from the same count, so it is taken atomically, after the accept: a loop
    /// never reserves a slot it may not use while another loop's listener has connections.
    async fn acquire(&self, max: usize) {
        loop {
            let mut active = self.active.load(Ordering::SeqCst);
            while active < max {
                match self
                    .active
                    .compare_exchange_weak(active, active + 1, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => return,
                    Err(now) => active = now,
                }
            }
            let l = self.changed.listen();
            if self.active.load(Ordering::SeqCst) < max {
                continue;
            }
            l.await;
        }
    }

    /// Called as a connection ends: true when the memory of the connections that ended should
    /// be given back now (see [`HeapTrim`]).
    fn closed(&self) -> bool {
        let open = self.active.fetch_sub(1, Ordering::SeqCst) - 1;
        self.changed.notify(usize::MAX);
        lock(&self.trim).ended(open)
    }

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
struct Live(Option<Arc<Tracker>>);

impl Live {
    /// Counts out the slot taken with [`Tracker::acquire`] when dropped or ended.
    fn new(tracker: &Arc<Tracker>) -> Live {
        Live(Some(tracker.clone()))
    }

    /// Ends the connection's count; true when memory should be given back now.
    fn end(mut self) -> bool {
        self.0.take().is_some_and(|t| t.closed())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // A task that panicked: count it out, leave the memory for the next trim.
        if let Some(t) = self.0.take() {
            t.closed();
        }
    }
}

/// Everything a connection task shares with the server.
struct Shared<R: Runtime> {
    rt: R,
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    files: Option<Arc<FileRoot>>,
    keylog: Option<Arc<KeyLog>>,
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

/// What the accept loops of one server share when each runs on a thread and runtime of its own
/// (one listener per core, see `tokio::serve`): the count of live connections behind
/// `max_connections` and the memory trim, and the numbering of connections.
#[derive(Debug, Default)]
pub struct Group {
    tracker: Arc<Tracker>,
    accepted: AtomicU64,
}

/// Accepts and serves connections concurrently until `-naccept` is reached or `shutdown` fires,
/// then waits for the connections in flight. One of the accept loops of `group` (a new
/// [`Group`] for a server with one loop): connections are numbered, counted against
/// `max_connections` and trimmed for across the group; `-naccept` counts this loop's.
#[allow(clippy::too_many_arguments)]
pub async fn serve<R: Runtime>(
    group: &Group,
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
    let tracker = &group.tracker;
    let max = serve.max_connections.max(1);
    let ticking = Arc::new(AtomicBool::new(false));
    // One registration with the shutdown switch for the loop's life, not one per accept: the
    // switch is shared by every loop's thread. Never polled again once it resolved.
    let mut stop = pin!(shutdown.wait());
    while serve.naccept.is_none_or(|n| summary.connections < n) {
        let accepted = future::or(
            async {
                let accepted = rt.accept(&listener).await;
                if accepted.is_ok() {
                    // At the limit the accepted connection waits here, unserved, as it would in
                    // the kernel's backlog; this loop accepts no other meanwhile.
                    tracker.acquire(max).await;
                }
                Some(accepted)
            },
            async {
                stop.as_mut().await;
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
                let id = group.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                {
                    let mut observer = lock(&shared.observer);
                    peer.report(&mut *observer, id);
                    if let Some(local) = observer.wants_local_address().then(|| R::local_addr(&stream)).flatten() {
                        observer.local_address(id, local);
                    }
                }
                if !ticking.swap(true, Ordering::Relaxed) {
                    rt.spawn(keep_a_tick_pending(rt.clone(), tracker.clone(), ticking.clone()));
                }
                let live = Live::new(tracker);
                let shared = shared.clone();
                rt.spawn(async move {
                    drive(&shared, id, stream).await;
                    if live.end() {
                        // Off the event loop: it locks the allocator's arenas for a moment.
                        shared.rt.unblock(sserve_engine::ossl::release_free_memory).await;
                    }
                });
            }
        }
    }
    // Stop listening as soon as the count is reached, then let the connections finish.
    drop(listener);
    tracker.wait_below(1).await;
    summary
}

/// How far ahead [`keep_a_tick_pending`] keeps its timer.
const TICK: StdDuration = StdDuration::from_millis(250);

/// Keeps a timer pending on this loop while connections come and go. tokio wakes its reactor
/// (an eventfd write, then one more turn of the loop) whenever a timer is set earlier than every
/// pending one; with one client connecting again and again that was every connection (its
/// handshake timer, on a loop with no other timer, and its linger after closing). With a tick
/// pending at most [`TICK`] ahead, a connection's timers (the shortest is the 500 ms linger)
/// wake nothing. Ends after two ticks without a live connection, so an idle server sleeps; the
/// accept loop starts it again.
async fn keep_a_tick_pending<R: Runtime>(rt: R, tracker: Arc<Tracker>, ticking: Arc<AtomicBool>) {
    let mut idle = 0;
    while idle < 2 {
        rt.sleep_until(StdInstant::now() + TICK).await;
        idle = if tracker.active.load(Ordering::Relaxed) == 0 {
            idle + 1
        } else {
            0
        };
    }
    ticking.store(false, Ordering::Relaxed);
}

/// What ended a wait in the connection loop.
enum Wake {
    Readable(io::Result<()>),
    Timer,
    Shutdown,
}

/// Serves one connection to its end.
async fn drive<R: Runtime>(shared: &Shared<R>, id: ConnId, stream: R::Stream) {
    let session = match shared.config.session(shared.opts.clone(), shared.now()) {
        Ok(s) => s,
        Err(e) => return shared.io_error("creating a session", &io::Error::other(e.reason)),
    };
    let mut conn = Connection::new(session);
    let mut peer_ended = false;
    let mut stopping = false;
    let mut src = Source::default();
    let mut room = Room::default();
    // Bytes the connection handed out and not yet written: held until the connection has to
    // wait, ends or has a file piece's worth, so that what one turn produces (a session ticket,
    // the response, close_notify) leaves in one write, and a file's records leave one by one.
    let mut pending: Vec<Bytes> = Vec::new();
    // One registration with the shutdown switch for the connection's life (see `serve`); not
    // polled once it resolved (`stopping`).
    let mut stop = pin!(shared.shutdown.wait());
    let mut step = conn.next();
    loop {
        step = match step {
            Step::Send(data) => {
                pending.push(data);
                if pending.iter().map(Bytes::len).sum::<usize>() < room.batch() && !conn.flight_waiting() {
                    conn.next()
                } else {
                    match flush(shared, &mut conn, &stream, &mut pending, &mut src, &mut room).await {
                        Ok(()) => conn.next(),
                        Err(end) => failed_send(shared, &mut conn, &end, &mut peer_ended, &mut src),
                    }
                }
            }
            Step::Read if src.ahead.has_piece() => {
                conn.piece(Ok(src.ahead.piece(FILE_PIECE)));
                conn.next()
            }
            Step::Read => match start_read(shared, &mut src.file, src.ahead.spent()) {
                // From the page cache: the piece joins what is pending.
                PieceRead::Ready(chunk) => answer_read(shared, &mut conn, &mut src, chunk),
                // On the blocking pool: what is pending is written meanwhile.
                PieceRead::Pool(read) => {
                    let sent = flush(shared, &mut conn, &stream, &mut pending, &mut src, &mut room);
                    let (sent, (f, chunk)) = future::zip(sent, read).await;
                    src.file = Some(f);
                    let after = answer_read(shared, &mut conn, &mut src, chunk);
                    match sent {
                        Ok(()) => after,
                        Err(end) => failed_send(shared, &mut conn, &end, &mut peer_ended, &mut src),
                    }
                }
            },
            Step::Report(Event::Closed(_)) | Step::Wait | Step::Done if !pending.is_empty() => {
                match flush(shared, &mut conn, &stream, &mut pending, &mut src, &mut room).await {
                    Ok(()) => step,
                    Err(end) => failed_send(shared, &mut conn, &end, &mut peer_ended, &mut src),
                }
            }
            Step::Report(event) => {
                let mut observer = lock(&shared.observer);
                if matches!(event, Event::Closed(_)) {
                    observer.totals(id, &conn.totals());
                }
                crate::observer::report(shared.keylog.as_deref(), &mut *observer, id, &event);
                drop(observer);
                conn.next()
            }
            Step::Open(req) => {
                // Opening cannot block (non-blocking open, regular files only).
                match open_requested(shared.files.as_deref(), &req.path) {
                    Ok(f) => {
                        conn.opened(Ok(()), Some(f.size()));
                        src = Source {
                            file: Some(f),
                            ahead: ReadAhead::default(),
                        };
                    }
                    Err(e) => conn.opened(Err(e), None),
                }
                conn.next()
            }
            Step::Done => break,
            Step::Wait => {
                let deadline = conn.poll_timeout().map(|t| shared.to_std(t));
                let wake = future::or(
                    async { Wake::Readable(R::readable(&stream).await) },
                    future::or(
                        async {
                            sleep_until(shared, deadline).await;
                            Wake::Timer
                        },
                        async {
                            if stopping {
                                future::pending::<()>().await;
                            }
                            stop.as_mut().await;
                            Wake::Shutdown
                        },
                    ),
                )
                .await;
                let now = shared.now();
                match wake {
                    Wake::Readable(Ok(())) => {
                        if conn.readable(now, &mut SocketReader::<R>(&stream)) == Pulled::End {
                            peer_ended = true;
                        }
                    }
                    Wake::Readable(Err(_)) => {
                        peer_ended = true;
                        conn.eof(now);
                    }
                    Wake::Timer => conn.timeout(now),
                    Wake::Shutdown => {
                        stopping = true;
                        conn.close();
                    }
                }
                conn.next()
            }
        };
    }
    // The session is done: a connection lingering for its peer's FIN (up to `LINGER`) holds
    // its socket, not its TLS session and buffers (~4 KiB where it held ~37 KiB).
    drop((src, conn, pending));
    if stopping {
        let _ = R::shutdown_write(&stream);
    } else {
        linger::<R>(shared, &stream, peer_ended, stop).await;
    }
}

/// The file being served and what was read of it ahead of the session.
#[derive(Default)]
struct Source {
    file: Option<ServedFile>,
    ahead: ReadAhead,
}

impl Source {
    /// Frees what was read ahead (it is read again when needed): a connection that waits for
    /// its peer holds no file data.
    fn release(&mut self) {
        self.ahead.release(self.file.as_mut());
    }
}

/// The next chunk of the file being served: at hand, or being read on the blocking pool (which
/// holds the file until it is done).
enum PieceRead<F> {
    Ready(io::Result<Vec<u8>>),
    Pool(F),
}

/// Starts reading the next chunk, into the spent one's buffer (`reuse`) where it can. A small
/// file's chunk comes from the page cache in microseconds, while a trip to the blocking pool
/// costs two thread hand-offs: only a read that would wait for the disk goes there.
fn start_read<'a, R: Runtime>(
    shared: &'a Shared<R>,
    file: &mut Option<ServedFile>,
    mut reuse: Vec<u8>,
) -> PieceRead<impl std::future::Future<Output = (ServedFile, io::Result<Vec<u8>>)> + Send + use<'a, R>> {
    let Some(mut f) = file.take() else {
        return PieceRead::Ready(Err(io::Error::other("no file open")));
    };
    match f.read_piece_cached(READ_AHEAD, &mut reuse) {
        Some(read) => {
            *file = Some(f);
            PieceRead::Ready(read.map(|()| reuse))
        }
        None => PieceRead::Pool(shared.rt.unblock(move || {
            let piece = f.read_piece(READ_AHEAD);
            (f, piece)
        })),
    }
}

/// Hands the first piece of a chunk read to the connection (reporting a failure) and returns
/// the next step.
fn answer_read<R: Runtime>(
    shared: &Shared<R>,
    conn: &mut Connection,
    src: &mut Source,
    chunk: io::Result<Vec<u8>>,
) -> Step {
    match chunk {
        Ok(c) => {
            src.ahead.set(c);
            conn.piece(Ok(src.ahead.piece(FILE_PIECE)));
        }
        Err(e) => {
            shared.io_error("reading file", &e);
            conn.piece(Err(e));
        }
    }
    conn.next()
}

/// Tells the connection that writing ended early (reporting why) and returns its next step.
fn failed_send<R: Runtime>(
    shared: &Shared<R>,
    conn: &mut Connection,
    end: &SendEnd,
    peer_ended: &mut bool,
    src: &mut Source,
) -> Step {
    connection::report_send_end(&mut *lock(&shared.observer), end);
    *peer_ended |= !matches!(end, SendEnd::Stopping);
    conn.send_failed(shared.now(), end);
    *src = Source::default();
    conn.next()
}

/// Writes the pending bytes (see [`send_all`]), small ones joined into one write.
async fn flush<R: Runtime>(
    shared: &Shared<R>,
    conn: &mut Connection,
    stream: &R::Stream,
    pending: &mut Vec<Bytes>,
    src: &mut Source,
    room: &mut Room,
) -> Result<(), SendEnd> {
    let batch = connection::coalesce(std::mem::take(pending));
    send_all(shared, conn, stream, batch, src, room).await
}

/// Most buffers offered to one write.
const MAX_IOV: usize = 4;

/// How much the socket is known to take without waiting, so that a download writes several
/// records at once while there is room, and one at a time near its end: a write the socket
/// cuts short then leaves at most one record to hold while the peer is not reading. Only a
/// file's data asks the socket (`SO_SNDBUF`, one system call now and then).
#[derive(Debug, Default)]
struct Room {
    /// Bytes the socket surely takes (`None`: not asked yet).
    sure: Option<usize>,
    /// Bytes written since the connection last waited for the socket.
    quiet: usize,
    /// Once `sure` ran out, ask again when `quiet` reaches this.
    recheck: usize,
}

impl Room {
    /// How many bytes to gather before writing.
    fn batch(&self) -> usize {
        if self.sure.is_some_and(|s| s >= SEND_CHUNK) {
            SEND_CHUNK
        } else {
            FILE_PIECE
        }
    }

    /// The socket took `n` bytes.
    fn took(&mut self, n: usize) {
        if let Some(sure) = &mut self.sure {
            *sure = sure.saturating_sub(n);
        }
        self.quiet += n;
    }

    /// True when the socket should be asked again.
    fn due(&self) -> bool {
        self.sure.is_some_and(|s| s < SEND_CHUNK) && self.quiet >= self.recheck
    }

    /// Asks the socket's send buffer size. At first all of it but the little written before
    /// is free (half of it is data surely); after a wait at least a third (Linux reports a
    /// full TCP socket writable at that), a quarter as data. A peer that took twice the buffer
    /// without making us wait reads steadily: from then on its writes are batched until the
    /// next wait.
    fn ask<R: Runtime>(&mut self, stream: &R::Stream, waited: bool) {
        let buf = R::send_buffer(stream).unwrap_or(0);
        if waited {
            self.quiet = 0;
            self.sure = Some(buf / 4);
        } else if self.sure.is_none() {
            self.sure = Some(buf / 2);
        } else if self.quiet >= 2 * buf {
            self.sure = Some(usize::MAX);
        }
        self.recheck = (2 * buf).max(self.quiet + 4 * SEND_CHUNK);
    }
}

/// Resolves at `deadline`, or never.
async fn sleep_until<R: Runtime>(shared: &Shared<R>, deadline: Option<StdInstant>) {
    match deadline {
        Some(d) => shared.rt.sleep_until(d).await,
        None => future::pending::<()>().await,
    }
}

/// Writes `batch`: several buffers a write while [`Room`] says the socket takes them, else one,
/// each slice at most [`SEND_CHUNK`]. Whenever the socket is full it waits for room, racing the
/// session's timer and the server's shutdown: a peer that takes nothing before the send (or
/// idle) timeout ends the connection. Meanwhile the connection holds only what is left to
/// write: the unsent end of a partly written buffer is copied out of it (the rest of its
/// allocation is freed) and the file data read ahead is given back (see [`Source`]).
async fn send_all<R: Runtime>(
    shared: &Shared<R>,
    conn: &mut Connection,
    stream: &R::Stream,
    batch: Vec<Bytes>,
    src: &mut Source,
    room: &mut Room,
) -> Result<(), SendEnd> {
    let mut batch = std::collections::VecDeque::from(batch);
    if room.sure.is_none() && batch.iter().map(Bytes::len).sum::<usize>() >= FILE_PIECE {
        room.ask::<R>(stream, false);
    }
    // The first buffer was partly written: it is a view of a larger allocation.
    let mut cut = false;
    while let Some(first) = batch.front() {
        let mut iov = [io::IoSlice::new(&[]); MAX_IOV];
        iov[0] = io::IoSlice::new(&first[..first.len().min(SEND_CHUNK)]);
        let (mut n, mut offered) = (1, iov[0].len());
        let whole = offered == first.len();
        for next in batch.iter().skip(1).take(MAX_IOV - 1).filter(|_| whole) {
            if offered + next.len() > room.sure.unwrap_or(0).min(SEND_CHUNK + FILE_PIECE) {
                break;
            }
            iov[n] = io::IoSlice::new(next);
            n += 1;
            offered += next.len();
        }
        match R::try_write(stream, &iov[..n]) {
            Ok(0) => return Err(SendEnd::Failed(io::ErrorKind::WriteZero.into())),
            Ok(mut put) => {
                room.took(put);
                if room.due() {
                    room.ask::<R>(stream, false);
                }
                while let Some(first) = batch.front_mut().filter(|_| put > 0) {
                    if first.len() <= put {
                        put -= first.len();
                        batch.pop_front();
                        cut = false;
                    } else {
                        first.advance(put);
                        put = 0;
                        cut = true;
                    }
                }
                conn.sent(shared.now());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Some(first) = batch.front_mut().filter(|_| cut) {
                    *first = Bytes::copy_from_slice(first);
                    cut = false;
                }
                src.release();
                // Until some of it is taken the peer counts as not reading (cleared by `sent`).
                conn.send_blocked(shared.now());
                wait_writable(shared, conn, stream).await?;
                room.ask::<R>(stream, true);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(SendEnd::Failed(e)),
        }
    }
    Ok(())
}

/// Waits until the socket may take more, the session's timer ends the connection, or the server
/// stops.
async fn wait_writable<R: Runtime>(
    shared: &Shared<R>,
    conn: &mut Connection,
    stream: &R::Stream,
) -> Result<(), SendEnd> {
    loop {
        let deadline = conn.poll_timeout().map(|t| shared.to_std(t));
        let ready = future::or(async { Some(R::writable(stream).await) }, async {
            future::or(sleep_until(shared, deadline), shared.shutdown.wait()).await;
            None
        })
        .await;
        match ready {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => return Err(SendEnd::Failed(e)),
            None if shared.shutdown.is_triggered() => return Err(SendEnd::Stopping),
            None => {
                conn.timeout(shared.now());
                if conn.is_send_stalled() {
                    return Err(SendEnd::Stalled);
                }
            }
        }
    }
}

/// The connection's socket as the session reads it: straight into OpenSSL's record buffer.
struct SocketReader<'s, R: Runtime>(&'s R::Stream);

impl<R: Runtime> PeerReader for SocketReader<'_, R> {
    fn read<'b>(&mut self, buf: &'b mut [MaybeUninit<u8>]) -> PeerRead<'b> {
        connection::peer_read(R::try_read(self.0, buf))
    }
}

/// Reads and drops what the peer sent; true once it has ended (or the read failed).
fn discard_some<R: Runtime>(stream: &R::Stream) -> bool {
    let mut sink = [MaybeUninit::uninit(); 4096];
    connection::peer_read(R::try_read(stream, &mut sink)) == PeerRead::End
}

/// Half-closes and waits briefly for the peer's FIN so our last alert or close_notify is read
/// before the socket goes away (as s_server's `do_server` does).
async fn linger<R: Runtime>(
    shared: &Shared<R>,
    stream: &R::Stream,
    peer_ended: bool,
    stop: Pin<&mut impl Future<Output = ()>>,
) {
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
                if discard_some::<R>(stream) {
                    return;
                }
            }
        },
        future::or(shared.rt.sleep_until(until), stop),
    )
    .await;
}
