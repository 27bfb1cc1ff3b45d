//! The only `unsafe` of lvsd: the tuning of glibc's allocator that lets a
//! reload reuse the memory of the previous parse.

/// Largest allocation glibc's malloc still serves from the heap instead of
/// a fresh `mmap` (glibc's own ceiling for this setting on 64-bit hosts).
const MMAP_THRESHOLD: libc::c_int = 32 * 1024 * 1024;
/// Free memory at the top of the heap that glibc keeps instead of giving
/// it back to the kernel.
const TRIM_THRESHOLD: libc::c_int = 256 * 1024 * 1024;

/// Makes glibc's malloc keep the memory a configuration parse frees, so
/// that the next parse (a SIGHUP reload) finds its pages already mapped.
///
/// A parse of a large configuration touches tens of megabytes (about 35 MB
/// for 37,000 real servers) and frees most of it at once; by default glibc
/// gives the top of the heap and every large block (which it mmaps) back to
/// the kernel, so the reload's parse pays a page fault for each of those
/// pages again: about 8,000 for that file, cheap on hardware but most of a
/// reload's time under software emulation. What lvsd keeps instead is at
/// most the peak of one parse (proportional to the configuration's size,
/// a few hundred kilobytes for a usual one), which the next reload needs
/// again anyway. Does nothing on other C libraries.
pub fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt(3) only sets two tuning parameters of the allocator;
    // it takes plain integers, is called once at start-up before lvsd
    // starts any thread, and its failure (a zero return, for a value out
    // of range) leaves glibc's defaults in place, which is harmless.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
