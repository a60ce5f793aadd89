//! Every environment variable the CLI reads, in one place.

/// Default namespace when `-n/--namespace` is not given (must be a DNS label).
pub const FLUX_SYSTEM_NAMESPACE: &str = "FLUX_SYSTEM_NAMESPACE";
/// Any non-empty value: use the kubeconfig context's namespace when `-n` is not given.
pub const FLUX_NS_FOLLOWS_KUBE_CONTEXT: &str = "FLUX_NS_FOLLOWS_KUBE_CONTEXT";
/// Set by CI systems; progress output then stays plain lines.
pub const CI: &str = "CI";
/// The terminal type; `dumb` terminals cannot redraw a line.
pub const TERM: &str = "TERM";
