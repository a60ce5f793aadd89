//! `flux build|push|pull|tag|diff artifact` and `flux list artifacts`.

use clap::{ArgAction, Args, Subcommand};

use super::value::go_bool;

/// `--ignore-paths`' default for artifacts (no `.sourceignore` defaults).
const DEFAULT_IGNORE: &str = ".git/,.gitignore,.gitmodules,.gitattributes,*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip";

const BUILD_EXAMPLES: &str = "Examples:
  # Package the manifests of a directory as artifact.tgz
  flux build artifact --path ./path/to/local/manifests --output ./path/to/artifact.tgz

  # Package one manifest read from stdin
  kustomize build ./apps/prod | flux build artifact --path - --output app.tgz";

const PUSH_EXAMPLES: &str = "Examples:
  # Push the manifests of a directory, recording where they come from
  flux push artifact oci://ghcr.io/org/config/app:$SHORT_SHA \\
    --path=\"./path/to/local/manifests\" \\
    --source=\"$GIT_REMOTE_URL\" \\
    --revision=\"$GIT_BRANCH@sha1:$GIT_SHA\"

  # Push with explicit credentials and print the result as JSON
  flux push artifact oci://localhost:5000/app:v1 --path=./deploy \\
    --source=https://github.com/org/app --revision=v1@sha1:abc123 \\
    --creds=user:password --output=json

  # Push the same content twice with the same digest
  flux push artifact oci://localhost:5000/app:v1 --path=./deploy \\
    --source=src --revision=v1 --reproducible";

const PULL_EXAMPLES: &str = "Examples:
  # Pull an artifact into a directory
  flux pull artifact oci://ghcr.io/org/config/app:v1 --output ./path/to/local/manifests

  # Pull by digest with a token
  flux pull artifact oci://ghcr.io/org/config/app@sha256:<digest> --output ./app --creds=<token>";

const TAG_EXAMPLES: &str = "Examples:
  # Give an artifact more tags
  flux tag artifact oci://ghcr.io/org/config/app:v1.0.0 --tag v1.0 --tag latest";

const LIST_EXAMPLES: &str = "Examples:
  # List every artifact of a repository with its source and revision
  flux list artifacts oci://ghcr.io/org/config/app

  # Only semantic versions from 1.0 on, or tags matching a pattern
  flux list artifacts oci://ghcr.io/org/config/app --filter-semver=\">=1.0.0\"
  flux list artifacts oci://ghcr.io/org/config/app --filter-regex=\"^prod-\"";

const DIFF_EXAMPLES: &str = "Examples:
  # Check whether a directory matches what the registry holds
  flux diff artifact oci://ghcr.io/org/config/app:v1 --path=./path/to/local/manifests";

fn provider(value: &str) -> Result<String, String> {
    match value {
        "" => Err("no source OCI provider given, please specify the OCI provider name".into()),
        "generic" | "aws" | "azure" | "gcp" => Ok(value.to_string()),
        other => Err(format!(
            "source OCI provider '{other}' is not supported, must be one of: generic, aws, azure, gcp"
        )),
    }
}

/// The credential flags every registry command takes.
#[derive(Debug, Clone, Args)]
pub struct RegistryLoginArgs {
    /// credentials for OCI registry in the format <username>[:<password>] if --provider is generic
    #[arg(long, default_value = "")]
    pub creds: String,

    /// the OCI provider name, available options are: (generic, aws, azure, gcp)
    #[arg(long, default_value = "generic", value_name = "generic|aws|azure|gcp", value_parser = provider)]
    pub provider: String,
}

// `flux push <kind>`.
#[derive(Debug, Clone, Args)]
pub struct PushCommand {
    #[command(subcommand)]
    pub kind: PushKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PushKind {
    /// Push artifact
    ///
    /// The push artifact command packages a directory or a single file as a
    /// gzip tarball and uploads it as an OCI artifact. Credentials come from
    /// --creds, --provider, or the Docker config (~/.docker/config.json).
    #[command(after_help = PUSH_EXAMPLES)]
    Artifact(PushArtifactArgs),
}

#[derive(Debug, Clone, Args)]
pub struct PushArtifactArgs {
    /// The artifact URL, oci://<registry>/<repository>:<tag>.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// path to the directory where the Kubernetes manifests are located
    #[arg(short = 'f', long, default_value = "")]
    pub path: String,

    /// the source address, e.g. the Git URL
    #[arg(long, default_value = "")]
    pub source: String,

    /// the source revision in the format '<branch|tag>@sha1:<commit-sha>'
    #[arg(long, default_value = "")]
    pub revision: String,

    #[command(flatten)]
    pub login: RegistryLoginArgs,

    /// set paths to ignore in .gitignore format
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_IGNORE)]
    pub ignore_paths: Vec<String>,

    /// Set custom OCI annotations in the format '<key>=<value>'
    #[arg(short = 'a', long, action = ArgAction::Append, value_name = "stringArray")]
    pub annotations: Vec<String>,

    /// the format in which the artifact digest should be printed, can be 'json' or 'yaml'
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,

    /// display logs from underlying library
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub debug: bool,

    /// ensure reproducible image digests by setting the created timestamp to '1970-01-01T00:00:00Z'
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub reproducible: bool,

    /// allows artifacts to be pushed without TLS
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure_registry: bool,

    /// resolve symlinks by copying their targets into the artifact
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub resolve_symlinks: bool,
}

// `flux pull <kind>`.
#[derive(Debug, Clone, Args)]
pub struct PullCommand {
    #[command(subcommand)]
    pub kind: PullKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PullKind {
    /// Pull artifact
    ///
    /// The pull artifact command downloads an OCI artifact and extracts its
    /// content into the given directory. Credentials come from --creds,
    /// --provider, or the Docker config (~/.docker/config.json).
    #[command(after_help = PULL_EXAMPLES)]
    Artifact(PullArtifactArgs),
}

#[derive(Debug, Clone, Args)]
pub struct PullArtifactArgs {
    /// The artifact URL, oci://<registry>/<repository>:<tag> or @<digest>.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// path where the artifact content should be extracted.
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,

    #[command(flatten)]
    pub login: RegistryLoginArgs,

    /// allows artifacts to be pulled without TLS
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure_registry: bool,
}

// `flux tag <kind>`.
#[derive(Debug, Clone, Args)]
pub struct TagCommand {
    #[command(subcommand)]
    pub kind: TagKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TagKind {
    /// Tag artifact
    ///
    /// The tag artifact command gives an existing OCI artifact more tags, in
    /// the same repository.
    #[command(after_help = TAG_EXAMPLES)]
    Artifact(TagArtifactArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TagArtifactArgs {
    /// The artifact URL, oci://<registry>/<repository>:<tag> or @<digest>.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// tag name
    #[arg(long = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,

    #[command(flatten)]
    pub login: RegistryLoginArgs,
}

// `flux list <kind>`.
#[derive(Debug, Clone, Args)]
pub struct ListCommand {
    #[command(subcommand)]
    pub kind: ListKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ListKind {
    /// list artifacts
    ///
    /// The list artifacts command lists the tags of an OCI repository with
    /// the digest, source and revision of each artifact.
    #[command(after_help = LIST_EXAMPLES)]
    Artifacts(ListArtifactsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ListArtifactsArgs {
    /// The repository URL, oci://<registry>/<repository>.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// filter tags returned from the oci repository using semver
    #[arg(long, default_value = "")]
    pub filter_semver: String,

    /// filter tags returned from the oci repository using regex
    #[arg(long, default_value = "")]
    pub filter_regex: String,

    #[command(flatten)]
    pub login: RegistryLoginArgs,

    /// allows the remote artifacts list to be fetched without TLS
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure_registry: bool,
}

/// Flags of `flux build artifact`.
#[derive(Debug, Clone, Args)]
#[command(after_help = BUILD_EXAMPLES)]
pub struct BuildArtifactArgs {
    /// Path to the directory where the Kubernetes manifests are located.
    #[arg(short = 'p', long, default_value = "")]
    pub path: String,

    /// Path to where the artifact tgz file should be written.
    #[arg(short = 'o', long, default_value = "artifact.tgz")]
    pub output: String,

    /// set paths to ignore in .gitignore format
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_IGNORE)]
    pub ignore_paths: Vec<String>,

    /// resolve symlinks by copying their targets into the artifact
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub resolve_symlinks: bool,
}

/// Flags of `flux diff artifact`.
#[derive(Debug, Clone, Args)]
#[command(after_help = DIFF_EXAMPLES)]
pub struct DiffArtifactArgs {
    /// The artifact URL, oci://<registry>/<repository>:<tag> or @<digest>.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Path to the directory where the Kubernetes manifests are located.
    #[arg(long, default_value = "")]
    pub path: String,

    #[command(flatten)]
    pub login: RegistryLoginArgs,

    /// set paths to ignore in .gitignore format
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_IGNORE)]
    pub ignore_paths: Vec<String>,

    /// allows the remote artifact to be fetched without TLS
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure_registry: bool,
}

#[cfg(test)]
mod tests {
    /// clap needs the default as one literal; it must stay the list the
    /// artifact layout and `.sourceignore` handling use.
    #[test]
    fn the_ignore_default_is_the_vcs_and_media_list() {
        assert_eq!(
            super::DEFAULT_IGNORE,
            crate::build::ignore::VCS_AND_MEDIA.join(",")
        );
    }
}
