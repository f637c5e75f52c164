//! The one stop switch of every serving loop (SIGINT/SIGTERM in the CLI): the blocking loops,
//! the async driver and the UDP servers all watch the same [`Shutdown`]. Also the plumbing of
//! the two blocking loops (stream and UDP): their console reader, and the UDP loop's woken
//! channel.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use event_listener::Event as Notify;

type Waker = Box<dyn Fn() + Send + Sync>;

/// Tells every serving loop to stop: stop accepting, send close_notify on open connections, end.
#[derive(Default)]
pub struct Shutdown {
    triggered: AtomicBool,
    notify: Notify,
    /// How blocking loops are woken (they wait on channels and sockets, not on `notify`).
    wakers: Mutex<Vec<Waker>>,
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    /// A new, untriggered switch.
    pub fn new() -> Arc<Self> {
        Arc::new(Shutdown::default())
    }

    /// Stops every loop watching this switch. Never blocks: safe from a signal-handling thread
    /// whatever the loops are doing.
    pub fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
        self.notify.notify(usize::MAX);
        let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        for wake in wakers.iter() {
            wake();
        }
    }

    /// Has [`Shutdown::trigger`] been called?
    pub fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Resolves once triggered.
    pub async fn wait(&self) {
        loop {
            if self.is_triggered() {
                return;
            }
            let listener = self.notify.listen();
            if self.is_triggered() {
                return;
            }
            listener.await;
        }
    }

    /// Runs `wake` on [`Shutdown::trigger`] (at once if already triggered). `wake` must not
    /// block: it typically pokes a channel or a socket a blocking loop waits on.
    pub(crate) fn on_trigger(&self, wake: impl Fn() + Send + Sync + 'static) {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_triggered() {
            wake();
        }
        wakers.push(Box::new(wake));
    }
}

/// Starts the thread that reads the console (stdin) for a blocking loop: each read becomes
/// `data(bytes)`, the end (or a read error) `eof`. It reads 16 KiB at a time, more than stdin's
/// own buffer, so each `read()` reaches the session as one chunk, which is what s_server's
/// command detection looks at. A full channel holds the thread back (and stdin with it).
/// `sent` runs after each message is queued (to wake a loop that polls sockets).
pub(crate) fn spawn_console_reader<T: Send + 'static>(
    tx: std::sync::mpsc::SyncSender<T>,
    data: fn(Vec<u8>) -> T,
    eof: T,
    sent: impl Fn() + Send + 'static,
) {
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(eof);
                    sent();
                    return;
                }
                Ok(n) => {
                    if tx.send(data(buf[..n].to_vec())).is_err() {
                        return;
                    }
                    sent();
                }
            }
        }
    });
}

/// A bounded channel for a blocking loop that `shutdown` wakes with a `wake` message (which the
/// loop answers by looking at the switch). A full queue wakes the loop anyway, so a failed send
/// of the wake message loses nothing.
pub(crate) fn woken_channel<T: Send + 'static>(
    shutdown: &Shutdown,
    capacity: usize,
    wake: fn() -> T,
) -> (std::sync::mpsc::SyncSender<T>, std::sync::mpsc::Receiver<T>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    let waker = tx.clone();
    shutdown.on_trigger(move || {
        let _ = waker.try_send(wake());
    });
    (tx, rx)
}
