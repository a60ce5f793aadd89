use anyhow::Context;

use crate::cli::{CompletionArgs, Shell};
use crate::commands::Ctx;
use crate::error::ExitStatus;

/// The completion script for `shell`, generated from the clap tree.
pub fn script(shell: Shell) -> String {
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut buf = Vec::new();
    clap_complete::generate(generator, &mut crate::cli::command(), "flux", &mut buf);
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}

pub async fn run(ctx: &Ctx, args: &CompletionArgs) -> anyhow::Result<ExitStatus> {
    ctx.printer
        .out(&script(args.shell))
        .context("unable to write the completion script")?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_binary() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let script = script(shell);
            assert!(script.contains("flux"), "{shell:?}");
            assert!(script.contains("install"), "{shell:?} lacks subcommands");
        }
    }
}
