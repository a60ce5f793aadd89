use clap::Args;

use super::value::{LogLevel, go_bool};
use crate::duration::GoDuration;

// Flags of `flux logs`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Print the reconciliation logs of all Flux custom resources in your cluster\n  flux logs --all-namespaces\n\n  # Print all logs of all Flux custom resources newer than 2 minutes\n  flux logs --all-namespaces --since=2m\n\n  # Stream logs for a particular log level\n  flux logs --follow --level=error --all-namespaces\n\n  # Filter logs by kind, name and namespace\n  flux logs --kind=Kustomization --name=podinfo --namespace=default\n\n  # Print logs when Flux is installed in a different namespace than flux-system\n  flux logs --flux-namespace=my-namespace"
)]
pub struct LogsArgs {
    /// Only entries of this level: debug, info or error.
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<LogLevel>,

    /// Only entries about objects of this kind (case-insensitive).
    #[arg(long, default_value = "")]
    pub kind: String,

    /// Only entries about objects with this name (case-insensitive).
    #[arg(long, default_value = "")]
    pub name: String,

    /// Entries about objects in every namespace.
    #[arg(short = 'A', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub all_namespaces: bool,

    /// Keep streaming new entries (until --timeout passes).
    #[arg(short = 'f', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub follow: bool,

    /// Lines to read from the end of each controller's log; negative means all.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_name = "LINES")]
    pub tail: i64,

    /// Namespace the Flux controllers run in.
    #[arg(long, default_value = crate::settings::DEFAULT_NAMESPACE, value_name = "NAMESPACE")]
    pub flux_namespace: String,

    /// Only entries newer than this (e.g. 5s, 2m, 3h).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<GoDuration>,

    /// Only entries after this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub since_time: Option<String>,

    /// Upstream rejects positional arguments with its own message.
    #[arg(hide = true)]
    pub extra: Vec<String>,
}
