//! The `ferry` binary: the sync server (default) and its admin CLI.

/// The server's allocator ([`server::Allocator`]).
#[global_allocator]
static ALLOCATOR: server::Allocator = server::Allocator;

include!("malloc_arenas.rs");

fn main() -> std::process::ExitCode {
    tune_malloc();
    server::cli::main()
}
