//! When to give freed heap memory back to the system after connections are released
//! ([`sserve_engine::ossl::heap`]): glibc keeps memory freed below live allocations, so the
//! RSS of a server that held many connections (a flood of DTLS half-open associations, each
//! about 40 KiB of OpenSSL state) would otherwise stay at its peak after they are gone.

/// Fewer released connections than this are not worth walking the heap for.
const MIN_BATCH: usize = 64;

/// Counts released connections and trims once enough are gone: at least [`MIN_BATCH`] since
/// the last trim, and at least as many as are still open (the connection memory has at least
/// halved). A steady trickle of closes thus trims rarely, and a mass expiry a few times.
#[derive(Debug, Default)]
pub(crate) struct HeapTrim {
    released: usize,
}

impl HeapTrim {
    /// One connection was released.
    pub(crate) fn released(&mut self) {
        self.released += 1;
    }

    /// Trims if due, with `open` connections still open; true if it trimmed.
    pub(crate) fn maybe_trim(&mut self, open: usize) -> bool {
        if !self.due(open) {
            return false;
        }
        self.released = 0;
        sserve_engine::ossl::heap::release_free_heap();
        true
    }

    fn due(&self, open: usize) -> bool {
        self.released >= MIN_BATCH && self.released >= open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_a_batch_that_halved_the_connections() {
        let mut t = HeapTrim::default();
        for _ in 0..MIN_BATCH - 1 {
            t.released();
        }
        assert!(!t.maybe_trim(0), "below the batch size");
        t.released();
        assert!(!t.maybe_trim(1000), "most connections are still open");
        assert!(t.maybe_trim(MIN_BATCH));
        assert!(!t.maybe_trim(0), "the count starts again after a trim");
    }
}
