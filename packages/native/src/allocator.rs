//! The C allocator's large-block policy, set once when the module loads (glibc only).
//!
//! SiltDB's working memory comes in large short-lived blocks: memtable arenas and field arrays,
//! merge outputs, partition batches, table build buffers. glibc serves blocks above its mmap
//! threshold with their own mappings, returned to the OS on free — but after the first such free
//! it raises the threshold (up to 32 MiB), and from then on those blocks come from the heap, whose
//! freed space stays resident. In the peer benchmark that held ~40 MiB of freed memory resident
//! (peak RSS 368 → 331 MiB with the threshold fixed). Setting the threshold explicitly turns the
//! adjustment off; blocks of 256 KiB and more then always return to the OS when freed.
//!
//! `SILTDB_MALLOC_TUNING=off` leaves the allocator as it is (the setting is process-wide).

/// Blocks this large or larger are mapped, and unmapped on free.
const MMAP_THRESHOLD_BYTES: i32 = 256 * 1024;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    /// glibc's `M_MMAP_THRESHOLD` parameter number (malloc.h).
    const M_MMAP_THRESHOLD: i32 = -3;
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    if std::env::var_os("SILTDB_MALLOC_TUNING").is_some_and(|v| v == "off") {
        return;
    }
    // SAFETY: mallopt only changes a parameter of the allocator; it is safe to call at any time.
    #[allow(unsafe_code)]
    unsafe {
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {
    let _ = MMAP_THRESHOLD_BYTES;
}
