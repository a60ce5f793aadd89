use anyhow::Context;

use crate::cli::{CompletionArgs, Shell};
use crate::commands::Ctx;
use crate::error::ExitStatus;

use clap_complete::env::EnvCompleter;

/// The environment variable through which the shell asks `flux` for
/// completions (`COMPLETE=bash flux -- <words>`).
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The script that registers `flux` with `shell`. It is small: the shell
/// asks the binary itself for candidates, so completions always match the
/// installed version.
pub fn script(shell: Shell) -> String {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Powershell => &clap_complete::env::Powershell,
    };
    let mut buf = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, "flux", "flux", "flux", &mut buf)
        .expect("writing to memory cannot fail");
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}

/// Answers a completion request from the shell, if this run is one.
/// Returns `true` when it was (and the process should exit).
pub fn answer_request<I, T>(args: I) -> bool
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let current_dir = std::env::current_dir().ok();
    clap_complete::env::CompleteEnv::with_factory(crate::cli::command)
        .var(COMPLETE_VAR)
        .try_complete(args, current_dir.as_deref())
        .unwrap_or_else(|e| e.exit())
}

/// Without a shell, the command's help, as upstream prints it (exit 0).
pub async fn run(ctx: &Ctx, args: &CompletionArgs) -> anyhow::Result<ExitStatus> {
    let text = match args.shell {
        Some(shell) => script(shell),
        None => crate::cli::help_of(&["completion"]),
    };
    ctx.printer
        .out(&text)
        .context("unable to write the completion script")?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_calls_back_into_flux() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let script = script(shell);
            assert!(script.contains("flux"), "{shell:?}");
            assert!(
                script.contains(COMPLETE_VAR),
                "{shell:?} does not call back"
            );
        }
    }
}
