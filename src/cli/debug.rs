use clap::{Args, Subcommand};

use super::value::go_bool;

/// `flux debug <kind>`: what the controller works from, for troubleshooting.
#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Debug a Flux HelmRelease resource
    ///
    /// Prints what helm-controller works from when it reconciles a
    /// HelmRelease: its status, its reconciliation history, or the values
    /// the chart is installed with, merged from spec.valuesFrom and
    /// spec.values.
    ///
    /// WARNING: the values of Secrets referenced in spec.valuesFrom are printed in clear text.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    #[command(
        name = "helmrelease",
        visible_alias = "hr",
        after_help = "Examples:\n  # The status of a HelmRelease, as the controller last wrote it\n  flux debug hr podinfo --show-status\n\n  # The values the chart is rendered with, saved to a file\n  flux debug hr podinfo --show-values > values.yaml\n\n  # The releases helm-controller made for a HelmRelease in another namespace\n  flux debug helmrelease podinfo -n apps --show-history"
    )]
    HelmRelease(DebugHelmReleaseArgs),
    /// Debug a Flux Kustomization resource
    ///
    /// Prints what kustomize-controller works from when it reconciles a
    /// Kustomization: its status, its reconciliation history, or the
    /// variables of its post-build substitution, merged from
    /// spec.postBuild.substituteFrom and spec.postBuild.substitute.
    ///
    /// WARNING: the values of Secrets referenced in spec.postBuild.substituteFrom are printed in clear text.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  # The status of a Kustomization, as the controller last wrote it\n  flux debug ks podinfo --show-status\n\n  # The substitution variables as a dot-env file\n  flux debug ks podinfo --show-vars > vars.env\n\n  # The reconciliation history of a Kustomization in another namespace\n  flux debug kustomization apps -n tenants --show-history"
    )]
    Kustomization(DebugKustomizationArgs),
}

/// Flags of `flux debug helmrelease`.
#[derive(Debug, Clone, Args)]
pub struct DebugHelmReleaseArgs {
    /// Name of the HelmRelease.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Print the status of the HelmRelease.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_status: bool,

    /// Print the final values of the HelmRelease, as YAML.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_values: bool,

    /// Print the release history of the HelmRelease.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_history: bool,
}

/// Flags of `flux debug kustomization`.
#[derive(Debug, Clone, Args)]
pub struct DebugKustomizationArgs {
    /// Name of the Kustomization.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Print the status of the Kustomization.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_status: bool,

    /// Print the final post-build substitution variables, as KEY=value lines.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_vars: bool,

    /// Print the reconciliation history of the Kustomization.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_history: bool,
}
