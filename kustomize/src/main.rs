//! `kustomize-rs build DIR`: prints what `kubectl kustomize DIR` prints.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [cmd] if cmd == "build" => ".",
        [cmd, dir] if cmd == "build" => dir.as_str(),
        _ => {
            eprintln!("usage: kustomize-rs build [DIR]");
            return ExitCode::from(2);
        }
    };
    match kustomize::build(&kustomize::DiskFs, Path::new(dir)) {
        Ok(list) => {
            let out = list.to_yaml();
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(out.as_bytes()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
