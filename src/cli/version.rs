use clap::Args;

use super::value::go_bool;

// Print the version of the CLI and, unless --client, of the Flux components in the cluster.
#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Print only the CLI's version; do not contact the cluster.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub client: bool,

    /// Output format: yaml or json.
    // Checked by the command, as upstream does, so a refusal reads
    // `--output must be json or yaml, not …`.
    #[arg(short = 'o', long, default_value = "yaml", value_name = "FORMAT")]
    pub output: String,
}

/// The formats `flux version` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOutput {
    Yaml,
    Json,
}

impl VersionArgs {
    pub fn format(&self) -> Result<VersionOutput, String> {
        match self.output.as_str() {
            "yaml" => Ok(VersionOutput::Yaml),
            "json" => Ok(VersionOutput::Json),
            other => Err(format!("--output must be json or yaml, not {other}")),
        }
    }
}
