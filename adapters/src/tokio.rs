//! tokio: the embeddable server [`TlsStream`] ([`accept`]), like tokio-rustls' `TlsAcceptor`.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use sserve_engine::ServerConfigBuilder;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let mut builder = ServerConfigBuilder::new().map_err(|e| std::io::Error::other(e.reason))?;
//! builder.ephemeral_certificate().map_err(|e| std::io::Error::other(e.reason))?;
//! let config = builder.build().map_err(|e| std::io::Error::other(e.reason))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (tcp, _) = listener.accept().await?;
//! let mut tls = sserve_adapters::tokio::accept(&config, tcp).await?;
//! println!("negotiated {} {}", tls.info().protocol(), tls.info().cipher_suite());
//! let mut buf = [0u8; 1024];
//! let n = tls.read(&mut buf).await?;
//! tls.write_all(&buf[..n]).await?;
//! tls.shutdown().await?;
//! # Ok(()) }
//! ```

use std::io;

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use sserve_engine::tls::TlsBackend;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stream::PollIo;

/// The `sserve` command's concurrent server on tokio (Unix only, hidden from the docs).
#[cfg(unix)]
mod serving {
    use std::future::Future;
    use std::io;
    use std::sync::Arc;
    use std::time::Instant as StdInstant;

    use sserve_engine::{ServerConfig, SessionOptions};

    use crate::driver::{self, AsyncServeOptions, SharedObserver, Shutdown};
    use crate::observer::Summary;
    use crate::runtime::Runtime;
    use crate::transport::{self, Listener, Peer};

    /// [`Runtime`] on a tokio runtime handle.
    #[derive(Debug, Clone)]
    pub struct Tokio {
        handle: tokio::runtime::Handle,
    }

    impl Tokio {
        /// The runtime whose handle this is.
        pub fn new(handle: tokio::runtime::Handle) -> Self {
            Tokio { handle }
        }
    }

    impl Runtime for Tokio {
        type Listener = transport::tokio_io::Listener;
        type Stream = transport::tokio_io::Stream;

        fn listener(&self, listener: Listener) -> io::Result<Self::Listener> {
            let _guard = self.handle.enter();
            transport::tokio_io::Listener::from_std(listener)
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
            tokio::time::sleep_until(deadline.into()).await
        }

        fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
            self.handle.spawn(task);
        }

        async fn unblock<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(&self, work: F) -> T {
            match self.handle.spawn_blocking(work).await {
                Ok(v) => v,
                // The work panicked: surface the panic here, in the connection task that asked.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    /// Serves until done (see [`driver::serve`]) with one thread per listener, each running a
    /// current-thread tokio runtime of its own: give it several listeners bound to one address
    /// with `SO_REUSEPORT` ([`crate::listen::bind_shared`]), one per core, and the kernel
    /// spreads the connections over them (by the CPU they arrive on, with
    /// [`crate::listen::steer_by_cpu`]). A connection then lives on one thread from accept to
    /// close: no work stealing, no waking another thread for a connection, no lock shared
    /// between cores on the way, while concurrency still scales with the cores. The loops share
    /// the connection count behind `max_connections` ([`driver::Group`]); `-naccept` counts per
    /// listener, so give a single listener with it.
    pub fn serve(
        listeners: Vec<Listener>,
        config: Arc<ServerConfig>,
        opts: Arc<SessionOptions>,
        serve: AsyncServeOptions,
        observer: SharedObserver,
        shutdown: Arc<Shutdown>,
    ) -> io::Result<Summary> {
        let group = Arc::new(driver::Group::default());
        let mut runtimes = Vec::with_capacity(listeners.len());
        for _ in &listeners {
            runtimes.push(tokio::runtime::Builder::new_current_thread().enable_all().build()?);
        }
        let stop = shutdown.clone();
        let run = {
            let group = group.clone();
            move |rt: tokio::runtime::Runtime, listener: Listener| {
                let tokio = Tokio::new(rt.handle().clone());
                rt.block_on(driver::serve(
                    &group,
                    tokio,
                    listener,
                    config.clone(),
                    opts.clone(),
                    serve.clone(),
                    observer.clone(),
                    shutdown.clone(),
                ))
            }
        };
        let mut pairs = runtimes.into_iter().zip(listeners);
        let Some((rt, listener)) = pairs.next() else {
            return Err(io::Error::other("no listener to serve"));
        };
        let others = pairs
            .map(|(rt, listener)| {
                let run = run.clone();
                std::thread::Builder::new()
                    .name("sserve-loop".into())
                    .spawn(move || run(rt, listener))
            })
            .collect::<io::Result<Vec<_>>>()
            .inspect_err(|_| stop.trigger())?;
        let mut summary = run(rt, listener);
        for thread in others {
            let more = thread.join().map_err(|_| io::Error::other("an accept loop failed"))?;
            summary.connections += more.connections;
        }
        Ok(summary)
    }
}

#[cfg(unix)]
#[doc(hidden)]
pub use serving::*;

crate::stream::tls_stream!(TokioIo, AsyncRead + AsyncWrite);

/// tokio's I/O traits seen as [`PollIo`].
#[derive(Debug)]
struct TokioIo<S>(S);

impl<S: AsyncRead + AsyncWrite + Unpin> PollIo for TokioIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut rb))?;
        Poll::Ready(Ok(rb.filled().len()))
    }

    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, B: TlsBackend + Unpin> AsyncRead for TlsStream<S, B> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = ready!(self.core.poll_read_plain(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, B: TlsBackend + Unpin> AsyncWrite for TlsStream<S, B> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.core.poll_write_plain(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.core.poll_flush_all(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.core.poll_close_all(cx)
    }
}
