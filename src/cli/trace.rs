use clap::Args;

// Flags of `flux trace`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Which Flux object applied a Deployment, from which source and revision\n  flux trace -n apps deployment podinfo\n\n  # A Pod (traced through its ReplicaSet and Deployment) and a ConfigMap at once\n  flux trace -n apps pod/podinfo-7d9f8b6c5-x2x4z cm/podinfo-config\n\n  # A cluster-scoped object\n  flux trace namespace apps\n\n  # A Flux object applied by a Kustomization\n  flux trace -n apps helmrelease podinfo\n\n  # The kind and API version given as flags (both are then required)\n  flux trace podinfo --kind=HelmRelease --api-version=helm.toolkit.fluxcd.io/v2 -n apps"
)]
pub struct TraceArgs {
    /// `<resource> <name>…`, or `<resource>/<name>…`, or one name with --kind and --api-version.
    #[arg(value_name = "RESOURCE")]
    pub objects: Vec<String>,

    /// The Kubernetes object kind, e.g. Deployment.
    #[arg(long, default_value = "")]
    pub kind: String,

    /// The Kubernetes object API version, e.g. 'apps/v1'.
    #[arg(long, default_value = "")]
    pub api_version: String,
}
