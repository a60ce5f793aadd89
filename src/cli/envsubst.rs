use clap::Args;

use super::value::go_bool;

// Flags of `flux envsubst`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Substitute the variables of a manifest from the environment\n  export REPO_NAME=podinfo\n  cat gitrepository.yaml | flux envsubst\n\n  # Fail when a variable without a default value is not set\n  cat gitrepository.yaml | flux envsubst --strict"
)]
pub struct EnvsubstArgs {
    /// fail if a variable without a default value is declared in the input but is missing from the environment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub strict: bool,
}
