// Included (`include!`) by both `ferry` binaries' `main` (server/src/main.rs and
// tests/src/bin/ferry.rs); not a module of the library, which forbids unsafe code.

/// Limits glibc's malloc to two arenas. By default it gives threads that allocate at once
/// their own arena (up to eight per core) and keeps what was freed in each, so the server's
/// RSS grew with run length while every bounded structure stayed bounded: 85 → 212 MB over
/// 4 000 changes on 1 000 records with the default, flat at 141 MB with two arenas, side by
/// side in one run (`BENCHMARKS.md`, "Server memory"; measured before Rust's allocations
/// moved to mimalloc, `server::Allocator`). glibc's malloc now serves the C code — SQLite's
/// page caches, statements and sorting — which the writer, the readers and the blocking pool
/// call from many threads at once. Called first in `main`.
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
