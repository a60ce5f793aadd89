//! Building a Kubernetes client from kubeconfig plus the global flag
//! overrides, lazily: commands that never talk to the cluster never read
//! kubeconfig.

pub mod apply;
pub mod exec;
pub mod health;
pub mod objects;
pub mod reconnect;
pub mod request;
pub mod transport;

use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use tokio::sync::OnceCell;

use crate::settings::{ConnectionOptions, EnvLookup};

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unable to read kubeconfig {path}: {reason}")]
    ReadKubeconfig { path: String, reason: String },
    #[error("context \"{0}\" does not exist")]
    NoContext(String),
    #[error("invalid server URL \"{server}\": {reason}")]
    InvalidServer { server: String, reason: String },
    #[error(
        "invalid configuration: no kubeconfig found; set KUBECONFIG, pass --kubeconfig, or give --server (with --token or client certificates)"
    )]
    NoConfiguration,
    #[error("invalid kubeconfig: {}", describe_kubeconfig_error(.0))]
    InvalidKubeconfig(#[source] kube::config::KubeconfigError),
    #[error("unable to create the Kubernetes client: {}", describe_client_error(.0))]
    Client(#[source] kube::Error),
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
}

/// Creates the client on first use and hands out clones afterwards.
pub struct ClientFactory {
    options: ConnectionOptions,
    client: OnceCell<kube::Client>,
}

impl ClientFactory {
    pub fn new(options: ConnectionOptions) -> Self {
        Self {
            options,
            client: OnceCell::new(),
        }
    }

    pub async fn client(&self) -> Result<kube::Client, ClientError> {
        self.client
            .get_or_try_init(|| async {
                let config = build_config(&self.options).await?;
                transport::set_server(&config.cluster_url);
                if let Some(proxy) = &config.proxy_url {
                    transport::set_proxy(proxy);
                }
                kube::Client::try_from(config).map_err(ClientError::Client)
            })
            .await
            .cloned()
    }
}

fn read_kubeconfig(options: &ConnectionOptions) -> Result<Option<Kubeconfig>, ClientError> {
    let env = std::env::var_os("KUBECONFIG");
    let home = std::env::var_os("HOME");
    read_kubeconfig_from(
        options.kubeconfig.as_deref(),
        env.as_deref(),
        home.as_deref(),
    )
}

/// The kubeconfig as kubectl loads it: `--kubeconfig` alone (it must
/// exist), else every file listed in `KUBECONFIG` that exists, merged with
/// the first file's entries winning, else `~/.kube/config` if it exists.
/// A file that exists but cannot be read or parsed is an error naming it.
fn read_kubeconfig_from(
    flag: Option<&str>,
    env: Option<&std::ffi::OsStr>,
    home: Option<&std::ffi::OsStr>,
) -> Result<Option<Kubeconfig>, ClientError> {
    let read = |path: &std::path::Path| {
        Kubeconfig::read_from(path).map_err(|err| ClientError::ReadKubeconfig {
            path: path.display().to_string(),
            reason: match err {
                kube::config::KubeconfigError::ReadConfig(io, _) => io.to_string(),
                other => describe_kubeconfig_error(&other),
            },
        })
    };
    if let Some(path) = flag {
        return read(std::path::Path::new(path)).map(Some);
    }
    let candidates: Vec<std::path::PathBuf> = match env.filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => home
            .map(|h| std::path::Path::new(h).join(".kube").join("config"))
            .into_iter()
            .collect(),
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in candidates {
        // kubectl skips listed files that do not exist.
        if !path.exists() {
            continue;
        }
        let next = read(&path)?;
        merged = Some(match merged {
            None => next,
            Some(first) => first
                .merge(next)
                .map_err(|err| ClientError::ReadKubeconfig {
                    path: path.display().to_string(),
                    reason: describe_kubeconfig_error(&err),
                })?,
        });
    }
    Ok(merged)
}

/// A kubeconfig error in words, each path shown once (the client library
/// quotes a path's Debug form: `'"/x.crt"'`).
fn describe_kubeconfig_error(err: &kube::config::KubeconfigError) -> String {
    use kube::config::{KubeconfigError as E, LoadDataError as L};
    let load = |what: &str, err: &L| match err {
        L::ReadFile(io, path) => format!("unable to read the {what} {}: {io}", path.display()),
        L::DecodeBase64(e) => format!("the {what} data is not valid base64: {e}"),
        L::NoBase64DataOrFile => format!("no {what} data or file given"),
    };
    match err {
        E::ReadConfig(io, path) => format!("unable to read {}: {io}", path.display()),
        E::LoadCertificateAuthority(e) => load("certificate authority", e),
        E::LoadClientCertificate(e) => load("client certificate", e),
        E::LoadClientKey(e) => load("client key", e),
        E::LoadContext(name) => format!("context \"{name}\" does not exist"),
        E::LoadClusterOfContext(name) => format!("cluster \"{name}\" does not exist"),
        other => other.to_string(),
    }
}

/// A client-construction error in words, each path shown once.
fn describe_client_error(err: &kube::Error) -> String {
    use kube::client::RustlsTlsError;
    match err {
        kube::Error::Auth(kube::client::AuthError::ReadTokenFile(io, path)) => {
            format!("unable to read the token file {}: {io}", path.display())
        }
        // The TLS library refuses to load the certificate, and the client
        // library words that as a bad private key.
        kube::Error::RustlsTls(RustlsTlsError::InvalidPrivateKey(rustls::Error::InvalidCertificate(
            cert,
        ))) if format!("{cert:?}").contains("UnsupportedCertVersion") => {
            "the client certificate is an X.509 v1 certificate, which the TLS library (rustls) refuses; reissue it as X.509 v3 (with openssl, sign it with an -extfile), or authenticate with a token".to_string()
        }
        kube::Error::RustlsTls(RustlsTlsError::InvalidPrivateKey(rustls::Error::InvalidCertificate(
            cert,
        ))) => format!("the client certificate cannot be used: {cert:?}"),
        other => other.to_string(),
    }
}

/// The kubeconfig with the flag overrides applied to the selected cluster and user.
async fn build_config(options: &ConnectionOptions) -> Result<kube::Config, ClientError> {
    let kubeconfig = match read_kubeconfig(options)? {
        Some(kubeconfig) => kubeconfig,
        None if options.server.is_some() => flag_only_kubeconfig(),
        None => {
            return kube::Config::incluster().map_err(|_| ClientError::NoConfiguration);
        }
    };
    let mut kubeconfig = kubeconfig;
    if let Some(name) = &options.context
        && !kubeconfig.contexts.iter().any(|c| &c.name == name)
    {
        return Err(ClientError::NoContext(name.clone()));
    }
    let selection = apply_overrides(&mut kubeconfig, options);
    for cluster in kubeconfig
        .clusters
        .iter_mut()
        .filter_map(|c| c.cluster.as_mut())
    {
        if let Some(server) = &mut cluster.server {
            *server = with_default_scheme(server);
        }
    }
    let selected = selection.cluster.as_ref().and_then(|name| {
        kubeconfig
            .clusters
            .iter_mut()
            .find(|c| &c.name == name)
            .and_then(|c| c.cluster.as_mut())
    });
    if let Some(cluster) = selected
        && let Some(server) = cluster.server.as_deref()
    {
        check_server(server)?;
        // A kubeconfig's proxy-url wins; otherwise the environment's proxy
        // for this server, by kubectl's rules.
        if cluster.proxy_url.as_deref().unwrap_or_default().is_empty() {
            cluster.proxy_url = url::Url::parse(server)
                .ok()
                .and_then(|server| crate::proxy::for_url(&server))
                .map(String::from);
        }
    }
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &selection)
        .await
        .map_err(ClientError::InvalidKubeconfig)?;
    exec::resolve(&mut config.auth_info).await?;
    config.disable_compression = options.disable_compression;
    Ok(config)
}

/// A server given as `host[:port]` means HTTPS, as kubectl reads it (the
/// client library would otherwise have no scheme to connect with).
fn with_default_scheme(server: &str) -> String {
    if server.contains("://") {
        server.to_string()
    } else {
        format!("https://{server}")
    }
}

/// Refuses a server URL no request could go to, before any is sent.
fn check_server(server: &str) -> Result<(), ClientError> {
    let invalid = |reason: String| ClientError::InvalidServer {
        server: server.to_string(),
        reason,
    };
    let url = url::Url::parse(server).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(format!(
            "scheme \"{}\" is not supported; use https:// (or http://)",
            url.scheme()
        )));
    }
    if url.host_str().unwrap_or_default().is_empty() {
        return Err(invalid("no host".into()));
    }
    Ok(())
}

const FLAGS_ENTRY: &str = "flux-flags";

/// A kubeconfig with one empty context, filled in by the flag overrides.
fn flag_only_kubeconfig() -> Kubeconfig {
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: FLAGS_ENTRY.into(),
            cluster: Some(Cluster::default()),
            ..Default::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: FLAGS_ENTRY.into(),
            auth_info: Some(AuthInfo::default()),
            ..Default::default()
        }],
        contexts: vec![NamedContext {
            name: FLAGS_ENTRY.into(),
            context: Some(Context {
                cluster: FLAGS_ENTRY.into(),
                user: Some(FLAGS_ENTRY.into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
        current_context: Some(FLAGS_ENTRY.into()),
        ..Default::default()
    }
}

/// Applies --server, --token, TLS and impersonation flags to the cluster and
/// user that the selected context uses, and returns the selection to load.
fn apply_overrides(kubeconfig: &mut Kubeconfig, options: &ConnectionOptions) -> KubeConfigOptions {
    let context_name = options
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    let context = context_name
        .as_deref()
        .and_then(|name| kubeconfig.contexts.iter().find(|c| c.name == name))
        .and_then(|c| c.context.clone());
    let cluster_name = options
        .cluster
        .clone()
        .or_else(|| context.as_ref().map(|c| c.cluster.clone()));
    let user_name = options
        .user
        .clone()
        .or_else(|| context.as_ref().and_then(|c| c.user.clone()));

    if let Some(cluster_name) = &cluster_name
        && let Some(cluster) = kubeconfig
            .clusters
            .iter_mut()
            .find(|c| &c.name == cluster_name)
            .and_then(|c| c.cluster.as_mut())
    {
        if let Some(server) = &options.server {
            cluster.server = Some(server.clone());
        }
        if let Some(name) = &options.tls_server_name {
            cluster.tls_server_name = Some(name.clone());
        }
        if options.insecure_skip_tls_verify {
            cluster.insecure_skip_tls_verify = Some(true);
            cluster.certificate_authority = None;
            cluster.certificate_authority_data = None;
        }
        if let Some(ca) = &options.certificate_authority {
            cluster.certificate_authority = Some(ca.clone());
            cluster.certificate_authority_data = None;
        }
    }
    if let Some(user_name) = &user_name
        && let Some(user) = kubeconfig
            .auth_infos
            .iter_mut()
            .find(|u| &u.name == user_name)
            .and_then(|u| u.auth_info.as_mut())
    {
        if let Some(token) = &options.token {
            user.token = Some(token.clone().into());
            user.token_file = None;
        }
        if let Some(cert) = &options.client_certificate {
            user.client_certificate = Some(cert.clone());
            user.client_certificate_data = None;
        }
        if let Some(key) = &options.client_key {
            user.client_key = Some(key.clone());
            user.client_key_data = None;
        }
        if let Some(who) = &options.impersonate {
            user.impersonate = Some(who.clone());
        }
        if !options.impersonate_groups.is_empty() {
            user.impersonate_groups = Some(options.impersonate_groups.clone());
        }
        if let Some(uid) = &options.impersonate_uid {
            user.impersonate_uid = Some(uid.clone());
        }
    }
    KubeConfigOptions {
        context: context_name,
        cluster: cluster_name,
        user: user_name,
    }
}

/// The namespace of the selected kubeconfig context, if it sets one. Errors
/// reading kubeconfig are ignored here, as upstream does.
pub fn context_namespace(options: &ConnectionOptions, env_lookup: EnvLookup<'_>) -> Option<String> {
    let kubeconfig = match &options.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok()?,
        None => match env_lookup("KUBECONFIG") {
            Some(paths) if !paths.is_empty() => std::env::split_paths(&paths)
                .filter_map(|p| Kubeconfig::read_from(p).ok())
                .reduce(|a, b| a.merge(b).unwrap_or_default())?,
            _ => Kubeconfig::read().ok()?,
        },
    };
    let name = options.context.clone().or(kubeconfig.current_context)?;
    kubeconfig
        .contexts
        .into_iter()
        .find(|c| c.name == name)?
        .context?
        .namespace
        .filter(|ns| !ns.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: apps}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
clusters:
- name: dev-cluster
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "Zm9v"}
- name: prod-cluster
  cluster: {server: "https://10.0.0.1:6443"}
users:
- name: dev-user
  user: {token: dev-token}
- name: prod-user
  user: {token: prod-token}
"#;

    fn kubeconfig() -> Kubeconfig {
        Kubeconfig::from_yaml(KUBECONFIG).unwrap()
    }

    #[test]
    fn overrides_apply_to_the_selected_context_only() {
        let mut kc = kubeconfig();
        let options = ConnectionOptions {
            context: Some("prod".into()),
            server: Some("https://example.test:443".into()),
            token: Some("flag-token".into()),
            insecure_skip_tls_verify: true,
            ..Default::default()
        };
        let selection = apply_overrides(&mut kc, &options);
        assert_eq!(selection.context.as_deref(), Some("prod"));
        let prod = kc
            .clusters
            .iter()
            .find(|c| c.name == "prod-cluster")
            .unwrap();
        assert_eq!(
            prod.cluster.as_ref().unwrap().server.as_deref(),
            Some("https://example.test:443")
        );
        assert_eq!(
            prod.cluster.as_ref().unwrap().insecure_skip_tls_verify,
            Some(true)
        );
        let dev = kc
            .clusters
            .iter()
            .find(|c| c.name == "dev-cluster")
            .unwrap();
        assert_eq!(
            dev.cluster.as_ref().unwrap().server.as_deref(),
            Some("https://127.0.0.1:6443")
        );
        let dev_user = kc.auth_infos.iter().find(|u| u.name == "dev-user").unwrap();
        assert!(dev_user.auth_info.as_ref().unwrap().impersonate.is_none());
    }

    #[test]
    fn context_namespace_reads_the_current_or_named_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let no_env = |_: &str| None;
        let mut options = ConnectionOptions {
            kubeconfig: Some(path.to_string_lossy().into_owned()),
            ..Default::default()
        };
        assert_eq!(
            context_namespace(&options, &no_env).as_deref(),
            Some("apps")
        );
        options.context = Some("prod".into());
        assert_eq!(context_namespace(&options, &no_env), None);
    }

    #[tokio::test]
    async fn missing_kubeconfig_file_is_a_clear_error() {
        let options = ConnectionOptions {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..Default::default()
        };
        let Err(err) = ClientFactory::new(options).client().await else {
            panic!("a client was built from a missing kubeconfig")
        };
        assert_eq!(
            err.to_string(),
            "unable to read kubeconfig /nonexistent/kubeconfig: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn kubeconfig_lists_skip_missing_files_and_merge_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        std::fs::write(&first, KUBECONFIG).unwrap();
        let second = dir.path().join("second");
        std::fs::write(
            &second,
            "apiVersion: v1\nkind: Config\ncurrent-context: other\ncontexts:\n- name: other\n  context: {cluster: dev-cluster, user: dev-user}\n",
        )
        .unwrap();
        let list =
            std::env::join_paths([dir.path().join("missing"), first.clone(), second.clone()])
                .unwrap();
        let merged = read_kubeconfig_from(None, Some(&list), None)
            .unwrap()
            .expect("a kubeconfig");
        // The first file that sets current-context wins, as in kubectl.
        assert_eq!(merged.current_context.as_deref(), Some("dev"));
        assert_eq!(merged.contexts.len(), 3);
        // Nothing that exists: no kubeconfig (then in-cluster or --server).
        let none = std::env::join_paths([dir.path().join("missing")]).unwrap();
        assert!(
            read_kubeconfig_from(None, Some(&none), None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_unparseable_kubeconfig_is_named_with_its_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "clusters: [unclosed\n").unwrap();
        let list = std::env::join_paths([bad.clone()]).unwrap();
        let err = read_kubeconfig_from(None, Some(&list), None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "unable to read kubeconfig {}: failed to parse kubeconfig YAML: ",
                bad.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn servers_without_a_scheme_mean_https() {
        assert_eq!(
            with_default_scheme("127.0.0.1:6443"),
            "https://127.0.0.1:6443"
        );
        assert_eq!(with_default_scheme("localhost"), "https://localhost");
        assert_eq!(with_default_scheme("http://h:8080"), "http://h:8080");
    }
}
