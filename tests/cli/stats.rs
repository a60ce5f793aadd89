//! `flux stats` on both backends: upstream's table, counts per kind, and
//! zeros for kinds that cannot be listed.

use crate::common::cluster::{Backend, Cluster, on_both_backends};

const OBJECTS: &str = "apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: failing, namespace: flux-system}
spec: {interval: 1m, url: 'https://example.com/a'}
status:
  conditions:
    - {type: Ready, status: 'False', reason: GitOperationFailed, message: failed, lastTransitionTime: '2024-01-01T00:00:00Z'}
  artifact: {path: a.tar.gz, url: 'http://a/a.tar.gz', revision: main@sha1:1, digest: 'sha256:1', lastUpdateTime: '2024-01-01T00:00:00Z', size: 1536}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: suspended, namespace: flux-system}
spec: {interval: 1m, url: 'https://example.com/b', suspend: true}
status:
  artifact: {path: b.tar.gz, url: 'http://a/b.tar.gz', revision: main@sha1:2, digest: 'sha256:2', lastUpdateTime: '2024-01-01T00:00:00Z', size: 100}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 1m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: failing}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: apps}
spec: {interval: 1m, url: 'https://example.com/charts'}
status:
  artifact: {path: i.yaml, url: 'http://a/i.yaml', revision: 'sha256:3', digest: 'sha256:3', lastUpdateTime: '2024-01-01T00:00:00Z', size: 3145728}
";

/// The table with each kind's running, failing, suspended and storage cells.
fn table(rows: &[(&str, &str, &str, &str, &str)]) -> String {
    let kinds = [
        "GitRepository",
        "OCIRepository",
        "HelmRepository",
        "HelmChart",
        "Bucket",
        "Kustomization",
        "HelmRelease",
        "Alert",
        "Provider",
        "Receiver",
        "ImageUpdateAutomation",
        "ImagePolicy",
        "ImageRepository",
    ];
    // The storage column is as wide as its widest cell.
    let width = rows.iter().map(|r| r.4.len()).max().unwrap_or(0).max(7);
    let mut out = format!(
        "RECONCILERS          \tRUNNING\tFAILING\tSUSPENDED\t{:<width$} \n",
        "STORAGE"
    );
    for kind in kinds {
        let (running, failing, suspended, storage) = rows
            .iter()
            .find(|r| r.0 == kind)
            .map(|r| (r.1, r.2, r.3, r.4))
            .unwrap_or(("0", "0", "0", "-"));
        out.push_str(&format!(
            "{kind:<21}\t{running:<7}\t{failing:<7}\t{suspended:<9}\t{storage:<width$}\t\n"
        ));
    }
    out
}

fn counts_objects_per_kind(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(OBJECTS);
    let out = cluster.flux(&["stats"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        table(&[
            ("GitRepository", "1", "1", "1", "1.6 KiB"),
            ("Kustomization", "1", "0", "0", "-"),
        ])
    );
    let out = cluster.flux(&["stats", "-A"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        table(&[
            ("GitRepository", "1", "1", "1", "1.6 KiB"),
            ("HelmRepository", "1", "0", "0", "3.0 MiB"),
            ("Kustomization", "1", "0", "0", "-"),
        ])
    );
    let out = cluster.flux(&["stats", "-n", "apps"]);
    assert_eq!(
        out.stdout,
        table(&[("HelmRepository", "1", "0", "0", "3.0 MiB")])
    );
}

/// Without the Flux CRDs every list fails: upstream shows zeros, no error.
fn kinds_that_cannot_be_listed_count_zero(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let out = cluster.flux(&["stats", "-A"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, table(&[]));
}

#[test]
fn arguments_are_refused() {
    let out = crate::common::run(&["stats", "podinfo"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "", "✗ unknown command \"podinfo\" for \"flux stats\"\n")
    );
}

on_both_backends!(
    counts_objects_per_kind,
    kinds_that_cannot_be_listed_count_zero
);
