//! The `ferry` binary: the sync server (default) and its admin CLI.

include!("malloc_arenas.rs");

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    server::cli::main()
}
