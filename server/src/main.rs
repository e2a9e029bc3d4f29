//! The `ferry` binary: the sync server (default) and its admin CLI.

fn main() -> std::process::ExitCode {
    server::cli::main()
}
