//! `flux trace` on both backends: objects traced through their labels (or
//! their owners' labels) to the Kustomization or HelmRelease, its source,
//! revisions and conditions, in upstream's blocks; upstream's errors.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::common::Run;
use crate::common::cluster::{Backend, Cluster, on_both_backends};

const AT: &str = "2024-01-02T03:04:05Z";
/// How Go prints [`AT`] under TZ=UTC.
const SHOWN: &str = "2024-01-02 03:04:05 +0000 UTC";

fn objects() -> String {
    let ready = |status: &str, message: &str| {
        format!(
            "conditions: [{{type: Ready, status: '{status}', reason: R, message: '{message}', lastTransitionTime: '{AT}'}}]"
        )
    };
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: apps}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec: {{interval: 1m, url: 'https://github.com/example/fleet', ref: {{branch: main}}}}
status:
  {}
  artifact: {{path: a.tar.gz, url: 'http://a/a.tar.gz', revision: 'main@sha1:abc', digest: 'sha256:1', lastUpdateTime: '{AT}'}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: flux-system}}
spec: {{interval: 1m, path: ./apps, prune: true, targetNamespace: apps, sourceRef: {{kind: GitRepository, name: flux-system}}}}
status:
  lastAppliedRevision: 'main@sha1:abc'
  {}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {{name: charts, namespace: flux-system}}
spec: {{interval: 1m, url: 'oci://ghcr.io/example/charts', ref: {{tag: 1.2.3}}}}
status:
  {}
  artifact:
    path: c.tar.gz
    url: 'http://a/c.tar.gz'
    revision: 'sha256:def'
    digest: 'sha256:def'
    lastUpdateTime: '{AT}'
    metadata: {{org.opencontainers.image.revision: '6.1.6@sha1:450'}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: infra, namespace: flux-system}}
spec: {{interval: 1m, path: ./infra, prune: true, sourceRef: {{kind: OCIRepository, name: charts}}}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: podinfo, namespace: flux-system}}
spec: {{interval: 1m, url: 'https://stefanprodan.github.io/podinfo'}}
status:
  {}
  artifact: {{path: i.yaml, url: 'http://a/i.yaml', revision: 'sha256:8411', digest: 'sha256:8411', lastUpdateTime: '{AT}'}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {{name: flux-system-podinfo, namespace: flux-system}}
spec: {{interval: 1m, chart: podinfo, version: 6.3.5, sourceRef: {{kind: HelmRepository, name: podinfo}}}}
status:
  {}
  artifact: {{path: p.tgz, url: 'http://a/p.tgz', revision: 6.3.5, digest: 'sha256:2', lastUpdateTime: '{AT}'}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
  labels: {{kustomize.toolkit.fluxcd.io/name: infra, kustomize.toolkit.fluxcd.io/namespace: flux-system}}
spec:
  interval: 5m
  chart:
    spec: {{chart: podinfo, version: 6.3.5, sourceRef: {{kind: HelmRepository, name: podinfo, namespace: flux-system}}}}
status:
  helmChart: flux-system/flux-system-podinfo
  lastAttemptedRevision: 6.3.5
  {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: apps
  labels: {{kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: podinfo}}}}
  template:
    metadata: {{labels: {{app: podinfo}}}}
    spec: {{containers: [{{name: podinfo, image: ghcr.io/stefanprodan/podinfo}}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: podinfo
  namespace: apps
  labels: {{helm.toolkit.fluxcd.io/name: podinfo, helm.toolkit.fluxcd.io/namespace: apps}}
spec:
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: top
  namespace: apps
  labels: {{kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: unmanaged, namespace: apps}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan
  namespace: apps
  labels: {{kustomize.toolkit.fluxcd.io/name: gone, kustomize.toolkit.fluxcd.io/namespace: flux-system}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: gitchart, namespace: apps}}
spec:
  interval: 5m
  chart:
    spec: {{chart: ./charts/app, sourceRef: {{kind: GitRepository, name: flux-system, namespace: flux-system}}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: chart-config
  namespace: apps
  labels: {{helm.toolkit.fluxcd.io/name: gitchart, helm.toolkit.fluxcd.io/namespace: apps}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: ExternalArtifact
metadata: {{name: generated, namespace: flux-system}}
spec:
  sourceRef: {{apiVersion: source.extensions.fluxcd.io/v1beta1, kind: ArtifactGenerator, name: gen, namespace: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: generated, namespace: flux-system}}
spec: {{interval: 1m, path: ./, prune: true, sourceRef: {{kind: ExternalArtifact, name: generated}}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: from-artifact
  namespace: apps
  labels: {{kustomize.toolkit.fluxcd.io/name: generated, kustomize.toolkit.fluxcd.io/namespace: flux-system}}
",
        ready("False", "failed to checkout"),
        ready("True", "Applied revision: main@sha1:abc"),
        ready("True", "stored artifact"),
        ready("True", "Fetched revision: sha256:8411"),
        ready("True", "Fetched revision: 6.3.5"),
        ready("True", "Helm install succeeded"),
    )
}

/// A ConfigMap owned by the ConfigMap `owner` (looked up for its UID).
fn owned_config_map(cluster: &Cluster, name: &str, owner: &str) {
    let uid = cluster.with_client(async |client| {
        let api: Api<ConfigMap> = Api::namespaced(client, "apps");
        api.get(owner).await.unwrap().metadata.uid.unwrap()
    });
    cluster.load(&format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: apps
  ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: {owner}, uid: {uid}}}]
"
    ));
}

fn loaded(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&objects());
    owned_config_map(&cluster, "middle", "top");
    owned_config_map(&cluster, "leaf", "middle");
    cluster
}

fn trace(cluster: &Cluster, args: &[&str]) -> Run {
    cluster.flux_with_token("TZ", Some("UTC"), args)
}

fn kustomization_report(object: &str) -> String {
    format!(
        "
Object:          {object}
Namespace:       apps
Status:          Managed by Flux
---
Kustomization:   apps
Namespace:       flux-system
Target:          apps
Path:            ./apps
Revision:        main@sha1:abc
Status:          Last reconciled at {SHOWN}
Message:         Applied revision: main@sha1:abc
---
GitRepository:   flux-system
Namespace:       flux-system
URL:             https://github.com/example/fleet
Branch:          main
Revision:        main@sha1:abc
Status:          Last reconciliation failed at {SHOWN}
Message:         failed to checkout
"
    )
}

fn objects_are_traced_to_kustomizations(backend: Backend) {
    let cluster = loaded(backend);
    for (args, object) in [
        (
            &["trace", "deployment", "podinfo", "-n", "apps"][..],
            "Deployment/podinfo",
        ),
        (
            &["trace", "deploy/podinfo", "-n", "apps"],
            "Deployment/podinfo",
        ),
        (
            &[
                "trace",
                "podinfo",
                "--kind=deployment",
                "--api-version=apps/v1",
                "-n",
                "apps",
            ],
            "deployment/podinfo",
        ),
        // Through two owner references to the labelled ConfigMap.
        (&["trace", "cm", "leaf", "-n", "apps"], "ConfigMap/leaf"),
    ] {
        let out = trace(&cluster, args);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{args:?}");
        assert_eq!(out.stdout, kustomization_report(object), "{args:?}");
    }
}

/// A HelmRelease applied by a Kustomization whose source is an
/// OCIRepository: the origin lines, a blank one for the missing key.
fn helmrelease_is_traced_to_its_oci_source(backend: Backend) {
    let cluster = loaded(backend);
    let out = trace(&cluster, &["trace", "helmrelease", "podinfo", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        format!(
            "
Object:          HelmRelease/podinfo
Namespace:       apps
Status:          Managed by Flux
---
Kustomization:   infra
Namespace:       flux-system
Path:            ./infra
Revision:        
Status:          Unknown
---
OCIRepository:   charts
Namespace:       flux-system
URL:             oci://ghcr.io/example/charts
Tag:             1.2.3
Revision:        sha256:def
Origin Revision: 6.1.6@sha1:450

Status:          Last reconciled at {SHOWN}
Message:         stored artifact
"
        )
    );
}

fn helm_managed_objects_are_traced_to_the_chart(backend: Backend) {
    let cluster = loaded(backend);
    let out = trace(&cluster, &["trace", "svc", "podinfo", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        format!(
            "
Object:         Service/podinfo
Namespace:      apps
Status:         Managed by Flux
---
HelmRelease:    podinfo
Namespace:      apps
Revision:       6.3.5
Status:         Last reconciled at {SHOWN}
Message:        Helm install succeeded
---
HelmChart:      flux-system-podinfo
Namespace:      flux-system
Chart:          podinfo
Version:        6.3.5
Revision:       6.3.5
Status:         Last reconciled at {SHOWN}
Message:        Fetched revision: 6.3.5
---
HelmRepository: podinfo
Namespace:      flux-system
URL:            https://stefanprodan.github.io/podinfo
Revision:       sha256:8411
Status:         Last reconciled at {SHOWN}
Message:        Fetched revision: sha256:8411
"
        )
    );
}

/// A chart from a GitRepository gets the narrower Git block; an
/// ExternalArtifact source its own block, header without a space.
fn git_charts_and_external_artifacts(backend: Backend) {
    let cluster = loaded(backend);
    let out = trace(&cluster, &["trace", "cm", "chart-config", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        format!(
            "
Object:         ConfigMap/chart-config
Namespace:      apps
Status:         Managed by Flux
---
HelmRelease:    gitchart
Namespace:      apps
Revision:       
Status:         Unknown
---
GitRepository: flux-system
Namespace:     flux-system
URL:           https://github.com/example/fleet
Branch:        main
Revision:      main@sha1:abc
Status:        Last reconciliation failed at {SHOWN}
Message:       failed to checkout
"
        )
    );
    let out = trace(&cluster, &["trace", "cm/from-artifact", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        "
Object:          ConfigMap/from-artifact
Namespace:       apps
Status:          Managed by Flux
---
Kustomization:   generated
Namespace:       flux-system
Path:            ./
Revision:        
Status:          Unknown
---
ExternalArtifact:generated
Namespace:       flux-system
Source:          ArtifactGenerator/flux-system/gen
Status:          Unknown
"
    );
}

/// Several objects: reports separated by `---`; an unmanaged one is
/// reported on stderr without a newline and the command still succeeds.
fn several_objects_and_unmanaged_ones(backend: Backend) {
    let cluster = loaded(backend);
    let out = trace(
        &cluster,
        &["trace", "cm/unmanaged", "deploy/podinfo", "-n", "apps"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("---\n{}", kustomization_report("Deployment/podinfo"))
    );
    assert_eq!(
        out.stderr,
        "failed to trace ConfigMap/unmanaged in namespace apps: object not managed by Flux"
    );
    // kubectl's TYPE,TYPE NAME form: one object of each type, in order.
    let out = trace(&cluster, &["trace", "deploy,svc", "podinfo", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let reports: Vec<&str> = out.stdout.split("---\n\nObject:").collect();
    assert_eq!(reports.len(), 2, "{}", out.stdout);
    assert!(reports[0].starts_with("\nObject:          Deployment/podinfo\n"));
    assert!(
        reports[1].starts_with("         Service/podinfo\n"),
        "{}",
        reports[1]
    );
    let out = trace(&cluster, &["trace", "cm", "orphan", "-n", "apps"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            0,
            "",
            "failed to trace ConfigMap/orphan in namespace apps: failed to find kustomization: kustomizations.kustomize.toolkit.fluxcd.io \"gone\" not found"
        )
    );
    let out = trace(&cluster, &["trace", "namespace", "apps"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        (
            "",
            "failed to trace Namespace/apps in namespace : object not managed by Flux"
        )
    );
}

fn bad_arguments_use_upstreams_words(backend: Backend) {
    let cluster = loaded(backend);
    let either = "either `<resource>/<name>` or `<resource> <name>` is required as an argument";
    for (args, message) in [
        (&["trace"][..], either),
        (&["trace", "deployment"], either),
        (&["trace", "deployment", "cm/x"], either),
        (
            &["trace", "nosuchtype", "x"],
            "the server doesn't have a resource type \"nosuchtype\"",
        ),
        (
            &["trace", "deployment", "nope", "-n", "apps"],
            "x: deployments.apps \"nope\" not found",
        ),
        (
            &["trace", "--kind=Deployment", "--api-version=apps/v1"],
            "object name is required",
        ),
        (
            &["trace", "podinfo", "--api-version=apps/v1"],
            "object kind is required (--kind)",
        ),
        (
            &["trace", "podinfo", "--kind=Deployment"],
            "object apiVersion is required (--api-version)",
        ),
        (
            &[
                "trace",
                "podinfo",
                "--kind=Deployment",
                "--api-version=a/b/c",
            ],
            "invaild apiVersion: unexpected GroupVersion string: a/b/c",
        ),
        (
            &[
                "trace",
                "nope",
                "--kind=Deployment",
                "--api-version=apps/v1",
                "-n",
                "apps",
            ],
            "failed to find object: deployments.apps \"nope\" not found",
        ),
    ] {
        let out = trace(&cluster, args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", format!("✗ {message}\n").as_str()),
            "{args:?}"
        );
    }
}

on_both_backends!(
    objects_are_traced_to_kustomizations,
    helmrelease_is_traced_to_its_oci_source,
    helm_managed_objects_are_traced_to_the_chart,
    git_charts_and_external_artifacts,
    several_objects_and_unmanaged_ones,
    bad_arguments_use_upstreams_words,
);
