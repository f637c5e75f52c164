//! The tokio runtime for the [`driver`](crate::driver): a multi-thread runtime serving
//! connections concurrently.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use sserve_engine::{ServerConfig, SessionOptions};
use tokio::io::AsyncWriteExt;

use crate::driver::{self, AsyncServeOptions, SharedObserver, Shutdown};
use crate::observer::Summary;
use crate::runtime::Runtime;

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
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;

    fn listener(&self, listener: TcpListener) -> io::Result<Self::Listener> {
        let _guard = self.handle.enter();
        tokio::net::TcpListener::from_std(listener)
    }

    async fn accept(&self, listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    async fn readable(stream: &Self::Stream) -> io::Result<()> {
        stream.readable().await
    }

    fn try_read(stream: &Self::Stream, buf: &mut [u8]) -> io::Result<usize> {
        stream.try_read(buf)
    }

    fn write_all<'a>(stream: &'a mut Self::Stream, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a {
        stream.write_all(buf)
    }

    fn shutdown_write(stream: &Self::Stream) -> io::Result<()> {
        socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write)
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

/// Serves on a new multi-thread tokio runtime (`threads` workers) until done; see
/// [`driver::serve`].
pub fn serve(
    threads: usize,
    listener: TcpListener,
    config: Arc<ServerConfig>,
    opts: Arc<SessionOptions>,
    serve: AsyncServeOptions,
    observer: SharedObserver,
    shutdown: Arc<Shutdown>,
) -> io::Result<Summary> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    let tokio = Tokio::new(rt.handle().clone());
    Ok(rt.block_on(driver::serve(tokio, listener, config, opts, serve, observer, shutdown)))
}
