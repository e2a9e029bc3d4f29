// Included (`include!`) by both `ferry` binaries' `main` (server/src/main.rs and
// tests/src/bin/ferry.rs); not a module of the library, which forbids unsafe code.

/// Tunes the allocators before anything allocates much: [`limit_malloc_arenas`] and
/// [`disable_transparent_huge_pages`]. Called first in `main`.
fn tune_malloc() {
    limit_malloc_arenas();
    disable_transparent_huge_pages();
}

/// Limits glibc's malloc to two arenas. By default it gives threads that allocate at once
/// their own arena (up to eight per core) and keeps what was freed in each, so the server's
/// RSS grew with run length while every bounded structure stayed bounded: 85 → 212 MB over
/// 4 000 changes on 1 000 records with the default, flat at 141 MB with two arenas, side by
/// side in one run (`BENCHMARKS.md`, "Server memory"; measured before Rust's allocations
/// moved to mimalloc, `server::Allocator`). glibc's malloc now serves the C code — SQLite's
/// page caches, statements and sorting — which the writer, the readers and the blocking pool
/// call from many threads at once.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    /// `M_ARENA_MAX` of glibc's `<malloc.h>`.
    const M_ARENA_MAX: i32 = -8;
    // SAFETY: runs before any other thread exists; mallopt only sets a tuning parameter.
    unsafe {
        mallopt(M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// Turns transparent huge pages off for this process (`PR_SET_THP_DISABLE`). mimalloc
/// advises them for its arenas, and then every first touch of memory it had returned to the
/// OS faulted in and zeroed a whole 2 MiB page: in a CPU profile of 16 devices × 25 changes
/// the kernel's page zeroing was ≈ 13% of the server's CPU (reply buffers, zstd contexts).
/// Without them: 7% less CPU per change and 453 → 287 MB RSS at the end of the same run,
/// side by side (`BENCHMARKS.md`, "Transparent huge pages off").
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    unsafe extern "C" {
        fn prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> i32;
    }
    /// `PR_SET_THP_DISABLE` of `<linux/prctl.h>`.
    const PR_SET_THP_DISABLE: i32 = 41;
    // SAFETY: sets a flag of this process's memory map; no memory is touched.
    unsafe {
        prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}
