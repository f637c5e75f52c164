//! Giving freed heap memory back to the system.
//!
//! OpenSSL allocates through the C library's `malloc`. glibc returns freed memory to the system
//! only from the top of its heap; after many connections are released together (a flood of
//! DTLS half-open associations timing out, say) most of the free space lies below live
//! allocations and stays resident. `malloc_trim(0)` gives back every free page in the heap.
//!
//! This acts on the whole process, so the engine never calls it: an adapter may, after it
//! released many connections (`adapters/src/trim.rs`).

/// Returns free heap pages to the system (glibc's `malloc_trim(0)`); true if any were. Does
/// nothing on other C libraries.
pub fn release_free_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes no pointer; it walks glibc's own arenas under their locks
        // and is safe to call from any thread at any time.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
