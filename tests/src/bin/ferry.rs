//! The real `ferry` executable, built inside this crate so integration tests can run it as a
//! child process through `env!("CARGO_BIN_EXE_ferry")`.

include!("../../../server/src/malloc_arenas.rs");

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    ferry_server::cli::main()
}
