//! A testenv API server per test, with the Flux install set applied, and
//! helpers to load upstream fixtures into it.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;
use testenv::{Options, TestEnv};

use super::{Run, flux};

pub struct Cluster {
    // Dropped after `env` so the server's tasks can shut down.
    env: Option<TestEnv>,
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
        if let Some(env) = self.env.take() {
            runtime.block_on(async {
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, env.stop()).await;
            });
        }
        // A controller blocked in a Git fetch from a server the test has
        // already stopped must not hang the test binary: a plain drop
        // would wait for it forever.
        runtime.shutdown_timeout(SHUTDOWN_GRACE);
    }
}

impl Cluster {
    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// A server with every Flux CRD and component installed; `controllers`
    /// turns the simulated Flux controllers on.
    pub fn start(controllers: bool) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let options = Options {
            controllers,
            reconcile_delay: Duration::from_millis(50),
            deployment_delay: Duration::from_millis(50),
            ..Options::default()
        };
        let env = runtime
            .block_on(TestEnv::start(options))
            .expect("testenv starts");
        let mut install = flux_rs::render::install::InstallOptions::default();
        install.components.extend(
            flux_rs::render::components::extra_names()
                .into_iter()
                .map(String::from),
        );
        let manifests = flux_rs::render::install::render(&install).expect("install set renders");
        env.apply_yaml(&manifests).expect("install set applies");
        Self {
            env: Some(env),
            runtime: Some(runtime),
        }
    }

    /// An empty server (no Flux objects) with the controllers on.
    pub fn empty() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let options = Options {
            reconcile_delay: Duration::from_millis(50),
            deployment_delay: Duration::from_millis(50),
            ..Options::default()
        };
        let env = runtime
            .block_on(TestEnv::start(options))
            .expect("testenv starts");
        Self {
            env: Some(env),
            runtime: Some(runtime),
        }
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
            let client = self.env().client().await.expect("client");
            f(client).await
        })
    }

    /// Injects faults into the server's request handling from now on.
    pub fn set_faults(&self, faults: testenv::Faults) {
        self.env().set_faults(faults);
    }

    /// Appends a line to a pod's log, as the pod's container would print it.
    pub fn write_pod_log(&self, namespace: &str, pod: &str, line: &str) {
        self.env().write_pod_log(namespace, pod, line);
    }

    fn env(&self) -> &TestEnv {
        self.env.as_ref().expect("running")
    }

    pub fn kubeconfig(&self) -> &Path {
        self.env().kubeconfig_path()
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
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Creates every object of a multi-document YAML, then writes each
    /// object's `status` through the status subresource, as upstream's
    /// tests load their fixtures.
    pub fn load(&self, yaml: &str) {
        let docs: Vec<Value> = flux_rs::render::yaml::from_str_multi(yaml).expect("fixture parses");
        self.runtime().block_on(async {
            let client = self.env().client().await.expect("client");
            let discovery = Discovery::new(client.clone())
                .run()
                .await
                .expect("discovery");
            for doc in docs {
                let api_version = doc["apiVersion"].as_str().unwrap();
                let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                let gvk =
                    kube::api::GroupVersionKind::gvk(group, version, doc["kind"].as_str().unwrap());
                let (resource, caps) = discovery.resolve_gvk(&gvk).expect("kind is served");
                let api: Api<DynamicObject> =
                    match (caps.scope, doc["metadata"]["namespace"].as_str()) {
                        (Scope::Namespaced, Some(ns)) => {
                            Api::namespaced_with(client.clone(), ns, &resource)
                        }
                        _ => Api::all_with(client.clone(), &resource),
                    };
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
