//! When to give freed memory back to the system after connections end
//! ([`sserve_engine::ossl::release_free_memory`]): glibc keeps what a burst of connections freed
//! (each holds tens of KiB of OpenSSL state), so a server's RSS would otherwise stay at the
//! burst's peak long after it. Every serving loop (the async driver, the UDP server) uses this
//! one rule.

/// Fewer ended connections than this are not worth walking the heap for.
const MIN_BATCH: usize = 64;

/// Counts ended connections and says when to trim: once at least [`MIN_BATCH`] ended since the
/// last trim, and at least as many as are still open (connection memory has at least halved).
/// A steady trickle of closes thus trims rarely, the end of a burst a few times.
#[derive(Debug, Default)]
pub(crate) struct HeapTrim {
    ended: usize,
}

impl HeapTrim {
    /// One connection ended, `open` are still open: true when memory should be given back now
    /// (the count starts again).
    pub(crate) fn ended(&mut self, open: usize) -> bool {
        self.ended += 1;
        if self.ended >= MIN_BATCH && self.ended >= open {
            self.ended = 0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_a_batch_that_halved_the_connections() {
        let mut t = HeapTrim::default();
        for _ in 0..MIN_BATCH - 1 {
            assert!(!t.ended(0), "below the batch size");
        }
        assert!(!t.ended(1000), "most connections are still open");
        assert!(t.ended(MIN_BATCH), "a batch ended and halved what is open");
        assert!(!t.ended(0), "the count starts again after a trim");
    }
}
