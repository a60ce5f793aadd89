//! A cluster per test — testenv's built-in API server, or a real
//! kube-apiserver with etcd — with the Flux install set applied, and helpers
//! to load upstream fixtures into it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;
use testenv::controlplane::ControlPlane;
use testenv::{Options, TestEnv};

use super::{Run, flux};

/// Which API server a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// testenv's own server: fast, with pod logs and fault injection.
    Builtin,
    /// etcd + kube-apiserver + kube-controller-manager built from source
    /// (`scripts/controlplane.sh build`).
    KubeApiserver,
}

impl Backend {
    /// Whether the backend can run here (see
    /// [`testenv::controlplane::binaries_for_tests`]: skipped outside CI,
    /// failed under `CI=true`).
    pub fn available(self) -> bool {
        self == Backend::Builtin || testenv::controlplane::binaries_for_tests().is_some()
    }
}

/// Defines, for each `fn name(backend: Backend)`, a module `name` with the
/// tests `builtin` and `kube_apiserver` that run it on each backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::common::cluster::Backend;

            #[test]
            fn builtin() {
                super::$name(Backend::Builtin);
            }

            #[test]
            fn kube_apiserver() {
                if Backend::KubeApiserver.available() {
                    super::$name(Backend::KubeApiserver);
                }
            }
        }
    )*};
}
pub(crate) use on_both_backends;

enum Server {
    Builtin(TestEnv),
    KubeApiserver(ControlPlane),
}

pub struct Cluster {
    // Dropped after `server` so the server's tasks can shut down.
    server: Option<Server>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// How long the simulated controllers get to finish what they are doing
/// when a test ends.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Drop for Cluster {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        match self.server.take() {
            Some(Server::Builtin(env)) => runtime.block_on(async {
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, env.stop()).await;
            }),
            Some(Server::KubeApiserver(plane)) => drop(plane),
            None => {}
        }
        // A controller blocked in a Git fetch from a server the test has
        // already stopped must not hang the test binary: a plain drop
        // would wait for it forever.
        runtime.shutdown_timeout(SHUTDOWN_GRACE);
    }
}

fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The install set with every component, as `flux install` would apply it.
fn install_set() -> String {
    let mut install = flux_rs::render::install::InstallOptions::default();
    install.components.extend(
        flux_rs::render::components::extra_names()
            .into_iter()
            .map(String::from),
    );
    flux_rs::render::install::render(&install).expect("install set renders")
}

impl Cluster {
    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// A builtin server with every Flux CRD and component installed;
    /// `controllers` turns the simulated Flux controllers on.
    pub fn start(controllers: bool) -> Self {
        Self::start_on(Backend::Builtin, controllers)
    }

    /// An empty builtin server (no Flux objects) with the controllers on.
    pub fn empty() -> Self {
        Self::empty_on(Backend::Builtin)
    }

    /// A server of `backend` with every Flux CRD and component installed.
    pub fn start_on(backend: Backend, controllers: bool) -> Self {
        let cluster = Self::new(backend, controllers);
        match cluster.server() {
            Server::Builtin(env) => env.apply_yaml(&install_set()).expect("install set applies"),
            Server::KubeApiserver(_) => cluster.apply(&install_set()),
        }
        cluster
    }

    /// An empty server of `backend` (no Flux objects) with the controllers
    /// on, for what a test then installs.
    pub fn empty_on(backend: Backend) -> Self {
        Self::new(backend, true)
    }

    fn new(backend: Backend, controllers: bool) -> Self {
        let runtime = test_runtime();
        let server = match backend {
            Backend::Builtin => {
                let options = Options {
                    controllers,
                    reconcile_delay: Duration::from_millis(50),
                    deployment_delay: Duration::from_millis(50),
                    ..Options::default()
                };
                Server::Builtin(
                    runtime
                        .block_on(TestEnv::start(options))
                        .expect("testenv starts"),
                )
            }
            Backend::KubeApiserver => {
                let bin_dir = testenv::controlplane::binaries_dir().expect("control plane built");
                let plane = runtime.block_on(async {
                    let mut plane = ControlPlane::start(&bin_dir, None)
                        .await
                        .expect("kube-apiserver starts");
                    if controllers {
                        plane
                            .start_controllers(Duration::from_millis(50), Duration::from_millis(50))
                            .await
                            .expect("controllers start");
                    }
                    plane
                });
                Server::KubeApiserver(plane)
            }
        };
        Self {
            server: Some(server),
            runtime: Some(runtime),
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("running")
    }

    /// Server-side applies multi-document YAML as the admin (testenv's
    /// apply: CRDs and Namespaces first, each CRD served before its objects).
    pub fn apply(&self, yaml: &str) {
        self.with_client(async |client| testenv::apply_yaml(client, yaml, "flux-test").await)
            .unwrap_or_else(|e| panic!("applying: {e}"));
    }

    /// Runs `f` with a client on the test's runtime.
    /// Sets a label on the CRD the CLI reads the installation's facts from
    /// (who installed Flux, whether bootstrap did).
    pub fn label_info_crd(&self, key: &str, value: &str) {
        self.with_client(async |client| {
            let patch = serde_json::json!({"metadata": {"labels": {key: value}}});
            Api::<CustomResourceDefinition>::all(client)
                .patch(
                    "gitrepositories.source.toolkit.fluxcd.io",
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .unwrap();
        });
    }

    pub fn with_client<T>(&self, f: impl AsyncFnOnce(kube::Client) -> T) -> T {
        self.runtime().block_on(async {
            let client = match self.server() {
                Server::Builtin(env) => env.client().await,
                Server::KubeApiserver(plane) => plane.client().await,
            };
            f(client.expect("client")).await
        })
    }

    /// Injects faults into the server's request handling from now on.
    /// Stops the API server now, closing open connections and watches, as
    /// a server that dies under running commands.
    pub fn stop_server(&mut self) {
        let runtime = self.runtime.as_ref().expect("the runtime runs");
        match self.server.take() {
            Some(Server::Builtin(env)) => runtime.block_on(env.stop()),
            Some(Server::KubeApiserver(mut plane)) => plane.stop(),
            None => {}
        }
    }

    /// The most writes the builtin server answered at once.
    pub fn most_concurrent_writes(&self) -> usize {
        self.builtin("write counting").most_concurrent_writes()
    }

    pub fn set_faults(&self, faults: testenv::Faults) {
        self.builtin("fault injection").set_faults(faults);
    }

    /// Appends a line to a pod's log, as the pod's container would print it.
    pub fn write_pod_log(&self, namespace: &str, pod: &str, line: &str) {
        self.builtin("pod logs").write_pod_log(namespace, pod, line);
    }

    /// The builtin server, for what only it offers.
    fn builtin(&self, feature: &str) -> &TestEnv {
        match self.server() {
            Server::Builtin(env) => env,
            Server::KubeApiserver(_) => panic!("{feature} needs the builtin backend"),
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        match self.server() {
            Server::Builtin(env) => env.kubeconfig_path(),
            Server::KubeApiserver(plane) => plane.kubeconfig_path(),
        }
    }

    /// A kubeconfig of a user RBAC grants nothing to (kube-apiserver only:
    /// the builtin server has no authorization).
    pub fn restricted_kubeconfig(&self) -> PathBuf {
        match self.server() {
            Server::KubeApiserver(plane) => plane.restricted_kubeconfig().expect("written"),
            Server::Builtin(_) => panic!("RBAC needs the kube-apiserver backend"),
        }
    }

    /// The base URL of the simulated notification-controller's webhook
    /// receiver, as `flux trigger receiver --url` takes it.
    pub fn receiver_url(&self) -> String {
        match self.server() {
            Server::Builtin(env) => env.receiver_url(),
            Server::KubeApiserver(plane) => plane.receiver_url(),
        }
        .expect("the controllers run")
    }

    /// The Kubernetes version the server reports, without the `v`.
    pub fn server_version(&self) -> String {
        self.with_client(async |client| client.apiserver_version().await.expect("/version"))
            .git_version
            .trim_start_matches('v')
            .to_string()
    }

    /// Runs the built `flux` binary against this server.
    pub fn flux(&self, args: &[&str]) -> Run {
        self.run_flux(flux(), args)
    }

    /// Runs the binary with the provider token variable `var` set to
    /// `token`, or removed, as a shell without it would have.
    pub fn flux_with_token(&self, var: &str, token: Option<&str>, args: &[&str]) -> Run {
        let mut cmd = flux();
        match token {
            Some(token) => cmd.env(var, token),
            None => cmd.env_remove(var),
        };
        self.run_flux(cmd, args)
    }

    fn run_flux(&self, mut cmd: assert_cmd::Command, args: &[&str]) -> Run {
        cmd.env("KUBECONFIG", self.kubeconfig())
            .args(args)
            .timeout(Duration::from_secs(120));
        let output = cmd.output().expect("flux runs");
        Run::from(output)
    }

    /// Creates every object of a multi-document YAML, then writes each
    /// object's `status` through the status subresource, as upstream's
    /// tests load their fixtures.
    pub fn load(&self, yaml: &str) {
        let docs: Vec<Value> = flux_rs::render::yaml::from_str_multi(yaml).expect("fixture parses");
        self.with_client(async |client| {
            let discovery = Discovery::new(client.clone())
                .run()
                .await
                .expect("discovery");
            for doc in docs {
                let api = api_for(&client, &discovery, &doc);
                let object: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
                let created = match api.create(&PostParams::default(), &object).await {
                    Ok(created) => created,
                    // The install set already made the Flux namespace.
                    Err(kube::Error::Api(status))
                        if status.code == 409 && doc["kind"] == "Namespace" =>
                    {
                        continue;
                    }
                    Err(err) => panic!("fixture object not created: {err}"),
                };
                if let Some(status) = doc.get("status") {
                    let name = created.metadata.name.clone().unwrap();
                    let patch = serde_json::json!({"status": status});
                    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .expect("fixture status written");
                }
            }
        });
    }
}

/// The API of `doc`'s kind, in its namespace if it is namespaced.
fn api_for(client: &kube::Client, discovery: &Discovery, doc: &Value) -> Api<DynamicObject> {
    let api_version = doc["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = doc["kind"].as_str().expect("kind");
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = discovery
        .resolve_gvk(&gvk)
        .unwrap_or_else(|| panic!("{api_version} {kind} is not served"));
    match (caps.scope, doc["metadata"]["namespace"].as_str()) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        _ => Api::all_with(client.clone(), &resource),
    }
}

/// Reads an upstream conformance file with its template fields filled in,
/// as upstream's tests execute them as Go templates: the namespace fields
/// get the test namespace, and a `range` over data the tests do not pass
/// renders as nothing.
pub fn fixture(path: &str, namespace: &str) -> String {
    let full = super::shared_dir()
        .join("conformance/flux2-testdata")
        .join(path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("{}: {e}", full.display()))
        .replace("{{ .fluxns }}", namespace)
        .replace("{{ .ns }}", namespace);
    let range = regex::Regex::new(r"\{\{range [^}]*\}\}.*?\{\{end\}\}").unwrap();
    range.replace_all(&text, "").into_owned()
}

/// The dynamic API of `kind` (`plural`, in `api_version`) in flux-system.
pub fn flux_system_api(
    client: kube::Client,
    api_version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let resource = kube::api::ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(client, "flux-system", &resource)
}
