//! Everything sserve prints on stdout goes through one writer thread and a bounded queue:
//!
//! - a slow stdout slows whoever prints (the push waits for room), so peer data that the
//!   console mode copies to a stdout nobody reads stays bounded in memory, and the serving loop
//!   stops reading the peer (TCP then stops the peer, as with s_server);
//! - once the server is stopping ([`give_up_at`]), nobody waits past the deadline: output that
//!   cannot be written by then is dropped, so a blocked stdout never delays the exit. Only the
//!   writer thread can be stuck in `write(2)`, and the process does not wait for it.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// Bytes queued for stdout before a printer waits.
const LIMIT: usize = 64 * 1024;

#[derive(Default)]
struct State {
    queue: VecDeque<Vec<u8>>,
    /// Bytes in `queue` plus the piece being written.
    pending: usize,
    /// Output waits no longer than this (set when the server stops).
    give_up_at: Option<Instant>,
    writer_started: bool,
}

#[derive(Default)]
struct Out {
    state: Mutex<State>,
    changed: Condvar,
}

fn out() -> &'static Out {
    static OUT: OnceLock<Out> = OnceLock::new();
    OUT.get_or_init(Out::default)
}

impl Out {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits on the condition variable until `done`, or the give-up time; false if given up.
    fn wait_until<'a>(
        &self,
        mut s: MutexGuard<'a, State>,
        done: impl Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, bool) {
        loop {
            if done(&s) {
                return (s, true);
            }
            match s.give_up_at {
                None => s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return (s, false);
                    }
                    s = self.changed.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        }
    }
}

/// Queues `bytes` for stdout, waiting while the queue is full (see the module docs).
pub fn write(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let o = out();
    let mut s = o.lock();
    if !s.writer_started {
        s.writer_started = true;
        std::thread::spawn(writer);
    }
    let (mut s, room) = o.wait_until(s, |s| s.pending == 0 || s.pending + bytes.len() <= LIMIT);
    if room {
        s.pending += bytes.len();
        s.queue.push_back(bytes.to_vec());
        o.changed.notify_all();
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
    o.changed.notify_all();
}

fn writer() {
    let o = out();
    loop {
        let piece = {
            let mut s = o.lock();
            loop {
                if let Some(p) = s.queue.pop_front() {
                    break p;
                }
                s = o.changed.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        };
        // Locked per piece, not for good: anything printing directly (the help text) must
        // not wait for us. A closed stdout (EPIPE) is not worth dying for: the bytes are dropped.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(&piece).and_then(|()| stdout.flush());
        drop(stdout);
        let mut s = o.lock();
        s.pending -= piece.len();
        o.changed.notify_all();
    }
}
