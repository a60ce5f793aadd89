use clap::{Args, ValueEnum};

// Print a shell completion script to stdout.
//
// Load it in the current shell with e.g. `source <(flux completion bash)`,
// or install it permanently: the files under completions/ in the source tree
// are the same scripts.
#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// The shell to generate the script for (without one, this help is printed).
    #[arg(value_enum)]
    pub shell: Option<Shell>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}
