//! `flux debug helmrelease|kustomization` on both backends, compared byte
//! for byte with upstream's golden files.

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};

const NS: &str = "debug-test";

fn golden(path: &str) -> String {
    fixture(path, NS)
}

fn loaded(backend: Backend, path: &str) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture(path, NS));
    cluster
}

fn check_goldens(cluster: &Cluster, cases: &[(&str, &str)]) {
    for (line, golden_file) in cases {
        let mut args: Vec<&str> = line.split(' ').collect();
        args.push("-n=debug-test");
        let out = cluster.flux(&args);
        assert_eq!(out.code, 0, "{line}: {}", out.stderr);
        assert_eq!(out.stdout, golden(golden_file), "{line}");
        assert_eq!(out.stderr, "", "{line}");
    }
}

fn kustomization_matches_upstream_goldens(backend: Backend) {
    let cluster = loaded(backend, "debug_kustomization/objects.yaml");
    check_goldens(
        &cluster,
        &[
            (
                "debug ks test --show-status --show-vars=false",
                "debug_kustomization/status.golden.yaml",
            ),
            (
                "debug ks test --show-vars --show-status=false",
                "debug_kustomization/vars.golden.env",
            ),
            (
                "debug ks test-from --show-vars --show-status=false",
                "debug_kustomization/vars-from.golden.env",
            ),
            (
                "debug ks test-with-history --show-history --show-status=false",
                "debug_kustomization/history.golden.yaml",
            ),
            (
                "debug ks test --show-history --show-status=false",
                "debug_kustomization/history-empty.golden.yaml",
            ),
        ],
    );
}

fn helmrelease_matches_upstream_goldens(backend: Backend) {
    let cluster = loaded(backend, "debug_helmrelease/objects.yaml");
    check_goldens(
        &cluster,
        &[
            (
                "debug helmrelease test-values-inline --show-status --show-values=false",
                "debug_helmrelease/status.golden.yaml",
            ),
            (
                "debug helmrelease test-values-inline --show-values --show-status=false",
                "debug_helmrelease/values-inline.golden.yaml",
            ),
            (
                "debug hr test-values-from --show-values",
                "debug_helmrelease/values-from.golden.yaml",
            ),
            (
                "debug hr test-with-history --show-history",
                "debug_helmrelease/history.golden.yaml",
            ),
            (
                "debug hr test-values-inline --show-history",
                "debug_helmrelease/history-empty.golden.yaml",
            ),
        ],
    );
}

/// Missing references, a Kustomization without post-build and a missing
/// object end in upstream's messages, with nothing on stdout.
fn errors_name_the_problem(backend: Backend) {
    let cluster = loaded(backend, "debug_kustomization/objects.yaml");
    cluster.apply(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: plain, namespace: debug-test}
spec:
  sourceRef: {kind: GitRepository, name: test}
  interval: 1m
  path: ./
  prune: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: missing-ref, namespace: debug-test}
spec:
  sourceRef: {kind: GitRepository, name: test}
  interval: 1m
  path: ./
  prune: true
  postBuild:
    substituteFrom:
      - {kind: ConfigMap, name: absent, optional: true}
      - {kind: Secret, name: absent}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: missing-values, namespace: debug-test}
spec:
  chartRef: {kind: OCIRepository, name: podinfo}
  interval: 5m
  valuesFrom:
    - {kind: ConfigMap, name: test, valuesKey: nope}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: missing-cm, namespace: debug-test}
spec:
  chartRef: {kind: OCIRepository, name: podinfo}
  interval: 5m
  valuesFrom:
    - {kind: ConfigMap, name: absent}
",
    );
    for (line, message) in [
        (
            "debug ks plain --show-vars",
            "✗ no post build substitutions found\n",
        ),
        (
            "debug ks missing-ref --show-vars",
            "✗ substitute from 'Secret/absent' error: secrets \"absent\" not found\n",
        ),
        (
            "debug ks absent --show-status",
            "✗ kustomizations.kustomize.toolkit.fluxcd.io \"absent\" not found\n",
        ),
        (
            "debug hr absent --show-status",
            "✗ helmreleases.helm.toolkit.fluxcd.io \"absent\" not found\n",
        ),
        (
            "debug hr missing-values --show-values",
            "✗ could not resolve ConfigMap chart values reference 'debug-test/test' with key 'nope': key not found\n",
        ),
        (
            "debug hr missing-cm --show-values",
            "✗ could not resolve ConfigMap chart values reference 'debug-test/absent' with key 'values.yaml': resource not found\n",
        ),
        (
            "debug ks test --show-vars --show-status",
            "✗ exactly one of --show-status, --show-vars, or --show-history must be set\n",
        ),
        (
            "debug hr test",
            "✗ exactly one of --show-status, --show-values, or --show-history must be set\n",
        ),
        ("debug ks --show-vars", "✗ accepts 1 arg(s), received 0\n"),
        (
            "debug ks Bad_Name --show-vars",
            "✗ invalid name 'Bad_Name': object names are lower-case alphanumerics, '-' or '.', at most 253 characters, starting and ending alphanumeric\n",
        ),
        (
            "debug hr a b --show-values",
            "✗ accepts 1 arg(s), received 2\n",
        ),
    ] {
        let mut args: Vec<&str> = line.split(' ').collect();
        args.push("-n=debug-test");
        let out = cluster.flux(&args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", message),
            "{line}"
        );
    }
}

on_both_backends!(
    kustomization_matches_upstream_goldens,
    helmrelease_matches_upstream_goldens,
    errors_name_the_problem,
);
