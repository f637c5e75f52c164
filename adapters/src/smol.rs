//! smol and any futures-io runtime: the embeddable server [`TlsStream`] ([`accept`]).
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> { async_io::block_on(async {
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use sserve_engine::ServerConfigBuilder;
//!
//! let mut builder = ServerConfigBuilder::new().map_err(|e| std::io::Error::other(e.reason))?;
//! builder.ephemeral_certificate().map_err(|e| std::io::Error::other(e.reason))?;
//! let config = builder.build().map_err(|e| std::io::Error::other(e.reason))?;
//! let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0))?;
//! let (tcp, _) = listener.accept().await?;
//! let mut tls = sserve_adapters::smol::accept(&config, tcp).await?;
//! println!("negotiated {} {}", tls.info().protocol(), tls.info().cipher_suite());
//! let mut buf = [0u8; 1024];
//! let n = tls.read(&mut buf).await?;
//! tls.write_all(&buf[..n]).await?;
//! tls.close().await
//! # }) }
//! ```

use std::io;

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use sserve_engine::tls::TlsBackend;

use crate::stream::PollIo;

/// The `sserve` command's concurrent server on smol (Unix only, hidden from the docs).
#[cfg(unix)]
mod serving {
    use std::future::Future;
    use std::io;
    use std::sync::Arc;
    use std::time::Instant as StdInstant;

    use async_executor::Executor;
    use async_io::Timer;
    use sserve_engine::{ServerConfig, SessionOptions};

    use crate::driver::{self, AsyncServeOptions, SharedObserver, Shutdown};
    use crate::observer::Summary;
    use crate::runtime::Runtime;
    use crate::transport::{self, Listener, Peer};

    /// [`Runtime`] on an async-executor shared by a few threads.
    #[derive(Clone)]
    pub struct Smol {
        executor: Arc<Executor<'static>>,
    }

    impl std::fmt::Debug for Smol {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Smol").finish_non_exhaustive()
        }
    }

    impl Smol {
        /// A runtime spawning onto `executor`.
        pub fn new(executor: Arc<Executor<'static>>) -> Self {
            Smol { executor }
        }
    }

    impl Runtime for Smol {
        type Listener = transport::smol_io::Listener;
        type Stream = transport::smol_io::Stream;

        fn listener(&self, listener: Listener) -> io::Result<Self::Listener> {
            transport::smol_io::Listener::from_std(listener)
        }

        async fn accept(&self, listener: &Self::Listener) -> io::Result<(Self::Stream, Peer)> {
            listener.accept().await
        }

        fn local_addr(stream: &Self::Stream) -> Option<std::net::SocketAddr> {
            stream.local_addr()
        }

        async fn readable(stream: &Self::Stream) -> io::Result<()> {
            stream.readable().await
        }

        fn try_read<'b>(stream: &Self::Stream, buf: &'b mut [std::mem::MaybeUninit<u8>]) -> io::Result<&'b mut [u8]> {
            stream.try_read(buf)
        }

        async fn writable(stream: &Self::Stream) -> io::Result<()> {
            stream.writable().await
        }

        fn try_write(stream: &Self::Stream, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            stream.try_write(bufs)
        }

        fn send_buffer(stream: &Self::Stream) -> io::Result<usize> {
            stream.send_buffer()
        }

        fn shutdown_write(stream: &Self::Stream) -> io::Result<()> {
            stream.shutdown_write()
        }

        async fn sleep_until(&self, deadline: StdInstant) {
            Timer::at(deadline).await;
        }

        fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
            self.executor.spawn(task).detach();
        }

        async fn unblock<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(&self, work: F) -> T {
            blocking::unblock(work).await
        }
    }

    /// Serves on a new executor run by `threads` threads until done; see [`driver::serve`].
    pub fn serve(
        threads: usize,
        listener: impl Into<Listener>,
        config: Arc<ServerConfig>,
        opts: Arc<SessionOptions>,
        serve: AsyncServeOptions,
        observer: SharedObserver,
        shutdown: Arc<Shutdown>,
    ) -> io::Result<Summary> {
        let executor = Arc::new(Executor::new());
        let stop_workers = Shutdown::new();
        let mut workers = Vec::new();
        for _ in 1..threads.max(1) {
            let ex = executor.clone();
            let stop = stop_workers.clone();
            workers.push(std::thread::spawn(move || async_io::block_on(ex.run(stop.wait()))));
        }
        let smol = Smol::new(executor.clone());
        let summary = async_io::block_on(executor.run(driver::serve(
            &driver::Group::default(),
            smol,
            listener.into(),
            config,
            opts,
            serve,
            observer,
            shutdown,
        )));
        stop_workers.trigger();
        for w in workers {
            let _ = w.join();
        }
        Ok(summary)
    }
}

#[cfg(unix)]
#[doc(hidden)]
pub use serving::*;

crate::stream::tls_stream!(FuturesIo, AsyncRead + AsyncWrite);

/// futures-io's traits seen as [`PollIo`].
#[derive(Debug)]
struct FuturesIo<S>(S);

impl<S: AsyncRead + AsyncWrite + Unpin> PollIo for FuturesIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, B: TlsBackend + Unpin> AsyncRead for TlsStream<S, B> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.core.poll_read_plain(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, B: TlsBackend + Unpin> AsyncWrite for TlsStream<S, B> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.core.poll_write_plain(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.core.poll_flush_all(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.core.poll_close_all(cx)
    }
}
