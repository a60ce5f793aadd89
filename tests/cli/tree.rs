//! `flux tree kustomization` and `flux tree artifact generator` on both
//! backends: inventories walked recursively, HelmReleases expanded from
//! Helm's storage Secret, drawn and printed as upstream does.

use std::io::Write;

use base64::Engine;

use crate::common::cluster::{Backend, Cluster, on_both_backends};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Helm's storage record: base64 text of the gzipped release JSON.
fn helm_release_record(manifest: &str) -> String {
    let release = serde_json::json!({"name": "podinfo", "version": 2, "manifest": manifest});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    B64.encode(gz.finish().unwrap())
}

const MANIFEST: &str = "---
apiVersion: v1
kind: Service
metadata:
  name: podinfo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: podinfo
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: podinfo
---
apiVersion: v1
kind: Service
metadata:
  name: podinfo
";

fn objects() -> String {
    // The Secret's data is base64 of the stored bytes, which are base64 text.
    let record = B64.encode(helm_release_record(MANIFEST));
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: podinfo}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: flux-system, namespace: flux-system}}
spec: {{interval: 1m, path: ./, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}
status:
  inventory:
    entries:
      - {{id: _flux-system__Namespace, v: v1}}
      - {{id: flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization, v: v1}}
      - {{id: flux-system_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization, v: v1}}
      - {{id: flux-system_podinfo_helm.toolkit.fluxcd.io_HelmRelease, v: v2}}
      - {{id: flux-system_flux-system_source.toolkit.fluxcd.io_GitRepository, v: v1}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: infrastructure, namespace: flux-system}}
spec: {{interval: 1m, path: ./infra, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}
status:
  inventory:
    entries:
      - {{id: _cert-manager__Namespace, v: v1}}
      - {{id: _system__cert-manager_rbac.authorization.k8s.io_ClusterRole, v: v1}}
      - {{id: cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository, v: v1}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: empty, namespace: flux-system}}
spec: {{interval: 1m, path: ./, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: podinfo, namespace: flux-system}}
spec:
  interval: 5m
  targetNamespace: podinfo
  chartRef: {{kind: OCIRepository, name: podinfo}}
  install: {{crds: CreateReplace}}
status:
  storageNamespace: podinfo
  history:
    - {{name: podinfo, namespace: podinfo, version: 2, status: deployed, chartName: podinfo, chartVersion: 6.0.0, configDigest: 'sha256:1', digest: 'sha256:2', firstDeployed: '2024-01-01T00:00:00Z', lastDeployed: '2024-01-01T00:00:00Z'}}
    - {{name: podinfo, namespace: podinfo, version: 1, status: superseded, chartName: podinfo, chartVersion: 6.0.0, configDigest: 'sha256:1', digest: 'sha256:3', firstDeployed: '2024-01-01T00:00:00Z', lastDeployed: '2024-01-01T00:00:00Z'}}
---
apiVersion: v1
kind: Secret
metadata: {{name: sh.helm.release.v1.podinfo.v2, namespace: podinfo}}
type: helm.sh/release.v1
data: {{release: {record}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  labels: {{helm.toolkit.fluxcd.io/name: podinfo, helm.toolkit.fluxcd.io/namespace: flux-system}}
spec:
  group: example.com
  names: {{kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"
    )
}

const TREE: &str = "Kustomization/flux-system/flux-system
├── Namespace/flux-system
├── Kustomization/flux-system/infrastructure
│   ├── Namespace/cert-manager
│   ├── ClusterRole/system:cert-manager
│   └── HelmRepository/cert-manager/cert-manager
├── HelmRelease/flux-system/podinfo
│   ├── Service/podinfo/podinfo
│   ├── Deployment/podinfo/podinfo
│   ├── ClusterRole/podinfo
│   └── CustomResourceDefinition/widgets.example.com
└── GitRepository/flux-system/flux-system

";

const COMPACT: &str = "Kustomization/flux-system/flux-system
├── Kustomization/flux-system/infrastructure
│   └── HelmRepository/cert-manager/cert-manager
├── HelmRelease/flux-system/podinfo
└── GitRepository/flux-system/flux-system

";

fn loaded(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&objects());
    cluster
}

fn kustomization_tree_is_drawn_recursively(backend: Backend) {
    let cluster = loaded(backend);
    for (args, expected) in [
        (&["tree", "kustomization", "flux-system"][..], TREE),
        (&["tree", "ks", "flux-system", "--compact"], COMPACT),
        (
            &["tree", "ks", "empty"],
            "Kustomization/flux-system/empty\n\n",
        ),
    ] {
        let out = cluster.flux(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, expected, "{args:?}");
        assert_eq!(out.stderr, "");
    }
}

fn kustomization_tree_as_json_and_yaml(backend: Backend) {
    let cluster = loaded(backend);
    let out = cluster.flux(&["tree", "ks", "infrastructure", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let node = |ns: &str, name: &str, group: &str, kind: &str| {
        format!(
            "{{\n      \"resource\": {{\n        \"Namespace\": \"{ns}\",\n        \"Name\": \"{name}\",\n        \"GroupKind\": {{\n          \"Group\": \"{group}\",\n          \"Kind\": \"{kind}\"\n        }}\n      }}\n    }}"
        )
    };
    let expected = format!(
        "{{\n  \"resource\": {{\n    \"Namespace\": \"flux-system\",\n    \"Name\": \"infrastructure\",\n    \"GroupKind\": {{\n      \"Group\": \"kustomize.toolkit.fluxcd.io\",\n      \"Kind\": \"Kustomization\"\n    }}\n  }},\n  \"resources\": [\n    {},\n    {},\n    {}\n  ]\n}}\n",
        node("", "cert-manager", "", "Namespace"),
        node(
            "",
            "system:cert-manager",
            "rbac.authorization.k8s.io",
            "ClusterRole"
        ),
        node(
            "cert-manager",
            "cert-manager",
            "source.toolkit.fluxcd.io",
            "HelmRepository"
        ),
    );
    assert_eq!(out.stdout, expected);
    let out = cluster.flux(&["tree", "ks", "infrastructure", "-o", "yaml", "--compact"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "resource:
  GroupKind:
    Group: kustomize.toolkit.fluxcd.io
    Kind: Kustomization
  Name: infrastructure
  Namespace: flux-system
resources:
- resource:
    GroupKind:
      Group: source.toolkit.fluxcd.io
      Kind: HelmRepository
    Name: cert-manager
    Namespace: cert-manager

"
    );
}

fn errors_use_upstreams_words(backend: Backend) {
    let cluster = loaded(backend);
    cluster.load(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: dangling, namespace: flux-system}
spec: {interval: 1m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
status:
  inventory:
    entries:
      - {id: flux-system_gone_kustomize.toolkit.fluxcd.io_Kustomization, v: v1}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: remote, namespace: flux-system}
spec:
  interval: 1m
  path: ./
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  kubeConfig: {secretRef: {name: remote-kubeconfig}}
status:
  inventory:
    entries:
      - {id: flux-system_gone_kustomize.toolkit.fluxcd.io_Kustomization, v: v1}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: garbled, namespace: flux-system}
spec: {interval: 1m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
status:
  inventory:
    entries:
      - {id: not-an-id, v: v1}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: broken-release, namespace: flux-system}
spec: {interval: 1m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
status:
  inventory:
    entries:
      - {id: flux-system_broken_helm.toolkit.fluxcd.io_HelmRelease, v: v2}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: broken, namespace: flux-system}
spec:
  interval: 5m
  chartRef: {kind: OCIRepository, name: podinfo}
status:
  storageNamespace: flux-system
  history:
    - {name: broken, namespace: flux-system, version: 1, status: deployed, chartName: podinfo, chartVersion: 6.0.0, configDigest: 'sha256:1', digest: 'sha256:2', firstDeployed: '2024-01-01T00:00:00Z', lastDeployed: '2024-01-01T00:00:00Z'}
---
apiVersion: v1
kind: Secret
metadata: {name: sh.helm.release.v1.broken.v1, namespace: flux-system}
data: {other: eA==}
",
    );
    // Objects of a remote cluster are not looked up.
    let out = cluster.flux(&["tree", "ks", "remote"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            0,
            "Kustomization/flux-system/remote\n└── Kustomization/flux-system/gone\n\n",
            ""
        )
    );
    for (args, message) in [
        (&["tree", "ks"][..], "kustomization name is required"),
        (
            &["tree", "ks", "nope"],
            "kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found",
        ),
        (
            &["tree", "ks", "dangling"],
            "failed to find object: kustomizations.kustomize.toolkit.fluxcd.io \"gone\" not found",
        ),
        (
            &["tree", "ks", "garbled"],
            "unable to parse stored object metadata: not-an-id",
        ),
        (
            &["tree", "ks", "broken-release"],
            "failed to decode the Helm storage object for HelmRelease 'flux-system/broken'",
        ),
        (
            &["tree", "artifact", "generator"],
            "accepts 1 arg(s), received 0",
        ),
        (
            &["tree", "artifact", "generator", "nope"],
            "artifactgenerators.source.extensions.fluxcd.io \"nope\" not found",
        ),
    ] {
        let out = cluster.flux(args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", format!("✗ {message}\n").as_str()),
            "{args:?}"
        );
    }
}

fn generator_tree_lists_external_artifacts(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(
        "apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: my-generator, namespace: flux-system}
spec:
  sources:
    - {alias: repo, kind: GitRepository, name: flux-system}
  artifacts:
    - name: app-a
      copy:
        - {from: '@repo/a/**', to: '@artifact/'}
    - name: app-b
      copy:
        - {from: '@repo/b/**', to: '@artifact/'}
status:
  inventory:
    - {name: app-a, namespace: flux-system, digest: 'sha256:1', filename: a.tar.gz}
    - {name: app-b, namespace: flux-system, digest: 'sha256:2', filename: b.tar.gz}
",
    );
    let out = cluster.flux(&["tree", "artifact", "generator", "my-generator"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "ArtifactGenerator/flux-system/my-generator
├── ExternalArtifact/flux-system/app-a
└── ExternalArtifact/flux-system/app-b

"
    );
}

/// The simulated source-watcher makes the ExternalArtifacts of an
/// ArtifactGenerator and lists them in its inventory, so the tree works in
/// the sandbox.
fn generator_tree_from_the_simulated_source_watcher(backend: Backend) {
    let cluster = Cluster::start_on(backend, true);
    cluster.apply(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: monorepo, namespace: flux-system}
spec: {interval: 10m, url: 'oci://ghcr.io/example/monorepo', ref: {tag: '1.0.0'}}
---
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: apps, namespace: flux-system}
spec:
  sources:
    - {alias: repo, kind: OCIRepository, name: monorepo}
  artifacts:
    - name: frontend
      copy:
        - {from: '@repo/frontend/**', to: '@artifact/'}
    - name: backend
      copy:
        - {from: '@repo/backend/**', to: '@artifact/'}
",
    );
    let expected = "ArtifactGenerator/flux-system/apps
├── ExternalArtifact/flux-system/frontend
└── ExternalArtifact/flux-system/backend

";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = cluster.flux(&["tree", "artifact", "generator", "apps"]);
        if out.stdout == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the inventory never appeared: {}{}{}",
            out.stdout,
            out.stderr,
            cluster
                .flux(&["get", "artifact", "generator", "apps"])
                .stdout
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = cluster.flux(&["get", "sources", "external", "--no-header"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    assert!(
        out.stdout.lines().all(|l| l.contains("\tTrue\t")),
        "{}",
        out.stdout
    );
}

on_both_backends!(
    generator_tree_from_the_simulated_source_watcher,
    kustomization_tree_is_drawn_recursively,
    kustomization_tree_as_json_and_yaml,
    errors_use_upstreams_words,
    generator_tree_lists_external_artifacts,
);

/// The objects of a multi-document file in the bootstrap repository, as tree IDs.
fn ids_in(dir: &std::path::Path, path: &str) -> Vec<String> {
    let repo = git2::Repository::open_bare(dir).unwrap();
    let tree = repo
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_tree()
        .unwrap();
    let blob = tree.get_path(std::path::Path::new(path)).unwrap();
    let text = repo.find_blob(blob.id()).unwrap().content().to_vec();
    let docs: Vec<serde_json::Value> =
        flux_rs::render::yaml::from_str_multi(&String::from_utf8(text).unwrap()).unwrap();
    docs.iter()
        .filter(|d| d.is_object())
        .map(|d| {
            let kind = d["kind"].as_str().unwrap();
            let name = d["metadata"]["name"].as_str().unwrap();
            match d["metadata"]["namespace"].as_str() {
                Some(ns) => format!("{kind}/{ns}/{name}"),
                None => format!("{kind}/{name}"),
            }
        })
        .collect()
}

/// After `flux bootstrap git` in the sandbox, the tree of flux-system holds
/// every object of the install set and the sync manifests, and a
/// controller's Deployment traces back to the Kustomization and its Git
/// source at the bootstrap commit.
fn tree_and_trace_after_bootstrap(backend: Backend) {
    use crate::bootstrap::{assert_ok, bare_repo, git_args, head, ready_at};
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    assert_ok(&cluster.flux(&git_args(&url, &["--path=clusters/dev"])));
    let tip = head(dir.path(), "main").unwrap();
    let revision = format!("main@sha1:{tip}");
    ready_at(&cluster, &revision);

    let out = cluster.flux(&["tree", "ks", "flux-system"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut drawn: Vec<String> = out
        .stdout
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches(['│', '├', '└', '─', ' ']).to_string())
        .collect();
    let mut expected = ids_in(dir.path(), "clusters/dev/flux-system/gotk-components.yaml");
    expected.extend(ids_in(
        dir.path(),
        "clusters/dev/flux-system/gotk-sync.yaml",
    ));
    expected.retain(|id| id != "Kustomization/flux-system/flux-system");
    assert!(expected.len() > 30, "{expected:?}");
    drawn.sort();
    expected.sort();
    assert_eq!(drawn, expected);
    assert!(
        out.stdout
            .starts_with("Kustomization/flux-system/flux-system\n"),
        "{}",
        out.stdout
    );

    let out = cluster.flux(&["trace", "deployment", "source-controller"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    for line in [
        "Object:          Deployment/source-controller\n".to_string(),
        "Kustomization:   flux-system\n".to_string(),
        "Path:            ./clusters/dev\n".to_string(),
        format!("Revision:        {revision}\n"),
        "GitRepository:   flux-system\n".to_string(),
        format!("URL:             {url}\n"),
        "Branch:          main\n".to_string(),
    ] {
        assert!(out.stdout.contains(&line), "{line:?} in:\n{}", out.stdout);
    }
}

on_both_backends!(tree_and_trace_after_bootstrap);

/// A repository served over HTTP whose `apps` directory holds a
/// HelmRepository and a HelmRelease of chart podinfo into namespace `apps`.
fn helm_apps_repository() -> (crate::common::git_servers::HttpGitServer, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    std::fs::write(
        dir.path().join("apps/podinfo.yaml"),
        "apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: flux-system}
spec: {interval: 1h, url: 'https://stefanprodan.github.io/podinfo'}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: flux-system}
spec:
  interval: 1h
  targetNamespace: apps
  chart:
    spec: {chart: podinfo, version: 6.5.4, sourceRef: {kind: HelmRepository, name: podinfo}}
  values: {replicaCount: 2}
",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
            .args(["-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "apps"]);
    let server = crate::common::git_servers::HttpGitServer::start("git", "unused", true);
    let bare = server.create_repo("apps");
    git(&["push", "-q", bare.to_str().unwrap(), "main"]);
    let url = server.url("apps");
    (server, url)
}

/// The HelmRelease `podinfo` in flux-system, as JSON.
fn helm_release(cluster: &Cluster) -> serde_json::Value {
    cluster.with_client(async |client| {
        let api = crate::common::cluster::flux_system_api(
            client,
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            "helmreleases",
        );
        match api.get_opt("podinfo").await.expect("read HelmRelease") {
            Some(hr) => serde_json::to_value(hr).unwrap(),
            None => serde_json::Value::Null,
        }
    })
}

/// Waits for the HelmRelease's latest release to be `version` and Ready.
fn released(cluster: &Cluster, version: u64) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let hr = helm_release(cluster);
        let ready = hr["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if ready && hr["status"]["history"][0]["version"] == version {
            return hr;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "release v{version} not ready: {hr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The labels of Helm's storage Secret for version `version`.
fn storage_labels(cluster: &Cluster, version: u64) -> std::collections::BTreeMap<String, String> {
    cluster.with_client(async |client| {
        let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(client, "flux-system");
        let name = format!("sh.helm.release.v1.apps-podinfo.v{version}");
        let secret = secrets.get(&name).await.expect("storage Secret");
        assert_eq!(secret.type_.as_deref(), Some("helm.sh/release.v1"));
        secret.metadata.labels.unwrap_or_default()
    })
}

/// In the sandbox, a Kustomization applies a HelmRelease from Git; the
/// simulated helm-controller installs the release and writes Helm's storage
/// Secret, so `flux tree` lists the release's objects under the HelmRelease
/// and `flux trace` of such an object names the HelmRelease and its chart.
/// An upgrade writes a new storage version and supersedes the old one.
fn helm_release_objects_from_the_simulated_helm_controller(backend: Backend) {
    let (_server, url) = helm_apps_repository();
    let cluster = Cluster::start_on(backend, true);
    cluster.load(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: apps, namespace: flux-system}}
spec: {{interval: 1h, url: '{url}', ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: flux-system}}
spec: {{interval: 1h, path: ./apps, prune: true, sourceRef: {{kind: GitRepository, name: apps}}}}
"
    ));
    let hr = released(&cluster, 1);
    assert_eq!(hr["status"]["storageNamespace"], "flux-system");
    assert_eq!(hr["status"]["history"][0]["name"], "apps-podinfo");
    let labels = storage_labels(&cluster, 1);
    assert_eq!(labels["status"], "deployed");
    assert_eq!(labels["owner"], "helm");

    let expected = "Kustomization/flux-system/apps
├── Namespace/apps
├── HelmRelease/flux-system/podinfo
│   └── ConfigMap/apps/apps-podinfo
└── HelmRepository/flux-system/podinfo

";
    let out = cluster.flux(&["tree", "kustomization", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, expected);

    let out = cluster.flux(&["trace", "configmap", "apps-podinfo", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    for line in [
        "Object:         ConfigMap/apps-podinfo\n",
        "Namespace:      apps\n",
        "Status:         Managed by Flux\n",
        "HelmRelease:    podinfo\n",
        "Namespace:      flux-system\n",
        "Target:         apps\n",
        "Revision:       6.5.4\n",
        "HelmChart:      flux-system-podinfo\n",
        "Chart:          podinfo\n",
        "Version:        6.5.4\n",
        "HelmRepository: podinfo\n",
        "URL:            https://stefanprodan.github.io/podinfo\n",
    ] {
        assert!(out.stdout.contains(line), "{line:?} in:\n{}", out.stdout);
    }

    // A forced upgrade is release v2; v1 is kept, superseded.
    let out = cluster.flux(&["reconcile", "helmrelease", "podinfo", "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    released(&cluster, 2);
    assert_eq!(storage_labels(&cluster, 2)["status"], "deployed");
    assert_eq!(storage_labels(&cluster, 1)["status"], "superseded");
    let out = cluster.flux(&["tree", "kustomization", "apps"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, expected));
}

on_both_backends!(helm_release_objects_from_the_simulated_helm_controller);
