//! The `ferry` binary: the sync server (default) and its admin CLI.

/// The server's allocator ([`server::Allocator`]).
#[global_allocator]
static ALLOCATOR: server::Allocator = server::Allocator;

fn main() -> std::process::ExitCode {
    server::cli::main()
}
