use clap::Args;

use super::value::go_bool;

// Flags of `flux migrate`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Re-store every Flux object of the cluster in the storage version of its CRD\n  flux migrate\n\n  # Show which manifests of a repository checkout use outdated Flux API versions\n  flux migrate -f ./clusters --dry-run\n\n  # Rewrite them for Flux 2.6, without asking\n  flux migrate -f ./clusters --version=2.6 --yes\n\n  # Consider .yaml.tpl files too\n  flux migrate -f ./clusters -e .yaml,.yml,.yaml.tpl"
)]
pub struct MigrateArgs {
    /// File or directory (relative, inside the current directory) whose manifests are rewritten to the latest Flux API versions; without it the objects in the cluster are migrated.
    #[arg(short = 'f', long, default_value = "", value_name = "PATH")]
    pub path: String,

    /// File name suffixes considered under --path.
    #[arg(
        short = 'e',
        long,
        value_delimiter = ',',
        default_value = ".yaml,.yml",
        value_name = "EXTENSIONS"
    )]
    pub extensions: Vec<String>,

    /// Flux minor version whose API versions the files are migrated to (2.9, 2.8, 2.7 or 2.6) [default: this CLI's, 2.9].
    #[arg(short = 'v', long, default_value = "", value_name = "VERSION")]
    pub version: String,

    /// Rewrite the files without asking for confirmation.
    #[arg(short = 'y', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub yes: bool,

    /// Only list the upgrades --path needs; change nothing.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub dry_run: bool,
}
