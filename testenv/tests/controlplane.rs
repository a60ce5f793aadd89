//! The real control plane (`flux-testenv --backend kube-apiserver`), driven with the real kubectl:
//! the pinned release, etcd behind it, RBAC per user, and the controller manager's work. Then
//! behaviours where testenv's builtin server once differed from kube-apiserver, each checked on
//! both backends.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Server;
use testenv::controlplane::{ControlPlane, RESTRICTED_USER};

struct Kubectl {
    kubeconfig: PathBuf,
}

impl Kubectl {
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.kubeconfig.with_extension("cache"))
            .output()
            .await
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args).await;
        assert!(ok, "kubectl {args:?}: {stderr}");
        stdout
    }
}

fn kubectl(kubeconfig: &Path) -> Kubectl {
    Kubectl {
        kubeconfig: kubeconfig.to_path_buf(),
    }
}

/// The Kubernetes version controlplane/go.mod pins.
fn pinned_version() -> String {
    let go_mod = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../controlplane/go.mod"),
    )
    .unwrap();
    go_mod
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .get(..2)
                .map(|w| w.to_vec())
        })
        .find(|w| w[0] == "k8s.io/kubernetes")
        .map(|w| w[1].to_string())
        .expect("k8s.io/kubernetes is pinned")
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_the_pinned_release_backed_by_etcd() {
    let Some(bin) = testenv::controlplane::binaries_for_tests() else {
        return;
    };
    let plane = ControlPlane::start(&bin, None).await.unwrap();
    let admin = kubectl(plane.kubeconfig_path());
    let version: serde_json::Value =
        serde_json::from_str(&admin.ok(&["version", "-o", "json"]).await).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], pinned_version());
    assert_eq!(version["serverVersion"]["major"], "1");
    let livez = admin.ok(&["get", "--raw", "/livez?verbose"]).await;
    assert!(livez.contains("[+]etcd ok"), "{livez}");
    assert!(livez.ends_with("livez check passed\n"), "{livez}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rbac_answers_per_user() {
    let Some(bin) = testenv::controlplane::binaries_for_tests() else {
        return;
    };
    let plane = ControlPlane::start(&bin, None).await.unwrap();
    let admin = kubectl(plane.kubeconfig_path());
    let restricted = kubectl(&plane.restricted_kubeconfig().unwrap());
    assert_eq!(
        admin.ok(&["auth", "can-i", "create", "namespaces"]).await,
        "yes\n"
    );
    let (ok, stdout, _) = restricted
        .run(&["auth", "can-i", "create", "namespaces"])
        .await;
    assert_eq!((ok, stdout.as_str()), (false, "no\n"));
    let (ok, _, stderr) = restricted.run(&["get", "secrets", "-n", "default"]).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "User \"{RESTRICTED_USER}\" cannot list resource \"secrets\""
        )),
        "{stderr}"
    );
    // A grant takes effect: RBAC is really evaluated per request. (The built-in `view` role is
    // aggregated by a controller this control plane does not run, so the grant is a plain Role.)
    admin
        .ok(&[
            "create",
            "role",
            "configmap-reader",
            "--verb=list",
            "--resource=configmaps",
            "-n",
            "default",
        ])
        .await;
    admin
        .ok(&[
            "create",
            "rolebinding",
            "configmap-reader",
            "--role=configmap-reader",
            &format!("--user={RESTRICTED_USER}"),
            "-n",
            "default",
        ])
        .await;
    // The authorizer reads bindings from an informer, so a grant lands within moments.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (ok, stdout, _) = restricted
            .run(&["auth", "can-i", "list", "configmaps", "-n", "default"])
            .await;
        if (ok, stdout.as_str()) == (true, "yes\n") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the grant never took effect: {stdout}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaces_get_a_service_account_and_finish_deleting() {
    let Some(bin) = testenv::controlplane::binaries_for_tests() else {
        return;
    };
    let plane = ControlPlane::start(&bin, None).await.unwrap();
    let admin = kubectl(plane.kubeconfig_path());
    admin.ok(&["create", "namespace", "doomed"]).await;
    admin
        .ok(&[
            "create",
            "configmap",
            "c",
            "-n",
            "doomed",
            "--from-literal=a=b",
        ])
        .await;
    // The service-account controller's work.
    admin
        .ok(&[
            "wait",
            "--for=create",
            "serviceaccount/default",
            "-n",
            "doomed",
            "--timeout=60s",
        ])
        .await;
    // The namespace controller empties and removes a deleted namespace.
    admin
        .ok(&[
            "delete",
            "namespace",
            "doomed",
            "--wait=true",
            "--timeout=60s",
        ])
        .await;
    let (ok, _, stderr) = admin.run(&["get", "namespace", "doomed"]).await;
    assert!(!ok && stderr.contains("NotFound"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_leaves_no_process_behind() {
    let Some(bin) = testenv::controlplane::binaries_for_tests() else {
        return;
    };
    let mut plane = ControlPlane::start(&bin, None).await.unwrap();
    let url = plane.url().to_string();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    plane.stop();
    // Nothing listens on the API server's port any more.
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .unwrap();
    assert!(refused.is_err(), "kube-apiserver still listens on {port}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flux_testenv_serves_kube_apiserver_until_sigterm() {
    let Some(_) = testenv::controlplane::binaries_for_tests() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_flux-testenv"))
        .args(["--backend", "kube-apiserver", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::time::timeout(Duration::from_secs(120), stdout.read_line(&mut line))
        .await
        .expect("serving within two minutes")
        .unwrap();
    assert!(
        line.starts_with("flux-testenv serving https://127.0.0.1:"),
        "{line}"
    );
    let admin = kubectl(&kubeconfig);
    let version: serde_json::Value =
        serde_json::from_str(&admin.ok(&["version", "-o", "json"]).await).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], pinned_version());
    let port: u16 = line
        .split_whitespace()
        .nth(2)
        .and_then(|url| url.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("the URL has a port");

    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id().unwrap() as libc::pid_t, libc::SIGTERM);
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s")
        .unwrap();
    assert!(status.success(), "{status}");
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(connect.is_err(), "kube-apiserver outlived flux-testenv");
}

/// A Widget with a field its schema does not declare.
const WIDGET_EXTRA: &str = "apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: default}
spec: {color: red, notInSchema: true}
";

/// Server-side apply builds a typed patch from the schema, so an unknown field fails it whatever
/// fieldValidation says (testenv used to prune it under Ignore and Warn); a plain create follows
/// fieldValidation.
async fn server_side_apply_refuses_unknown_fields_whatever_the_validation(env: &dyn Server) {
    let Some(k) = common::kubectl_bin() else {
        return;
    };
    common::kubectl_stdin(&k, env, &["apply", "-f", "-"], common::WIDGET_CRD).await;
    common::kubectl_ok(
        &k,
        env,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.com",
        ],
    )
    .await;
    for validate in ["false", "warn", "strict"] {
        let validate = format!("--validate={validate}");
        let args = ["apply", "--server-side", validate.as_str(), "-f", "-"];
        let out = common::kubectl_stdin(&k, env, &args, WIDGET_EXTRA).await;
        assert!(!out.ok, "{validate}: applied");
        assert_eq!(
            out.stderr,
            "Error from server: failed to create typed patch object (default/w1; example.com/v1, Kind=Widget): .spec.notInSchema: field not declared in schema\n",
            "{validate}"
        );
    }
    let args = ["create", "--validate=false", "-f", "-"];
    let out = common::kubectl_stdin(&k, env, &args, WIDGET_EXTRA).await;
    assert_eq!(
        (out.ok, out.stdout.as_str()),
        (true, "widget.example.com/w1 created\n"),
        "{}",
        out.stderr
    );
    let spec =
        common::kubectl_ok(&k, env, &["get", "widget", "w1", "-o", "jsonpath={.spec}"]).await;
    // Pruned, and defaulted by the schema.
    assert_eq!(spec, r#"{"color":"red","size":3}"#);
}

/// A GitRepository naming a repository on this machine: the CRD's pattern refuses it on both
/// (testenv used to accept it, and `flux bootstrap git --url=file://…` relied on that).
async fn a_local_git_repository_url_is_refused(env: &dyn Server) {
    let Some(k) = common::kubectl_bin() else {
        return;
    };
    common::apply_flux_crds(&k, env).await;
    let repo = "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: default}
spec: {interval: 1m, url: 'file:///srv/git/fleet.git'}
";
    let out = common::kubectl_stdin(&k, env, &["create", "-f", "-"], repo).await;
    assert!(!out.ok, "accepted");
    assert!(
        out.stderr.contains(
            "The GitRepository \"fleet\" is invalid: spec.url: Invalid value: \"file:///srv/git/fleet.git\": spec.url in body should match '^(http|https|ssh)://.*$'"
        ),
        "{}",
        out.stderr
    );
}

/// A kube-rs client for a server's kubeconfig.
async fn client_of(env: &dyn Server) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(env.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// A CRD of two versions with `storage` the stored one.
fn gizmo_crd(storage: &str) -> serde_json::Value {
    let version = |name: &str| {
        serde_json::json!({"name": name, "served": true, "storage": name == storage,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
    };
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Gizmo", "listKind": "GizmoList", "plural": "gizmos", "singular": "gizmo"},
            "versions": [version("v1"), version("v2")]}
    })
}

/// The API server's CRD lifecycle of stored versions (what `flux migrate`
/// relies on): a storage switch adds to status.storedVersions, a status
/// write may drop versions but must keep the storage one, and managedFields
/// a request rewrites are kept as sent (testenv used to recompute both).
async fn crd_stored_versions_and_rewritten_managed_fields(env: &dyn Server) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};

    let client = client_of(env).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let apply = PatchParams::apply("test").force();
    crds.patch("gizmos.example.com", &apply, &Patch::Apply(gizmo_crd("v1")))
        .await
        .unwrap();
    let stored = async || {
        crds.get("gizmos.example.com")
            .await
            .unwrap()
            .status
            .unwrap()
            .stored_versions
            .unwrap()
    };
    assert_eq!(stored().await, ["v1"]);
    let resource = |version: &str| ApiResource {
        group: "example.com".into(),
        version: version.into(),
        api_version: format!("example.com/{version}"),
        kind: "Gizmo".into(),
        plural: "gizmos".into(),
    };
    let mut created = None;
    // The CRD is served a moment after it is created.
    for _ in 0..100 {
        let gizmos: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "default", &resource("v1"));
        let gizmo = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Gizmo",
            "metadata": {"name": "g"}, "spec": {"size": 1}});
        match gizmos
            .patch("g", &PatchParams::apply("test"), &Patch::Apply(gizmo))
            .await
        {
            Ok(object) => {
                created = Some(object);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let created = created.expect("the CRD is served");
    let entry = &created.metadata.managed_fields.as_ref().unwrap()[0];
    assert_eq!(entry.api_version.as_deref(), Some("example.com/v1"));

    crds.patch("gizmos.example.com", &apply, &Patch::Apply(gizmo_crd("v2")))
        .await
        .unwrap();
    assert_eq!(stored().await, ["v1", "v2"]);

    // managedFields rewritten by a JSON patch are kept as sent.
    let v2: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource("v2"));
    let mut fields = serde_json::to_value(created.metadata.managed_fields.unwrap()).unwrap();
    fields[0]["apiVersion"] = serde_json::json!("example.com/v2");
    let patch: serde_json::Value = serde_json::json!([
        {"op": "replace", "path": "/metadata/managedFields", "value": fields}
    ]);
    let request = http::Request::patch(format!("{}/g", v2.resource_url()))
        .header("content-type", "application/json-patch+json")
        .body(serde_json::to_vec(&patch).unwrap())
        .unwrap();
    let patched: DynamicObject = client.request(request).await.unwrap();
    let fields = patched.metadata.managed_fields.unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].api_version.as_deref(), Some("example.com/v2"));
    assert_eq!(fields[0].manager.as_deref(), Some("test"));

    // While v1 is stored, it cannot leave spec.versions.
    let mut only_v2 = gizmo_crd("v2");
    only_v2["spec"]["versions"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let err = crds
        .patch("gizmos.example.com", &apply, &Patch::Apply(only_v2.clone()))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(
        (status.code, status.message.as_str()),
        (
            422,
            "CustomResourceDefinition.apiextensions.k8s.io \"gizmos.example.com\" is invalid: status.storedVersions[0]: Invalid value: \"v1\": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions"
        )
    );

    // A status write is taken as sent (the API server does not check it
    // against the storage version); an empty list means the storage version.
    let write = async |versions: &[&str]| {
        let mut crd = crds.get("gizmos.example.com").await.unwrap();
        crd.status.as_mut().unwrap().stored_versions =
            Some(versions.iter().map(|v| v.to_string()).collect());
        crds.replace_status("gizmos.example.com", &PostParams::default(), &crd)
            .await
            .unwrap()
            .status
            .unwrap()
            .stored_versions
            .unwrap()
    };
    assert_eq!(write(&[]).await, ["v2"]);
    assert_eq!(write(&["v1"]).await, ["v1"]);
    assert_eq!(write(&["v2"]).await, ["v2"]);
    // A spec write keeps what the status write left, and v1 may now go.
    crds.patch("gizmos.example.com", &apply, &Patch::Apply(only_v2))
        .await
        .unwrap();
    assert_eq!(stored().await, ["v2"]);
}

on_both_servers!(
    server_side_apply_refuses_unknown_fields_whatever_the_validation,
    a_local_git_repository_url_is_refused,
    crd_stored_versions_and_rewritten_managed_fields,
);
