//! Every environment variable the CLI reads, in one place.

/// Default namespace when `-n/--namespace` is not given (must be a DNS label).
pub const FLUX_SYSTEM_NAMESPACE: &str = "FLUX_SYSTEM_NAMESPACE";
/// Any non-empty value: use the kubeconfig context's namespace when `-n` is not given.
pub const FLUX_NS_FOLLOWS_KUBE_CONTEXT: &str = "FLUX_NS_FOLLOWS_KUBE_CONTEXT";
/// Set by CI systems; progress output then stays plain lines.
pub const CI: &str = "CI";
/// The terminal type; `dumb` terminals cannot redraw a line.
pub const TERM: &str = "TERM";
/// `flux trigger receiver --type=generic-oidc`: the OIDC token when neither
/// `--oidc-provider` nor `--oidc-token` is given.
pub const FLUX_TRIGGER_RECEIVER_OIDC_TOKEN: &str = "FLUX_TRIGGER_RECEIVER_OIDC_TOKEN";
/// GitHub/Forgejo Actions: the OIDC token endpoint of a job with `id-token: write`.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub/Forgejo Actions: the bearer credential for that endpoint.
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
