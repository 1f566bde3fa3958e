//! The `omerta-sim` command line; all logic lives in the library.

fn main() -> std::process::ExitCode {
    omerta_sim::cli::main()
}
