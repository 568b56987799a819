//! How the emulator hands memory back to the system (glibc's allocator).
//!
//! Creating a cluster hashes its pre-crypto-officer's password with
//! Argon2id, which works in 19 MiB. glibc raises its mmap threshold to the
//! size of each large block freed (up to 32 MiB), so from the second hash
//! on those 19 MiB came from the heap, where the small allocations made
//! meanwhile pinned them: every cluster created kept ~15 MiB resident and
//! deleting clusters gave none of it back. Freed heap memory between live
//! allocations also stays resident until trimmed.

/// Keeps large blocks (password hashes, backup blobs) in mappings of their
/// own, unmapped when freed: call once, at start-up.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; glibc makes it
    // thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Returns the free pages inside the heap to the system (after clusters
/// are destroyed, so deleting them gives their memory back).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; glibc locks each arena.
    unsafe {
        libc::malloc_trim(0);
    }
}
