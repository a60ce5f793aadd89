use clap::Args;

use super::value::{LogLevel, go_bool};

// Flags of `flux install`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Install the default components into flux-system\n  flux install\n\n  # Print the default install set\n  flux install --export > flux-system.yaml\n\n  # Add the image automation controllers and use a private registry\n  flux install --export --components-extra=image-reflector-controller,image-automation-controller \\\n    --registry=registry.example.com/fluxcd --image-pull-secret=regcred"
)]
pub struct InstallArgs {
    /// Print the manifests to stdout instead of applying them.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub export: bool,

    /// Override an installation managed by another tool without asking.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub force: bool,

    #[command(flatten)]
    pub install: InstallFlags,

    /// A local kustomize directory whose build is installed as is, instead
    /// of the embedded manifests (hidden, as upstream's).
    #[arg(long, hide = true, value_name = "PATH")]
    pub manifests: Option<String>,
}

// The install set's flags, shared by `flux install` and `flux bootstrap`
// (global there, so they may follow the provider subcommand).
#[derive(Debug, Clone, Args)]
pub struct InstallFlags {
    /// Flux version to install; this binary embeds one distribution (see `flux version --client`).
    #[arg(short = 'v', long = "version", global = true, value_name = "VERSION")]
    pub version: Option<String>,

    /// Controllers to install.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "source-controller,kustomize-controller,helm-controller,notification-controller"
    )]
    pub components: Vec<String>,

    /// Extra controllers to install: image-reflector-controller, image-automation-controller, source-watcher.
    #[arg(long, global = true, value_delimiter = ',')]
    pub components_extra: Vec<String>,

    /// Container registry to pull the controller images from.
    #[arg(long, global = true, default_value = "ghcr.io/fluxcd")]
    pub registry: String,

    /// Registry credentials as user:password, stored in the --image-pull-secret Secret.
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    pub registry_creds: Option<String>,

    /// Name of the Secret the controllers use to pull their images.
    #[arg(long, global = true, value_name = "NAME")]
    pub image_pull_secret: Option<String>,

    /// Make the controllers watch objects in every namespace (false: only their own namespace).
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub watch_all_namespaces: bool,

    /// Restrict network access to the Flux namespace with NetworkPolicies.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub network_policy: bool,

    /// Log level of the controllers: debug, info or error.
    #[arg(long, global = true, default_value = "info", value_name = "LEVEL")]
    pub log_level: LogLevel,

    /// Internal domain name of the cluster.
    #[arg(
        long,
        global = true,
        default_value = "cluster.local",
        value_name = "DOMAIN"
    )]
    pub cluster_domain: String,

    /// Taint keys the controllers tolerate (operator Exists).
    #[arg(long, global = true, value_delimiter = ',', value_name = "KEYS")]
    pub toleration_keys: Vec<String>,
}
