//! Resolution of the global flags and environment into plain options,
//! before any command runs.

use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::env;
use crate::error::UsageError;
use crate::output::Printer;
use crate::validate::is_dns_label;

/// The namespace Flux is installed into unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "flux-system";

/// Global options after resolution: what commands actually use.
#[derive(Debug, Clone)]
pub struct GlobalOptions {
    pub namespace: String,
    pub timeout: Duration,
    pub verbose: bool,
    pub connection: ConnectionOptions,
}

/// How to reach the Kubernetes API server: kubeconfig selection plus overrides.
#[derive(Debug, Clone, Default)]
pub struct ConnectionOptions {
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub tls_server_name: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub certificate_authority: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
    pub token: Option<String>,
    pub impersonate: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub impersonate_uid: Option<String>,
    pub disable_compression: bool,
}

/// Reads an environment variable; `None` when unset or not UTF-8.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl GlobalOptions {
    /// Resolves the namespace as upstream does: `-n` wins, then the kubeconfig
    /// context namespace when opted in, then `$FLUX_SYSTEM_NAMESPACE` when valid,
    /// then `flux-system`. The result must be a DNS label.
    pub fn resolve(
        args: &GlobalArgs,
        env_lookup: EnvLookup<'_>,
        printer: &Printer,
    ) -> Result<Self, UsageError> {
        let connection = ConnectionOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            cluster: args.cluster.clone(),
            user: args.user.clone(),
            server: args.server.clone(),
            tls_server_name: args.tls_server_name.clone(),
            insecure_skip_tls_verify: args.insecure_skip_tls_verify,
            certificate_authority: args.certificate_authority.clone(),
            client_certificate: args.client_certificate.clone(),
            client_key: args.client_key.clone(),
            token: args.token.clone(),
            impersonate: args.impersonate.clone(),
            impersonate_groups: args.impersonate_groups.clone(),
            impersonate_uid: args.impersonate_uid.clone(),
            disable_compression: args.disable_compression,
        };
        let namespace = match &args.namespace {
            Some(ns) => ns.clone(),
            None => {
                let follows = args.ns_follows_kube_context
                    || env_lookup(env::FLUX_NS_FOLLOWS_KUBE_CONTEXT).is_some_and(|v| !v.is_empty());
                let from_context = if follows {
                    crate::cluster::context_namespace(&connection, env_lookup)
                } else {
                    None
                };
                from_context.unwrap_or_else(|| default_namespace(env_lookup, printer))
            }
        };
        if !is_dns_label(&namespace) {
            return Err(UsageError::InvalidNamespace(namespace));
        }
        Ok(Self {
            namespace,
            timeout: args.timeout.as_std(),
            verbose: args.verbose,
            connection,
        })
    }
}

fn default_namespace(env_lookup: EnvLookup<'_>, printer: &Printer) -> String {
    match env_lookup(env::FLUX_SYSTEM_NAMESPACE) {
        Some(ns) if is_dns_label(&ns) => ns,
        Some(ns) if !ns.is_empty() => {
            printer.warning(&format!(
                " ignoring invalid {}: {ns:?}",
                env::FLUX_SYSTEM_NAMESPACE
            ));
            DEFAULT_NAMESPACE.to_string()
        }
        _ => DEFAULT_NAMESPACE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str], env: &[(&str, &str)]) -> (Result<GlobalOptions, UsageError>, String) {
        let cli = crate::cli::parse(std::iter::once("flux").chain(args.iter().copied())).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let (printer, captured) = Printer::capture();
        let resolved = GlobalOptions::resolve(&cli.global, &lookup, &printer);
        (resolved, captured.stderr())
    }

    #[test]
    fn namespace_defaults_to_flux_system() {
        let (opts, _) = resolve(&["version"], &[]);
        assert_eq!(opts.unwrap().namespace, "flux-system");
    }

    #[test]
    fn environment_namespace_is_used_when_valid() {
        let (opts, err) = resolve(&["version"], &[("FLUX_SYSTEM_NAMESPACE", "gitops")]);
        assert_eq!(opts.unwrap().namespace, "gitops");
        assert_eq!(err, "");
    }

    #[test]
    fn invalid_environment_namespace_is_ignored_with_a_warning() {
        let (opts, err) = resolve(&["version"], &[("FLUX_SYSTEM_NAMESPACE", "Not_Valid")]);
        assert_eq!(opts.unwrap().namespace, "flux-system");
        assert_eq!(
            err,
            "⚠️  ignoring invalid FLUX_SYSTEM_NAMESPACE: \"Not_Valid\"\n"
        );
    }

    #[test]
    fn explicit_namespace_wins_and_is_validated() {
        let (opts, _) = resolve(
            &["version", "-n", "apps"],
            &[("FLUX_SYSTEM_NAMESPACE", "gitops")],
        );
        assert_eq!(opts.unwrap().namespace, "apps");
        let (opts, _) = resolve(&["version", "-n", "Bad.NS"], &[]);
        assert_eq!(
            opts.unwrap_err().to_string(),
            "namespace must be a valid DNS label: \"Bad.NS\""
        );
    }
}
