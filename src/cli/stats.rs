use clap::Args;

use super::value::go_bool;

// Flags of `flux stats`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Counts of the Flux objects in the flux-system namespace\n  flux stats\n\n  # Counts for the apps namespace only\n  flux stats -n apps\n\n  # Counts across the whole cluster\n  flux stats --all-namespaces"
)]
pub struct StatsArgs {
    /// Count the objects of every namespace.
    #[arg(short = 'A', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub all_namespaces: bool,
}
