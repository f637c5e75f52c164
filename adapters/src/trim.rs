//! When to give freed memory back to the system after connections end
//! ([`sserve_engine::ossl::release_free_memory`]): glibc keeps what a burst of connections freed
//! (each holds tens of KiB of OpenSSL state), so a server's RSS would otherwise stay at the
//! burst's peak long after it. Every serving loop (the async driver, the UDP server) uses this
//! one rule.

/// Fewer ended connections than this are not worth walking the heap for.
const MIN_BATCH: usize = 64;

/// Fewer connections open at once than this free too little to give back: their memory stays
/// in glibc's bins and serves the next connections. A client that connects again and again
/// (one or two connections open, counting the one lingering) thus never trims, where a trim
/// every [`MIN_BATCH`] connections cost it a page fault in every five connections as the
/// trimmed pages came back. A few clients at once still trim: without it, eight clients for a
/// few seconds left the peak RSS ~100 KiB higher (heap fragments that trimming gives back).
const MIN_BURST: usize = 4;

/// Counts ended connections and says when to trim: once at least [`MIN_BATCH`] ended since the
/// last trim, at least as many as are still open (connection memory has at least halved), and
/// at least [`MIN_BURST`] were open at once meanwhile. A steady trickle of closes thus trims
/// rarely, the end of a burst a few times, one connection at a time never.
#[derive(Debug, Default)]
pub(crate) struct HeapTrim {
    ended: usize,
    /// The most connections open at once since the last trim, as seen when one ended.
    peak: usize,
}

impl HeapTrim {
    /// One connection ended, `open` are still open: true when memory should be given back now
    /// (the count starts again).
    pub(crate) fn ended(&mut self, open: usize) -> bool {
        self.ended += 1;
        self.peak = self.peak.max(open + 1);
        if self.ended >= MIN_BATCH && self.ended >= open {
            let burst = self.peak >= MIN_BURST;
            self.ended = 0;
            self.peak = open;
            burst
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
            assert!(!t.ended(MIN_BURST), "below the batch size");
        }
        assert!(!t.ended(1000), "most connections are still open");
        assert!(t.ended(MIN_BATCH), "a batch ended and halved what is open");
        assert!(!t.ended(0), "the count starts again after a trim");
    }

    #[test]
    fn trims_to_the_end_of_a_burst() {
        let mut t = HeapTrim::default();
        let trims = (0..1000).rev().filter(|&open| t.ended(open)).count();
        assert!(
            trims >= 2,
            "a burst draining to nothing trims on the way and at its tail: {trims}"
        );
    }

    #[test]
    fn one_connection_at_a_time_never_trims() {
        let mut t = HeapTrim::default();
        assert!((0..10 * MIN_BATCH).all(|_| !t.ended(0)));
        // Two at a time (a new connection accepted before the last one ended) neither.
        assert!((0..10 * MIN_BATCH).all(|_| !t.ended(1)));
    }
}
