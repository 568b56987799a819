//! How the emulator hands memory back to the system.
//!
//! A CI machine creates and deletes clusters all day, so memory freed when
//! clusters go must go back to the system. Two things kept it:
//!
//! - Creating a cluster hashes its pre-crypto-officer's password with
//!   Argon2id, which works in 19 MiB. glibc raises its mmap threshold to
//!   the size of each large block freed, so from the second hash on those
//!   19 MiB came from the heap, where small allocations made meanwhile
//!   pinned them: ~15 MiB per cluster stayed resident.
//! - Freed small blocks held between live ones (the store's records that
//!   outlive a cluster, such as its operation results): with glibc, and
//!   with jemalloc's per-thread caches, 12-16 MiB stayed after creating and
//!   deleting 1,000 clusters (120% of the start).
//!
//! So the emulator's allocator is jemalloc (`main.rs`) without thread
//! caches, in one arena, with unused pages returned by a background thread
//! half a second after they are freed: 107-108% after the same 1,000. Its
//! cost, measured with the data plane's benchmark, is in the README. C
//! libraries (aws-lc) still allocate from glibc, hence the glibc settings.

/// jemalloc's options, NUL-terminated (read before `main`). Thread caches
/// off: they keep freed blocks of every thread, which pins their pages. One
/// arena: blocks of every thread share pages, so fewer pages hold the
/// records that stay. Dirty pages purged by the background thread after
/// 500 ms, not at once: purging at free time made every 4 KiB request
/// buffer fault in a fresh page (AES-GCM 4 KiB over the stream at 16
/// sessions fell from 62,698 to 20,025/s).
pub const JEMALLOC_CONF: &[u8] =
    b"background_thread:true,narenas:1,tcache:false,dirty_decay_ms:500,muzzy_decay_ms:0\0";

/// Keeps glibc's large blocks (those of C libraries, and all of them where
/// the build has no jemalloc) in mappings of their own, unmapped when
/// freed: call once, at start-up.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; glibc makes it
    // thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Returns the free pages inside glibc's heap to the system (after clusters
/// are destroyed, so deleting them gives their memory back); jemalloc's
/// background thread does the same for its own pages.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; glibc locks each arena.
    unsafe {
        libc::malloc_trim(0);
    }
}
