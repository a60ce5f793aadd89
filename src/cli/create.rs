//! `flux create …`: one args struct per kind. Flags, defaults and value
//! checks follow upstream; the command bodies live in `commands::create`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::value::{file_path, go_bool};
use crate::duration::GoDuration;

// Create or update Flux objects and secrets.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Export in YAML format to stdout instead of applying to the cluster.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub export: bool,

    // Boxed: the kinds' flag structs are large next to other commands' args.
    #[command(subcommand)]
    pub kind: Box<CreateKind>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CreateKind {
    /// Create or update sources.
    Source(CreateSourceArgs),
    /// Create or update a Kustomization.
    #[command(visible_alias = "ks")]
    Kustomization(CreateKustomizationArgs),
    /// Create or update a HelmRelease.
    #[command(visible_alias = "hr")]
    Helmrelease(CreateHelmReleaseArgs),
    /// Create or update an Alert.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Alert(CreateAlertArgs),
    /// Create or update a Provider for alerts.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    #[command(name = "alert-provider")]
    AlertProvider(CreateAlertProviderArgs),
    /// Create or update a Receiver.
    Receiver(CreateReceiverArgs),
    /// Create or update image automation objects.
    Image(CreateImageArgs),
    /// Create or update Kubernetes secrets for Flux.
    Secret(CreateSecretArgs),
    /// Create or update a tenant: namespaces, service account and role binding.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Tenant(CreateTenantArgs),
}

/// The object name and the flags every `create` subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct CreateCommon {
    /// Name of the object to create.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Further positional words are ignored, as upstream does.
    #[arg(hide = true, value_name = "IGNORED")]
    pub ignored: Vec<String>,

    /// Set labels on the resource (can specify multiple labels with commas: label1=one,label2=two).
    #[arg(long, value_delimiter = ',', value_name = "KEY=VALUE")]
    pub label: Vec<String>,
}

/// `create` flags plus the reconciliation interval.
#[derive(Debug, Clone, Args)]
pub struct CreateWithInterval {
    #[command(flatten)]
    pub common: CreateCommon,

    /// Source sync interval.
    #[arg(long, default_value = "1m0s", value_name = "DURATION")]
    pub interval: GoDuration,
}

/// `create source` flags: interval and fetch timeout.
#[derive(Debug, Clone, Args)]
pub struct CreateSourceCommon {
    #[command(flatten)]
    pub base: CreateWithInterval,

    /// Set a timeout for fetch operations performed by source-controller (e.g. 'git clone' or 'helm repo add').
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub fetch_timeout: GoDuration,
}

#[derive(Debug, Clone, Args)]
pub struct CreateSourceArgs {
    #[command(subcommand)]
    pub kind: CreateSourceKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CreateSourceKind {
    /// Create or update a GitRepository source.
    Git(CreateSourceGitArgs),
    /// Create or update a HelmRepository source.
    Helm(CreateSourceHelmArgs),
    /// Create or update an OCIRepository.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Oci(CreateSourceOciArgs),
    /// Create or update a Bucket source.
    Bucket(CreateSourceBucketArgs),
    /// Create or update a HelmChart source.
    Chart(CreateSourceChartArgs),
}

/// `-u`/`-p` of the Helm, OCI and proxy credentials.
#[derive(Debug, Clone, Args)]
pub struct BasicAuthArgs {
    /// Basic authentication username.
    #[arg(short = 'u', long, default_value = "")]
    pub username: String,
    /// Basic authentication password.
    #[arg(short = 'p', long, default_value = "")]
    pub password: String,
}

/// `-u`/`-p` of Git credentials, where the password also unlocks a key.
#[derive(Debug, Clone, Args)]
pub struct GitAuthArgs {
    /// Basic authentication username.
    #[arg(short = 'u', long, default_value = "")]
    pub username: String,
    /// Basic authentication password, or the passphrase of --private-key-file.
    #[arg(short = 'p', long, default_value = "")]
    pub password: String,
}

/// Signature verification flags shared by `create source oci` and `create source chart`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The name of a secret to use for signature verification.
    #[arg(long, default_value = "")]
    pub verify_secret_ref: String,
    /// Regular expression to use for the OIDC subject during signature verification.
    #[arg(long, default_value = "")]
    pub verify_subject: String,
    /// Regular expression to use for the OIDC issuer during signature verification.
    #[arg(long, default_value = "")]
    pub verify_issuer: String,
}

/// The chart flags shared by `create source chart` and `create helmrelease`.
#[derive(Debug, Clone, Args)]
pub struct ChartArgs {
    /// Helm chart name or path.
    #[arg(long, default_value = "")]
    pub chart: String,
    /// Helm chart version, accepts a semver range (ignored for charts from GitRepository sources).
    #[arg(long, default_value = "")]
    pub chart_version: String,
}

/// SSH key generation flags shared by `create source git` and `create secret git`.
#[derive(Debug, Clone, Args)]
pub struct SshKeyArgs {
    /// SSH public key algorithm (rsa, ecdsa, ed25519).
    #[arg(long, default_value = "ecdsa", value_parser = parse_key_algorithm, value_name = "ALGORITHM")]
    pub ssh_key_algorithm: crate::secret::KeyAlgorithm,

    /// SSH RSA public key bit size (multiplies of 8, min 1024).
    #[arg(long, default_value = "2048", value_parser = parse_rsa_bits, value_name = "BITS")]
    pub ssh_rsa_bits: usize,

    /// SSH ECDSA public key curve (p256, p384, p521).
    #[arg(long, default_value = "p384", value_parser = parse_ecdsa_curve, value_name = "CURVE")]
    pub ssh_ecdsa_curve: crate::secret::EcdsaCurve,
}

/// Generate a GitRepository source.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Create a source for a public Git repository\n  flux create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master --export\n\n  # Follow the newest tag in a semver range\n  flux create source git podinfo --url=https://github.com/stefanprodan/podinfo --tag-semver='>=6.0.0 <7.0.0' --export\n\n  # Pin one commit\n  flux create source git podinfo --url=https://github.com/stefanprodan/podinfo --commit=67e2c98a60dc92283531412a9e604dd4bae005a9 --export\n\n  # Clone over SSH with a newly generated key (shown to be added as a deploy key)\n  flux create source git podinfo --url=ssh://git@github.com/stefanprodan/podinfo --branch=master\n\n  # Clone over SSH with an existing key pair\n  flux create source git podinfo --url=ssh://git@github.com/stefanprodan/podinfo --branch=master --private-key-file=./id_ecdsa\n\n  # Clone over HTTPS with basic authentication and a private CA\n  flux create source git podinfo --url=https://git.example.com/team/podinfo --branch=main --username=flux --password=token --ca-file=./ca.crt\n\n  # Authenticate as a GitHub App, with an existing secret\n  flux create source git podinfo --url=https://github.com/org/podinfo --branch=main --provider=github --secret-ref=app-auth --export"
)]
pub struct CreateSourceGitArgs {
    #[command(flatten)]
    pub common: CreateSourceCommon,

    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Git branch.
    #[arg(long, default_value = "")]
    pub branch: String,
    /// Git tag.
    #[arg(long, default_value = "")]
    pub tag: String,
    /// Git tag semver range.
    #[arg(long, default_value = "")]
    pub tag_semver: String,
    /// Git reference name.
    #[arg(long, default_value = "")]
    pub ref_name: String,
    /// Git commit.
    #[arg(long, default_value = "")]
    pub commit: String,
    #[command(flatten)]
    pub auth: GitAuthArgs,
    #[command(flatten)]
    pub ssh: SshKeyArgs,
    /// The name of an existing secret containing SSH or basic credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// The name of an existing secret containing the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// The Git provider name (generic, github, aws, azure).
    #[arg(long, value_parser = parse_git_provider)]
    pub provider: Option<String>,
    /// Path to TLS CA file used for validating self-signed certificates.
    #[arg(long, value_parser = file_path())]
    pub ca_file: Option<PathBuf>,
    /// Path to a passwordless private key file used for authenticating to the Git SSH server.
    #[arg(long, value_parser = file_path())]
    pub private_key_file: Option<PathBuf>,
    /// When enabled, configures the GitRepository source to initialize and include Git submodules.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub recurse_submodules: bool,
    /// Assumes the deploy key is already setup, skips confirmation.
    #[arg(short = 's', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub silent: bool,
    /// Set paths to ignore in git resource (can specify multiple paths with commas: path1,path2).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Set paths to sparse checkout in git resource (can specify multiple paths with commas: path1,path2).
    #[arg(long, value_delimiter = ',')]
    pub sparse_checkout_paths: Vec<String>,
}

/// Generate a HelmRepository source.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A HelmRepository for a public chart repository\n  flux create source helm podinfo --url=https://stefanprodan.github.io/charts/podinfo --interval=10m --export\n\n  # An OCI Helm repository using an existing pull secret\n  flux create source helm podinfo --url=oci://ghcr.io/stefanprodan/charts --secret-ref=ghcr-auth --export"
)]
pub struct CreateSourceHelmArgs {
    #[command(flatten)]
    pub common: CreateSourceCommon,

    /// Helm repository address.
    #[arg(long, default_value = "")]
    pub url: String,
    #[command(flatten)]
    pub auth: BasicAuthArgs,
    /// TLS authentication cert file path.
    #[arg(long, value_parser = file_path())]
    pub cert_file: Option<PathBuf>,
    /// TLS authentication key file path.
    #[arg(long, value_parser = file_path())]
    pub key_file: Option<PathBuf>,
    /// TLS authentication CA file path.
    #[arg(long, value_parser = file_path())]
    pub ca_file: Option<PathBuf>,
    /// The name of an existing secret containing TLS or basic auth credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// The OCI provider name (generic, aws, azure, gcp); used only with oci:// URLs.
    #[arg(long, default_value = "")]
    pub oci_provider: String,
    /// Pass credentials to all domains.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub pass_credentials: bool,
}

/// Generate an OCIRepository.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # An OCIRepository following a tag\n  flux create source oci podinfo --url=oci://ghcr.io/stefanprodan/manifests/podinfo --tag=6.3.5 --interval=10m --export\n\n  # Verify the artifact's cosign signature\n  flux create source oci podinfo --url=oci://ghcr.io/stefanprodan/manifests/podinfo --tag-semver='>=6.0.0' --verify-provider=cosign --export"
)]
pub struct CreateSourceOciArgs {
    #[command(flatten)]
    pub common: CreateSourceCommon,

    /// The OCI repository URL.
    #[arg(long, default_value = "")]
    pub url: String,
    /// The OCI artifact tag.
    #[arg(long, default_value = "")]
    pub tag: String,
    /// The OCI artifact tag semver range.
    #[arg(long, default_value = "")]
    pub tag_semver: String,
    /// The OCI artifact digest.
    #[arg(long, default_value = "")]
    pub digest: String,
    /// The OCI provider name (generic, aws, azure, gcp).
    #[arg(long, default_value = "generic", value_parser = |v: &str| parse_cloud_provider(v, "OCI"))]
    pub provider: String,
    /// The name of the Kubernetes image pull secret (type 'kubernetes.io/dockerconfigjson').
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// The name of an existing secret containing the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// The name of the Kubernetes service account that refers to an image pull secret.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// The name of a secret to use for TLS certificates.
    #[arg(long, default_value = "")]
    pub cert_ref: String,
    /// The OCI verify provider name (cosign).
    #[arg(long, value_parser = parse_oci_verify_provider)]
    pub verify_provider: Option<String>,
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// Set paths to ignore resources (can specify multiple paths with commas: path1,path2).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Ignore TLS certificate errors (insecure).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure: bool,
    /// The layer to extract or copy, as '<media-type>:<operation>' where operation is extract or copy.
    #[arg(long, default_value = "")]
    pub layer_selector: String,
}

/// Generate a Bucket source.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A Bucket on a MinIO server, with an existing credentials secret\n  flux create source bucket podinfo --bucket-name=podinfo --endpoint=minio.minio.svc.cluster.local:9000 --insecure=true --secret-ref=minio-creds --export"
)]
pub struct CreateSourceBucketArgs {
    #[command(flatten)]
    pub common: CreateSourceCommon,

    /// The bucket name.
    #[arg(long, default_value = "")]
    pub bucket_name: String,
    /// The bucket endpoint address.
    #[arg(long, default_value = "")]
    pub endpoint: String,
    /// The S3 compatible storage provider name (generic, aws, azure, gcp).
    #[arg(long, default_value = "generic", value_parser = |v: &str| parse_cloud_provider(v, "bucket"))]
    pub provider: String,
    /// The bucket region.
    #[arg(long, default_value = "")]
    pub region: String,
    /// For when a non-TLS connection is required.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure: bool,
    /// The bucket access key.
    #[arg(long, default_value = "")]
    pub access_key: String,
    /// The bucket secret key.
    #[arg(long, default_value = "")]
    pub secret_key: String,
    /// The name of an existing secret containing credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// The name of an existing secret containing the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// Set paths to ignore in bucket resource (can specify multiple paths with commas: path1,path2).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
}

/// Generate a HelmChart source.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A HelmChart from a HelmRepository\n  flux create source chart podinfo --source=HelmRepository/podinfo --chart=podinfo --chart-version='>=6.0.0' --export\n\n  # A HelmChart from a path in a GitRepository\n  flux create source chart podinfo --source=GitRepository/podinfo --chart=./charts/podinfo --export"
)]
pub struct CreateSourceChartArgs {
    #[command(flatten)]
    pub common: CreateSourceCommon,

    /// Source that contains the chart in the format '<kind>/<name>', where kind must be one of: (HelmRepository, GitRepository, Bucket).
    #[arg(long)]
    pub source: Option<String>,
    #[command(flatten)]
    pub chart: ChartArgs,
    /// The reconcile strategy to use: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    pub reconcile_strategy: String,
    /// The verify provider name (cosign).
    #[arg(long, value_parser = parse_oci_verify_provider)]
    pub verify_provider: Option<String>,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// Generate a Kustomization.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Apply ./deploy from the GitRepository podinfo, with garbage collection\n  flux create kustomization podinfo --source=podinfo --path=./deploy --prune=true --interval=10m --export\n\n  # Wait for a Deployment after applying an OCIRepository's manifests\n  flux create ks podinfo --source=OCIRepository/podinfo --health-check=Deployment/podinfo.default --export"
)]
pub struct CreateKustomizationArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Source that contains the Kubernetes manifests in the format '[<kind>/]<name>.<namespace>', where kind must be one of: (OCIRepository, GitRepository, Bucket); kind defaults to GitRepository.
    #[arg(long)]
    pub source: Option<String>,
    /// Path to the directory containing a kustomization.yaml file.
    #[arg(long, default_value = "./")]
    pub path: String,
    /// Enable garbage collection.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub prune: bool,
    /// Enable health checking of all the applied resources.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub wait: bool,
    /// Workload to be included in the health assessment, in the format '<kind>/<name>.<namespace>'.
    #[arg(long, value_delimiter = ',')]
    pub health_check: Vec<String>,
    /// Timeout of health checking operations.
    #[arg(long, default_value = "2m0s", value_name = "DURATION")]
    pub health_check_timeout: GoDuration,
    /// Kustomization that must be ready before this one, in the format '<name>' or '<namespace>/<name>'.
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// The name of the service account to impersonate when reconciling this Kustomization.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// Decryption provider (sops).
    #[arg(long, value_parser = parse_decryption_provider)]
    pub decryption_provider: Option<String>,
    /// Set the Kubernetes secret name that contains the OpenPGP private keys used for sops decryption.
    #[arg(long, default_value = "")]
    pub decryption_secret: String,
    /// Overrides the namespace of all Kustomization objects reconciled by this Kustomization.
    #[arg(long, default_value = "")]
    pub target_namespace: String,
    /// The name of the Kubernetes secret that contains a key with the kubeconfig file for connecting to a remote cluster.
    #[arg(long, default_value = "")]
    pub kubeconfig_secret_ref: String,
    /// The interval at which to retry a previously failed reconciliation.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub retry_interval: GoDuration,
    /// Deprecated: this arg is no longer used, all resources are validated using server-side apply dry-run.
    #[arg(long, hide = true)]
    pub validation: Option<String>,
}

/// Generate a HelmRelease.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Install a chart from a HelmRepository, with values from a file\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --values=./values.yaml --export\n\n  # Install the chart of an OCIRepository\n  flux create hr podinfo --chart-ref=OCIRepository/podinfo --target-namespace=apps --create-target-namespace --export\n\n  # Pin the chart to a semver range\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --chart-version='>4.0.0 <5.0.0' --export\n\n  # A chart kept in a GitRepository, at a path\n  flux create hr podinfo --source=GitRepository/podinfo --chart=./charts/podinfo --export\n\n  # A chart from a Bucket\n  flux create hr podinfo --source=Bucket/podinfo --chart=./charts/podinfo --export\n\n  # The source in another namespace\n  flux create hr podinfo --source=HelmRepository/podinfo.flux-system --chart=podinfo --export\n\n  # Values merged from several files, in order\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --values=./base.yaml --values=./prod.yaml --export\n\n  # Values from a Secret\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --values-from=Secret/podinfo-values --export\n\n  # Install only after another release is ready\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --depends-on=flux-system/redis --export\n\n  # Keep the release in its own namespace under another name\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --target-namespace=web --release-name=web-podinfo --export\n\n  # Create and upgrade the chart's CRDs too\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --crds=CreateReplace --export\n\n  # Deploy to a remote cluster through a kubeconfig Secret\n  flux create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --kubeconfig-secret-ref=prod-kubeconfig --export"
)]
pub struct CreateHelmReleaseArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Source that contains the chart in the format '<kind>/<name>.<namespace>', where kind must be one of: (HelmRepository, GitRepository, Bucket).
    #[arg(long)]
    pub source: Option<String>,
    #[command(flatten)]
    pub chart: ChartArgs,
    /// The name of the HelmChart or OCIRepository resource to use, in the format '<kind>/<name>.<namespace>'.
    #[arg(long, default_value = "")]
    pub chart_ref: String,
    /// The interval of which to check for new chart versions.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub chart_interval: GoDuration,
    /// The reconcile strategy for the chart: Revision or ChartVersion.
    #[arg(long, default_value = "ChartVersion")]
    pub reconcile_strategy: String,
    /// Name used for the Helm release, defaults to a composition of '[<target-namespace>-]<HelmRelease-name>'.
    #[arg(long, default_value = "")]
    pub release_name: String,
    /// Namespace to install this release, defaults to the HelmRelease namespace.
    #[arg(long, default_value = "")]
    pub target_namespace: String,
    /// Namespace to store the Helm release, defaults to the target namespace.
    #[arg(long, default_value = "")]
    pub storage_namespace: String,
    /// Create the target namespace if it does not exist.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub create_target_namespace: bool,
    /// HelmReleases that must be ready before this release can be installed, in the format '<namespace>/<name>'.
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// The name of the service account to impersonate when reconciling this HelmRelease.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// Local path to values.yaml files, or - to read from stdin.
    #[arg(long, value_delimiter = ',')]
    pub values: Vec<String>,
    /// A Kubernetes object reference that contains the values.yaml data key in the format '<kind>/<name>', where kind must be one of: (Secret, ConfigMap).
    #[arg(long, value_delimiter = ',')]
    pub values_from: Vec<String>,
    /// Upgrade CRDs policy (Skip, Create, CreateReplace).
    #[arg(long, value_parser = parse_crds_policy)]
    pub crds: Option<String>,
    /// The name of the Kubernetes secret that contains a key with the kubeconfig file for connecting to a remote cluster.
    #[arg(long, default_value = "")]
    pub kubeconfig_secret_ref: String,
}

/// Generate an Alert.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Send error events of all Kustomizations to the Provider slack\n  flux create alert all-ks --provider-ref=slack --event-severity=error --event-source='Kustomization/*' --export"
)]
pub struct CreateAlertArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Reference to provider.
    #[arg(long, default_value = "")]
    pub provider_ref: String,
    /// Severity of events to send alerts for.
    #[arg(long, default_value = "")]
    pub event_severity: String,
    /// Sources that should generate alerts (<kind>/<name>).
    #[arg(long, value_delimiter = ',')]
    pub event_source: Vec<String>,
}

/// Generate a Provider for alerts.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A Slack provider whose webhook address is in the secret slack-url\n  flux create alert-provider slack --type=slack --channel=general --secret-ref=slack-url --export"
)]
pub struct CreateAlertProviderArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Type of provider.
    #[arg(long = "type", default_value = "")]
    pub provider_type: String,
    /// Channel to send messages to in the case of a chat provider.
    #[arg(long, default_value = "")]
    pub channel: String,
    /// Bot username used by the provider.
    #[arg(long, default_value = "")]
    pub username: String,
    /// Path to either the git repository, chat provider or webhook.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Name of secret containing authentication token.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
}

/// Generate a Receiver.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Reconcile the GitRepository webapp on GitHub push events\n  flux create receiver github --type=github --event=ping,push --secret-ref=webhook-token --resource=GitRepository/webapp --export"
)]
pub struct CreateReceiverArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Type of receiver.
    #[arg(long = "type", value_parser = parse_receiver_type)]
    pub receiver_type: Option<String>,
    /// Name of secret containing the token used to validate requests.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// Events to subscribe to.
    #[arg(long, value_delimiter = ',')]
    pub event: Vec<String>,
    /// Resources that should be notified, in the format '<kind>/<name>'.
    #[arg(long, value_delimiter = ',')]
    pub resource: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CreateImageArgs {
    #[command(subcommand)]
    pub kind: CreateImageKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CreateImageKind {
    /// Create or update an ImageRepository object.
    Repository(CreateImageRepositoryArgs),
    /// Create or update an ImagePolicy object.
    Policy(CreateImagePolicyArgs),
    /// Create or update an ImageUpdateAutomation object.
    Update(CreateImageUpdateArgs),
}

/// Generate an ImageRepository.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Scan the tags of an image every five minutes\n  flux create image repository podinfo --image=ghcr.io/stefanprodan/podinfo --interval=5m --export"
)]
pub struct CreateImageRepositoryArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// The image repository to scan; e.g., library/alpine.
    #[arg(long, default_value = "")]
    pub image: String,
    /// The name of a docker-registry secret to use for credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// The name of a secret to use for TLS certificates.
    #[arg(long, default_value = "")]
    pub cert_ref: String,
    /// A timeout for scanning; this defaults to the interval if not set.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub scan_timeout: GoDuration,
}

/// Generate an ImagePolicy.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Select the newest 5.0.x tag\n  flux create image policy podinfo --image-ref=podinfo --select-semver=5.0.x --export\n\n  # Select the newest main-<timestamp> tag by its number\n  flux create image policy podinfo --image-ref=podinfo --select-numeric=asc --filter-regex='^main-[a-f0-9]+-(?P<ts>[0-9]+)' --filter-extract='$ts' --export"
)]
pub struct CreateImagePolicyArgs {
    #[command(flatten)]
    pub common: CreateCommon,

    /// The name of an image repository object.
    #[arg(long, default_value = "")]
    pub image_ref: String,
    /// A semver range to apply to tags; e.g., '1.x'.
    #[arg(long, default_value = "")]
    pub select_semver: String,
    /// Use alphabetical sorting to select image; either "asc" meaning select the last, or "desc" meaning select the first.
    #[arg(long, default_value = "")]
    pub select_alpha: String,
    /// Use numeric sorting to select image; either "asc" meaning select the last, or "desc" meaning select the first.
    #[arg(long, default_value = "")]
    pub select_numeric: String,
    /// A regular expression pattern used to filter the image tags.
    #[arg(long, default_value = "")]
    pub filter_regex: String,
    /// Replacement pattern (using capture groups from --filter-regex) to use for sorting.
    #[arg(long, default_value = "")]
    pub filter_extract: String,
    /// The digest reflection policy: Never, IfNotPresent or Always.
    #[arg(long, default_value = "")]
    pub reflect_digest: String,
    /// Digest reflection interval; only with --reflect-digest=Always.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub interval: GoDuration,
}

/// Generate an ImageUpdateAutomation.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Commit image updates to main under ./clusters/prod\n  flux create image update flux-system --git-repo-ref=flux-system --git-repo-path=./clusters/prod --checkout-branch=main --author-name=flux --author-email=flux@example.com --export"
)]
pub struct CreateImageUpdateArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// The name of a GitRepository resource with a reference to the repository to update.
    #[arg(long, default_value = "")]
    pub git_repo_ref: String,
    /// The namespace of the GitRepository resource, defaults to the ImageUpdateAutomation namespace.
    #[arg(long, default_value = "")]
    pub git_repo_namespace: String,
    /// Path to the directory containing the manifests to be updated.
    #[arg(long, default_value = "")]
    pub git_repo_path: String,
    /// The branch to checkout.
    #[arg(long, default_value = "")]
    pub checkout_branch: String,
    /// The branch to push commits to, defaults to the checkout branch if not specified.
    #[arg(long, default_value = "")]
    pub push_branch: String,
    /// A template for commit messages.
    #[arg(long, default_value = "")]
    pub commit_template: String,
    /// The name to use for commit author.
    #[arg(long, default_value = "")]
    pub author_name: String,
    /// The email to use for commit author.
    #[arg(long, default_value = "")]
    pub author_email: String,
    /// The name of a secret holding the key used for signing commits.
    #[arg(long, default_value = "")]
    pub signing_key_secret: String,
    /// The type of the signing key: gpg or ssh.
    #[arg(long, default_value = "")]
    pub signing_key_type: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateSecretArgs {
    #[command(subcommand)]
    pub kind: CreateSecretKind,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CreateSecretKind {
    /// Create or update a Kubernetes secret for Git authentication.
    Git(CreateSecretGitArgs),
    /// Create or update a Kubernetes secret for Helm repository authentication.
    Helm(CreateSecretHelmArgs),
    /// Create or update a Kubernetes secret with TLS certificates.
    Tls(CreateSecretTlsArgs),
    /// Create or update a Kubernetes image pull secret.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Oci(CreateSecretOciArgs),
    /// Create or update a GitHub App secret.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Githubapp(CreateSecretGithubAppArgs),
    /// Create or update a Kubernetes secret for Notation verification.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Notation(CreateSecretNotationArgs),
    /// Create or update a Kubernetes secret for proxy authentication.
    Proxy(CreateSecretProxyArgs),
    /// Create or update a Kubernetes secret for a notification Receiver.
    Receiver(CreateSecretReceiverArgs),
}

/// Generate a Secret for Git authentication.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Basic authentication over HTTPS\n  flux create secret git podinfo-auth --url=https://github.com/stefanprodan/podinfo --username=user --password=token --export\n\n  # A generated ECDSA deploy key, with the host key of the SSH server\n  flux create secret git podinfo-auth --url=ssh://git@github.com/stefanprodan/podinfo --export\n\n  # An existing private key\n  flux create secret git podinfo-auth --url=ssh://git@github.com/stefanprodan/podinfo --private-key-file=./id_ecdsa --export"
)]
pub struct CreateSecretGitArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    pub url: String,
    #[command(flatten)]
    pub auth: GitAuthArgs,
    /// Bearer token used for authentication.
    #[arg(long, default_value = "")]
    pub bearer_token: String,
    /// Path to CA certificate file used for validating self-signed certificates.
    #[arg(long, value_parser = file_path())]
    pub ca_crt_file: Option<PathBuf>,
    /// Path to a private key file used for authenticating to the Git SSH server.
    #[arg(long, value_parser = file_path())]
    pub private_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub ssh: SshKeyArgs,
}

/// Generate a Secret for Helm repository authentication.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Basic authentication for a Helm repository\n  flux create secret helm repo-auth --username=user --password=pass --export"
)]
pub struct CreateSecretHelmArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    #[command(flatten)]
    pub auth: BasicAuthArgs,
    #[command(flatten)]
    pub tls: TlsFileArgs,
}

/// TLS file flags shared by `create secret helm` and `create secret tls`.
#[derive(Debug, Clone, Args)]
pub struct TlsFileArgs {
    /// TLS authentication cert file path.
    #[arg(long, value_parser = file_path())]
    pub tls_crt_file: Option<PathBuf>,
    /// TLS authentication key file path.
    #[arg(long, value_parser = file_path())]
    pub tls_key_file: Option<PathBuf>,
    /// TLS authentication CA file path.
    #[arg(long, value_parser = file_path())]
    pub ca_crt_file: Option<PathBuf>,
}

/// Generate a Secret with TLS certificates.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A client certificate pair and a CA\n  flux create secret tls certs --tls-crt-file=./client.crt --tls-key-file=./client.key --ca-crt-file=./ca.crt --export"
)]
pub struct CreateSecretTlsArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,
    #[command(flatten)]
    pub tls: TlsFileArgs,
}

/// Generate an image pull Secret.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # An image pull secret for GitHub Container Registry\n  flux create secret oci ghcr-auth --url=ghcr.io --username=user --password=token --export"
)]
pub struct CreateSecretOciArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Oci repository address e.g ghcr.io/stefanprodan/charts.
    #[arg(long, default_value = "")]
    pub url: String,
    #[command(flatten)]
    pub auth: BasicAuthArgs,
}

/// Generate a GitHub App Secret.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # GitHub App credentials for an organisation's installation\n  flux create secret githubapp app-auth --app-id=1 --app-installation-owner=my-org --app-private-key=./app.pem --export"
)]
pub struct CreateSecretGithubAppArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// GitHub App ID.
    #[arg(long, default_value = "")]
    pub app_id: String,
    /// GitHub App Installation Owner (organization or user).
    #[arg(long, default_value = "")]
    pub app_installation_owner: String,
    /// GitHub App Installation ID.
    #[arg(long, default_value = "")]
    pub app_installation_id: String,
    /// Path to a PEM-encoded GitHub App private key.
    #[arg(long, value_parser = file_path())]
    pub app_private_key: Option<PathBuf>,
    /// GitHub App API base URL.
    #[arg(long, default_value = "")]
    pub app_base_url: String,
}

/// Generate a Secret with a Notation trust policy and CA certificates.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A trust policy with its CA certificate\n  flux create secret notation notation-cfg --trust-policy-file=./trustpolicy.json --ca-cert-file=./ca.crt --export"
)]
pub struct CreateSecretNotationArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Path to a Notation trust policy JSON file.
    #[arg(long, value_parser = file_path())]
    pub trust_policy_file: Option<PathBuf>,
    /// Paths to TLS CA certificate files (.crt or .pem).
    #[arg(long, value_delimiter = ',', value_parser = file_path())]
    pub ca_cert_file: Vec<PathBuf>,
}

/// Generate a Secret for proxy authentication.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Proxy address and credentials\n  flux create secret proxy proxy-auth --address=https://proxy.example.com --username=user --password=pass --export"
)]
pub struct CreateSecretProxyArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Proxy address.
    #[arg(long, default_value = "")]
    pub address: String,
    #[command(flatten)]
    pub auth: BasicAuthArgs,
}

/// Generate a Secret for a notification Receiver.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A GitHub webhook token with a generated value\n  flux create secret receiver github-token --type=github --hostname=flux.example.com --export"
)]
pub struct CreateSecretReceiverArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Receiver type.
    #[arg(long = "type", value_parser = parse_receiver_type)]
    pub receiver_type: Option<String>,
    /// Webhook token; a random 64-character hex token is generated when empty.
    #[arg(long, default_value = "")]
    pub token: String,
    /// Hostname of the webhook receiver, used in the webhook URL annotation.
    #[arg(long, default_value = "")]
    pub hostname: String,
    /// Email claim expected from GCR (Google Pub/Sub) tokens; required for --type=gcr.
    #[arg(long, default_value = "")]
    pub email_claim: String,
    /// Audience claim expected from GCR tokens; defaults to the webhook URL.
    #[arg(long, default_value = "")]
    pub audience_claim: String,
}

/// Generate the objects of a tenant.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A tenant owning two namespaces, bound to the admin role\n  flux create tenant dev-team --with-namespace=frontend --with-namespace=backend --cluster-role=admin --export"
)]
pub struct CreateTenantArgs {
    #[command(flatten)]
    pub common: CreateWithInterval,

    /// Namespaces belonging to this tenant.
    #[arg(long, value_delimiter = ',')]
    pub with_namespace: Vec<String>,
    /// Cluster role bound in each tenant namespace.
    #[arg(long, default_value = "cluster-admin")]
    pub cluster_role: String,
    /// Service account belonging to this tenant, defaults to the tenant name.
    #[arg(long, default_value = "")]
    pub with_service_account: String,
    /// Skip creation of the tenant namespaces.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub skip_namespace: bool,
}

/// An enumerated flag value: `empty` when no value was given, otherwise the
/// value if allowed, else the message `unsupported` words for it.
fn one_of(
    value: &str,
    allowed: &[&str],
    empty: &str,
    unsupported: impl Fn(&str) -> String,
) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(empty.to_string());
    }
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(unsupported(value))
    }
}

fn parse_git_provider(value: &str) -> Result<String, String> {
    one_of(
        value,
        &["generic", "github", "aws", "azure"],
        "no source Git provider given, please specify the Git provider name",
        |v| {
            format!(
                "source Git provider '{v}' is not supported, must be one of: generic|github|aws|azure"
            )
        },
    )
}

/// `--provider` of an OCI repository or a bucket (`what`).
fn parse_cloud_provider(value: &str, what: &str) -> Result<String, String> {
    one_of(
        value,
        &["generic", "aws", "azure", "gcp"],
        &format!(
            "no source {what} provider given, please specify the {what} provider name, available options are: (generic, aws, azure, gcp)"
        ),
        |v| {
            format!(
                "source {what} provider '{v}' is not supported, must be one of: generic, aws, azure, gcp"
            )
        },
    )
}

fn parse_oci_verify_provider(value: &str) -> Result<String, String> {
    one_of(
        value,
        &["cosign"],
        "no source OCI verify provider given, please specify the verify provider name, available options are: (cosign)",
        |v| format!("source OCI verify provider '{v}' is not supported, must be one of: cosign"),
    )
}

fn parse_decryption_provider(value: &str) -> Result<String, String> {
    one_of(
        value,
        &["sops"],
        "no decryption provider given, please specify the decryption provider name, available options are: (sops)",
        |v| format!("unsupported decryption provider '{v}', must be one of: sops"),
    )
}

fn parse_crds_policy(value: &str) -> Result<String, String> {
    one_of(
        value,
        &["Skip", "Create", "CreateReplace"],
        "no upgrade CRDs policy given, must be one of: Skip, Create, CreateReplace",
        |v| {
            format!(
                "unsupported upgrade CRDs policy '{v}', must be one of: Skip, Create, CreateReplace"
            )
        },
    )
}

/// Receiver types the CLI accepts (`create receiver`, `create secret receiver`).
pub const RECEIVER_TYPES: &[&str] = &[
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "bitbucket",
    "harbor",
    "dockerhub",
    "quay",
    "gcr",
    "nexus",
    "acr",
    "cdevents",
];

fn parse_receiver_type(value: &str) -> Result<String, String> {
    one_of(
        value,
        RECEIVER_TYPES,
        "no receiver type given, please specify the receiver type",
        |v| {
            format!(
                "receiver type '{v}' is not supported, must be one of: {}",
                RECEIVER_TYPES.join(", ")
            )
        },
    )
}

fn parse_key_algorithm(value: &str) -> Result<crate::secret::KeyAlgorithm, String> {
    value.parse()
}

fn parse_ecdsa_curve(value: &str) -> Result<crate::secret::EcdsaCurve, String> {
    value.parse()
}

fn parse_rsa_bits(value: &str) -> Result<usize, String> {
    if value.is_empty() {
        return Ok(2048);
    }
    let bits: usize = value
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing \"{value}\": invalid syntax"))?;
    if bits < 1024 {
        return Err("RSA key bit size must be at least 1024".into());
    }
    if !bits.is_multiple_of(8) {
        return Err("RSA key bit size must be a multiples of 8".into());
    }
    if bits > crate::secret::MAX_RSA_BITS {
        return Err(crate::secret::rsa_bits_too_large(bits));
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_bits_follow_upstream_rules() {
        assert_eq!(parse_rsa_bits(""), Ok(2048));
        assert_eq!(parse_rsa_bits("4096"), Ok(4096));
        assert_eq!(
            parse_rsa_bits("512").unwrap_err(),
            "RSA key bit size must be at least 1024"
        );
        assert_eq!(
            parse_rsa_bits("1025").unwrap_err(),
            "RSA key bit size must be a multiples of 8"
        );
        assert!(parse_rsa_bits("x").is_err());
        assert_eq!(parse_rsa_bits("16384"), Ok(16384));
        assert_eq!(
            parse_rsa_bits("16392").unwrap_err(),
            "RSA key bit size must be at most 16384, got 16392: use a multiple of 8 from 1024 to 16384"
        );
        assert!(parse_rsa_bits("4294967296").is_err());
    }

    #[test]
    fn enumerated_flags_reject_unknown_values_with_the_choices() {
        assert_eq!(
            parse_git_provider("dummy").unwrap_err(),
            "source Git provider 'dummy' is not supported, must be one of: generic|github|aws|azure"
        );
        assert!(parse_receiver_type("github").is_ok());
        assert!(
            parse_receiver_type("")
                .unwrap_err()
                .starts_with("no receiver type")
        );
        assert!(parse_crds_policy("CreateReplace").is_ok());
        assert_eq!(
            parse_cloud_provider("", "bucket").unwrap_err(),
            "no source bucket provider given, please specify the bucket provider name, available options are: (generic, aws, azure, gcp)"
        );
        assert_eq!(parse_cloud_provider("gcp", "OCI"), Ok("gcp".to_string()));
    }
}
