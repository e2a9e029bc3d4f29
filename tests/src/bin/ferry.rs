//! The real `ferry` executable, built inside this crate so integration tests can run it as a
//! child process through `env!("CARGO_BIN_EXE_ferry")`.

/// The server's allocator, as in the server crate's own binary.
#[global_allocator]
static ALLOCATOR: ferry_server::Allocator = ferry_server::Allocator;

include!("../../../server/src/malloc_arenas.rs");

fn main() -> std::process::ExitCode {
    tune_malloc();
    ferry_server::cli::main()
}
