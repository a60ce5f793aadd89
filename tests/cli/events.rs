//! `flux events` after the simulated controllers reconciled some objects.

use std::time::{Duration, Instant};

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
spec:
  interval: 10m0s
  url: oci://ghcr.io/stefanprodan/manifests/podinfo
  ref:
    tag: 6.3.5
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: apps
spec:
  interval: 10m0s
  path: ./
  prune: true
  sourceRef:
    kind: OCIRepository
    name: podinfo
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: other
  namespace: apps
spec:
  interval: 10m0s
  # OCI charts need type: oci, so the source fails (a warning event).
  url: oci://charts.example.com
";

/// Waits until the pipeline and the failing HelmRepository have recorded events.
fn reconciled_cluster(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, true);
    cluster.load(OBJECTS);
    let started = Instant::now();
    loop {
        let out = cluster.flux(&["events", "-n", "apps"]);
        // The controllers work from watches, so the source's event may
        // come after the Kustomization's first attempt.
        if out.stdout.contains("Kustomization/podinfo")
            && out.stdout.contains("OCIRepository/podinfo")
            && out.stdout.contains("HelmRepository/other")
        {
            return cluster;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no events: {}{}",
            out.stdout,
            out.stderr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .map(|l| l.split('\t').map(|c| c.trim().to_string()).collect())
        .collect()
}

fn events_of_an_object_include_its_source(backend: Backend) {
    let cluster = reconciled_cluster(backend);
    let out = cluster.flux(&["events", "--for", "Kustomization/podinfo", "-n", "apps"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let rows = rows(&out.stdout);
    assert_eq!(
        rows[0],
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    let objects: Vec<&str> = rows[1..].iter().map(|r| r[3].as_str()).collect();
    assert!(objects.contains(&"Kustomization/podinfo"), "{}", out.stdout);
    assert!(objects.contains(&"OCIRepository/podinfo"), "{}", out.stdout);
    assert!(!objects.contains(&"HelmRepository/other"), "{}", out.stdout);
    let source = rows[1..]
        .iter()
        .find(|r| r[3] == "OCIRepository/podinfo")
        .unwrap();
    assert_eq!(source[1], "Normal");
    assert_eq!(source[2], "NewArtifact");
    assert!(source[0].ends_with('s'), "LAST SEEN: {}", source[0]);
}

fn events_filter_by_kind_type_and_namespace(backend: Backend) {
    let cluster = reconciled_cluster(backend);
    let out = cluster.flux(&["events", "--for", "OCIRepository", "-n", "apps"]);
    let objects: Vec<String> = rows(&out.stdout)[1..]
        .iter()
        .map(|r| r[3].clone())
        .collect();
    assert!(
        objects.iter().all(|o| o.starts_with("OCIRepository/")),
        "{}",
        out.stdout
    );

    let out = cluster.flux(&["events", "-A", "--types=warning"]);
    let header = rows(&out.stdout)[0].clone();
    assert_eq!(header[0], "NAMESPACE");
    assert!(
        rows(&out.stdout)[1..].iter().all(|r| r[2] == "Warning"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("HelmRepository/other"),
        "{}",
        out.stdout
    );

    let out = cluster.flux(&["events", "-n", "default"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "✗ No events found in default namespace.\n")
    );

    let out = cluster.flux(&["events", "--for", "Pod/x"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ 'Pod' is not a recognized Flux kind\n")
    );
}

fn watch_prints_recorded_events_until_the_timeout(backend: Backend) {
    let cluster = reconciled_cluster(backend);
    let out = cluster.flux(&["events", "--watch", "-n", "apps", "--timeout=2s"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let rows = rows(&out.stdout);
    assert_eq!(rows[0][0], "LAST SEEN");
    assert!(
        out.stdout.contains("Kustomization/podinfo"),
        "{}",
        out.stdout
    );
    assert_eq!(
        rows.iter().filter(|r| r[0] == "LAST SEEN").count(),
        1,
        "the header is printed once"
    );
}

on_both_backends!(
    events_of_an_object_include_its_source,
    events_filter_by_kind_type_and_namespace,
    watch_prints_recorded_events_until_the_timeout,
);
