use std::process::ExitCode;

fn main() -> ExitCode {
    // SAFETY: nothing has started another thread yet.
    unsafe { flux_rs::proxy::take_from_env() };
    flux_rs::run(std::env::args_os()).into()
}
