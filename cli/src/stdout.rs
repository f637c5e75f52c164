//! Everything sserve prints on stdout goes through one writer thread and a bounded queue:
//!
//! - a slow stdout slows whoever prints (the push waits for room), so peer data that the
//!   console mode copies to a stdout nobody reads stays bounded in memory, and the serving loop
//!   stops reading the peer (TCP then stops the peer, as with s_server);
//! - once the server is stopping ([`give_up_at`]), nobody waits past the deadline: output that
//!   cannot be written by then is dropped, so a blocked stdout never delays the exit. Only the
//!   writer thread can be stuck in `write(2)`, and the process does not wait for it.
//!
//! Peer data is queued as the session's own `Bytes` (no copy), and the writer takes whatever is
//! queued in one vectored write. Each side signals the other only when it is waiting, so a
//! stream of records costs a wake-up per batch, not one per record.
//!
//! Except where stdout cannot hold a writer back: a regular file or `/dev/null` takes every
//! write at once, so there whoever prints writes itself, as s_server does, with no hand-off to
//! another thread (which in console mode cost more than decrypting what is printed). A pipe or
//! terminal usually has room too: while nothing is queued, whoever prints first tries a write
//! that cannot wait (`pwritev2` with `RWF_NOWAIT`), and only what it does not take is queued.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{IoSlice, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use bytes::Bytes;

/// Bytes queued for stdout before a printer waits.
const LIMIT: usize = 64 * 1024;
/// Pieces one write takes at most (well under any system's `IOV_MAX`).
const BATCH: usize = 64;

#[derive(Default)]
struct State {
    queue: VecDeque<Bytes>,
    /// Bytes in `queue` plus those being written.
    pending: usize,
    /// Output waits no longer than this (set when the server stops).
    give_up_at: Option<Instant>,
    writer_started: bool,
    /// The writer waits on `work`.
    writer_idle: bool,
    /// Printers (and `flush`) waiting on `room`.
    waiting: usize,
}

#[derive(Default)]
struct Out {
    state: Mutex<State>,
    /// Something was queued (or the give-up time set).
    work: Condvar,
    /// Something was written (or the give-up time set).
    room: Condvar,
}

fn out() -> &'static Out {
    static OUT: OnceLock<Out> = OnceLock::new();
    OUT.get_or_init(Out::default)
}

impl Out {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for `room` until `done`, or the give-up time; false if given up.
    fn wait_until<'a>(
        &self,
        mut s: MutexGuard<'a, State>,
        done: impl Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, bool) {
        loop {
            if done(&s) {
                return (s, true);
            }
            s.waiting += 1;
            s = match s.give_up_at {
                None => self.room.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        s.waiting -= 1;
                        return (s, false);
                    }
                    self.room.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
            s.waiting -= 1;
        }
    }
}

/// Our own descriptor for stdout, written with no line buffering in between (std's stdout
/// would split binary data at its last newline: two writes per piece), and whether it is a
/// regular file or `/dev/null`, which never block.
fn own() -> Option<&'static (File, bool)> {
    static OWN: OnceLock<Option<(File, bool)>> = OnceLock::new();
    OWN.get_or_init(|| {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let file = File::from(std::io::stdout().as_fd().try_clone_to_owned().ok()?);
        let Ok(meta) = file.metadata() else {
            return Some((file, false));
        };
        let null = || std::fs::metadata("/dev/null").is_ok_and(|n| n.rdev() == meta.rdev());
        let never_blocks = meta.file_type().is_file() || (meta.file_type().is_char_device() && null());
        Some((file, never_blocks))
    })
    .as_ref()
}

/// [`own`] stdout where the printing thread may write it itself.
fn direct() -> Option<&'static File> {
    own().filter(|(_, never_blocks)| *never_blocks).map(|(file, _)| file)
}

/// Writes `bytes` on this thread (see [`direct`]), after anything printed through std's stdout.
fn write_direct(mut file: &File, bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.flush();
    let _ = file.write_all(bytes);
}

/// Prints `bytes` (queuing a copy where stdout may block; see the module docs).
pub fn write(bytes: &[u8]) {
    match direct() {
        Some(file) => write_direct(file, bytes),
        None if !bytes.is_empty() => write_shared(Bytes::copy_from_slice(bytes)),
        None => {}
    }
}

/// Prints `bytes` (queuing them, not a copy, where stdout may block; see the module docs).
pub fn write_shared(bytes: Bytes) {
    if bytes.is_empty() {
        return;
    }
    if let Some(file) = direct() {
        return write_direct(file, &bytes);
    }
    let o = out();
    let mut s = o.lock();
    // Nothing queued or being written (the lock keeps it so): a write now keeps the order.
    let bytes = if s.pending == 0 {
        match write_now(&bytes) {
            n if n == bytes.len() => return,
            n => bytes.slice(n..),
        }
    } else {
        bytes
    };
    if !s.writer_started {
        s.writer_started = true;
        std::thread::spawn(writer);
    }
    let len = bytes.len();
    let (mut s, room) = o.wait_until(s, |s| s.pending == 0 || s.pending + len <= LIMIT);
    if room {
        s.pending += len;
        s.queue.push_back(bytes);
        if s.writer_idle {
            o.work.notify_one();
        }
    }
}

/// The kernel takes no `RWF_NOWAIT` writes to stdout (before Linux 5.x for pipes, or another
/// kind of file): the writer thread takes everything.
static NO_NOWAIT: AtomicBool = AtomicBool::new(false);

/// Writes what stdout takes without waiting; returns how much that was.
fn write_now(bytes: &[u8]) -> usize {
    let Some((file, _)) = own() else { return 0 };
    if NO_NOWAIT.load(Ordering::Relaxed) {
        return 0;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.flush();
    // Offset -1 (all bits set): the file's own position, as `write` uses.
    match rustix::io::pwritev2(
        file,
        &[IoSlice::new(bytes)],
        u64::MAX,
        rustix::io::ReadWriteFlags::NOWAIT,
    ) {
        Ok(n) => n,
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => 0,
        Err(
            rustix::io::Errno::OPNOTSUPP
            | rustix::io::Errno::INVAL
            | rustix::io::Errno::NOSYS
            | rustix::io::Errno::SPIPE,
        ) => {
            NO_NOWAIT.store(true, Ordering::Relaxed);
            0
        }
        // A closed stdout and the like: the writer thread meets it too, and drops the bytes.
        Err(_) => 0,
    }
}

/// Waits until everything queued is written (or the give-up time passes).
pub fn flush() {
    let o = out();
    let _ = o.wait_until(o.lock(), |s| s.pending == 0);
}

/// From `at` on, nobody waits for stdout: further output is dropped if it cannot be queued.
pub fn give_up_at(at: Instant) {
    let o = out();
    o.lock().give_up_at = Some(at);
    o.room.notify_all();
}

fn writer() {
    let o = out();
    let own = own().map(|(file, _)| file);
    let mut batch: Vec<Bytes> = Vec::with_capacity(BATCH);
    loop {
        {
            let mut s = o.lock();
            while s.queue.is_empty() {
                s.writer_idle = true;
                s = o.work.wait(s).unwrap_or_else(|p| p.into_inner());
                s.writer_idle = false;
            }
            let n = s.queue.len().min(BATCH);
            batch.extend(s.queue.drain(..n));
        }
        // Locked per batch, not for good: anything printing directly (the help text) must not
        // wait for us, and what it printed goes out before ours. A closed stdout (EPIPE) is not
        // worth dying for: the bytes are dropped.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.flush();
        let _ = match own {
            Some(mut file) => write_all(&mut file, &batch),
            None => batch.iter().try_for_each(|b| stdout.write_all(b)),
        };
        drop(stdout);
        let written: usize = batch.drain(..).map(|b| b.len()).sum();
        let mut s = o.lock();
        s.pending -= written;
        if s.waiting > 0 {
            o.room.notify_all();
        }
    }
}

/// Writes all of `pieces`, as few `writev` calls as the descriptor takes.
fn write_all(out: &mut impl Write, pieces: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|b| IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `max` bytes per call, as a pipe near full does.
    struct Trickle {
        got: Vec<u8>,
        max: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.max);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_lose_and_repeat_nothing() {
        let pieces: Vec<Bytes> = (0u8..20)
            .map(|i| Bytes::from(vec![i; usize::from(i) * 7 + 1]))
            .collect();
        let want: Vec<u8> = pieces.iter().flat_map(|b| b.iter().copied()).collect();
        for max in [1, 3, 64, 100_000] {
            let mut t = Trickle { got: Vec::new(), max };
            write_all(&mut t, &pieces).unwrap();
            assert_eq!(t.got, want, "at most {max} bytes per write");
        }
    }
}
