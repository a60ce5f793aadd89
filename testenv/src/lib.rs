//! A local stand-in for a Kubernetes API server, with simulated Flux controllers.
//!
//! It serves HTTPS on 127.0.0.1 with a generated CA, requires a bearer token, and writes a
//! kubeconfig, so the real `kubectl`, kube-rs and the `flux` binary work against it unchanged.
//!
//! The server and the simulated controllers are tokio tasks on the runtime that calls
//! [`TestEnv::start`]: use a multi-threaded runtime that outlives the `TestEnv`, and do not block
//! its worker threads while the server must answer (run `kubectl`/`flux` with `tokio::process`,
//! or from a thread outside the runtime).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let env = testenv::TestEnv::start(testenv::Options::default()).await?;
//! let kubeconfig = env.kubeconfig_path(); // pass to kubectl / flux via KUBECONFIG
//! # let _ = kubeconfig;
//! env.stop().await;
//! # Ok(()) }
//! ```

mod controllers;
pub mod controlplane;
mod discovery;
mod error;
mod fields;
pub mod git_http;
mod logs;
mod patch;
mod proto;
mod registry;
mod schema;
mod selector;
mod server;
mod store;
mod table;
pub mod tls;

pub use controllers::{ControllerOptions, DEFAULT_RECEIVER_ADDR, apply_yaml, spawn_controllers};
pub use logs::Logs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use tokio::sync::watch;

/// Faults injected into request handling, for reliability tests.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added before every request is answered.
    pub latency: Duration,
    /// Fraction (0..=1) of requests answered 429 TooManyRequests with a Retry-After header.
    pub throttle_ratio: f64,
    /// Retry-After seconds sent with 429 (at least 1).
    pub retry_after_secs: u64,
    /// Fraction (0..=1) of requests answered with `error_code`.
    pub error_ratio: f64,
    /// 503 answers ServiceUnavailable; any other value 500 InternalError.
    pub error_code: u16,
    /// Watch streams end after this many events.
    pub watch_cut_after: Option<usize>,
    /// Connections are closed as soon as they are accepted.
    pub unreachable: bool,
}

/// How to start a [`TestEnv`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where to write the kubeconfig; by default a file in a temporary directory removed on stop.
    pub kubeconfig_path: Option<PathBuf>,
    /// Run the simulated Flux controllers and the Deployment controller.
    pub controllers: bool,
    /// How long a simulated controller takes to handle a reconcile.
    pub reconcile_delay: Duration,
    /// How long a Deployment takes to become available.
    pub deployment_delay: Duration,
    pub faults: Faults,
    /// Events kept for resuming watches; older resourceVersions get 410 Gone.
    pub watch_history: usize,
    /// Accept GitRepository URLs naming a repository on this machine (`file://`, an absolute
    /// path, loopback `git://`), which a real API server refuses. Off by default, so the sandbox
    /// and the CLI tests meet what a cluster would answer; testenv's controller tests turn it on.
    pub local_git_urls: bool,
    /// Where the simulated notification-controller serves Receiver webhooks (`/hook/…`) over
    /// plain HTTP when the controllers run; port 0 picks a free one.
    pub receiver_addr: SocketAddr,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            kubeconfig_path: None,
            controllers: true,
            reconcile_delay: Duration::from_millis(100),
            deployment_delay: Duration::from_millis(200),
            faults: Faults::default(),
            watch_history: 100_000,
            local_git_urls: false,
            receiver_addr: controllers::DEFAULT_RECEIVER_ADDR,
        }
    }
}

/// A running server. Dropping it stops the server too; [`TestEnv::stop`] also waits for it.
pub struct TestEnv {
    addr: SocketAddr,
    kubeconfig: String,
    kubeconfig_path: PathBuf,
    ca_pem: String,
    token: String,
    shared: Arc<server::Shared>,
    shutdown: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    receiver_addr: Option<SocketAddr>,
    _tmp: Option<tempfile::TempDir>,
    _git_cache: tempfile::TempDir,
}

impl TestEnv {
    /// Starts the server (and the controllers unless disabled) on the current tokio runtime.
    pub async fn start(options: Options) -> Result<TestEnv> {
        let certs = tls::generate().context("generating certificates")?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{}", options.port))?;
        let addr = listener.local_addr()?;
        let token = format!("{}{}", store::random_suffix(20), store::random_suffix(20));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(server::Shared {
            store: store::Store::new(options.watch_history.max(1), options.local_git_urls),
            logs: Arc::new(logs::Logs::default()),
            token: token.clone(),
            faults: RwLock::new(options.faults.clone()),
            addr,
            shutdown: shutdown_rx,
            writes: server::Gauge::default(),
        });
        let kubeconfig = kubeconfig(addr, &certs.ca_pem, &token);
        let (kubeconfig_path, tmp) = match &options.kubeconfig_path {
            Some(p) => (p.clone(), None),
            None => {
                let dir = tempfile::Builder::new().prefix("flux-testenv-").tempdir()?;
                (dir.path().join("kubeconfig"), Some(dir))
            }
        };
        if let Some(parent) = kubeconfig_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&kubeconfig_path, &kubeconfig)
            .with_context(|| format!("writing {}", kubeconfig_path.display()))?;
        let git_cache = tempfile::Builder::new()
            .prefix("flux-testenv-git-")
            .tempdir()?;
        let mut receiver_addr = None;
        if options.controllers {
            // The same controllers a real API server gets, talking to this one over HTTP.
            let client = client_for(&kubeconfig)
                .await
                .context("configuring the controllers' client")?;
            let controller_options = ControllerOptions {
                reconcile_delay: options.reconcile_delay,
                deployment_delay: options.deployment_delay,
                git_cache: git_cache.path().to_path_buf(),
                logs: Some(shared.logs.clone()),
                receiver_addr: options.receiver_addr,
            };
            let addr = spawn_controllers(client, controller_options, shared.shutdown.clone())
                .with_context(|| {
                    format!(
                        "binding the Receiver webhook address {}",
                        options.receiver_addr
                    )
                })?;
            receiver_addr = Some(addr);
        }
        let server = tokio::spawn(server::serve(listener, certs.server, shared.clone()));
        Ok(TestEnv {
            addr,
            kubeconfig,
            kubeconfig_path,
            ca_pem: certs.ca_pem,
            token,
            shared,
            shutdown,
            server: Some(server),
            receiver_addr,
            _tmp: tmp,
            _git_cache: git_cache,
        })
    }

    /// The kubeconfig file pointing at this server.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The kubeconfig's contents (YAML).
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` of the simulated notification-controller's webhook receiver, the
    /// base URL `flux trigger receiver --url` takes; None without the controllers.
    pub fn receiver_url(&self) -> Option<String> {
        self.receiver_addr.map(|a| format!("http://{a}"))
    }

    /// The bearer token every request must carry.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The most writes (POST, PUT, PATCH) this server has answered at once.
    pub fn most_concurrent_writes(&self) -> usize {
        self.shared.writes.most()
    }

    /// Replaces the injected faults; takes effect for the next request.
    pub fn set_faults(&self, faults: Faults) {
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Applies multi-document YAML directly into the store (server-side apply as
    /// `testenv`, conflicts forced); CRDs and Namespaces go first. Handy to install the Flux CRDs.
    pub fn apply_yaml(&self, yaml: &str) -> Result<()> {
        let docs = controllers::parse_docs(yaml, "input").map_err(anyhow::Error::msg)?;
        controllers::apply_to_store(&self.shared.store, docs, "testenv")
            .map_err(anyhow::Error::msg)?;
        Ok(())
    }

    /// Appends a line to a pod's log, as its container would print it.
    pub fn write_pod_log(&self, namespace: &str, pod: &str, line: &str) {
        self.shared.logs.append(namespace, pod, line.to_string());
    }

    /// A kube-rs client for this server.
    pub async fn client(&self) -> Result<kube::Client> {
        client_for(&self.kubeconfig).await
    }

    /// Stops serving, closes open connections and watches, and removes the temporary kubeconfig.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A kube-rs client for the first context of a kubeconfig (YAML).
async fn client_for(kubeconfig: &str) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    Ok(kube::Client::try_from(config)?)
}

/// A kubeconfig for a server on `addr` whose certificate `ca_pem` signed, with a bearer token.
fn kubeconfig(addr: SocketAddr, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: flux-testenv
  cluster:
    server: https://{addr}
    certificate-authority-data: {ca}
contexts:
- name: flux-testenv
  context:
    cluster: flux-testenv
    user: flux-testenv
current-context: flux-testenv
users:
- name: flux-testenv
  user:
    token: {token}
preferences: {{}}
"
    )
}
