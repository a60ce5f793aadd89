//! `flux uninstall` on both backends. Pins the decision on upstream quirk 9:
//! success lines carry no trailing space, and a refused request exits 1.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;

use crate::common::cluster::{Backend, Cluster, on_both_backends};

const OBJECTS: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: apps
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: podinfo
  namespace: apps
  finalizers:
  - example.com/hold
spec:
  interval: 10m0s
  url: oci://ghcr.io/stefanprodan/manifests/podinfo
  ref:
    tag: 6.3.5
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: ExternalArtifact
metadata:
  name: held
  namespace: apps
  finalizers:
  - example.com/hold
spec:
  sourceRef:
    kind: ArtifactGenerator
    name: podinfo
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: ExternalArtifact
metadata:
  name: plain
  namespace: apps
spec:
  sourceRef:
    kind: ArtifactGenerator
    name: podinfo
";

struct State {
    /// Each CRD left, with its Terminating condition's reason and message.
    crds: Vec<String>,
    deployments: usize,
    namespace: bool,
    finalizers: Option<Vec<String>>,
}

fn state(cluster: &Cluster) -> State {
    cluster.with_client(async |client| {
        let crds = Api::<CustomResourceDefinition>::all(client.clone())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|crd| {
                let terminating = crd
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.type_ == "Terminating")
                    .map(|c| {
                        format!(
                            " ({}: {})",
                            c.reason.unwrap_or_default(),
                            c.message.unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                format!("{}{terminating}", crd.metadata.name.unwrap_or_default())
            })
            .collect();
        let deployments = Api::<Deployment>::namespaced(client.clone(), "flux-system")
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len();
        let namespace = Api::<Namespace>::all(client.clone())
            .get_opt("flux-system")
            .await
            .unwrap()
            .is_some();
        let resource = ApiResource {
            group: "source.toolkit.fluxcd.io".into(),
            version: "v1".into(),
            api_version: "source.toolkit.fluxcd.io/v1".into(),
            kind: "OCIRepository".into(),
            plural: "ocirepositories".into(),
        };
        // The CRD may go between the list above and this read: a real server
        // then answers a plain 404 for the kind, which means no object too.
        let finalizers = match Api::<DynamicObject>::namespaced_with(client, "apps", &resource)
            .get("podinfo")
            .await
        {
            Ok(object) => Some(object.metadata.finalizers.unwrap_or_default()),
            Err(kube::Error::Api(status)) if status.code == 404 => None,
            Err(err) => panic!("reading the OCIRepository: {err}"),
        };
        State {
            crds,
            deployments,
            namespace,
            finalizers,
        }
    })
}

/// Waits until no Flux CRD or Deployment is left and the namespace exists
/// or not as `namespace` says. A real server finishes deleting CRDs and
/// namespaces in the background (CRD cleanup, the namespace controller), as a
/// cluster does; the builtin one at once.
fn settles_to(cluster: &Cluster, namespace: bool, uninstall_stderr: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let after = state(cluster);
        if (after.crds.is_empty(), after.deployments, after.namespace) == (true, 0, namespace) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left behind: CRDs {:?}, {} deployments, namespace {}, OCIRepository finalizers {:?}\nuninstall printed:\n{uninstall_stderr}",
            after.crds,
            after.deployments,
            after.namespace,
            after.finalizers,
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn installed_with_objects(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(OBJECTS);
    cluster
}

fn silent_uninstall_removes_everything_without_hanging_on_finalizers(backend: Backend) {
    let cluster = installed_with_objects(backend);
    let out = cluster.flux(&["uninstall", "--silent"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines[0], "► deleting components in flux-system namespace");
    assert!(lines.contains(&"✔ Deployment/flux-system/source-controller deleted"));
    assert!(lines.contains(&"✔ ClusterRole/crd-controller-flux-system deleted"));
    assert!(lines.contains(&"► deleting toolkit.fluxcd.io finalizers in all namespaces"));
    assert!(lines.contains(&"✔ OCIRepository/apps/podinfo finalizers deleted"));
    // Upstream leaves ExternalArtifact out (it has no finalizer of its own);
    // one that carries a finalizer anyway would hold its CRD forever.
    assert!(lines.contains(&"✔ ExternalArtifact/apps/held finalizers deleted"));
    assert!(!out.stderr.contains("ExternalArtifact/apps/plain"));
    assert!(lines.contains(&"► deleting toolkit.fluxcd.io custom resource definitions"));
    assert!(
        lines.contains(
            &"✔ CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io deleted"
        )
    );
    assert_eq!(lines[lines.len() - 2], "✔ Namespace/flux-system deleted");
    assert_eq!(lines[lines.len() - 1], "✔ uninstall finished");
    // Quirk 9, decided: no trailing space after "deleted".
    assert!(lines.iter().all(|l| !l.ends_with(' ')), "{}", out.stderr);
    settles_to(&cluster, false, &out.stderr);
}

fn dry_run_changes_nothing(backend: Backend) {
    let cluster = installed_with_objects(backend);
    let before = state(&cluster);
    let out = cluster.flux(&["uninstall", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines.contains(&"✔ Deployment/flux-system/source-controller deleted (dry run)"));
    assert!(lines.contains(&"✔ OCIRepository/apps/podinfo finalizers deleted (dry run)"));
    assert!(lines.contains(&"✔ Namespace/flux-system deleted (dry run)"));
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with('✔') && **l != "✔ uninstall finished")
            .all(|l| l.ends_with(" (dry run)")),
        "{}",
        out.stderr
    );
    let after = state(&cluster);
    assert_eq!(after.crds.len(), before.crds.len());
    assert_eq!(after.deployments, before.deployments);
    assert!(after.namespace);
    assert_eq!(after.finalizers, Some(vec!["example.com/hold".to_string()]));
}

fn keep_namespace_keeps_it(backend: Backend) {
    let cluster = installed_with_objects(backend);
    let out = cluster.flux(&["uninstall", "-s", "--keep-namespace"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("Namespace/"), "{}", out.stderr);
    settles_to(&cluster, true, &out.stderr);
}

fn without_silent_it_asks_and_refuses_without_a_terminal(backend: Backend) {
    let cluster = installed_with_objects(backend);
    let before = state(&cluster).deployments;
    let out = cluster.flux(&["uninstall"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "✗ cannot ask \"Are you sure you want to delete Flux and its custom resource definitions\""
        ),
        "{}",
        out.stderr
    );
    assert_eq!(state(&cluster).deployments, before);
}

fn a_refused_request_is_a_failure_not_a_finished_uninstall(backend: Backend) {
    let cluster = installed_with_objects(backend);
    let out = cluster.flux(&["uninstall", "-s", "--token=wrong"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "► deleting components in flux-system namespace\n✗ the API server rejected the credentials (401 Unauthorized): check the kubeconfig user, --token or client certificates\n"
    );
}

on_both_backends!(
    silent_uninstall_removes_everything_without_hanging_on_finalizers,
    dry_run_changes_nothing,
    keep_namespace_keeps_it,
    without_silent_it_asks_and_refuses_without_a_terminal,
    a_refused_request_is_a_failure_not_a_finished_uninstall,
);
