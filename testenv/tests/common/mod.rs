//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use testenv::controlplane::ControlPlane;
use testenv::{Options, TestEnv};

/// What the kubectl helpers need of a server: testenv's own or a real kube-apiserver.
pub trait Server {
    fn kubeconfig_path(&self) -> &Path;
}

impl Server for TestEnv {
    fn kubeconfig_path(&self) -> &Path {
        TestEnv::kubeconfig_path(self)
    }
}

impl Server for ControlPlane {
    fn kubeconfig_path(&self) -> &Path {
        ControlPlane::kubeconfig_path(self)
    }
}

/// A real control plane, or `None` as [`testenv::controlplane::binaries_for_tests`] says.
pub async fn start_control_plane() -> Option<ControlPlane> {
    let bin = testenv::controlplane::binaries_for_tests()?;
    Some(
        ControlPlane::start(&bin, None)
            .await
            .expect("the control plane starts"),
    )
}

/// For each `async fn name(env: &dyn Server)`, a module `name` with the tests `builtin` (testenv
/// without controllers) and `kube_apiserver` that run it on each server.
#[macro_export]
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn builtin() {
                super::$name(&$crate::common::start_without_controllers().await).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn kube_apiserver() {
                if let Some(plane) = $crate::common::start_control_plane().await {
                    super::$name(&plane).await;
                }
            }
        }
    )*};
}

/// A server with its controllers, which may read Git repositories on this machine (the
/// controller tests commit to local repositories).
pub async fn start() -> TestEnv {
    TestEnv::start(Options {
        local_git_urls: true,
        ..Options::default()
    })
    .await
    .expect("testenv starts")
}

pub async fn start_without_controllers() -> TestEnv {
    TestEnv::start(Options {
        controllers: false,
        ..Options::default()
    })
    .await
    .expect("testenv starts")
}

/// The kubectl binary, or None (with the reason printed) when it is not installed.
pub fn kubectl_bin() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file());
    if found.is_none() {
        skip("kubectl is not installed");
    }
    found
}

pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn kubectl_cmd(bin: &Path, env: &dyn Server, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(bin);
    c.args(args)
        .env("KUBECONFIG", env.kubeconfig_path())
        .env(
            "KUBECACHEDIR",
            env.kubeconfig_path().with_extension("cache"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs kubectl to completion (bounded by 60 s).
pub async fn kubectl(bin: &Path, env: &dyn Server, args: &[&str]) -> Out {
    let child = kubectl_cmd(bin, env, args).output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
        .expect("kubectl runs");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs kubectl and fails the test unless it succeeds.
pub async fn kubectl_ok(bin: &Path, env: &dyn Server, args: &[&str]) -> String {
    let out = kubectl(bin, env, args).await;
    assert!(
        out.ok,
        "kubectl {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// Runs kubectl with `input` on stdin.
pub async fn kubectl_stdin(bin: &Path, env: &dyn Server, args: &[&str], input: &str) -> Out {
    use tokio::io::AsyncWriteExt;
    let mut cmd = kubectl_cmd(bin, env, args);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("write stdin");
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("kubectl timed out")
        .expect("kubectl runs");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              color: {type: string}
              tags: {type: array, items: {type: string}}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              observedGeneration: {type: integer}
              conditions:
                type: array
                items: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// Polls `f` every 50 ms until it returns Some, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads upstream Flux CRDs from the shared reference directory, if present.
pub fn flux_crds_dir() -> Option<PathBuf> {
    let base = std::env::var_os("FLUX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = base.join("reference/flux-v2.9/crds");
    dir.is_dir().then_some(dir)
}

/// Applies every upstream Flux CRD with kubectl (server-side) and waits until they are served.
pub async fn apply_flux_crds(bin: &Path, env: &dyn Server) {
    let dir = flux_crds_dir()
        .expect("the Flux CRDs at shared/reference/flux-v2.9/crds (set FLUX_SHARED_DIR)");
    let dir = dir.to_str().expect("a UTF-8 path");
    kubectl_ok(bin, env, &["apply", "--server-side", "-f", dir]).await;
    kubectl_ok(
        bin,
        env,
        &[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=60s",
        ],
    )
    .await;
}

/// Applies every upstream Flux CRD to `env`.
pub fn install_flux_crds(env: &TestEnv) {
    let dir = flux_crds_dir()
        .expect("the Flux CRDs at shared/reference/flux-v2.9/crds (set FLUX_SHARED_DIR)");
    for entry in std::fs::read_dir(dir).expect("read crds dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read crd");
            env.apply_yaml(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// A dynamic API for a kind.
pub fn dyn_api(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    ns: &str,
) -> kube::Api<kube::api::DynamicObject> {
    let ar = kube::api::ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    };
    kube::Api::namespaced_with(client.clone(), ns, &ar)
}

/// Waits (up to `secs`) until the object exists and `pred` holds for its JSON.
pub async fn wait_obj(
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    secs: u64,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(o)) = api.get_opt(name).await {
            last = serde_json::to_value(&o).expect("json");
            if pred(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never matched; last seen:\n{last:#}")
}

/// Ready=True with status for the current generation.
pub fn ready(v: &serde_json::Value) -> bool {
    v["status"]["observedGeneration"] == v["metadata"]["generation"]
        && v["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

pub fn ready_status(v: &serde_json::Value) -> Option<(String, String, String)> {
    let c = v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?;
    Some((
        c["status"].as_str()?.to_string(),
        c["reason"].as_str()?.to_string(),
        c["message"].as_str()?.to_string(),
    ))
}

/// A client that sends no credentials (and trusts the server's certificate).
pub fn anonymous_client(env: &TestEnv) -> kube::Client {
    let mut config = kube::Config::new(env.url().parse().expect("url"));
    config.accept_invalid_certs = true;
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

/// A client for `env` that does not retry 429/503, to observe injected faults.
pub async fn no_retry_client(env: &TestEnv) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(env.kubeconfig()).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

/// Sends a raw request; returns the status code, headers and body.
pub async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(kube::client::Body::from(body))
        .expect("request");
    let resp = client.send(req).await.expect("response");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (code, headers, body)
}

/// The `kind: Status` body of an error response.
pub fn status_body(body: &[u8]) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["status"], "Failure");
    v
}

/// A test that cannot run a tool it needs says why and returns, outside CI
/// only: under `CI=true` (.ci/run installs every tool) it fails instead.
pub fn skip(reason: &str) {
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "cannot run under CI=true: {reason}"
    );
    eprintln!("skipping: {reason}");
}
