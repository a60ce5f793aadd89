use clap::{Args, Subcommand};

use super::value::go_bool;

/// `flux tree <kind>`: the objects a Flux object reconciles.
#[derive(Debug, Subcommand)]
pub enum TreeCommand {
    /// Print the resource inventory of a Kustomization
    ///
    /// Draws the objects a Kustomization applied, from its inventory, as a
    /// tree: the Kustomizations it applied are expanded with their own
    /// inventories, and HelmReleases with the objects of their latest
    /// release.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  # Everything the flux-system Kustomization reconciles\n  flux tree kustomization flux-system\n\n  # Only the Flux objects in that tree\n  flux tree ks flux-system --compact\n\n  # The tree as JSON, for scripts\n  flux tree ks apps -n tenants -o json"
    )]
    Kustomization(TreeKustomizationArgs),
    /// Print artifact objects reconciled by Flux
    #[command(subcommand, subcommand_required = true, arg_required_else_help = true)]
    Artifact(TreeArtifactCommand),
}

/// `flux tree artifact <kind>`.
#[derive(Debug, Subcommand)]
pub enum TreeArtifactCommand {
    /// Print the inventory of an ArtifactGenerator
    ///
    /// Draws the ExternalArtifacts an ArtifactGenerator produced, from its
    /// inventory.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    #[command(
        after_help = "Examples:\n  # The ExternalArtifacts of an ArtifactGenerator\n  flux tree artifact generator my-generator\n\n  # The same as YAML\n  flux tree artifact generator my-generator -o yaml"
    )]
    Generator(TreeGeneratorArgs),
}

/// Flags of `flux tree kustomization`.
#[derive(Debug, Clone, Args)]
pub struct TreeKustomizationArgs {
    /// Name of the Kustomization.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// List Flux resources only.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub compact: bool,

    /// The format in which the tree should be printed: json or yaml (anything else draws it).
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
}

/// Flags of `flux tree artifact generator`.
#[derive(Debug, Clone, Args)]
pub struct TreeGeneratorArgs {
    /// Name of the ArtifactGenerator.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// The format in which the tree should be printed: json or yaml (anything else draws it).
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
}
