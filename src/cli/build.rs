//! `flux build kustomization` and `flux diff kustomization`.

use clap::{ArgAction, Args, Subcommand};

use super::value::go_bool;

const BUILD_KS_EXAMPLES: &str = "Examples:
  # Build the manifests a Kustomization on the cluster would apply, from a local checkout
  flux build kustomization my-app --path ./path/to/local/manifests

  # Build from a Kustomization file, without a cluster
  flux build kustomization my-app --path ./path/to/local/manifests \\
    --kustomization-file ./path/to/local/my-app.yaml --dry-run

  # Exclude files by providing a comma separated list of entries that follow the .gitignore pattern format
  flux build kustomization my-app --path ./path/to/local/manifests \\
    --kustomization-file ./path/to/local/my-app.yaml --ignore-paths \"/to_ignore/**/*.yaml,ignore.yaml\"

  # Also build the Kustomizations the manifests contain, their sources checked out locally
  flux build kustomization flux-system --path ./clusters/prod --recursive \\
    --local-sources GitRepository/flux-system/flux-system=./";

const DIFF_KS_EXAMPLES: &str = "Examples:
  # Preview what a change to local manifests would do on the cluster
  flux diff kustomization my-app --path ./path/to/local/manifests

  # Diff against a Kustomization file instead of the cluster's copy
  flux diff kustomization my-app --path ./path/to/local/manifests \\
    --kustomization-file ./path/to/local/my-app.yaml

  # Diff a Kustomization that is not on the cluster yet
  flux diff kustomization my-app --path ./path/to/local/manifests \\
    --kustomization-file ./path/to/local/my-app.yaml --ignore-not-found

  # Exclude files by providing a comma separated list of entries that follow the .gitignore pattern format
  flux diff kustomization my-app --path ./path/to/local/manifests \\
    --kustomization-file ./path/to/local/my-app.yaml --ignore-paths \"/to_ignore/**/*.yaml,ignore.yaml\"

  # Also diff the Kustomizations the manifests contain
  flux diff kustomization flux-system --path ./clusters/prod --recursive \\
    --local-sources GitRepository/flux-system/flux-system=./";

// `flux build <kind>`.
#[derive(Debug, Clone, Args)]
pub struct BuildCommand {
    #[command(subcommand)]
    pub kind: BuildKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BuildKind {
    /// Build Kustomization
    ///
    /// The build kustomization command queries the Kubernetes API and fetches the specified Flux Kustomization.
    /// It then uses the fetched in cluster flux kustomization to perform needed transformation on the local kustomization.yaml
    /// pointed at by --path. The local kustomization.yaml is generated if it does not exist. Finally it builds the overlays using the local kustomization.yaml, and write the resulting multi-doc YAML to stdout.
    ///
    /// It is possible to specify a Flux kustomization file using --kustomization-file.
    #[command(visible_alias = "ks", after_help = BUILD_KS_EXAMPLES)]
    Kustomization(BuildKsArgs),
    /// Build artifact
    ///
    /// The build artifact command creates a tgz file with the manifests from
    /// the given directory or a single manifest file, as push artifact would
    /// upload it. Nothing is sent to a registry.
    Artifact(super::artifact::BuildArtifactArgs),
}

/// Flags both `build` and `diff` of a Kustomization take.
#[derive(Debug, Clone, Args)]
pub struct KsSourceArgs {
    /// The Kustomization's name.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Path to the manifests location.
    #[arg(long, default_value = "")]
    pub path: String,

    /// Path to the Flux Kustomization YAML file.
    #[arg(long, default_value = "")]
    pub kustomization_file: String,

    /// set paths to ignore in .gitignore format
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,

    /// When enabled, the post build substitutions will fail if a var without a default value is declared in files but is missing from the input vars.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub strict_substitute: bool,

    /// Comma-separated list of repositories in format: Kind/namespace/name=path
    #[arg(long, action = ArgAction::Append, value_parser = local_source)]
    pub local_sources: Vec<Vec<(String, String)>>,

    /// Use in-memory filesystem during build.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub in_memory_build: bool,
}

fn local_source(value: &str) -> Result<Vec<(String, String)>, String> {
    crate::build::parse_local_sources(value)
}

/// Flags of `flux build kustomization`.
#[derive(Debug, Clone, Args)]
pub struct BuildKsArgs {
    #[command(flatten)]
    pub source: KsSourceArgs,

    /// Dry run mode.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub dry_run: bool,

    /// Recursively build Kustomizations
    #[arg(short = 'r', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub recursive: bool,
}

// `flux diff <kind>`.
#[derive(Debug, Clone, Args)]
pub struct DiffCommand {
    #[command(subcommand)]
    pub kind: DiffKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DiffKind {
    /// Diff Kustomization
    ///
    /// The diff command does a build, then it performs a server-side dry-run and output the diff.
    ///
    /// Exit status: 0 No differences were found. 1 Differences were found. >1 diff failed with an error.
    #[command(
        visible_alias = "ks",
        after_help = DIFF_KS_EXAMPLES,
        mut_arg("path", |a| a.help("Path to a local directory that matches the specified Kustomization.spec.path."))
    )]
    Kustomization(DiffKsArgs),
    /// Diff Artifact
    ///
    /// The diff artifact command builds the tarball of a local directory or
    /// file as push artifact would, and compares it with the remote
    /// artifact's layer.
    ///
    /// Exit status: 0 No differences were found. 1 Differences were found, or
    /// the comparison failed.
    Artifact(super::artifact::DiffArtifactArgs),
}

/// Flags of `flux diff kustomization`.
#[derive(Debug, Clone, Args)]
pub struct DiffKsArgs {
    #[command(flatten)]
    pub source: KsSourceArgs,

    /// Boolean to set the progress bar. The default value is true.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub progress_bar: bool,

    /// Recursively diff Kustomizations
    #[arg(short = 'r', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub recursive: bool,

    /// Ignore Kustomization not found errors on the cluster when diffing.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub ignore_not_found: bool,
}
