//! The little an async runtime must provide for the [`driver`](crate::driver): sockets, timers,
//! task spawning and a thread pool for file reads. Implemented by [`crate::tokio`] and
//! [`crate::smol`]; the driver loop itself is written once.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;

use crate::transport::{Listener, Peer};
use std::time::Instant as StdInstant;

/// An async runtime as the driver sees it.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The runtime's listening socket.
    type Listener: Send + Sync + 'static;
    /// The runtime's connected socket.
    type Stream: Send + Sync + 'static;

    /// Registers a bound std listener (TCP or Unix domain) with the runtime.
    fn listener(&self, listener: Listener) -> io::Result<Self::Listener>;
    /// The local address of a TCP connection (`None` for a Unix-domain one).
    fn local_addr(_stream: &Self::Stream) -> Option<std::net::SocketAddr> {
        None
    }
    /// Accepts the next connection.
    fn accept(&self, listener: &Self::Listener) -> impl Future<Output = io::Result<(Self::Stream, Peer)>> + Send;
    /// Resolves when the socket may have data (or EOF) to read.
    fn readable(stream: &Self::Stream) -> impl Future<Output = io::Result<()>> + Send;
    /// Reads without waiting (`WouldBlock` when nothing is there) into uninitialised memory
    /// (OpenSSL's record buffer), returning the part filled.
    fn try_read<'b>(stream: &Self::Stream, buf: &'b mut [MaybeUninit<u8>]) -> io::Result<&'b mut [u8]>;
    /// Resolves when the socket may take more bytes.
    fn writable(stream: &Self::Stream) -> impl Future<Output = io::Result<()>> + Send;
    /// Writes what the socket takes now of `bufs`, in order, without waiting (`WouldBlock` when
    /// it takes nothing).
    fn try_write(stream: &Self::Stream, bufs: &[io::IoSlice<'_>]) -> io::Result<usize>;
    /// The socket's send buffer size (`SO_SNDBUF`), which bounds what it takes without waiting.
    fn send_buffer(stream: &Self::Stream) -> io::Result<usize>;
    /// Half-closes the socket (TCP FIN).
    fn shutdown_write(stream: &Self::Stream) -> io::Result<()>;
    /// Resolves at `deadline`.
    fn sleep_until(&self, deadline: StdInstant) -> impl Future<Output = ()> + Send;
    /// Runs a task in the background.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F);
    /// Runs blocking work (file reads) off the async threads.
    fn unblock<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(&self, work: F) -> impl Future<Output = T> + Send;
}
