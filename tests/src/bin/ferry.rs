//! The real `ferry` executable, built inside this crate so integration tests can run it as a
//! child process through `env!("CARGO_BIN_EXE_ferry")`.

fn main() -> std::process::ExitCode {
    ferry_server::cli::main()
}
