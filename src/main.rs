use std::process::ExitCode;

fn main() -> ExitCode {
    flux_rs::run(std::env::args_os()).into()
}
