//! DTLS over UDP: one socket, one [`DtlsListener`] demultiplexing datagrams by peer address,
//! every association served concurrently (interleaved on one thread: the engine does the work,
//! the adapter only moves datagrams and time).
//!
//! - [`UdpServer`]: `std::net`, with the console (stdin) for the console mode; a reader
//!   thread feeds socket datagrams and console input into one bounded channel (datagrams that
//!   find it full are dropped, as a full socket buffer would).
//! - [`serve_async`]: the same loop on tokio or smol (`-runtime`), for `-rev` and quiet modes.
//!
//! `-naccept` counts associations (a peer that returned a valid cookie), as s_server counts
//! each `sv_body` run on its UDP socket.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::Duration as StdDuration;

use socket2::{Domain, Protocol, Socket, Type};
use sserve_engine::ossl::DtlsListener;
use sserve_engine::{Event, Instant};

use crate::keylog::KeyLog;
use crate::listen::ListenSpec;
use crate::observer::{ConnId, Observer, Summary, Totals};
use crate::shutdown::Shutdown;
use crate::trim::HeapTrim;

/// Largest datagram read (a UDP payload is at most 64 KiB).
const DATAGRAM_MAX: usize = 64 * 1024;
/// Datagrams (and console reads) the serving thread may hold unread.
const QUEUE: usize = 64;

/// Binds a UDP socket for `spec` (IPv6 dual stack first unless `-4`, like the TCP listener).
pub fn bind_udp(spec: &ListenSpec) -> io::Result<UdpSocket> {
    let addrs: Vec<SocketAddr> = match &spec.host {
        Some(h) => (h.as_str(), spec.port).to_socket_addrs()?.collect(),
        None if spec.ipv4_only => vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), spec.port)],
        None => vec![
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), spec.port),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), spec.port),
        ],
    };
    let mut last = None;
    for addr in addrs
        .into_iter()
        .filter(|a| !(spec.ipv4_only && a.is_ipv6() || spec.ipv6_only && a.is_ipv4()))
    {
        let attempt = (|| {
            let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
            s.set_reuse_address(true)?;
            if addr.is_ipv6() {
                s.set_only_v6(spec.ipv6_only)?;
            }
            s.bind(&addr.into())?;
            Ok::<UdpSocket, io::Error>(s.into())
        })();
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind")))
}

/// The IP + UDP header size on this socket: a link MTU minus this is the largest datagram.
pub fn header_overhead(socket: &UdpSocket) -> usize {
    match socket.local_addr() {
        Ok(SocketAddr::V4(_)) => sserve_engine::ossl::dtls::IPV4_UDP_OVERHEAD,
        _ => sserve_engine::ossl::dtls::IPV6_UDP_OVERHEAD,
    }
}

/// The serving state shared by the blocking and async loops: the listener, connection ids per
/// peer, and what the events ask for.
struct Core {
    listener: DtlsListener,
    /// The open associations: their id and what they moved so far.
    ids: HashMap<SocketAddr, (ConnId, Totals)>,
    /// The datagram just handed to the listener from a peer without an association: if it
    /// opens one, it is that association's first.
    unattributed_in: Option<(SocketAddr, u64)>,
    summary: Summary,
    keylog: Option<KeyLog>,
    epoch: std::time::Instant,
    trim: HeapTrim,
}

impl Core {
    fn new(listener: DtlsListener, keylog: Option<KeyLog>) -> Core {
        Core {
            listener,
            ids: HashMap::new(),
            unattributed_in: None,
            summary: Summary::default(),
            keylog,
            epoch: std::time::Instant::now(),
            trim: HeapTrim::default(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn deadline(&self) -> Option<std::time::Instant> {
        self.listener
            .poll_timeout()
            .map(|t| self.epoch + StdDuration::from_micros(t.as_micros()))
    }

    /// Hands a datagram from `peer` to the listener, counting it for its association.
    fn handle(&mut self, now: Instant, peer: SocketAddr, data: &[u8]) {
        match self.ids.get_mut(&peer) {
            Some((_, t)) => t.bytes_in += data.len() as u64,
            None => self.unattributed_in = Some((peer, data.len() as u64)),
        }
        self.listener.handle(now, peer, data);
    }

    /// Moves the queued datagrams to `out`, counting them for their associations; those to a
    /// peer without one (yet) are left uncounted (`false`).
    fn transmits(&mut self, out: &mut Vec<(SocketAddr, bytes::Bytes, bool)>) {
        while let Some(t) = self.listener.poll_transmit() {
            let counted = match self.ids.get_mut(&t.peer) {
                Some((_, totals)) => {
                    totals.bytes_out += t.data.len() as u64;
                    true
                }
                None => false,
            };
            out.push((t.peer, t.data, counted));
        }
    }

    /// Hands events to the observer; returns the datagrams to send.
    fn drain(&mut self, observer: &mut dyn Observer) -> Vec<(SocketAddr, bytes::Bytes)> {
        let mut out = Vec::new();
        let first_in = self.unattributed_in.take();
        self.transmits(&mut out);
        while let Some((peer, event)) = self.listener.poll_event() {
            let id = match event {
                Event::DatagramAccepted => {
                    self.summary.connections += 1;
                    let id = self.summary.connections;
                    // The accepting datagram and the flight it brought belong to the new
                    // association (the stateless cookie exchange before it does not).
                    let mut totals = Totals {
                        bytes_in: first_in.filter(|(p, _)| *p == peer).map_or(0, |(_, n)| n),
                        bytes_out: 0,
                    };
                    for (_, data, counted) in out.iter_mut().filter(|(p, _, c)| *p == peer && !*c) {
                        totals.bytes_out += data.len() as u64;
                        *counted = true;
                    }
                    self.ids.insert(peer, (id, totals));
                    observer.accepted(id, peer);
                    continue;
                }
                _ => self.ids.get(&peer).map_or(0, |(id, _)| *id),
            };
            match &event {
                Event::StopServer => {
                    self.summary.stopped_by_console = true;
                    self.listener.close_all();
                }
                Event::Closed(_) => {
                    if let Some((id, totals)) = self.ids.remove(&peer) {
                        observer.totals(id, &totals);
                    }
                    // Associations released in bulk (expired half-open ones) leave their
                    // OpenSSL memory in the middle of the heap.
                    if self.trim.ended(self.listener.peer_count()) {
                        sserve_engine::ossl::release_free_memory();
                    }
                }
                _ => {}
            }
            crate::observer::report(self.keylog.as_ref(), observer, id, &event);
            // Closing everything may have queued more output.
            self.transmits(&mut out);
        }
        out.into_iter().map(|(peer, data, _)| (peer, data)).collect()
    }
}

#[derive(Debug)]
enum Input {
    Datagram(SocketAddr, Vec<u8>),
    Console(Vec<u8>),
    ConsoleEof,
    /// Look at the shutdown switch.
    Wake,
}

/// The blocking DTLS server (see the module docs).
pub struct UdpServer {
    socket: UdpSocket,
    listener: DtlsListener,
    keylog: Option<KeyLog>,
    console: bool,
    shutdown: Arc<Shutdown>,
    tx: SyncSender<Input>,
    rx: Receiver<Input>,
}

impl UdpServer {
    /// A server on `socket`, stopped by `shutdown` (every association gets close_notify). `console`:
    /// read stdin and give it to every open association.
    pub fn new(
        socket: UdpSocket,
        listener: DtlsListener,
        keylog: Option<KeyLog>,
        console: bool,
        shutdown: Arc<Shutdown>,
    ) -> Self {
        let (tx, rx) = crate::shutdown::woken_channel(&shutdown, QUEUE, || Input::Wake);
        UdpServer {
            socket,
            listener,
            keylog,
            console,
            shutdown,
            tx,
            rx,
        }
    }

    /// Serves until `-naccept` associations are done, the console stops the server (`Q`,
    /// console EOF) or the shutdown handle fires.
    pub fn serve(self, observer: &mut dyn Observer) -> Summary {
        let UdpServer {
            socket,
            listener,
            keylog,
            console,
            shutdown,
            tx,
            rx,
        } = self;
        let mut core = Core::new(listener, keylog);
        if let Ok(reader) = socket.try_clone() {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut buf = vec![0u8; DATAGRAM_MAX];
                loop {
                    match reader.recv_from(&mut buf) {
                        Ok((n, peer)) => match tx.try_send(Input::Datagram(peer, buf[..n].to_vec())) {
                            Err(mpsc::TrySendError::Disconnected(_)) => return,
                            // Behind: drop it, as a full socket buffer would.
                            Err(mpsc::TrySendError::Full(_)) | Ok(()) => {}
                        },
                        // ICMP port unreachable from a vanished peer and the like.
                        Err(_) => thread::sleep(StdDuration::from_millis(1)),
                    }
                }
            });
        }
        if console {
            crate::shutdown::spawn_console_reader(tx.clone(), Input::Console, Input::ConsoleEof, || {});
        }
        drop(tx);
        let mut closing = false;
        loop {
            if shutdown.is_triggered() && !closing {
                closing = true;
                core.listener.close_all();
            }
            for (peer, data) in core.drain(observer) {
                if let Err(e) = socket.send_to(&data, peer) {
                    observer.io_error("send", &e);
                }
            }
            if core.listener.is_finished() {
                break;
            }
            let input = match core.deadline() {
                Some(d) => match rx.recv_timeout(d.saturating_duration_since(std::time::Instant::now())) {
                    Ok(i) => Some(i),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(i) => Some(i),
                    Err(_) => break,
                },
            };
            let now = core.now();
            match input {
                None => core.listener.handle_timeout(now),
                Some(Input::Datagram(peer, data)) => core.handle(now, peer, &data),
                Some(Input::Console(data)) => core.listener.console_input(&data),
                Some(Input::ConsoleEof) => core.listener.console_eof(),
                Some(Input::Wake) => {}
            }
            // Deadlines that passed while we were busy.
            core.listener.handle_timeout(core.now());
        }
        core.summary
    }
}

#[cfg(feature = "async")]
pub use self::async_udp::serve_async;

#[cfg(feature = "async")]
mod async_udp {
    use std::future::Future;
    use std::io;
    use std::net::{SocketAddr, UdpSocket};
    use std::sync::{Arc, Mutex};

    use futures_lite::future;
    use sserve_engine::ossl::DtlsListener;

    use super::{Core, DATAGRAM_MAX};
    use crate::driver::{SharedObserver, Shutdown};
    use crate::keylog::KeyLog;
    use crate::observer::{ConnId, Observer, Summary, Totals};

    /// What the async loop needs from a runtime's UDP socket.
    pub(crate) trait AsyncUdp {
        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a;
        fn send_to<'a>(&'a self, buf: &'a [u8], peer: SocketAddr) -> impl Future<Output = io::Result<usize>> + 'a;
        fn sleep_until(&self, deadline: std::time::Instant) -> impl Future<Output = ()>;
    }

    /// Forwards to the shared observer (held only for the call).
    struct Locked<'a>(&'a Mutex<dyn Observer + Send>);

    impl Observer for Locked<'_> {
        fn accepted(&mut self, conn: ConnId, peer: SocketAddr) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).accepted(conn, peer);
        }
        fn event(&mut self, conn: ConnId, event: &sserve_engine::Event) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).event(conn, event);
        }
        fn io_error(&mut self, context: &str, error: &io::Error) {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .io_error(context, error);
        }
        fn totals(&mut self, conn: ConnId, totals: &Totals) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).totals(conn, totals);
        }
    }

    enum Wake {
        Datagram(io::Result<(usize, SocketAddr)>),
        Timer,
        Shutdown,
    }

    pub(crate) async fn run<U: AsyncUdp>(
        socket: U,
        listener: DtlsListener,
        keylog: Option<KeyLog>,
        observer: SharedObserver,
        shutdown: Arc<Shutdown>,
    ) -> Summary {
        let mut core = Core::new(listener, keylog);
        let mut obs = Locked(&observer);
        let mut buf = vec![0u8; DATAGRAM_MAX];
        let mut closing = false;
        // One registration with the shutdown switch for the server's life, not one per
        // datagram; once it resolved `closing` is set and it is not polled again.
        let mut stop = std::pin::pin!(shutdown.wait());
        loop {
            for (peer, data) in core.drain(&mut obs) {
                if let Err(e) = socket.send_to(&data, peer).await {
                    obs.io_error("send", &e);
                }
            }
            if core.listener.is_finished() {
                break;
            }
            if shutdown.is_triggered() && !closing {
                closing = true;
                core.listener.close_all();
                continue;
            }
            let deadline = core.deadline();
            let wake = future::or(
                async { Wake::Datagram(socket.recv_from(&mut buf).await) },
                future::or(
                    async {
                        match deadline {
                            Some(d) => socket.sleep_until(d).await,
                            None => future::pending::<()>().await,
                        }
                        Wake::Timer
                    },
                    async {
                        if closing {
                            future::pending::<()>().await;
                        }
                        stop.as_mut().await;
                        Wake::Shutdown
                    },
                ),
            )
            .await;
            let now = core.now();
            match wake {
                Wake::Datagram(Ok((n, peer))) => core.handle(now, peer, &buf[..n]),
                Wake::Datagram(Err(_)) => {} // ICMP errors from vanished peers
                Wake::Timer => {}
                Wake::Shutdown => {}
            }
            core.listener.handle_timeout(core.now());
        }
        core.summary
    }

    /// Serves DTLS on `socket` with the chosen runtime (`tokio` or `smol`) until `-naccept`
    /// associations are done or `shutdown` fires.
    pub fn serve_async(
        runtime: &str,
        threads: usize,
        socket: UdpSocket,
        listener: DtlsListener,
        keylog: Option<KeyLog>,
        observer: SharedObserver,
        shutdown: Arc<Shutdown>,
    ) -> io::Result<Summary> {
        let _ = threads;
        socket.set_nonblocking(true)?;
        match runtime {
            #[cfg(feature = "tokio")]
            "tokio" => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                rt.block_on(async move {
                    let s = tokio::net::UdpSocket::from_std(socket)?;
                    Ok(run(TokioUdp(s), listener, keylog, observer, shutdown).await)
                })
            }
            #[cfg(feature = "smol")]
            "smol" => {
                let s = async_io::Async::new(socket)?;
                Ok(async_io::block_on(run(
                    SmolUdp(s),
                    listener,
                    keylog,
                    observer,
                    shutdown,
                )))
            }
            other => Err(io::Error::other(format!("runtime '{other}' is not available"))),
        }
    }

    #[cfg(feature = "tokio")]
    struct TokioUdp(tokio::net::UdpSocket);

    #[cfg(feature = "tokio")]
    impl AsyncUdp for TokioUdp {
        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
            self.0.recv_from(buf)
        }
        fn send_to<'a>(&'a self, buf: &'a [u8], peer: SocketAddr) -> impl Future<Output = io::Result<usize>> + 'a {
            self.0.send_to(buf, peer)
        }
        fn sleep_until(&self, deadline: std::time::Instant) -> impl Future<Output = ()> {
            tokio::time::sleep_until(deadline.into())
        }
    }

    #[cfg(feature = "smol")]
    struct SmolUdp(async_io::Async<UdpSocket>);

    #[cfg(feature = "smol")]
    impl AsyncUdp for SmolUdp {
        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
            self.0.recv_from(buf)
        }
        fn send_to<'a>(&'a self, buf: &'a [u8], peer: SocketAddr) -> impl Future<Output = io::Result<usize>> + 'a {
            self.0.send_to(buf, peer)
        }
        async fn sleep_until(&self, deadline: std::time::Instant) {
            async_io::Timer::at(deadline).await;
        }
    }
}
