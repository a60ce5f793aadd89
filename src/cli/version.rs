use clap::{Args, ValueEnum};

use super::value::go_bool;

/// Print the version of the CLI and, unless --client, of the Flux components in the cluster.
#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Print only what is built into this binary; do not contact the cluster.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub client: bool,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = VersionOutput::Yaml)]
    pub output: VersionOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionOutput {
    Yaml,
    Json,
}
