use clap::Args;

use super::value::go_bool;

// Flags of `flux uninstall`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Uninstall Flux components, its custom resources and namespace\n  flux uninstall --namespace=flux-system\n\n  # Uninstall Flux but keep the namespace\n  flux uninstall --namespace=infra --keep-namespace=true"
)]
pub struct UninstallArgs {
    /// Do not delete the namespace.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub keep_namespace: bool,

    /// Only print what would be deleted (server-side dry run; no confirmation asked).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub dry_run: bool,

    /// Delete without asking for confirmation.
    #[arg(short = 's', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub silent: bool,
}
