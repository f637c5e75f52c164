//! Giving freed memory back to the system.
//!
//! OpenSSL allocates through the C library's `malloc`. glibc keeps what a burst of connections
//! freed (per-thread arenas, and pages between live allocations), so a server that once held
//! 2,000 connections stays at that peak long after they closed. `malloc_trim(0)` returns those
//! free pages. The engine never calls this itself: it is process-wide allocator maintenance that
//! an adapter runs, off its event loop, when a burst is over.

/// Returns free heap pages to the system (glibc's `malloc_trim(0)`); true if any came back.
/// Elsewhere (musl, other systems) it does nothing and returns false: those allocators give
/// memory back by themselves or have no such call. Takes a few milliseconds on a large heap and
/// briefly locks the allocator's arenas, so call it off latency-sensitive threads.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> core::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and has no preconditions; glibc serialises it
        // with every other allocator call, so it is safe from any thread at any time.
        unsafe { malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn gives_back_pages_between_live_blocks() {
        // Blocks below the mmap threshold live in the heap; a small live block after each one
        // keeps their pages from merging into the heap's top, which `free` trims by itself.
        let (big, small): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
            (0..2048).map(|i| (vec![i as u8; 16 * 1024], vec![i as u8; 32])).unzip();
        drop(big);
        let released = super::release_free_memory();
        assert_eq!(released, cfg!(all(target_os = "linux", target_env = "gnu")));
        drop(small);
    }
}
