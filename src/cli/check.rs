use clap::Args;

use super::value::go_bool;
use crate::duration::GoDuration;

// Flags of `flux check`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Run pre-installation checks\n  flux check --pre\n\n  # Run installation checks\n  flux check"
)]
pub struct CheckArgs {
    /// Only run the pre-installation checks.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub pre: bool,

    /// Accepted for compatibility with upstream scripts; the checks look at every Flux controller.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "source-controller,kustomize-controller,helm-controller,notification-controller"
    )]
    pub components: Vec<String>,

    /// Accepted for compatibility with upstream scripts; the checks look at every Flux controller.
    #[arg(long, value_delimiter = ',')]
    pub components_extra: Vec<String>,

    /// Accepted for compatibility with upstream scripts; rollouts are watched, not polled.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub poll_interval: GoDuration,
}
