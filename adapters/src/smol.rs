//! The smol runtime (async-io reactor, async-executor, blocking pool) for the
//! [`driver`](crate::driver).

use std::future::Future;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant as StdInstant;

use async_executor::Executor;
use async_io::{Async, Timer};
use futures_lite::AsyncWriteExt;
use sserve_engine::{ServerConfig, SessionOptions};

use crate::driver::{self, AsyncServeOptions, SharedObserver, Shutdown};
use crate::observer::Summary;
use crate::runtime::Runtime;

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
    type Listener = Async<TcpListener>;
    type Stream = Async<TcpStream>;

    fn listener(&self, listener: TcpListener) -> io::Result<Self::Listener> {
        Async::new(listener)
    }

    async fn accept(&self, listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (s, _) = listener.accept().await?;
        s.get_ref().set_nodelay(true)?;
        Ok(s)
    }

    async fn readable(stream: &Self::Stream) -> io::Result<()> {
        stream.readable().await
    }

    fn try_read(stream: &Self::Stream, buf: &mut [u8]) -> io::Result<usize> {
        // The socket is non-blocking (Async::new set it), so this never waits.
        stream.get_ref().read(buf)
    }

    fn write_all<'a>(stream: &'a mut Self::Stream, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a {
        stream.write_all(buf)
    }

    fn shutdown_write(stream: &Self::Stream) -> io::Result<()> {
        stream.get_ref().shutdown(std::net::Shutdown::Write)
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
    listener: TcpListener,
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
    let summary =
        async_io::block_on(executor.run(driver::serve(smol, listener, config, opts, serve, observer, shutdown)));
    stop_workers.trigger();
    for w in workers {
        let _ = w.join();
    }
    Ok(summary)
}
