//! Stream sockets as the serving loops see them: TCP (`-accept`, `-port`) or a Unix-domain
//! socket (`-unix path`, `-unlink`). The loops only move bytes, so one small enum per runtime
//! is all a second socket family needs.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use crate::observer::{ConnId, Observer};

/// `-nbio_test`: every socket read and write moves 1 to 7 bytes, like s_server's
/// `BIO_f_nbio_test` filter (which returns 0 to 7 bytes, 0 meaning "retry", at each call). A
/// process-wide switch, as s_server's `s_nbio_test` is, set once at start-up.
static SHORT_IO: AtomicBool = AtomicBool::new(false);

/// Turns `-nbio_test`'s short socket I/O on or off for every stream socket.
pub fn set_short_io(on: bool) {
    SHORT_IO.store(on, Ordering::Relaxed);
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        use std::hash::{BuildHasher, Hasher};
        // RandomState is randomly keyed per process and thread: a cheap, dependency-free seed.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        h.finish() | 1
    });
}

/// How many bytes of `len` the next socket call may move: all of them normally; with
/// `-nbio_test` a random 1 to 7 (s_server's filter draws 0 to 7 and treats 0 as a retry, which
/// here is simply the next draw).
pub(crate) fn io_len(len: usize) -> usize {
    if !SHORT_IO.load(Ordering::Relaxed) || len == 0 {
        return len;
    }
    let r = RNG.with(|c| {
        let mut x = c.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        x
    });
    len.min(1 + (r % 7) as usize)
}

#[cfg(any(feature = "tokio", feature = "smol"))]
/// With `-nbio_test`, the 1 to 7 bytes of `bufs` the next write may move instead of all.
pub(crate) fn short_io<'b>(bufs: &'b [io::IoSlice<'_>]) -> Option<io::IoSlice<'b>> {
    let first = bufs.first()?;
    let n = io_len(first.len());
    (n < first.len() || (bufs.len() > 1 && SHORT_IO.load(Ordering::Relaxed))).then(|| io::IoSlice::new(&first[..n]))
}

/// One `sendmsg` of `bufs`, with `MSG_NOSIGNAL`: a reset peer is an error here, never a SIGPIPE.
#[cfg(any(feature = "tokio", feature = "smol"))]
pub(crate) fn send(socket: impl std::os::fd::AsFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let mut no_control = rustix::net::SendAncillaryBuffer::default();
    Ok(rustix::net::sendmsg(
        socket,
        bufs,
        &mut no_control,
        rustix::net::SendFlags::NOSIGNAL,
    )?)
}

/// Who connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A TCP peer.
    Ip(SocketAddr),
    /// A Unix-domain peer (clients of a stream socket are normally unnamed).
    Unix,
}

impl Peer {
    /// Tells `observer` about the accepted connection `conn`.
    pub fn report(&self, observer: &mut (impl Observer + ?Sized), conn: ConnId) {
        match self {
            Peer::Ip(addr) => observer.accepted(conn, *addr),
            Peer::Unix => observer.accepted_unix(conn),
        }
    }
}

/// A bound, listening stream socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix domain.
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Self {
        Listener::Unix(l)
    }
}

impl Listener {
    /// Waits for the next connection.
    pub fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), Peer::Ip(a))),
            Listener::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), Peer::Unix)),
        }
    }

    /// Switches the socket to non-blocking mode (the async runtimes need it).
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(on),
            Listener::Unix(l) => l.set_nonblocking(on),
        }
    }
}

impl std::os::fd::AsFd for Listener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        }
    }
}

/// A connected stream socket.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix domain.
    Unix(UnixStream),
}

impl Stream {
    /// The local address of a TCP connection.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok(),
            Stream::Unix(_) => None,
        }
    }

    /// Disables Nagle's algorithm on TCP, as s_server does (`BIO_set_tcp_ndelay`); Unix-domain
    /// sockets have no such delay.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nodelay(on),
            Stream::Unix(_) => Ok(()),
        }
    }

    /// Switches blocking mode (an accepted socket may inherit the listener's on some systems).
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    /// Bounds how long one write may wait for the peer to read.
    pub fn set_write_timeout(&self, t: Option<StdDuration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            Stream::Unix(s) => s.set_write_timeout(t),
        }
    }

    /// A second handle on the same socket.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }

    /// Reads into uninitialised memory (OpenSSL's record buffer) and returns the part filled.
    pub(crate) fn read_uninit<'b>(&self, buf: &'b mut [MaybeUninit<u8>]) -> io::Result<&'b mut [u8]> {
        let n = io_len(buf.len());
        Ok(rustix::io::read(self, &mut buf[..n])?.0)
    }
}

impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = io_len(buf.len());
        let buf = &mut buf[..n];
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let buf = &buf[..io_len(buf.len())];
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// Linux creates an accepted TCP socket as a copy of the listening one, `TCP_NODELAY` included:
/// a listener that had it before it listened ([`crate::listen`] sets it so) passes it to every
/// connection, one system call less per connection.
const NODELAY_INHERITED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Whether a listener's connections come with `TCP_NODELAY` already set. A listener bound
/// elsewhere without it, or where sockets do not inherit it, has each accepted socket set it
/// ([`nodelay_accepted`]).
fn nodelay_inherited(listener: &TcpListener) -> io::Result<bool> {
    Ok(NODELAY_INHERITED && socket2::SockRef::from(listener).tcp_nodelay()?)
}

/// Disables Nagle's algorithm on an accepted socket, as s_server does (`BIO_set_tcp_ndelay`),
/// unless it came with that from its listener.
fn nodelay_accepted(stream: &impl std::os::fd::AsFd, inherited: bool) -> io::Result<()> {
    if !inherited {
        socket2::SockRef::from(stream).set_tcp_nodelay(true)?;
    }
    Ok(())
}

/// `-unix path` (with `-unlink`: remove whatever is at `path` first, as s_server does).
pub fn bind_unix(path: &Path, unlink: bool) -> io::Result<UnixListener> {
    if unlink {
        // s_server ignores unlink(2)'s result: a missing file is the usual case.
        let _ = std::fs::remove_file(path);
    }
    UnixListener::bind(path)
}

/// The tokio side: listener and stream over either family.
#[cfg(feature = "tokio")]
pub mod tokio_io {
    use super::{io_len, nodelay_accepted, nodelay_inherited, send, short_io, Peer};
    use std::io;
    use std::mem::MaybeUninit;
    use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

    /// A listening socket registered with tokio.
    #[derive(Debug)]
    pub enum Listener {
        /// TCP, and whether its connections inherit `TCP_NODELAY`.
        Tcp(TcpListener, bool),
        /// Unix domain.
        Unix(UnixListener),
    }

    /// A connected socket registered with tokio.
    #[derive(Debug)]
    pub enum Stream {
        /// TCP.
        Tcp(TcpStream),
        /// Unix domain.
        Unix(UnixStream),
    }

    /// Reads what the socket holds, through `try_io` (tokio's readiness). A read that returns
    /// less than asked for took all there was: it clears the readiness as `WouldBlock` would
    /// (tokio's own `poll_read` does the same), so the next wait goes straight to epoll instead
    /// of first spending a read that can only fail with `EAGAIN`.
    fn read_draining<'b, S: std::os::fd::AsFd>(
        buf: &'b mut [MaybeUninit<u8>],
        try_io: impl FnOnce(&mut dyn FnMut() -> io::Result<&'b mut [u8]>) -> io::Result<&'b mut [u8]>,
        socket: &S,
    ) -> io::Result<&'b mut [u8]> {
        let len = buf.len();
        let mut buf = Some(buf);
        let mut short = None;
        let result = try_io(&mut || {
            // `try_io` calls this once; the buffer's borrow moves into what it returns.
            let buf = buf.take().ok_or(io::ErrorKind::WouldBlock)?;
            let (got, _) = rustix::io::read(socket, buf)?;
            if !got.is_empty() && got.len() < len {
                short = Some(got);
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(got)
            }
        });
        match (result, short) {
            (Err(e), Some(got)) if e.kind() == io::ErrorKind::WouldBlock => Ok(got),
            (r, _) => r,
        }
    }

    /// Writes through `try_io` (tokio's readiness). A write that took less than offered filled
    /// the socket's buffer: it clears the readiness as `WouldBlock` would (tokio's own
    /// `poll_write` does the same; the kernel wakes the socket once room frees up), so the next
    /// wait goes straight to epoll instead of first spending a write that can only fail.
    fn write_filling(
        bufs: &[io::IoSlice<'_>],
        try_io: impl FnOnce(&mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>,
        mut send: impl FnMut() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let mut put = 0;
        let result = try_io(&mut || {
            put = send()?;
            if put > 0 && put < len {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(put)
            }
        });
        match result {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && put > 0 => Ok(put),
            r => r,
        }
    }

    impl Listener {
        pub(crate) fn from_std(l: super::Listener) -> io::Result<Self> {
            Ok(match l {
                super::Listener::Tcp(l) => {
                    let inherited = nodelay_inherited(&l)?;
                    Listener::Tcp(TcpListener::from_std(l)?, inherited)
                }
                super::Listener::Unix(l) => Listener::Unix(UnixListener::from_std(l)?),
            })
        }

        pub(crate) async fn accept(&self) -> io::Result<(Stream, Peer)> {
            match self {
                Listener::Tcp(l, inherited) => {
                    let (s, peer) = l.accept().await?;
                    nodelay_accepted(&s, *inherited)?;
                    Ok((Stream::Tcp(s), Peer::Ip(peer)))
                }
                Listener::Unix(l) => {
                    let (s, _) = l.accept().await?;
                    Ok((Stream::Unix(s), Peer::Unix))
                }
            }
        }
    }

    impl Stream {
        pub(crate) fn local_addr(&self) -> Option<std::net::SocketAddr> {
            match self {
                Stream::Tcp(s) => s.local_addr().ok(),
                Stream::Unix(_) => None,
            }
        }

        pub(crate) async fn readable(&self) -> io::Result<()> {
            match self {
                Stream::Tcp(s) => s.readable().await,
                Stream::Unix(s) => s.readable().await,
            }
        }

        pub(crate) fn try_read<'b>(&self, buf: &'b mut [MaybeUninit<u8>]) -> io::Result<&'b mut [u8]> {
            let n = io_len(buf.len());
            let buf = &mut buf[..n];
            match self {
                Stream::Tcp(s) => read_draining(buf, |f| s.try_io(tokio::io::Interest::READABLE, f), s),
                Stream::Unix(s) => read_draining(buf, |f| s.try_io(tokio::io::Interest::READABLE, f), s),
            }
        }

        pub(crate) async fn writable(&self) -> io::Result<()> {
            match self {
                Stream::Tcp(s) => s.writable().await,
                Stream::Unix(s) => s.writable().await,
            }
        }

        pub(crate) fn try_write(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            let short = short_io(bufs);
            let bufs = short.as_ref().map_or(bufs, std::slice::from_ref);
            match self {
                Stream::Tcp(s) => write_filling(bufs, |f| s.try_io(tokio::io::Interest::WRITABLE, f), || send(s, bufs)),
                Stream::Unix(s) => {
                    write_filling(bufs, |f| s.try_io(tokio::io::Interest::WRITABLE, f), || send(s, bufs))
                }
            }
        }

        pub(crate) fn send_buffer(&self) -> io::Result<usize> {
            Ok(match self {
                Stream::Tcp(s) => rustix::net::sockopt::socket_send_buffer_size(s)?,
                Stream::Unix(s) => rustix::net::sockopt::socket_send_buffer_size(s)?,
            })
        }

        pub(crate) fn shutdown_write(&self) -> io::Result<()> {
            match self {
                Stream::Tcp(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write),
                Stream::Unix(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write),
            }
        }
    }
}

/// The smol side: listener and stream over either family.
#[cfg(feature = "smol")]
pub mod smol_io {
    use super::{io_len, nodelay_accepted, nodelay_inherited, send, short_io, Peer};
    use async_io::Async;
    use std::io;
    use std::mem::MaybeUninit;
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::net::{UnixListener, UnixStream};

    /// A listening socket registered with async-io.
    #[derive(Debug)]
    pub enum Listener {
        /// TCP, and whether its connections inherit `TCP_NODELAY`.
        Tcp(Async<TcpListener>, bool),
        /// Unix domain.
        Unix(Async<UnixListener>),
    }

    /// A connected socket registered with async-io.
    #[derive(Debug)]
    pub enum Stream {
        /// TCP.
        Tcp(Async<TcpStream>),
        /// Unix domain.
        Unix(Async<UnixStream>),
    }

    impl Listener {
        pub(crate) fn from_std(l: super::Listener) -> io::Result<Self> {
            Ok(match l {
                super::Listener::Tcp(l) => {
                    let inherited = nodelay_inherited(&l)?;
                    Listener::Tcp(Async::new(l)?, inherited)
                }
                super::Listener::Unix(l) => Listener::Unix(Async::new(l)?),
            })
        }

        pub(crate) async fn accept(&self) -> io::Result<(Stream, Peer)> {
            match self {
                Listener::Tcp(l, inherited) => {
                    let (s, peer) = l.accept().await?;
                    nodelay_accepted(s.get_ref(), *inherited)?;
                    Ok((Stream::Tcp(s), Peer::Ip(peer)))
                }
                Listener::Unix(l) => {
                    let (s, _) = l.accept().await?;
                    Ok((Stream::Unix(s), Peer::Unix))
                }
            }
        }
    }

    impl Stream {
        pub(crate) fn local_addr(&self) -> Option<std::net::SocketAddr> {
            match self {
                Stream::Tcp(s) => s.get_ref().local_addr().ok(),
                Stream::Unix(_) => None,
            }
        }

        pub(crate) async fn readable(&self) -> io::Result<()> {
            match self {
                Stream::Tcp(s) => s.readable().await,
                Stream::Unix(s) => s.readable().await,
            }
        }

        /// The sockets are non-blocking (`Async::new` set them), so this never waits.
        pub(crate) fn try_read<'b>(&self, buf: &'b mut [MaybeUninit<u8>]) -> io::Result<&'b mut [u8]> {
            let n = io_len(buf.len());
            let buf = &mut buf[..n];
            let got = match self {
                Stream::Tcp(s) => rustix::io::read(s, buf),
                Stream::Unix(s) => rustix::io::read(s, buf),
            };
            Ok(got?.0)
        }

        pub(crate) async fn writable(&self) -> io::Result<()> {
            match self {
                Stream::Tcp(s) => s.writable().await,
                Stream::Unix(s) => s.writable().await,
            }
        }

        /// Non-blocking like [`Stream::try_read`].
        pub(crate) fn try_write(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            let short = short_io(bufs);
            let bufs = short.as_ref().map_or(bufs, std::slice::from_ref);
            match self {
                Stream::Tcp(s) => send(s.get_ref(), bufs),
                Stream::Unix(s) => send(s.get_ref(), bufs),
            }
        }

        pub(crate) fn send_buffer(&self) -> io::Result<usize> {
            Ok(match self {
                Stream::Tcp(s) => rustix::net::sockopt::socket_send_buffer_size(s)?,
                Stream::Unix(s) => rustix::net::sockopt::socket_send_buffer_size(s)?,
            })
        }

        pub(crate) fn shutdown_write(&self) -> io::Result<()> {
            match self {
                Stream::Tcp(s) => s.get_ref().shutdown(std::net::Shutdown::Write),
                Stream::Unix(s) => s.get_ref().shutdown(std::net::Shutdown::Write),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::{self, ListenSpec};

    /// Listeners as the server binds them (`TCP_NODELAY` set before listening, inherited where
    /// the system passes it on) and as an embedder may hand one over (bound by std, with a
    /// connection already queued), each with a client connected.
    fn listeners_and_clients() -> Vec<(Listener, TcpStream)> {
        let ours = listen::bind(&ListenSpec::parse_accept("127.0.0.1:0").unwrap()).unwrap();
        let theirs = TcpListener::bind("127.0.0.1:0").unwrap();
        [ours, theirs]
            .into_iter()
            .map(|l| {
                l.set_nonblocking(true).unwrap();
                let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
                (Listener::Tcp(l), client)
            })
            .collect()
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn tokio_connections_have_nodelay() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for (i, (l, _client)) in listeners_and_clients().into_iter().enumerate() {
                let l = tokio_io::Listener::from_std(l).unwrap();
                let (s, _) = l.accept().await.unwrap();
                let tokio_io::Stream::Tcp(s) = s else {
                    panic!("a TCP stream")
                };
                assert!(
                    s.nodelay().unwrap(),
                    "listener {i}: a connection waits for Nagle's algorithm"
                );
            }
        });
    }

    #[cfg(feature = "smol")]
    #[test]
    fn smol_connections_have_nodelay() {
        async_io::block_on(async {
            for (i, (l, _client)) in listeners_and_clients().into_iter().enumerate() {
                let l = smol_io::Listener::from_std(l).unwrap();
                let (s, _) = l.accept().await.unwrap();
                let smol_io::Stream::Tcp(s) = s else {
                    panic!("a TCP stream")
                };
                assert!(
                    s.get_ref().nodelay().unwrap(),
                    "listener {i}: a connection waits for Nagle's algorithm"
                );
            }
        });
    }
}
